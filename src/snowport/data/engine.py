"""The table-SQL engine: fakesnow's Snowflake-to-DuckDB translation over one DuckDB instance.

Snowport decides *whether* a statement may run (privileges, warehouse, namespace) before it
gets here; this module only runs it. Each catalog database is one DuckDB file attached under
its own name, so a restart re-attaches the files and keeps every row. fakesnow is pinned
(pyproject) because `EngineSession.execute` drives its cursor's internal steps in order to
reuse the expression Snowport already parsed instead of parsing the SQL text twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import snowflake.connector.errors as sf_errors
from fakesnow import info_schema, macros
from fakesnow.instance import FakeSnow
from fakesnow.rowtype import describe_as_rowtype
from fakesnow.statement_type import statement_type_id
from sqlglot import exp

from snowport.data.errors import Context, duckdb_cause, translate_duckdb
from snowport.errors import SnowflakeError, compilation, unsupported
from snowport.names import is_simple

log = logging.getLogger("snowport.data")

# fakesnow materialises results with DB-API to_arrow_table(); DuckDB warns about the copy on every query.
warnings.filterwarnings("ignore", message="Arrow output on a DB-API result")


@dataclass
class EngineResult:
    arrow: pa.Table | None
    rowtype: list[dict[str, Any]]
    statement_type_id: int
    put_stage_data: dict[str, Any] | None = None


def _duck_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _file_stem(name: str) -> str:
    """A file name for a database: the name itself when plain, else a stable hash."""
    return name if is_simple(name) else "db_" + hashlib.sha256(name.encode()).hexdigest()[:24]


class DataEngine:
    """One DuckDB instance with a file per catalog database."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = data_dir / "duckdb"
        self.dir.mkdir(parents=True, exist_ok=True)
        self._fs = FakeSnow(create_database_on_connect=False, create_schema_on_connect=False, db_path=self.dir)
        self.duck = self._fs.duck_conn
        # Snowflake raises on x / 0 for every numeric type; DuckDB's IEEE mode would answer inf or NaN.
        self.duck.execute("SET GLOBAL ieee_floating_point_ops = false")
        self._lock = threading.Lock()
        self._attached: set[str] = set()

    def _path(self, database: str) -> Path:
        return self.dir / f"{_file_stem(database)}.db"

    def attach(self, database: str) -> None:
        """Attach a database's file (creating it when new) with fakesnow's per-database views."""
        with self._lock:
            if database in self._attached:
                return
            cur = self.duck.cursor()
            cur.execute(f"ATTACH IF NOT EXISTS '{self._path(database)}' AS {_duck_ident(database)}")
            try:
                # fakesnow's per-database views inline the name unquoted; some names cannot be held
                cur.execute(info_schema.per_db_creation_sql(database))
                cur.execute(macros.creation_sql(database))
            except duckdb.Error:
                cur.execute(f"DETACH IF EXISTS {_duck_ident(database)}")
                raise
            cur.execute("CHECKPOINT")
            self._attached.add(database)

    def detach_and_delete(self, database: str) -> None:
        with self._lock:
            if database in self._attached:
                self.duck.cursor().execute(f"DETACH {_duck_ident(database)}")
                self._attached.discard(database)
            for suffix in ("", ".wal"):
                p = Path(str(self._path(database)) + suffix)
                if p.exists():
                    p.unlink()

    def rename_database(self, old: str, new: str) -> None:
        self._move_database(old, self._path(old), self._path(new))
        self.attach(new)

    def _dropped_path(self, tag: str) -> Path:
        return self.dir / ".dropped" / f"{tag}.db"

    def retire_database(self, database: str, tag: str) -> None:
        """Detach a dropped database and keep its file aside (under `tag`) for UNDROP."""
        self._dropped_path(tag).parent.mkdir(exist_ok=True)
        self._move_database(database, self._path(database), self._dropped_path(tag))

    def restore_database(self, database: str, tag: str) -> None:
        with self._lock:
            self._move_files(self._dropped_path(tag), self._path(database))
        self.attach(database)

    def purge_database(self, tag: str) -> None:
        for suffix in ("", ".wal"):
            Path(str(self._dropped_path(tag)) + suffix).unlink(missing_ok=True)

    def _move_database(self, database: str, source: Path, target: Path) -> None:
        with self._lock:
            if database in self._attached:
                self.duck.cursor().execute(f"DETACH {_duck_ident(database)}")
                self._attached.discard(database)
            self._move_files(source, target)

    @staticmethod
    def _move_files(source: Path, target: Path) -> None:
        for suffix in ("", ".wal"):
            src = Path(str(source) + suffix)
            if src.exists():
                shutil.move(src, Path(str(target) + suffix))

    def rename_table(self, database: str, schema: str, old: str, new: str) -> None:
        """Rename a table in place (a dropped table is kept under a hidden name for UNDROP)."""
        qualified = f"{_duck_ident(database)}.{_duck_ident(schema)}.{_duck_ident(old)}"
        self.duck.cursor().execute(f"ALTER TABLE {qualified} RENAME TO {_duck_ident(new)}")

    def drop_table(self, database: str, schema: str, table: str) -> None:
        self.duck.cursor().execute(
            f"DROP TABLE IF EXISTS {_duck_ident(database)}.{_duck_ident(schema)}.{_duck_ident(table)}")

    def create_schema(self, database: str, schema: str) -> None:
        self.duck.cursor().execute(f"CREATE SCHEMA IF NOT EXISTS {_duck_ident(database)}.{_duck_ident(schema)}")

    def drop_schema(self, database: str, schema: str) -> None:
        if database not in self._attached:
            return  # its database was dropped (and its file set aside) first
        self.duck.cursor().execute(f"DROP SCHEMA IF EXISTS {_duck_ident(database)}.{_duck_ident(schema)} CASCADE")

    def table_stats(self, database: str, schema: str, table: str) -> tuple[int, int]:
        """(rows, bytes estimate) of one table, for SHOW TABLES."""
        try:
            row = (
                self.duck.cursor()
                .execute(
                    "SELECT estimated_size, column_count FROM duckdb_tables() "
                    "WHERE database_name = ? AND schema_name = ? AND table_name = ?",
                    [database, schema, table],
                )
                .fetchone()
            )
        except duckdb.Error:
            return 0, 0
        if not row:
            return 0, 0
        return int(row[0] or 0), int(row[0] or 0) * max(int(row[1] or 1), 1) * 8

    def session(self) -> EngineSession:
        """A DuckDB cursor of its own for one client session (isolated schema setting)."""
        return EngineSession(self, self._fs.connect(None, None))

    def close(self) -> None:
        try:
            self.duck.execute("CHECKPOINT")
        except duckdb.Error:
            pass
        self.duck.close()


