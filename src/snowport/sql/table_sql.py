"""Table SQL: parsed once by sqlglot, authorized by commands/tables.py, run by the data engine."""

from __future__ import annotations

import sys
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from snowport import errors
from snowport.commands import jobs, service_logs, services, tables
from snowport.commands import stages as stage_commands
from snowport.commands.context import Ctx
from snowport.functions import calls as service_functions
from snowport.sql import render
from snowport.sql.lexer import tokenize
from snowport.sql.result import Result, column, status
from snowport.sql.unsupported import known_statement_kind
from snowport.stages.locations import parse_stage_ref


def parse(sql: str) -> exp.Expr:
    try:
        expression = sqlglot.parse_one(sql, read="snowflake")
    except RecursionError:  # sqlglot recurses without end on some malformed text (e.g. `DESCRIBE .`)
        raise errors.SnowflakeError(1003, "42000", errors.compilation(
            "syntax error line 1 at position 0: the statement could not be parsed.")) from None
    except TokenError:
        tokenize(sql)  # raises the syntax error at the unterminated token, as for Snowport's own statements
        raise
    except ParseError as e:
        err = e.errors[0] if e.errors else {}
        token = str(err.get("highlight") or "").strip() or "<EOF>"
        line = int(err.get("line") or 1)
        col = int(err.get("col") or 1)
        raise errors.syntax_error(line, max(col - len(token), 0), token) from None
    if expression is None:
        raise errors.SnowflakeError(900, "42000", "Empty SQL statement.")
    if isinstance(expression, exp.Command):
        word = str(expression.this).upper()
        kind = known_statement_kind(sql)
        if kind is not None:
            raise errors.unsupported(kind)
        raise errors.SnowflakeError(1003, "42000", errors.compilation(
            f"syntax error line 1 at position 0 unexpected '{word}'."))
    return expression


def run(ctx: Ctx, sql: str, params: Any, describe_only: bool) -> Result:
    return run_parsed(ctx, parse(sql), params, describe_only)


def service_calls(expression: exp.Expr) -> list[tuple[exp.Expr, list[str], str, dict[str, exp.Expr]]]:
    """`TABLE(<service>!SPCS_GET_LOGS(START_TIME => .., END_TIME => ..))` and SPCS_GET_EVENTS in the statement:
    (node to replace, the service name's parts, the function, its named arguments)."""
    found = []
    for node in list(expression.find_all(exp.ModelAttribute)):
        fn = node.expression
        if not isinstance(fn, exp.Anonymous) or str(fn.this).upper() not in service_logs.FUNCTIONS:
            continue
        parts = _name_parts(node.this)
        kwargs: dict[str, exp.Expr] = {}
        for arg in fn.expressions:
            key = str(arg.this.name).upper() if isinstance(arg, exp.Kwarg) else ""
            if key not in ("START_TIME", "END_TIME"):
                raise errors.SnowflakeError(1003, "42000", errors.compilation(
                    f"{str(fn.this).upper()} takes only START_TIME => <timestamp> and END_TIME => <timestamp>."))
            kwargs[key] = arg.expression
        table_node = node.parent if isinstance(node.parent, exp.TableFromRows) else node
        found.append((table_node, parts, str(fn.this).upper(), kwargs))
    return found


def _flatten(name: exp.Expr) -> list[exp.Expr]:
    """`a.b.c` as sqlglot nests it (Dot(Dot(a, b), c)) to [a, b, c]."""
    if isinstance(name, exp.Dot):
        return [*_flatten(name.this), *_flatten(name.expression)]
    return [name]


def _timestamp_arg(ctx: Ctx, value: exp.Expr) -> Any:
    """A START_TIME / END_TIME argument evaluated by the data engine (it may be any timestamp expression)."""
    result = ctx.session.engine.execute(exp.select(exp.cast(value, "TIMESTAMPTZ").as_("T")))
    values = result.arrow.column(0).to_pylist() if result.arrow is not None else []
    return values[0] if values else None


def _name_parts(name: exp.Expr) -> list[str]:
    parts = []
    for ident in _flatten(name):
        if not isinstance(ident, exp.Identifier):
            raise errors.invalid_value(f"invalid service name {name.sql(dialect='snowflake')}")
        parts.append(ident.this if ident.quoted else ident.this.upper())
    return parts


WAIT_FOR = "SPCS_WAIT_FOR"


