"""Engine failures in Snowflake's words: DuckDB / fakesnow errors become `SnowflakeError`s.

`RULES` is the whole translation: each row pairs DuckDB exception classes and a pattern over the
engine's message (its first line, without the "Binder Error: " style prefix) with a factory that
builds Snowflake's code, SQLSTATE and message. Rows are tried in order; the first match wins. An
engine error no row matches gets a generic Snowflake-shaped error, and its engine text goes only
to the server log (under an incident number) so that engine wording never reaches a client.

Names and positions come from the statement Snowport parsed: sqlglot records each identifier's
line, column and offsets, so `error line L at position P` points into the user's own SQL text, as
Snowflake's does (1-based line, 0-based position). Where the node cannot be found the position
clause is left out rather than guessed.
"""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import duckdb
from sqlglot import exp

from snowport.errors import SnowflakeError, compilation
from snowport.names import display

log = logging.getLogger("snowport.data")


@dataclass
class Context:
    """What a translation may consult besides the message: the statement and the session's namespace."""

    expression: exp.Expr | None = None
    database: str | None = None
    schema: str | None = None
    databases: frozenset[str] = field(default_factory=frozenset)  # databases the engine holds


Factory = Callable[[re.Match, Context], SnowflakeError]


@dataclass(frozen=True)
class Rule:
    kinds: tuple[type[Exception], ...]
    pattern: re.Pattern
    build: Factory


# ---- Snowflake's messages ------------------------------------------------------------------
def _at(where: tuple[int, int] | None, message: str) -> str:
    """`SQL compilation error: error line L at position P\\n<message>`, or without the clause when unknown."""
    if where is None:
        return compilation(message)
    return f"SQL compilation error: error line {where[0]} at position {where[1]}\n{message}"


def unknown_function(name: str) -> SnowflakeError:
    return SnowflakeError(2140, "42601", compilation(f"Unknown function {name}"))


def unknown_table_function(name: str) -> SnowflakeError:
    return SnowflakeError(2140, "42601", compilation(f"Unknown user-defined table function {name}"))


def object_missing(name: str) -> SnowflakeError:
    return SnowflakeError(2003, "42S02", compilation(f"Object '{name}' does not exist or not authorized."))


def kind_missing(kind: str, name: str) -> SnowflakeError:
    return SnowflakeError(2003, "02000", compilation(f"{kind} '{name}' does not exist or not authorized."))


def already_exists(name: str) -> SnowflakeError:
    return SnowflakeError(2002, "42710", compilation(f"Object '{name}' already exists."))


def invalid_identifier(name: str, where: tuple[int, int] | None) -> SnowflakeError:
    return SnowflakeError(904, "42000", _at(where, f"invalid identifier '{name}'"))


def ambiguous_column(name: str) -> SnowflakeError:
    return SnowflakeError(2028, "42601", compilation(f"ambiguous column name '{name}'"))


def not_grouped(name: str, where: tuple[int, int] | None) -> SnowflakeError:
    return SnowflakeError(
        979, "42601", _at(where, f"'{name}' in select clause is neither an aggregate nor in the group by clause.")
    )


def wrong_argument_count(call: str, expected: int, got: int, where: tuple[int, int] | None) -> SnowflakeError:
    if got < expected:
        return SnowflakeError(
            938, "22023", _at(where, f"not enough arguments for function [{call}], expected {expected}, got {got}")
        )
    return SnowflakeError(
        939, "22023", _at(where, f"too many arguments for function [{call}] expected {expected}, got {got}")
    )


def invalid_argument_types(function: str, types: list[str], where: tuple[int, int] | None) -> SnowflakeError:
    return SnowflakeError(
        1044, "42P13", _at(where, f"Invalid argument types for function '{function}': ({', '.join(types)})")
    )


def insert_count_mismatch(expected: int, got: int) -> SnowflakeError:
    return SnowflakeError(
        2020, "21S01", compilation(f"Insert value list does not match column list expecting {expected} but got {got}")
    )


def not_recognized(what: str, value: str, code: int, sqlstate: str) -> SnowflakeError:
    return SnowflakeError(code, sqlstate, f"{what} '{value}' is not recognized", error_type="EXECUTION")


def division_by_zero() -> SnowflakeError:
    return SnowflakeError(100051, "22012", "Division by zero", error_type="EXECUTION")


def out_of_range() -> SnowflakeError:
    return SnowflakeError(100046, "22003", "Number out of representable range", error_type="EXECUTION")


