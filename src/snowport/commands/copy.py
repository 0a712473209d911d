"""COPY INTO: loading staged CSV/JSON/Parquet files into tables and unloading query results.

Loading reads each file with DuckDB as text columns, then inserts with TRY_CAST per column so
bad values are counted per row and ON_ERROR (ABORT_STATEMENT, CONTINUE, SKIP_FILE) decides what
happens, as in Snowflake. Files already loaded with the same content are skipped unless FORCE.
Unloading runs the query through the normal (privilege-checked) path and writes the Arrow result.
"""

from __future__ import annotations

import gzip
import io
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from snowport import errors
from snowport.commands import stages as stage_commands
from snowport.commands import tables
from snowport.commands.columns import Col, Rows, columns
from snowport.commands.context import Ctx
from snowport.data.files import read_sql, sql_str
from snowport.stages.locations import StageRef, parse_stage_ref

LOAD_COLUMNS = ["file", "status", "rows_parsed", "rows_loaded", "error_limit", "errors_seen", "first_error",
                "first_error_line", "first_error_character", "first_error_column_name"]
_FIXED = {"rows_parsed", "rows_loaded", "error_limit", "errors_seen", "first_error_line", "first_error_character"}
LOAD_RESULT = columns(*(Col(c, "fixed" if c in _FIXED else "text", lambda r, i=i: r[i])
                        for i, c in enumerate(LOAD_COLUMNS)))
NOTHING_LOADED = columns(Col("status", value=lambda r: r[0]))
UNLOAD_RESULT = columns(Col("rows_unloaded", "fixed", lambda r: r[0]), Col("input_bytes", "fixed", lambda r: r[1]),
                        Col("output_bytes", "fixed", lambda r: r[2]))


@dataclass
class CopyStatement:
    target: str
    target_parts: list[str] | None  # the table's name parts when loading
    target_columns: list[str] | None
    source: str  # a stage reference, a table name, or a parenthesised query
    options: dict[str, Any]


def is_stage(operand: str) -> bool:
    return operand.startswith("@") or operand.startswith("'@")


def execute(ctx: Ctx, statement: CopyStatement, run_query: Callable[[str], pa.Table]) -> Rows:
    if is_stage(statement.target):
        return unload(ctx, statement, run_query)
    if not is_stage(statement.source):
        raise errors.SnowflakeError(1003, "42000", errors.compilation(
            f"syntax error line 1 at position 0 unexpected '{statement.source[:30]}'."))
    return load(ctx, statement)


# ---- file formats ---------------------------------------------------------------------------
def _file_format(options: dict[str, Any]) -> dict[str, Any]:
    fmt = options.get("FILE_FORMAT") or {}
    if not isinstance(fmt, dict):
        raise errors.invalid_value("FILE_FORMAT must be a list of options, e.g. FILE_FORMAT = (TYPE = CSV)")
    if "FORMAT_NAME" in fmt:
        raise errors.unsupported("FILE_FORMAT = (FORMAT_NAME = ...)")
    fmt = {k.upper(): v for k, v in fmt.items()}
    kind = str(fmt.get("TYPE", "CSV")).upper()
    if kind not in ("CSV", "JSON", "PARQUET"):
        raise errors.invalid_value(f"invalid value '{kind}' for property 'TYPE' of 'FILE_FORMAT'")
    fmt["TYPE"] = kind
    return fmt


# ---- loading -----------------------------------------------------------------------------
def load(ctx: Ctx, statement: CopyStatement) -> Rows:
    database, schema, name = ctx.object_in_schema(statement.target_parts or [], "COPY")
    ref = tables.TableRef(database, schema, name, None)  # type: ignore[arg-type]
    table = tables.require_table(ctx, ref, "COPY INTO TABLE")
    stage_ref = parse_stage_ref(statement.source)
    stage = stage_commands.resolve(ctx, stage_ref, "GET")
    ctx.core.warehouses.require(ctx)
    fmt = _file_format(statement.options)
    on_error = str(statement.options.get("ON_ERROR", "ABORT_STATEMENT")).upper()
    if on_error not in ("ABORT_STATEMENT", "CONTINUE", "SKIP_FILE") and not on_error.startswith("SKIP_FILE_"):
        raise errors.invalid_value(f"invalid value '{on_error}' for property 'ON_ERROR'")
    force = statement.options.get("FORCE") is True
    files = stage_commands.matching_files(ctx, stage, stage_ref.path, statement.options.get("PATTERN"))
    wanted = statement.options.get("FILES")
    if wanted:
        names = {str(w).lstrip("/") for w in (wanted if isinstance(wanted, list) else [wanted])}
        files = [f for f in files if f.path in names or f.path.removeprefix(stage_ref.path.lstrip("/")) in names]

    duck = ctx.session.engine.duckdb
    qualified = f'"{database}"."{schema}"."{name}"'
    described = duck.execute(f"DESCRIBE {qualified}").fetchall()
    table_columns = [(r[0], r[1]) for r in described]
    if statement.target_columns:
        by_name = dict(table_columns)
        missing = [c for c in statement.target_columns if c not in by_name]
        if missing:
            raise errors.SnowflakeError(904, "42000", errors.compilation(f"error line 1 at position 0\n"
                                                                         f"invalid identifier '{missing[0]}'"))
        table_columns = [(c, by_name[c]) for c in statement.target_columns]
    # Load history is observed state: what was loaded, not what anyone asked for. Loads into one table
    # take turns, so two sessions never both load a file the history has not recorded yet.
    with _load_lock(table.id):
        history: dict[str, str] = dict(ctx.core.observed.value(table.id, "load_history", {}))
        rows = []
        duck.execute("BEGIN TRANSACTION")  # ABORT_STATEMENT undoes the files loaded before the failure
        try:
            rows = _load_files(ctx, duck, stage, files, qualified, table_columns, fmt, statement.options, on_error,
                               force, history)
        except BaseException:
            duck.execute("ROLLBACK")
            raise
        duck.execute("COMMIT")
        ctx.core.observed.set(table.id, load_history=history)
    if not rows:
        return Rows(NOTHING_LOADED, [("Copy executed with 0 files processed.",)])
    return Rows(LOAD_RESULT, rows)


