"""The SQL types a service function declares, spelled once: how Snowflake names them in signatures and how
the data engine (DuckDB) holds them.

A function is identified by its name and argument types (`CONVERT_UDF(FLOAT)`); the spelling of a type
in that identity is Snowflake's canonical one (FLOAT for DOUBLE or REAL, NUMBER for INT or DECIMAL,
VARCHAR for STRING or TEXT), so `DROP FUNCTION f(DOUBLE)` names the function created as `f(float)`.
"""

from __future__ import annotations

from dataclasses import dataclass

from snowport import errors

_NUMBER = ("NUMBER", "DECIMAL", "NUMERIC", "INT", "INTEGER", "BIGINT", "SMALLINT", "TINYINT", "BYTEINT")
_FLOAT = ("FLOAT", "FLOAT4", "FLOAT8", "DOUBLE", "REAL", "DOUBLE PRECISION")
_TEXT = ("VARCHAR", "STRING", "TEXT", "CHAR", "CHARACTER", "NCHAR", "NVARCHAR", "NVARCHAR2", "CHAR VARYING",
         "NCHAR VARYING")
_BINARY = ("BINARY", "VARBINARY")
_TIMESTAMP = {"TIMESTAMP": "TIMESTAMP_NTZ", "DATETIME": "TIMESTAMP_NTZ", "TIMESTAMP_NTZ": "TIMESTAMP_NTZ",
              "TIMESTAMP_LTZ": "TIMESTAMP_LTZ", "TIMESTAMP_TZ": "TIMESTAMP_TZ"}
_PLAIN = ("BOOLEAN", "DATE", "TIME", "VARIANT", "OBJECT", "ARRAY", "GEOGRAPHY")
MAX_VARCHAR = 16777216


@dataclass(frozen=True)
class SqlType:
    """One declared type: its canonical family (`name`) and its parameters as declared."""

    name: str  # NUMBER, FLOAT, VARCHAR, BINARY, BOOLEAN, DATE, TIME, TIMESTAMP_*, VARIANT, OBJECT, ARRAY
    precision: int | None = None
    scale: int | None = None
    length: int | None = None

    @property
    def identity(self) -> str:
        """How the type names a function's argument in its identity and in error messages."""
        return self.name

    @property
    def shown(self) -> str:
        """As DESCRIBE FUNCTION shows it (`returns NUMBER(38,0)`, `VARCHAR`, `FLOAT`)."""
        if self.name == "NUMBER":
            return f"NUMBER({self.precision if self.precision is not None else 38},{self.scale or 0})"
        if self.name in ("VARCHAR", "BINARY") and self.length is not None:
            return f"{self.name}({self.length})"
        return self.name

    @property
    def wire(self) -> str:
        """As the sf-external-function-return-type header spells it (`VARCHAR(16777216)`)."""
        if self.name == "VARCHAR":
            return f"VARCHAR({self.length or MAX_VARCHAR})"
        return self.shown

    @property
    def duck(self) -> str:
        """The data engine's type for a value of this type."""
        if self.name == "NUMBER":
            return f"DECIMAL({min(self.precision if self.precision is not None else 38, 38)},{self.scale or 0})"
        return {"FLOAT": "DOUBLE", "VARCHAR": "VARCHAR", "BINARY": "BLOB", "BOOLEAN": "BOOLEAN", "DATE": "DATE",
                "TIME": "TIME", "TIMESTAMP_NTZ": "TIMESTAMP", "TIMESTAMP_LTZ": "TIMESTAMPTZ",
                "TIMESTAMP_TZ": "TIMESTAMPTZ", "VARIANT": "JSON", "OBJECT": "JSON", "ARRAY": "JSON",
                "GEOGRAPHY": "VARCHAR"}[self.name]

    def to_doc(self) -> dict[str, object]:
        return {"name": self.name, "precision": self.precision, "scale": self.scale, "length": self.length}

    @staticmethod
    def from_doc(doc: dict[str, object]) -> SqlType:
        return SqlType(str(doc["name"]), doc.get("precision"), doc.get("scale"), doc.get("length"))  # type: ignore


def parse_type(words: list[str], params: list[int]) -> SqlType:
    """A type from its words (`DOUBLE PRECISION`, `TIMESTAMP_LTZ`) and its parameters (`NUMBER(10, 2)`)."""
    word = " ".join(w.upper() for w in words)
    if word in _NUMBER:
        if word in ("NUMBER", "DECIMAL", "NUMERIC"):
            precision = params[0] if params else 38
            scale = params[1] if len(params) > 1 else 0
            if not 1 <= precision <= 38 or not 0 <= scale <= precision:
                raise errors.invalid_value(f"invalid type {word}({', '.join(map(str, params))}): precision 1 to 38, "
                                           "scale 0 to the precision")
            return SqlType("NUMBER", precision, scale)
        return SqlType("NUMBER", 38, 0)
    if word in _FLOAT:
        return SqlType("FLOAT")
    if word in _TEXT:
        if params and not 1 <= params[0] <= MAX_VARCHAR:
            raise errors.invalid_value(f"invalid type {word}({params[0]}): length 1 to {MAX_VARCHAR}")
        return SqlType("VARCHAR", length=params[0] if params else None)
    if word in _BINARY:
        return SqlType("BINARY", length=params[0] if params else None)
    if word in _TIMESTAMP:
        return SqlType(_TIMESTAMP[word])
    if word in _PLAIN:
        return SqlType(word)
    raise errors.SnowflakeError(2040, "42601", errors.compilation(f"Unsupported data type '{word}'."))