class EngineSession:
    """A session's DuckDB cursor with its current database and schema."""

    def __init__(self, engine: DataEngine, conn: Any) -> None:
        self.engine = engine
        self.conn = conn

    @property
    def duckdb(self) -> duckdb.DuckDBPyConnection:
        """The session's own DuckDB connection, for reading staged files into Arrow."""
        return self.conn._duck_conn

    def set_namespace(self, database: str | None, schema: str | None) -> None:
        conn = self.conn
        if schema == "INFORMATION_SCHEMA":
            schema = "_FS_INFORMATION_SCHEMA"  # where fakesnow keeps its information_schema views
        conn.database = database
        conn._schema = schema
        conn.database_set = database is not None
        conn.schema_set = database is not None and schema is not None
        # With no database, search the in-memory catalog: a dropped (detached) database must not stay on the path.
        target = "memory.main" if database is None else f"{database}.{schema}" if schema else f"{database}.main"
        conn._duck_conn.execute("SET schema = ?", [target])

    def execute(self, expression: exp.Expr, params: Any = None) -> EngineResult:
        """Run one parsed Snowflake statement; map engine failures to Snowflake errors."""
        elsewhere = _described_elsewhere(expression, self.conn.database)
        if elsewhere is not None:
            # fakesnow reads DESCRIBE TABLE from the current database's column view: describe from there.
            current = (self.conn.database, self.conn._schema)
            self.set_namespace(*elsewhere)
            try:
                return self._execute(expression, params)
            finally:
                self.set_namespace(*current)
        return self._execute(expression, params)

    def _execute(self, expression: exp.Expr, params: Any = None) -> EngineResult:
        cur = self.conn.cursor()
        type_id = statement_type_id(expression)
        try:
            cur.check_db_and_schema(expression)
            transformed = expression
            for statement in cur._transform_explode(expression):
                transformed = cur._transform(statement, params)
                cur._execute(transformed, params if transformed.find(exp.Placeholder) else None)
            put_stage_data = transformed.args.get("put_stage_data")
            described = cur._describe_last_sql()
            arrow = cur._arrow_table
            nested = [i for i, d in enumerate(described) if _nested_kind(d[1]) is not None]
            rowtype = describe_as_rowtype([d for i, d in enumerate(described) if i not in nested] if nested else
                                          described)
            if nested:
                rowtype, arrow = _with_nested_as_json(described, rowtype, arrow)
        except (sf_errors.ProgrammingError, sf_errors.OperationalError, sf_errors.DatabaseError) as e:
            raise self._translate(e, expression) from None
        except NotImplementedError as e:
            raise unsupported(str(e) or expression.key.upper()) from None
        except duckdb.Error as e:
            raise self._translate(e, expression) from None
        except (AssertionError, KeyError, IndexError, TypeError, ValueError, AttributeError) as e:
            # fakesnow assumes well-formed input in places; what it cannot translate is unsupported here.
            log.warning("engine could not run %s: %r", expression.key.upper(), e, exc_info=True)
            raise unsupported(expression.key.upper()) from None
        return EngineResult(arrow, rowtype, type_id, put_stage_data)

    def _translate(self, error: Exception, expression: exp.Expr) -> SnowflakeError:
        """Snowflake's error for an engine failure: DuckDB's via the rules in data.errors, fakesnow's own kept."""
        ctx = Context(expression, self.conn.database, self.conn._schema, frozenset(self.engine._attached))
        cause = duckdb_cause(error)
        if cause is not None:
            return translate_duckdb(cause, ctx)
        if not isinstance(error, sf_errors.Error):
            return translate_duckdb(duckdb.Error(str(error)), ctx)
        message = _clean(error.msg)
        if error.errno == 9999:  # fakesnow's "<x> not implemented" for what it cannot translate
            return unsupported(expression.key.upper())
        if error.errno == 1003 and not message.startswith("SQL compilation error"):
            # sqlglot inside fakesnow refused the statement; keep Snowflake's message form.
            token = message.split("near ")[-1].split("\n")[0].strip('"')[:40]
            return SnowflakeError(
                1003, "42000", compilation(f"syntax error line 1 at position 0 unexpected '{token}'.")
            )
        # fakesnow's own errors are written in Snowflake's words already (no database, stage missing, ...).
        return SnowflakeError(int(error.errno or 2), error.sqlstate or "42000", message)

    def register(self, name: str, table: pa.Table) -> None:
        self.conn._duck_conn.register(name, table)

    def unregister(self, name: str) -> None:
        try:
            self.conn._duck_conn.unregister(name)
        except duckdb.Error:
            pass

    def close(self) -> None:
        try:
            self.conn._duck_conn.close()
        except duckdb.Error:
            pass