_LOAD_LOCKS: dict[int, threading.Lock] = {}
_LOAD_LOCKS_GUARD = threading.Lock()


def _load_lock(table_id: int) -> threading.Lock:
    with _LOAD_LOCKS_GUARD:
        return _LOAD_LOCKS.setdefault(table_id, threading.Lock())


def _load_files(ctx: Ctx, duck: Any, stage: Any, files: list, qualified: str, table_columns: list[tuple[str, str]],
                fmt: dict[str, Any], options: dict[str, Any], on_error: str, force: bool,
                history: dict[str, str]) -> list[tuple]:
    rows = []
    for f in files:
        history_key = f"{stage.key}/{f.path}"
        if not force and history.get(history_key) == f.md5:
            continue
        path = ctx.core.stages.file_path(stage.key, f.path)
        outcome = _load_file(duck, qualified, table_columns, path, fmt, options, on_error)
        rows.append((stage.prefix + f.path, *outcome))
        if outcome[0] == "LOAD_FAILED" and on_error == "ABORT_STATEMENT":
            raise errors.SnowflakeError(100038, "22018", outcome[5] or f"Copy failed for file {f.path}")
        if outcome[0] != "LOAD_FAILED":
            history[history_key] = f.md5
    return rows


def _load_file(duck: Any, qualified: str, table_columns: list[tuple[str, str]], path: Path, fmt: dict[str, Any],
               options: dict[str, Any], on_error: str) -> tuple:
    """(status, rows_parsed, rows_loaded, error_limit, errors_seen, first_error, line, char, column)."""
    try:
        relation = duck.sql(f"SELECT * FROM {read_sql(path, fmt)}")
        file_columns = relation.columns
    except Exception as e:  # unreadable file: the whole file fails
        return ("LOAD_FAILED", 0, 0, 1, 1, str(e).split("\n")[0], None, None, None)
    match = str(options.get("MATCH_BY_COLUMN_NAME", "NONE")).upper()
    selected = _select_columns(file_columns, table_columns, fmt, match)
    if isinstance(selected, str):
        return ("LOAD_FAILED", 0, 0, 1, 1, selected, 1, 1, None)
    null_if = fmt.get("NULL_IF", ["\\N"] if fmt["TYPE"] == "CSV" else [])
    null_if = null_if if isinstance(null_if, list) else [null_if]
    exprs, checks = [], []
    for (target, target_type), source in zip(table_columns, selected, strict=True):
        value = source
        if fmt["TYPE"] == "CSV" and null_if:
            nulls = ", ".join(sql_str(str(v)) for v in null_if)
            value = f"CASE WHEN {source} IN ({nulls}) THEN NULL ELSE {source} END"
        exprs.append(f'TRY_CAST({value} AS {target_type}) AS "{target}"')
        checks.append(f"({value} IS NOT NULL AND TRY_CAST({value} AS {target_type}) IS NULL)")
    bad = " OR ".join(checks) or "FALSE"
    source_sql = f"SELECT *, row_number() OVER () AS _line FROM {read_sql(path, fmt)}"
    stats = duck.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {bad}), min(_line) FILTER (WHERE {bad}) FROM ({source_sql})"
    ).fetchone()
    parsed, errors_seen, first_bad = int(stats[0]), int(stats[1]), stats[2]
    first_error = None
    if errors_seen:
        first_error = f"Numeric value or date/time value in file '{path.name}' is not recognized (line {first_bad})."
        if on_error in ("ABORT_STATEMENT",) or on_error.startswith("SKIP_FILE"):
            return ("LOAD_FAILED", parsed, 0, 1, errors_seen, first_error, first_bad, 1, None)
    target_list = ", ".join(f'"{c}"' for c, _ in table_columns)
    duck.execute(f"INSERT INTO {qualified} ({target_list}) SELECT {', '.join(exprs)} FROM ({source_sql}) "
                 f"WHERE NOT ({bad})")
    loaded = parsed - errors_seen
    return ("PARTIALLY_LOADED" if errors_seen else "LOADED", parsed, loaded, parsed if errors_seen else 1,
            errors_seen, first_error, first_bad, 1 if errors_seen else None, None)