def _wait_for_args(fn: exp.Anonymous) -> tuple[str, float]:
    """('<status>', <seconds>) of `<service>!SPCS_WAIT_FOR(...)`, as literals."""
    args = fn.expressions
    if len(args) != 2 or not args[0].is_string or not (isinstance(args[1], exp.Literal) and args[1].is_number):
        raise errors.SnowflakeError(1003, "42000", errors.compilation(
            f"{WAIT_FOR} takes a status and a timeout in seconds: {WAIT_FOR}('RUNNING', 120)."))
    return args[0].name, float(args[1].name)


def _replace_job_calls(ctx: Ctx, expression: exp.Expr, registered: list[str], describe_only: bool) -> None:
    """`<service>!SPCS_WAIT_FOR('<status>', <s>)` and `<job>!SPCS_CANCEL_JOB()` (values: the wait or the
    cancel happens once, its message put in its place) and
    `TABLE(SNOWFLAKE.SPCS.GET_JOB_HISTORY(...))` (a table registered for the statement)."""
    for node in list(expression.find_all(exp.ModelAttribute)):
        fn = node.expression
        function = str(fn.this).upper() if isinstance(fn, exp.Anonymous) else ""
        if function == jobs.CANCEL:
            if fn.expressions:
                raise errors.SnowflakeError(1003, "42000", errors.compilation(f"{jobs.CANCEL} takes no arguments."))
            message = "" if describe_only else jobs.cancel(ctx, _name_parts(node.this))
        elif function == WAIT_FOR:
            status, seconds = _wait_for_args(fn)
            message = "" if describe_only else services.wait_for(ctx, _name_parts(node.this), status, seconds)
        else:
            continue
        shown = node.sql(dialect="snowflake").upper()
        literal = exp.Literal.string(message)
        node.replace(exp.alias_(literal, shown, quoted=True) if isinstance(node.parent, exp.Select) else literal)
    for node in list(expression.find_all(exp.Anonymous)):
        if str(node.this).upper() != jobs.HISTORY or not isinstance(node.parent, exp.Dot):
            continue
        qualifier = [i.this.upper() for i in _flatten(node.parent.this) if isinstance(i, exp.Identifier)]
        if qualifier not in (["SNOWFLAKE", "SPCS"], ["SPCS"]):
            continue
        kwargs: dict[str, Any] = {}
        for arg in node.expressions:
            key = str(arg.this.name).upper() if isinstance(arg, exp.Kwarg) else ""
            if key not in jobs.HISTORY_ARGS:
                raise errors.SnowflakeError(1003, "42000", errors.compilation(
                    f"{jobs.HISTORY} takes only {', '.join(a + ' => ...' for a in jobs.HISTORY_ARGS)}."))
            if key == "RESULT_LIMIT":
                value = arg.expression
                kwargs[key] = int(value.this) if isinstance(value, exp.Literal) and value.is_int else \
                    value.sql(dialect="snowflake")
            else:
                kwargs[key] = _timestamp_arg(ctx, arg.expression)
        rows = jobs.history(ctx, kwargs.get("CREATED_TIME_START"), kwargs.get("CREATED_TIME_END"),
                            kwargs.get("RESULT_LIMIT"))
        name = f"_snowport_job_history_{len(registered)}"
        ctx.session.engine.register(name, rows)
        registered.append(name)
        table_node = node.parent.parent if isinstance(node.parent.parent, exp.TableFromRows) else node.parent
        replacement = exp.table_(exp.to_identifier(name, quoted=True), db="main", catalog="temp")
        alias = table_node.args.get("alias")
        if alias is not None:
            replacement.set("alias", alias)
        table_node.replace(replacement)


def _replace_service_calls(ctx: Ctx, expression: exp.Expr, registered: list[str]) -> None:
    for node, parts, function, kwargs in service_calls(expression):
        bounds = {k: _timestamp_arg(ctx, v) for k, v in kwargs.items()}
        rows = service_logs.table(ctx, parts, function, bounds.get("START_TIME"), bounds.get("END_TIME"))
        name = f"_snowport_{function.lower()}_{len(registered)}"
        ctx.session.engine.register(name, rows)
        registered.append(name)
        # qualified (DuckDB keeps registered tables in its temp catalog): no current database is needed
        replacement = exp.table_(exp.to_identifier(name, quoted=True), db="main", catalog="temp")
        alias = node.args.get("alias")
        if alias is not None:
            replacement.set("alias", alias)
        node.replace(replacement)