def null_in_non_nullable() -> SnowflakeError:
    return SnowflakeError(100072, "22000", "NULL result in a non-nullable column", error_type="EXECUTION")


def duplicate_key(constraint: str) -> SnowflakeError:
    return SnowflakeError(
        200001, "22000", f'Duplicate key value violates unique constraint "{constraint}"', error_type="EXECUTION"
    )


def json_parse_error(reason: str, pos: int) -> SnowflakeError:
    return SnowflakeError(100069, "22P02", f"Error parsing JSON: {reason}, pos {pos}", error_type="EXECUTION")


def generic_compilation() -> SnowflakeError:
    """A compile-time failure with no better wording: Snowflake's own generic compilation error."""
    return SnowflakeError(2043, "02000", compilation("Object does not exist, or operation cannot be performed."))


def generic_execution(incident: int) -> SnowflakeError:
    return SnowflakeError(
        100097, "22000", f"SQL execution error:\nStatement failed during execution; incident {incident}.",
        error_type="EXECUTION",
    )


# ---- reading the statement -----------------------------------------------------------------
def _canonical(ident: exp.Expr | None) -> str:
    """An identifier node's canonical name: unquoted folds to upper case, quoted keeps its case."""
    if not isinstance(ident, exp.Identifier):
        return ident.name if ident is not None else ""
    return ident.name if ident.quoted else ident.name.upper()


def _position(nodes: Iterable[exp.Expr | None]) -> tuple[int, int] | None:
    """(1-based line, 0-based position) of the earliest of `nodes` in the user's SQL, from sqlglot's token meta."""
    best: tuple[int, int, int] | None = None
    for node in nodes:
        meta = getattr(node, "meta", None) or {}
        if not {"line", "col", "start", "end"} <= meta.keys():
            continue
        start = int(meta["start"])
        column = int(meta["col"]) - (int(meta["end"]) - start + 1)
        if column < 0:
            continue
        if best is None or start < best[0]:
            best = (start, int(meta["line"]), column)
    return None if best is None else (best[1], best[2])


def _columns(ctx: Context) -> list[exp.Column]:
    if ctx.expression is None:
        return []
    return sorted(ctx.expression.find_all(exp.Column), key=lambda c: (c.this.meta or {}).get("start", 1 << 30))


def _find_column(ctx: Context, name: str, table: str | None = None) -> exp.Column | None:
    for column in _columns(ctx):
        if _canonical(column.this) != name:
            continue
        if table is not None and _canonical(column.args.get("table")) != table:
            continue
        return column
    return None


def _column_where(column: exp.Column | None) -> tuple[int, int] | None:
    if column is None:
        return None
    return _position([column.args.get("catalog"), column.args.get("db"), column.args.get("table"), column.this])


def _qualified_table(ctx: Context, name: str) -> list[str]:
    """Database, schema and name of the table the statement names `name`, defaulting to the session's."""
    node = None
    if ctx.expression is not None:
        for table in ctx.expression.find_all(exp.Table):
            if _canonical(table.this) == name:
                node = table
                break
    database = _canonical(node.args.get("catalog")) if node is not None else ""
    schema = _canonical(node.args.get("db")) if node is not None else ""
    return [database or ctx.database or "", schema or ctx.schema or "", name]


def _unquote(text: str) -> str:
    text = text.strip()
    return text[1:-1].replace('""', '"') if len(text) >= 2 and text[0] == text[-1] == '"' else text


# ---- factories -----------------------------------------------------------------------------
def _unknown_function(m: re.Match, ctx: Context) -> SnowflakeError:
    name = m["name"]
    if ctx.expression is not None:
        for node in ctx.expression.find_all(exp.Anonymous):
            if node.name.lower() == name.lower():
                return unknown_function(node.name.upper())
    return unknown_function(name.upper())


def _missing_table(m: re.Match, ctx: Context) -> SnowflakeError:
    parts = _qualified_table(ctx, _unquote(m["name"]).split(".")[-1])
    if isinstance(ctx.expression, exp.Drop) and ctx.expression.args.get("kind"):
        return kind_missing(str(ctx.expression.args["kind"]).title(), display(*parts))
    return object_missing(display(*parts))


def _missing_schema(m: re.Match, ctx: Context) -> SnowflakeError:
    parts = [p for p in _unquote(m["schema"]).split(".") if p]
    if len(parts) == 2 and ctx.databases and parts[0] not in ctx.databases:
        return kind_missing("Database", display(parts[0]))
    if len(parts) == 1:
        parts = [ctx.database or "", parts[0]]
    return kind_missing("Schema", display(*parts))


