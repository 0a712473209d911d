"""Statement classification and dispatch: Snowport's own commands, or table SQL via the engine."""

from __future__ import annotations

import re
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

from snowport import errors
from snowport.sql import account, copy, grants, image_repositories, session_commands, stages, tables
from snowport.sql.context import Ctx
from snowport.sql.grants import SECURABLE_KINDS, Securable
from snowport.sql.lexer import Parser, tokenize
from snowport.sql.result import DESCRIBE, SHOW, Result, column, status
from snowport.stages.locations import is_transfer, parse_stage_command, parse_stage_ref, parse_transfer

ACCOUNT_KINDS = ("USER", "ROLE", "DATABASE", "SCHEMA", "WAREHOUSE")
# The statement's first word, after any leading comments: enough to route it.
_FIRST_WORD = re.compile(r"^\s*(?:(?:--[^\n]*(?:\n|$)|/\*.*?\*/)\s*)*([A-Za-z]+)", re.S)


def execute(ctx: Ctx, sql: str, params: Any = None, describe_only: bool = False) -> Result:
    """Run one statement for the session and return its result."""
    if is_transfer(sql):
        command = parse_transfer(sql)
        return stages.put(ctx, command) if command.kind == "PUT" else stages.get(ctx, command)
    m = _FIRST_WORD.match(sql)
    handler = _OWN.get(m.group(1).upper()) if m else None
    if m is None and not Parser(sql).tokens:
        raise errors.SnowflakeError(900, "42000", "Empty SQL statement.")
    if handler is not None:
        # Only Snowport's own statements are tokenized here; table SQL goes straight to sqlglot (hot path).
        p = Parser(sql)
        own = handler(ctx, p, describe_only)
        if own is not None:
            if describe_only:
                own.rows = []
            return own
    return _table_sql(ctx, sql, params, describe_only)


# ---- table SQL ----------------------------------------------------------------------------
def _parse(sql: str) -> exp.Expr:
    try:
        expression = sqlglot.parse_one(sql, read="snowflake")
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
        raise errors.SnowflakeError(1003, "42000", errors.compilation(
            f"syntax error line 1 at position 0 unexpected '{word}'."))
    return expression