def run_parsed(ctx: Ctx, expression: exp.Expr, params: Any, describe_only: bool) -> Result:
    plan = tables.authorize(ctx, expression)
    if plan.skip_engine:
        if not describe_only:
            tables.record(ctx, plan)
        return status(plan.skip_message or "Statement executed successfully.")
    tables.substitute_functions(ctx, expression)
    tables.positional_columns(expression)
    if not describe_only:
        _check_bindings(expression, params)
    scans = tables.result_scan_ids(expression)
    if plan.needs_warehouse and not describe_only:
        ctx.core.warehouses.require(ctx)
    registered: list[str] = []
    bound = service_functions.Bound()
    try:
        _replace_service_calls(ctx, expression, registered)
        _replace_job_calls(ctx, expression, registered, describe_only)
        bound = service_functions.bind(ctx, expression)
        for node, query_id in scans:
            stored = ctx.core.queries.result_for(ctx.session, query_id)
            name = f"_snowport_result_{len(registered)}_{abs(hash(query_id))}"
            ctx.session.engine.register(name, stored.to_arrow())
            registered.append(name)
            table_node = node.parent if isinstance(node.parent, exp.TableFromRows) else node
            table_node.replace(exp.to_table(f'"{name}"'))
        for node in [t for t in expression.find_all(exp.Table) if isinstance(t.this, exp.Var)
                     and str(t.this.name).startswith("@")]:
            name = f"_snowport_staged_{len(registered)}"
            if node.args.get("format") is not None:
                raise errors.unsupported("FILE_FORMAT => in a staged-file query")
            pattern = node.args.get("pattern")
            table = stage_commands.staged_files_table(ctx, parse_stage_ref(node.this.name),
                                              pattern.this if isinstance(pattern, exp.Literal) else None)
            ctx.session.engine.register(name, table)
            registered.append(name)
            select = node.find_ancestor(exp.Select)
            if select is not None:
                for param in list(select.find_all(exp.Parameter)):
                    if isinstance(param.this, exp.Literal):
                        column_node = param.parent if isinstance(param.parent, exp.Column) else param
                        column_node.replace(exp.column(f"C{param.this.this}", quoted=True))
            alias = node.args.get("alias")
            replacement = exp.to_table(f'"{name}"')
            if alias is not None:
                replacement.set("alias", alias)
            node.replace(replacement)
        for node in list(expression.find_all(exp.DirectoryStage)):
            name = f"_snowport_directory_{len(registered)}"
            ref = parse_stage_ref(node.this.name if isinstance(node.this, exp.Expr) else str(node.this))
            ctx.session.engine.register(name, stage_commands.directory_table(ctx, ref))
            registered.append(name)
            table_node = node.parent if isinstance(node.parent, exp.Table) else node
            table_node.replace(exp.to_table(f'"{name}"'))
        if describe_only and not isinstance(expression, (exp.Select, exp.Union, exp.Subquery)):
            return Result([column("status")], [], statement_type_id=render.statement_type(expression))
        if describe_only:
            expression = expression.transform(
                lambda e: exp.Null() if isinstance(e, exp.Placeholder) else e
            )
            limited = exp.select("*").from_(expression.subquery("_d")).limit(0)
            engine_result = ctx.session.engine.execute(limited)
        else:
            try:
                engine_result = ctx.session.engine.execute(expression, params)
            except errors.SnowflakeError:
                # a service function's failed batch: its own message, not the engine's wrapper of it
                raise bound.failure() or sys.exc_info()[1] from None
    finally:
        bound.release()
        for name in registered:
            ctx.session.engine.unregister(name)
    if not describe_only:
        tables.record(ctx, plan)
    return Result(engine_result.rowtype, arrow=engine_result.arrow,
                  statement_type_id=engine_result.statement_type_id)


def _check_bindings(expression: exp.Expr, params: Any) -> None:
    """Every `?` / `:n` placeholder needs a value, as Snowflake checks before running."""
    placeholders = list(expression.find_all(exp.Placeholder))
    if not placeholders:
        return
    if isinstance(params, dict):
        missing = [p.name for p in placeholders if p.name and p.name not in params]
        if missing:
            raise errors.SnowflakeError(2049, "42601", errors.compilation(f"Bind variable :{missing[0]} not set."))
        return
    supplied = 0 if params is None else len(params)
    numbered = [int(p.name) for p in placeholders if p.name and p.name.isdigit()]
    needed = max(numbered) if numbered else len(placeholders)
    if supplied < needed:
        shown = f":{supplied + 1}" if numbered else "?"
        raise errors.SnowflakeError(2049, "42601", errors.compilation(f"Bind variable {shown} not set."))