def _missing_column(m: re.Match, ctx: Context) -> SnowflakeError:
    name = _unquote(m["name"])
    column = _find_column(ctx, name)
    shown = display(*[_canonical(column.args.get("table")), name]) if column is not None else display(name)
    return invalid_identifier(shown, _column_where(column))


def _missing_qualified_column(m: re.Match, ctx: Context) -> SnowflakeError:
    table, name = _unquote(m["table"]), _unquote(m["name"])
    column = _find_column(ctx, name, table)
    return invalid_identifier(display(table, name), _column_where(column))


def _missing_qualifier(m: re.Match, ctx: Context) -> SnowflakeError:
    table = _unquote(m["table"])
    for column in _columns(ctx):
        if _canonical(column.args.get("table")) == table:
            return invalid_identifier(display(table, _canonical(column.this)), _column_where(column))
    return invalid_identifier(display(table), None)


def _ambiguous(m: re.Match, ctx: Context) -> SnowflakeError:
    return ambiguous_column(display(_unquote(m["name"])))


def _ungrouped(m: re.Match, ctx: Context) -> SnowflakeError:
    name = _unquote(m["name"])
    column = _find_column(ctx, name)
    qualifier = _canonical(column.args.get("table")) if column is not None else ""
    if not qualifier and column is not None:
        select = column.find_ancestor(exp.Select)
        sources = [t for t in (select.find_all(exp.Table) if select else []) if t.find_ancestor(exp.Select) is select]
        if len(sources) == 1:
            alias = sources[0].args.get("alias")
            qualifier = _canonical(alias.this) if isinstance(alias, exp.TableAlias) else _canonical(sources[0].this)
    return not_grouped(display(qualifier, name), _column_where(column))


_DUCK_TO_SNOWFLAKE = (
    (re.compile(r"^(STRING_LITERAL|VARCHAR|TEXT|STRING)"), "VARCHAR"),
    (re.compile(r"^(INTEGER_LITERAL|U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)|INT\d*|DECIMAL.*)"), "NUMBER"),
    (re.compile(r"^(DOUBLE|FLOAT|REAL)"), "FLOAT"),
    (re.compile(r"^BOOLEAN"), "BOOLEAN"),
    (re.compile(r"^DATE$"), "DATE"),
    (re.compile(r"^TIME$"), "TIME"),
    (re.compile(r"^TIMESTAMP WITH TIME ZONE"), "TIMESTAMP_TZ"),
    (re.compile(r"^TIMESTAMP"), "TIMESTAMP_NTZ"),
    (re.compile(r"^(BLOB|BYTEA)"), "BINARY"),
    (re.compile(r"^(JSON|STRUCT|MAP)"), "OBJECT"),
    (re.compile(r".*\[\]$"), "ARRAY"),
)


def _snowflake_type(duck_type: str) -> str:
    duck_type = duck_type.strip().strip('"').upper()
    for pattern, name in _DUCK_TO_SNOWFLAKE:
        if pattern.match(duck_type):
            return name
    return "VARIANT" if duck_type in ("NULL", "ANY") else duck_type


def _split_args(text: str) -> list[str]:
    """Top-level comma-separated parts of an argument list (types may hold parentheses)."""
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    if current.strip():
        parts.append(current.strip())
    return parts


_CANDIDATE = re.compile(r'^\s*"?(?P<name>[^"(]+)"?\((?P<args>.*)\)\s*->', re.M)


def _arity(node: exp.Func) -> int:
    return sum(len(v) if isinstance(v, list) else 1 for v in node.args.values()
               if isinstance(v, exp.Expr) or (isinstance(v, list) and v))


def _function_node(ctx: Context, duck_name: str, arity: int) -> exp.Func | None:
    if ctx.expression is None:
        return None
    for node in ctx.expression.find_all(exp.Func):
        names = {node.sql_name().lower(), node.name.lower() if isinstance(node, exp.Anonymous) else ""}
        if duck_name.lower() in names and _arity(node) == arity:
            return node
    return None


def _no_matching_function(m: re.Match, ctx: Context) -> SnowflakeError:
    duck_name, given = m["name"], _split_args(m["args"])
    node = _function_node(ctx, duck_name, len(given))
    shown = node.sql_name().upper() if node is not None and not isinstance(node, exp.Anonymous) else duck_name.upper()
    call = node.sql(dialect="snowflake") if node is not None else f"{shown}()"
    where = _position([node, *(node.find_all(exp.Identifier) if node is not None else [])])
    arities = set()
    for candidate in _CANDIDATE.finditer(m["rest"] or ""):
        args = _split_args(candidate["args"])
        if any("..." in a for a in args):
            arities = set()
            break
        arities.add(len(args))
    if arities and len(given) not in arities:
        fewer = [a for a in arities if a < len(given)]
        more = [a for a in arities if a > len(given)]
        expected = min(more) if more else max(fewer)
        return wrong_argument_count(call, expected, len(given), where)
    return invalid_argument_types(shown, [_snowflake_type(t) for t in given], where)


