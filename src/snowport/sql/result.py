"""What a command returns, independent of how a surface encodes it (JSON rowset, Arrow, REST)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

# Snowflake statement type ids the connector looks at (DML ids make it compute rowcount).
SELECT = 0x1000
DML_INSERT = 0x3100
DML_UPDATE = 0x3200
DML_DELETE = 0x3300
SCL = 0x4000
USE = 0x4300
SHOW = 0x4400
DESCRIBE = 0x4500
TCL = 0x5000
DDL = 0x6000


def column(name: str, sf_type: str = "text", *, scale: int | None = None, nullable: bool = True) -> dict[str, Any]:
    """One rowtype entry with the keys the connector requires."""
    col: dict[str, Any] = {
        "name": name,
        "database": "",
        "schema": "",
        "table": "",
        "type": sf_type,
        "nullable": nullable,
        "length": None,
        "precision": None,
        "scale": None,
        "byteLength": None,
        "collation": None,
    }
    if sf_type == "text":
        col["length"] = col["byteLength"] = 16777216
    elif sf_type == "fixed":
        col["precision"], col["scale"] = 38, scale or 0
    elif sf_type.startswith("timestamp") or sf_type == "time":
        col["precision"], col["scale"] = 0, 9 if scale is None else scale
    return col


@dataclass
class Result:
    """Rows (Python values) or an Arrow table, with Snowflake rowtype metadata."""

    rowtype: list[dict[str, Any]]
    rows: list[tuple[Any, ...]] | None = None
    arrow: pa.Table | None = None
    statement_type_id: int = SELECT
    # Extra keys merged into the wire response's data (PUT/GET stage info, multi-statement ids).
    extra: dict[str, Any] = field(default_factory=dict)
    # When set, the response carries the stage-transfer payload instead of rows.
    transfer: dict[str, Any] | None = None

    @property
    def num_rows(self) -> int:
        if self.arrow is not None:
            return self.arrow.num_rows
        return len(self.rows or [])

    def python_rows(self) -> list[tuple[Any, ...]]:
        if self.rows is not None:
            return self.rows
        if self.arrow is None:
            return []
        columns = [c.to_pylist() for c in self.arrow.columns]
        return list(zip(*columns, strict=True)) if columns else []

    def to_arrow(self) -> pa.Table:
        """An Arrow table of this result (for RESULT_SCAN over Snowport's own results)."""
        if self.arrow is not None:
            return self.arrow
        names = [c["name"] for c in self.rowtype]
        columns = list(zip(*self.rows, strict=True)) if self.rows else [() for _ in names]
        arrays = []
        for col, values in zip(self.rowtype, columns, strict=True):
            if all(v is None for v in values):
                arrays.append(pa.array(list(values), type=pa.string()))
            elif col["type"] == "text":
                arrays.append(pa.array([None if v is None else str(v) for v in values], type=pa.string()))
            else:
                arrays.append(pa.array(list(values)))
        return pa.Table.from_arrays(arrays, names=names)


def status(message: str, statement_type_id: int = DDL) -> Result:
    """The one-cell `status` result Snowflake returns for DDL and most commands."""
    return Result([column("status")], [(message,)], statement_type_id=statement_type_id)


def success(statement_type_id: int = DDL) -> Result:
    return status("Statement executed successfully.", statement_type_id)