def _table_sql(ctx: Ctx, sql: str, params: Any, describe_only: bool) -> Result:
    expression = _parse(sql)
    plan = tables.authorize(ctx, expression)
    if plan.skip_engine:
        return status(plan.skip_message or "Statement executed successfully.")
    tables.substitute_functions(ctx, expression)
    tables.positional_columns(expression)
    if not describe_only:
        _check_bindings(expression, params)
    scans = tables.result_scan_ids(expression)
    if plan.needs_warehouse and not describe_only:
        ctx.core.warehouses.require(ctx)
    registered: list[str] = []
    try:
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
            table = stages.staged_files_table(ctx, parse_stage_ref(node.this.name),
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
            ctx.session.engine.register(name, stages.directory_table(ctx, ref))
            registered.append(name)
            table_node = node.parent if isinstance(node.parent, exp.Table) else node
            table_node.replace(exp.to_table(f'"{name}"'))
        if describe_only and not isinstance(expression, (exp.Select, exp.Union, exp.Subquery)):
            return Result([column("status")], [], statement_type_id=tables.statement_type(expression))
        if describe_only:
            expression = expression.transform(
                lambda e: exp.Null() if isinstance(e, exp.Placeholder) else e
            )
            limited = exp.select("*").from_(expression.subquery("_d")).limit(0)
            engine_result = ctx.session.engine.execute(limited)
        else:
            engine_result = ctx.session.engine.execute(expression, params)
    finally:
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


# ---- own statements -------------------------------------------------------------------------
def _create(ctx: Ctx, p: Parser, _d: bool) -> Result | None:
    p.expect("CREATE")
    or_replace = p.accept("OR", "REPLACE")
    transient = p.accept("TRANSIENT")
    temporary = bool(p.accept_any("TEMPORARY", "TEMP"))
    if p.accept("STAGE"):
        if_not_exists = p.accept("IF", "NOT", "EXISTS")
        parts = p.qualified_name(3)
        return stages.create_stage(ctx, parts, _props(p), or_replace, if_not_exists, temporary)
    if p.accept("IMAGE", "REPOSITORY"):
        if_not_exists = p.accept("IF", "NOT", "EXISTS")
        parts = p.qualified_name(3)
        return image_repositories.create(ctx, parts, _props(p), or_replace, if_not_exists)
    kind = p.accept_any(*ACCOUNT_KINDS)
    if kind is None:
        return None
    if_not_exists = p.accept("IF", "NOT", "EXISTS")
    if kind == "SCHEMA":
        parts = p.qualified_name(2)
        props = _props(p)
        return account.create_schema(ctx, parts, props.get("COMMENT"), or_replace, if_not_exists)
    name = p.identifier()
    props = _props(p)
    if or_replace and if_not_exists:
        raise errors.SnowflakeError(2, "0A000", errors.compilation(
            "OR REPLACE and IF NOT EXISTS are incompatible."))
    if kind == "USER":
        return account.create_user(ctx, name, props, or_replace, if_not_exists)
    if kind == "ROLE":
        return account.create_role(ctx, name, props.get("COMMENT"), or_replace, if_not_exists)
    if kind == "DATABASE":
        return account.create_database(ctx, name, props.get("COMMENT"), or_replace, if_not_exists, transient)
    return account.create_warehouse(ctx, name, props, or_replace, if_not_exists)


def _props(p: Parser) -> dict[str, Any]:
    p.accept("WITH")
    return p.properties()


def _drop(ctx: Ctx, p: Parser, _d: bool) -> Result | None:
    p.expect("DROP")
    if p.accept("IMAGE", "REPOSITORY"):
        if_exists = p.accept("IF", "EXISTS")
        parts = p.qualified_name(3)
        p.expect_end()
        return image_repositories.drop(ctx, parts, if_exists)
    if p.accept("STAGE"):
        if_exists = p.accept("IF", "EXISTS")
        parts = p.qualified_name(3)
        p.expect_end()
        return stages.drop_stage(ctx, parts, if_exists)
    kind = p.accept_any(*ACCOUNT_KINDS)
    if kind is None:
        return None
    if_exists = p.accept("IF", "EXISTS")
    if kind == "SCHEMA":
        parts = p.qualified_name(2)
        p.accept_any("CASCADE", "RESTRICT")
        p.expect_end()
        return account.drop_schema(ctx, parts, if_exists)
    name = p.identifier()
    p.accept_any("CASCADE", "RESTRICT")
    p.expect_end()
    return {
        "USER": account.drop_user,
        "ROLE": account.drop_role,
        "DATABASE": account.drop_database,
        "WAREHOUSE": account.drop_warehouse,
    }[kind](ctx, name, if_exists)


def _alter_action(p: Parser) -> tuple[str, dict[str, Any]]:
    if p.accept("RENAME", "TO"):
        return "RENAME", {"NAME": p.identifier()}
    if p.accept("SET"):
        return "SET", p.properties()
    if p.accept("UNSET"):
        keys = {}
        while not p.at_end():
            keys[p.identifier()] = None
            p.accept_punct(TokenType.COMMA)
        return "UNSET", keys
    for word in ("SUSPEND", "RESUME"):
        if p.accept(word):
            extra = {"IF SUSPENDED": True} if p.accept("IF", "SUSPENDED") else {}
            p.expect_end()
            return word, extra
    if p.accept("ABORT", "ALL", "QUERIES"):
        return "ABORT ALL QUERIES", {}
    raise p.error()


def _alter(ctx: Ctx, p: Parser, _d: bool) -> Result | None:
    p.expect("ALTER")
    if p.accept("SESSION"):
        action, props = _alter_action(p)
        return session_commands.alter_session(ctx, action, props)
    if p.accept("STAGE"):
        if_exists = p.accept("IF", "EXISTS")
        parts = p.qualified_name(3)
        if p.accept("REFRESH"):
            props = {"SUBPATH": p.string()} if p.accept("SUBPATH") and p.accept_punct(TokenType.EQ) else {}
            p.expect_end()
            return stages.alter_stage(ctx, parts, "REFRESH", props, if_exists)
        action, props = _alter_action(p)
        return stages.alter_stage(ctx, parts, action, props, if_exists)
    kind = p.accept_any(*ACCOUNT_KINDS)
    if kind is None:
        return None
    if_exists = p.accept("IF", "EXISTS")
    actions = ("SUSPEND", "RESUME", "SET", "UNSET", "ABORT", "RENAME")
    name_parts: list[str] = []
    if kind == "WAREHOUSE" and p.peek_upper() in actions and p.peek_upper(1) not in actions:
        name = None  # ALTER WAREHOUSE SUSPEND: the current warehouse
    else:
        name_parts = p.qualified_name(2 if kind == "SCHEMA" else 1)
        name = name_parts[-1]
    action, props = _alter_action(p)
    if kind == "SCHEMA":
        return account.alter_schema(ctx, name_parts, action, props, if_exists)
    if kind == "USER":
        return account.alter_user(ctx, name or "", action, props, if_exists)
    if kind == "ROLE":
        return account.alter_role(ctx, name or "", action, props, if_exists)
    if kind == "DATABASE":
        return account.alter_database(ctx, name or "", action, props, if_exists)
    return account.alter_warehouse(ctx, name, action, props, if_exists)


def _use(ctx: Ctx, p: Parser, _d: bool) -> Result:
    p.expect("USE")
    if p.accept("ROLE"):
        name = p.identifier()
        p.expect_end()
        return session_commands.use_role(ctx, name)
    if p.accept("SECONDARY", "ROLES"):
        value = p.accept_any("ALL", "NONE")
        if value is None:
            raise p.error()
        p.expect_end()
        return session_commands.use_secondary_roles(ctx, value)
    if p.accept("WAREHOUSE"):
        name = p.identifier()
        p.expect_end()
        return session_commands.use_warehouse(ctx, name)
    if p.accept("DATABASE"):
        name = p.identifier()
        p.expect_end()
        return session_commands.use_database(ctx, name)
    if p.accept("SCHEMA"):
        parts = p.qualified_name(2)
        p.expect_end()
        return session_commands.use_schema(ctx, parts)
    parts = p.qualified_name(2)
    p.expect_end()
    if len(parts) == 1:
        return session_commands.use_database(ctx, parts[0])
    return session_commands.use_schema(ctx, parts)


def _securable(p: Parser) -> Securable:
    for words in sorted(SECURABLE_KINDS, key=lambda w: -len(w.split())):
        if p.accept(*words.split()):
            kind = SECURABLE_KINDS[words]
            if kind == "ACCOUNT":
                return Securable("ACCOUNT", [])
            return Securable(kind, p.qualified_name(3))
    raise p.error()


def _privilege_list(p: Parser) -> list[str]:
    privileges: list[str] = []
    words: list[str] = []
    while not p.at_end() and p.peek_upper() != "ON":
        if p.accept_punct(TokenType.COMMA):
            privileges.append(" ".join(words))
            words = []
            continue
        words.append(p.next().text.upper())
    if words:
        privileges.append(" ".join(words))
    if not privileges:
        raise p.error()
    return privileges


def _grantee(p: Parser) -> tuple[str, str]:
    kind = p.accept_any("ROLE", "USER")
    if kind is None:
        raise p.error()
    return kind, p.identifier()


def _grant(ctx: Ctx, p: Parser, _d: bool) -> Result:
    p.expect("GRANT")
    if p.peek_upper() == "ROLE":
        p.next()
        role = p.identifier()
        p.expect("TO")
        kind, grantee = _grantee(p)
        p.expect_end()
        return grants.grant_role(ctx, role, kind, grantee)
    if p.accept("OWNERSHIP", "ON"):
        securable = _securable(p)
        p.expect("TO")
        p.accept("ROLE")
        new_owner = p.identifier()
        revoke = p.accept("REVOKE", "CURRENT", "GRANTS")
        p.accept("COPY", "CURRENT", "GRANTS")
        p.expect_end()
        return grants.grant_ownership(ctx, securable, new_owner, revoke)
    privileges = _privilege_list(p)
    p.expect("ON")
    if p.peek_upper() in ("FUTURE", "ALL") and p.peek_upper(1) in ("TABLES", "VIEWS", "SCHEMAS"):
        return _grant_bulk(ctx, p, privileges)
    securable = _securable(p)
    p.expect("TO")
    kind, grantee = _grantee(p)
    option = p.accept("WITH", "GRANT", "OPTION")
    p.expect_end()
    return grants.grant_privileges(ctx, privileges, securable, kind, grantee, option)


def _grant_bulk(ctx: Ctx, p: Parser, privileges: list[str]) -> Result:
    """GRANT ... ON ALL|FUTURE TABLES|VIEWS|SCHEMAS IN SCHEMA s|DATABASE d TO ROLE r."""
    scope = p.next().text.upper()
    plural = p.next().text.upper()
    kind = plural[:-1]
    p.expect("IN")
    container_kind = p.accept_any("SCHEMA", "DATABASE")
    if container_kind is None:
        raise p.error()
    parts = p.qualified_name(2 if container_kind == "SCHEMA" else 1)
    p.expect("TO")
    p.expect("ROLE")
    role = p.identifier()
    option = p.accept("WITH", "GRANT", "OPTION")
    p.expect_end()
    if container_kind == "SCHEMA":
        database, schema = ctx.schema_of(parts, "GRANT")
        container = ctx.visible_schema(database, schema)
    else:
        container = ctx.visible_database(parts[0])
        database, schema = container.name, None
    if scope == "FUTURE":
        if not (ctx.auth.owns(ctx.session, container) or ctx.auth.has_account(ctx.session, "MANAGE GRANTS")):
            raise errors.insufficient_privileges(container.kind.lower(), container.name)
        future = container.props.setdefault("future_grants", [])
        for priv in privileges:
            entry = {"kind": kind, "privilege": priv, "role": role}
            if entry not in future:
                future.append(entry)
        ctx.catalog.save(container)
        return status("Statement executed successfully.")
    targets = [
        o for o in ctx.catalog.all_objects()
        if o.kind == kind and o.database == database and (schema is None or o.schema == schema)
    ]
    for obj in targets:
        parts3 = [obj.database, obj.schema, obj.name] if obj.schema else [obj.database, obj.name]
        grants.grant_privileges(ctx, privileges, Securable(kind, parts3), "ROLE", role, option)
    return status("Statement executed successfully.")


def _revoke(ctx: Ctx, p: Parser, _d: bool) -> Result:
    p.expect("REVOKE")
    if p.peek_upper() == "ROLE":
        p.next()
        role = p.identifier()
        p.expect("FROM")
        kind, grantee = _grantee(p)
        p.expect_end()
        return grants.revoke_role(ctx, role, kind, grantee)
    p.accept("GRANT", "OPTION", "FOR")
    privileges = _privilege_list(p)
    p.expect("ON")
    securable = _securable(p)
    p.expect("FROM")
    kind, grantee = _grantee(p)
    p.accept_any("CASCADE", "RESTRICT")
    p.expect_end()
    return grants.revoke_privileges(ctx, privileges, securable, kind, grantee)


def _like(p: Parser) -> str | None:
    return p.string() if p.accept("LIKE") else None


def _in_scope(p: Parser) -> tuple[str | None, list[str]]:
    """`IN ACCOUNT | IN DATABASE [d] | IN SCHEMA [s] | IN s` of a SHOW: (kind or AUTO, name parts)."""
    if not p.accept("IN"):
        return None, []
    in_kind = p.accept_any("ACCOUNT", "DATABASE", "SCHEMA") or "AUTO"
    in_parts = p.qualified_name(2) if in_kind != "ACCOUNT" and not p.at_end() and p.peek_upper() not in (
        "STARTS", "LIMIT") else []
    return in_kind, in_parts


def _show(ctx: Ctx, p: Parser, _d: bool) -> Result | None:
    p.expect("SHOW")
    p.accept("TERSE")
    if p.accept("GRANTS"):
        return _show_grants(ctx, p)
    if p.accept("IMAGE", "REPOSITORIES"):
        like = _like(p)
        in_kind, in_parts = _in_scope(p)
        p.expect_end()
        database, schema = _show_scope(ctx, in_kind, in_parts, "SHOW IMAGE REPOSITORIES")
        return image_repositories.show(ctx, like, database, schema)
    if p.accept("IMAGES"):
        like = _like(p)
        p.expect("IN", "IMAGE", "REPOSITORY")
        parts = p.qualified_name(3)
        p.expect_end()
        return image_repositories.show_images(ctx, like, parts)
    kind = p.accept_any("USERS", "ROLES", "DATABASES", "SCHEMAS", "WAREHOUSES", "TABLES", "VIEWS", "OBJECTS",
                        "STAGES")
    if kind is None:
        if p.peek_upper() in ("PARAMETERS", "FUNCTIONS", "PROCEDURES", "USER"):
            return None
        raise errors.unsupported(f"SHOW {p.peek_upper()}")
    like = _like(p)
    in_kind, in_parts = _in_scope(p)
    p.accept("STARTS", "WITH") and p.string()
    if p.accept("LIMIT"):
        p.value()
    p.expect_end()
    if kind == "USERS":
        return account.show_users(ctx, like)
    if kind == "ROLES":
        return account.show_roles(ctx, like)
    if kind == "DATABASES":
        return account.show_databases(ctx, like)
    if kind == "WAREHOUSES":
        return account.show_warehouses(ctx, like)
    if kind == "SCHEMAS":
        database = in_parts[0] if in_parts else None
        return account.show_schemas(ctx, like, database, in_kind == "ACCOUNT")
    if kind == "STAGES":
        database, schema = _show_scope(ctx, in_kind, in_parts, "SHOW STAGES")
        return stages.show_stages(ctx, like, database, schema)
    return show_tables(ctx, kind[:-1] if kind != "OBJECTS" else None, like, in_kind, in_parts)


def _show_scope(ctx: Ctx, in_kind: str | None, in_parts: list[str], command: str) -> tuple[str | None, str | None]:
    """(database, schema) a SHOW of schema objects covers: the account, a database or a schema."""
    if in_kind == "ACCOUNT":
        return None, None
    if in_kind == "DATABASE" or (in_kind == "AUTO" and len(in_parts) == 1
                                 and ctx.catalog.get("DATABASE", in_parts[0]) is not None):
        return ctx.visible_database(in_parts[0]).name, None
    parts = in_parts or ([ctx.session.schema] if ctx.session.schema else [])
    if not parts:
        raise errors.no_schema(command)
    database, schema = ctx.schema_of(parts, command)
    ctx.visible_schema(database, schema)
    return database, schema


def _show_grants(ctx: Ctx, p: Parser) -> Result:
    if p.at_end():
        return grants.show_grants_to_user(ctx, ctx.session.user)
    if p.accept("TO"):
        kind = p.accept_any("ROLE", "USER")
        if kind is None:
            raise p.error()
        name = p.identifier()
        p.expect_end()
        return grants.show_grants_to_role(ctx, name) if kind == "ROLE" else grants.show_grants_to_user(ctx, name)
    if p.accept("OF", "ROLE"):
        name = p.identifier()
        p.expect_end()
        return grants.show_grants_of_role(ctx, name)
    if p.accept("ON"):
        securable = _securable(p)
        p.expect_end()
        return grants.show_grants_on(ctx, securable)
    raise p.error()


TABLE_COLUMNS = (
    "created_on name database_name schema_name kind comment cluster_by rows bytes owner retention_time "
    "automatic_clustering change_tracking is_external enable_schema_evolution owner_role_type is_event budget"
).split()


def show_tables(ctx: Ctx, kind: str | None, like: str | None, in_kind: str | None, in_parts: list[str]) -> Result:
    from snowport.sql.showing import like_matcher

    match = like_matcher(like)
    database, schema = _show_scope(ctx, in_kind, in_parts, "SHOW TABLES")
    kinds = ("TABLE", "VIEW") if kind is None else (kind,)
    rows = []
    for obj in ctx.catalog.all_objects():
        if obj.kind not in kinds or not match(obj.name):
            continue
        if database is not None and obj.database != database or schema is not None and obj.schema != schema:
            continue
        if not ctx.auth.can_see(ctx.session, obj):
            continue
        n_rows, n_bytes = ctx.core.engine.table_stats(obj.database, obj.schema, obj.name)
        rows.append((obj.created_dt, obj.name, obj.database, obj.schema, "TABLE" if obj.kind == "TABLE" else "VIEW",
                     obj.comment or "", "", n_rows, n_bytes, obj.owner, "1", "OFF", "OFF", "N", "N", "ROLE", "N",
                     None))
    rows.sort(key=lambda r: (r[2], r[3], r[1]))
    cols = [column(n, "timestamp_ltz" if n == "created_on" else "fixed" if n in ("rows", "bytes") else "text")
            for n in TABLE_COLUMNS]
    return Result(cols, rows, statement_type_id=SHOW)


def _describe(ctx: Ctx, p: Parser, _d: bool) -> Result | None:
    p.next()
    if p.accept("STAGE"):
        parts = p.qualified_name(3)
        p.expect_end()
        return stages.describe_stage(ctx, parts)
    kind = p.accept_any("USER", "DATABASE", "SCHEMA", "WAREHOUSE")
    if kind is None:
        return None
    if kind == "SCHEMA":
        parts = p.qualified_name(2)
        p.expect_end()
        return account.describe_schema(ctx, parts)
    name = p.identifier()
    p.expect_end()
    result = {"USER": account.describe_user, "DATABASE": account.describe_database,
              "WAREHOUSE": account.describe_warehouse}[kind](ctx, name)
    result.statement_type_id = DESCRIBE
    return result


def _pattern(options: dict[str, Any]) -> str | None:
    pattern = options.get("PATTERN")
    if pattern is not None and not isinstance(pattern, str):
        raise errors.invalid_value("PATTERN must be a string")
    return pattern


def _list(ctx: Ctx, p: Parser, _d: bool) -> Result:
    ref, options = parse_stage_command(p.sql)
    return stages.list_files(ctx, ref, _pattern(options))


def _remove(ctx: Ctx, p: Parser, _d: bool) -> Result:
    ref, options = parse_stage_command(p.sql)
    return stages.remove_files(ctx, ref, _pattern(options))


def _copy(ctx: Ctx, p: Parser, _d: bool) -> Result:
    return copy.execute(ctx, p.sql, lambda query: _table_sql(ctx, query, None, False))


_CALL = re.compile(r"^\s*CALL\s+(?P<name>[A-Za-z_][\w$]*(?:\.[A-Za-z_][\w$]*)*)\s*\((?P<args>.*)\)\s*;?\s*$",
                   re.I | re.S)


def _call(ctx: Ctx, p: Parser, describe_only: bool) -> Result:
    """CALL f(args): Snowflake's system functions answer one row in a column named after the function."""
    m = _CALL.match(p.sql)
    if m is None:
        raise errors.syntax_error(1, 0, "CALL")
    name = m.group("name").split(".")[-1].upper()
    expression = _parse(f"SELECT {m.group('name')}({m.group('args')}) AS \"{name}\"")
    return _table_sql(ctx, expression.sql(dialect="snowflake"), None, describe_only)


_OWN = {
    "CALL": _call,
    "COPY": _copy,
    "LIST": _list,
    "LS": _list,
    "REMOVE": _remove,
    "RM": _remove,
    "CREATE": _create,
    "DROP": _drop,
    "ALTER": _alter,
    "USE": _use,
    "GRANT": _grant,
    "REVOKE": _revoke,
    "SHOW": _show,
    "DESC": _describe,
    "DESCRIBE": _describe,
}

__all__ = ["execute", "SHOW"]