def _no_best_candidate(m: re.Match, ctx: Context) -> SnowflakeError:
    return invalid_argument_types(m["name"].upper(), [_snowflake_type(t) for t in _split_args(m["args"])], None)


def _insert_count(m: re.Match, ctx: Context) -> SnowflakeError:
    return insert_count_mismatch(int(m["expected"]), int(m["got"]))


def _numeric(m: re.Match, ctx: Context) -> SnowflakeError:
    return not_recognized("Numeric value", m["value"], 100038, "22018")


def _boolean(m: re.Match, ctx: Context) -> SnowflakeError:
    return not_recognized("Boolean value", m["value"], 100037, "22018")


def _date(m: re.Match, ctx: Context) -> SnowflakeError:
    return not_recognized("Date", m["value"], 100040, "22007")


def _timestamp(m: re.Match, ctx: Context) -> SnowflakeError:
    return not_recognized("Timestamp", m["value"], 100035, "22007")


def _time(m: re.Match, ctx: Context) -> SnowflakeError:
    return not_recognized("Time", m["value"], 100035, "22007")


def _duplicate(m: re.Match, ctx: Context) -> SnowflakeError:
    target = ctx.expression.find(exp.Table) if ctx.expression is not None else None
    table = _canonical(target.this) if target is not None else "TABLE"
    suffix = "PRIMARY" if m["kind"].lower() == "primary key" else "UNIQUE"
    return duplicate_key(f"SYS_INDEX_{table}_{suffix}")


def _syntax(m: re.Match, ctx: Context) -> SnowflakeError:
    token = (m["token"] or "<EOF>")[:40]
    return SnowflakeError(1003, "42000", compilation(f"syntax error line 1 at position 0 unexpected '{token}'."))


def _json(m: re.Match, ctx: Context) -> SnowflakeError:
    return json_parse_error(m["reason"].strip().rstrip("."), int(m["byte"]) + 1)


def _constant(error: Callable[[], SnowflakeError]) -> Factory:
    return lambda _m, _ctx: error()


# ---- the table -----------------------------------------------------------------------------
Binder = duckdb.BinderException
Catalog = duckdb.CatalogException
Conversion = duckdb.ConversionException
Constraint = duckdb.ConstraintException
InvalidInput = duckdb.InvalidInputException
OutOfRange = duckdb.OutOfRangeException
_ANY_VALUE = r"""['"](?P<value>.*?)['"]"""
_NUMERIC_TYPES = r"(?:U?(?:TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)|U?INT\d*|DECIMAL|NUMERIC|DOUBLE|FLOAT|REAL)"


def _rule(kinds: type[Exception] | tuple[type[Exception], ...], pattern: str, build: Factory) -> Rule:
    return Rule(kinds if isinstance(kinds, tuple) else (kinds,), re.compile(pattern, re.S), build)