def _described_elsewhere(expression: exp.Expr, current: str | None) -> tuple[str, str | None] | None:
    """(database, schema) of a DESCRIBE TABLE that names a database other than the session's."""
    if not isinstance(expression, exp.Describe):
        return None
    table = expression.find(exp.Table)
    if table is None or not table.catalog or table.catalog == current:
        return None
    return table.catalog, table.db or None


def _nested_kind(duck_type: str) -> str | None:
    """Snowflake's type for DuckDB's nested types, which fakesnow's rowtype does not cover."""
    if duck_type.endswith("]"):
        return "array"
    if duck_type.startswith(("STRUCT", "MAP")):
        return "object"
    return None


def _with_nested_as_json(described: list, flat_rowtype: list, arrow: pa.Table | None) -> tuple[list, pa.Table | None]:
    """Rowtype and Arrow table with nested columns rendered as JSON text, as Snowflake sends them."""
    flat = iter(flat_rowtype)
    rowtype = []
    columns = []
    for i, d in enumerate(described):
        kind = _nested_kind(d[1])
        if kind is None:
            rowtype.append(next(flat))
            if arrow is not None:
                columns.append(arrow.column(i))
            continue
        rowtype.append({"name": d[0], "database": "", "schema": "", "table": "", "nullable": True, "type": kind,
                        "byteLength": None, "length": None, "scale": None, "precision": None, "collation": None})
        if arrow is not None:
            values = [None if v is None else json.dumps(v, indent=2, default=str) for v in arrow.column(i).to_pylist()]
            columns.append(pa.array(values, type=pa.string()))
    if arrow is None:
        return rowtype, None
    return rowtype, pa.Table.from_arrays(columns, names=[d[0] for d in described])


def _clean(message: str | None) -> str:
    return (message or "").replace("\x1b[4m", "").replace("\x1b[0m", "")