def _select_columns(file_columns: list[str], table_columns: list[tuple[str, str]], fmt: dict[str, Any],
                    match: str) -> list[str] | str:
    """Source expressions for each target column, or the error Snowflake would report."""
    quoted = [f'"{c}"' for c in file_columns]
    if match in ("CASE_INSENSITIVE", "CASE_SENSITIVE"):
        lookup = {(c if match == "CASE_SENSITIVE" else c.upper()): q for c, q in zip(file_columns, quoted,
                                                                                       strict=True)}
        return [lookup.get(t if match == "CASE_SENSITIVE" else t.upper(), "NULL") for t, _ in table_columns]
    if fmt["TYPE"] in ("PARQUET", "JSON"):
        if len(table_columns) == 1 and table_columns[0][1] in ("JSON", "VARCHAR"):
            return [f"to_json(struct_pack({', '.join(f'{q} := {q}' for q in quoted)}))::VARCHAR"]
        return (f"{fmt['TYPE']} file format can produce one and only one column of type variant, object, or array. "
                "Load data into separate columns using the MATCH_BY_COLUMN_NAME copy option or copy with "
                "transformation.")
    if len(file_columns) != len(table_columns):
        return (f"Number of columns in file ({len(file_columns)}) does not match that of the corresponding table "
                f"({len(table_columns)}), use file format option error_on_column_count_mismatch=false to ignore "
                "this error")
    return quoted


# ---- unloading ---------------------------------------------------------------------------
def unload(ctx: Ctx, statement: CopyStatement, run_query: Callable[[str], pa.Table]) -> Rows:
    stage_ref: StageRef = parse_stage_ref(statement.target)
    stage = stage_commands.resolve(ctx, stage_ref, "PUT")
    source = statement.source
    query = source[1:-1] if source.startswith("(") else f"SELECT * FROM {source}"
    table = run_query(query)
    fmt = _file_format(statement.options)
    header = statement.options.get("HEADER") is True
    single = statement.options.get("SINGLE") is True
    compression = str(fmt.get("COMPRESSION", "AUTO")).upper()
    path = stage_ref.path.lstrip("/")
    if fmt["TYPE"] == "PARQUET":
        ext = ".snappy.parquet"
    elif fmt["TYPE"] == "JSON":
        ext = ".json" + ("" if compression == "NONE" else ".gz")
    else:
        ext = ".csv" + ("" if compression == "NONE" else ".gz")
    if single:
        target = path or "data"
    elif not path or path.endswith("/"):
        target = f"{path}data_0_0_0{ext}"
    else:
        target = f"{path}_0_0_0{ext}"
    data = _encode(table, fmt, header, compression)
    overwrite = statement.options.get("OVERWRITE") is True
    if not overwrite and not single:
        for f in ctx.core.stages.list(stage.key, target, with_md5=False):
            if f.path == target:
                raise errors.SnowflakeError(
                    3518, "22000", f"Files already existing at the unload destination: {stage.display}/{path}. "
                    "Use overwrite option to force unloading.")
    with tempfile.NamedTemporaryFile(dir=ctx.core.stages.uploads, delete=False) as tmp:
        tmp.write(data)
    ctx.core.stages.import_file(stage.key, target, Path(tmp.name))
    input_bytes = int(table.nbytes)
    return Rows(UNLOAD_RESULT, [(table.num_rows, input_bytes, len(data))])


def _encode(table: pa.Table, fmt: dict[str, Any], header: bool, compression: str) -> bytes:
    buf = io.BytesIO()
    if fmt["TYPE"] == "PARQUET":
        pq.write_table(table, buf, compression="snappy")
        return buf.getvalue()
    if fmt["TYPE"] == "JSON":
        import json

        lines = "".join(json.dumps(row, default=str) + "\n" for row in table.to_pylist()).encode()
        return lines if compression == "NONE" else gzip.compress(lines)
    delimiter = str(fmt.get("FIELD_DELIMITER", ","))
    options = pacsv.WriteOptions(include_header=header, delimiter=delimiter, quoting_style="needed")
    pacsv.write_csv(table, buf, options)
    raw = buf.getvalue()
    if header:
        raw = raw.replace(b'"', b"", 2 * table.num_columns) if raw.startswith(b'"') else raw
    return raw if compression == "NONE" else gzip.compress(raw)