RULES: tuple[Rule, ...] = (
    # unknown function / table function
    _rule(Catalog, r"^Scalar Function with name (?P<name>\S+) does not exist", _unknown_function),
    _rule(Catalog, r"^(?:Aggregate |Macro )?Function with name (?P<name>\S+) (?:does not exist|is not on the catalog)",
          _unknown_function),
    _rule(Catalog, r"^Table Function with name (?P<name>\S+) does not exist",
          lambda m, _c: unknown_table_function(m["name"].upper())),
    # unknown schema / database, unknown table or view, duplicate names
    _rule(Catalog, r"^(?:Table|View) with name (?P<name>.+?) does not exist "
                   r"because schema (?P<schema>.+?) does not exist", _missing_schema),
    _rule(Catalog, r"^Schema with name (?P<schema>.+?) does not exist", _missing_schema),
    _rule(Catalog, r"^(?:Table|View) with name (?P<name>.+?) does not exist", _missing_table),
    _rule(Catalog, r"^(?:Table|View|Schema) with name (?P<name>.+?) already exists",
          lambda m, _c: already_exists(display(_unquote(m["name"])))),
    # columns
    _rule(Binder, r'^Referenced column (?P<name>"[^\n]*?"|\S+) not found', _missing_column),
    _rule(Binder, r'^(?:Table|Values list) (?P<table>"[^\n]*?"|\S+) '
                  r'does not have a column named (?P<name>"[^\n]*?"|\S+)', _missing_qualified_column),
    _rule(Binder, r'^Referenced table (?P<table>"[^\n]*?"|\S+) not found', _missing_qualifier),
    _rule(Binder, r'^Ambiguous reference to column name (?P<name>"[^\n]*?"|\S+)', _ambiguous),
    _rule(Binder, r'^column (?P<name>"[^\n]*?"|\S+) must appear in the GROUP BY clause', _ungrouped),
    # functions called with the wrong number or types of arguments
    _rule(Binder, r"^No function matches the given name and argument types "
                  r"'(?P<name>[^'(]+)\((?P<args>.*?)\)'(?P<rest>.*)", _no_matching_function),
    _rule(Binder, r"^Could not choose a best candidate function for the function call "
                  r'"(?P<name>[^"(]+)\((?P<args>.*?)\)"', _no_best_candidate),
    # INSERT with the wrong number of values
    _rule(Binder, r"^table (?P<table>.+?) has (?P<expected>\d+) columns but (?P<got>\d+) values were supplied",
          _insert_count),
    _rule(Binder, r"expected (?P<expected>\d+) columns but (?P<got>\d+) values were supplied", _insert_count),
    # values that do not convert
    _rule(Conversion, r"^Could not convert string " + _ANY_VALUE + r" to BOOL", _boolean),
    _rule(Conversion, r"^Could not convert string " + _ANY_VALUE + r" to " + _NUMERIC_TYPES, _numeric),
    _rule(Conversion, r'^(?:invalid )?date field (?:format|value out of range): ' + _ANY_VALUE, _date),
    _rule(Conversion, r'^(?:invalid )?timestamp field (?:format|value out of range): ' + _ANY_VALUE, _timestamp),
    _rule(Conversion, r'^(?:invalid )?time field (?:format|value out of range): ' + _ANY_VALUE, _time),
    _rule((Conversion, OutOfRange), r"out of range for the destination type|^Overflow in ", _constant(out_of_range)),
    # arithmetic
    _rule((InvalidInput, OutOfRange), r"^Division by zero", _constant(division_by_zero)),
    # constraints
    _rule(Constraint, r"^NOT NULL constraint failed", _constant(null_in_non_nullable)),
    _rule(Constraint, r'^Duplicate key .*? violates (?P<kind>primary key|unique) constraint', _duplicate),
    # DuckDB's parser refusing what sqlglot accepted (the token is known, its position in the user's SQL is not)
    _rule(duckdb.ParserException, r'(?:at or near "(?P<token>[^"]*)"|at end of input)', _syntax),
    # semi-structured values
    _rule(InvalidInput, r"^Malformed JSON at byte (?P<byte>\d+) of input: (?P<reason>[^.]*)", _json),
)

# Errors DuckDB raises while binding a statement, before any row is read.
_COMPILE_TIME = (duckdb.BinderException, duckdb.CatalogException, duckdb.ParserException,
                 duckdb.DependencyException, duckdb.NotImplementedException, duckdb.SyntaxException)

_PREFIX = re.compile(r"^[A-Z][A-Za-z ]*? Error: ")


def engine_message(error: BaseException) -> str:
    """DuckDB's message without terminal highlighting or its "<Kind> Error: " prefix."""
    text = str(error.args[0] if error.args else error).replace("\x1b[4m", "").replace("\x1b[0m", "")
    return _PREFIX.sub("", text, count=1)


def translate_duckdb(error: duckdb.Error, ctx: Context) -> SnowflakeError:
    """The Snowflake error for one DuckDB error (a generic one when no rule matches)."""
    message = engine_message(error)
    for rule in RULES:
        if isinstance(error, rule.kinds):
            m = rule.pattern.search(message)
            if m is not None:
                return rule.build(m, ctx)
    incident = zlib.crc32(message.encode()) % 10_000_000
    log.warning("untranslated engine error (incident %d): %s: %s", incident, type(error).__name__, message)
    if isinstance(error, _COMPILE_TIME):
        return generic_compilation()
    return generic_execution(incident)


def duckdb_cause(error: BaseException) -> duckdb.Error | None:
    """The DuckDB error behind `error` (itself, or the one fakesnow re-raised it from)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, duckdb.Error):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


__all__ = ["RULES", "Context", "Rule", "duckdb_cause", "engine_message", "translate_duckdb"]
