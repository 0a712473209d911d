"""Statement routing: Snowport's own statements are parsed here and handed to a command; table SQL
goes to sql/table_sql.py. Nothing in this module decides what a statement does or who may run it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlglot.tokens import TokenType

from snowport import errors
from snowport.commands import (
    compute_pools,
    copy,
    databases,
    functions,
    grants,
    image_repositories,
    integrations,
    jobs,
    network_rules,
    roles,
    schemas,
    secrets,
    service_endpoints,
    service_roles,
    services,
    session,
    snapshots,
    stages,
    tables,
    users,
    warehouses,
)
from snowport.commands.columns import Col, Rows, columns
from snowport.commands.context import Ctx
from snowport.commands.grants import SECURABLE_KINDS, Securable
from snowport.sql import function_statements, render, snapshot_statements, table_sql, token_statements
from snowport.sql.copy_statement import parse as parse_copy
from snowport.sql.lexer import Parser
from snowport.sql.result import SCL, SELECT, USE, Result
from snowport.sql.stage_statements import parse_stage_command, parse_transfer
from snowport.sql.unsupported import known_statement_kind
from snowport.stages.locations import is_transfer

COPY_LOAD = 0x3600  # the statement type of COPY INTO <table>
ACCOUNT_KINDS = ("USER", "ROLE", "DATABASE", "SCHEMA", "WAREHOUSE")
# The statement's first word, after any leading comments: enough to route it.
_FIRST_WORD = re.compile(r"^\s*(?:(?:--[^\n]*(?:\n|$)|/\*.*?\*/)\s*)*([A-Za-z]+)", re.S)


def execute(ctx: Ctx, sql: str, params: Any = None, describe_only: bool = False) -> Result:
    """Run one statement for the session and return its result."""
    if is_transfer(sql):
        command = parse_transfer(sql)
        return render.outcome(stages.put(ctx, command) if command.kind == "PUT" else stages.get(ctx, command))
    m = _FIRST_WORD.match(sql)
    handler = _OWN.get(m.group(1).upper()) if m else None
    if m is None and not Parser(sql).tokens:
        raise errors.SnowflakeError(900, "42000", "Empty SQL statement.")
    if handler is not None:
        # Only Snowport's own statements are tokenized here; table SQL goes straight to sqlglot (hot path).
        own = handler(ctx, Parser(sql), describe_only)
        if own is not None:
            if describe_only:
                own.rows = []
            return own
    return table_sql.run(ctx, sql, params, describe_only)


# ---- CREATE / DROP --------------------------------------------------------------------------
def _props(p: Parser) -> dict[str, Any]:
    p.accept("WITH")
    return p.properties()


def _create(ctx: Ctx, p: Parser, _d: bool) -> Result | None:
    p.expect("CREATE")
    or_replace = p.accept("OR", "REPLACE")
    or_alter = not or_replace and p.accept("OR", "ALTER")
    if or_alter and p.peek_upper() != "FUNCTION":
        raise errors.unsupported(f"CREATE OR ALTER {p.peek_upper()}")
    if p.accept("FUNCTION"):
        return function_statements.create(ctx, p, or_replace, or_alter)
    transient = p.accept("TRANSIENT")
    temporary = bool(p.accept_any("TEMPORARY", "TEMP"))
    if p.accept("STAGE"):
        if_not_exists = p.accept("IF", "NOT", "EXISTS")
        parts = p.qualified_name(3)
        return render.outcome(stages.create_stage(ctx, parts, _props(p), or_replace, if_not_exists, temporary))
    if p.accept("IMAGE", "REPOSITORY"):
        if_not_exists = p.accept("IF", "NOT", "EXISTS")
        parts = p.qualified_name(3)
        return render.outcome(image_repositories.create(ctx, parts, _props(p), or_replace, if_not_exists))
    if p.accept("SERVICE"):
        return _create_service(ctx, p)
    if p.accept("SNAPSHOT"):
        return snapshot_statements.create(ctx, p, or_replace)
    if p.accept("NETWORK", "RULE"):
        if_not_exists = p.accept("IF", "NOT", "EXISTS")
        parts = p.qualified_name(3)
        return render.outcome(network_rules.create(ctx, parts, _props(p), or_replace, if_not_exists))
    if p.accept("SECRET"):
        if_not_exists = p.accept("IF", "NOT", "EXISTS")
        parts = p.qualified_name(3)
        return render.outcome(secrets.create(ctx, parts, _props(p), or_replace, if_not_exists))
    integration = _integration_kind(p)
    if integration is not None:
        if not p.accept("INTEGRATION"):
            raise p.error()
        if_not_exists = p.accept("IF", "NOT", "EXISTS")
        name = p.identifier()
        create = integrations.create_security if integration == integrations.SECURITY \
            else integrations.create_external_access
        return render.outcome(create(ctx, name, _props(p), or_replace, if_not_exists))
    if p.accept("COMPUTE", "POOL"):
        if or_replace:
            raise p.error()  # Snowflake has no CREATE OR REPLACE COMPUTE POOL
        if_not_exists = p.accept("IF", "NOT", "EXISTS")
        name = p.identifier()
        if p.accept("FOR", "APPLICATION"):
            raise errors.unsupported("CREATE COMPUTE POOL ... FOR APPLICATION")
        return render.outcome(compute_pools.create(ctx, name, _props(p), if_not_exists))
    kind = p.accept_any(*ACCOUNT_KINDS)
    if kind is None:
        return None
    if_not_exists = p.accept("IF", "NOT", "EXISTS")
    if kind == "SCHEMA":
        parts = p.qualified_name(2)
        props = _props(p)
        return render.outcome(schemas.create(ctx, parts, props, or_replace, if_not_exists))
    name = p.identifier()
    props = _props(p)
    if kind == "USER":
        message = users.create(ctx, name, props, or_replace, if_not_exists)
    elif kind == "ROLE":
        message = roles.create(ctx, name, props, or_replace, if_not_exists)
    elif kind == "DATABASE":
        message = databases.create(ctx, name, props, or_replace, if_not_exists, transient)
    else:
        message = warehouses.create(ctx, name, props, or_replace, if_not_exists)
    return render.outcome(message)


def _drop(ctx: Ctx, p: Parser, _d: bool) -> Result | None:
    p.expect("DROP")
    if p.accept("IMAGE", "REPOSITORY"):
        if_exists = p.accept("IF", "EXISTS")
        parts = p.qualified_name(3)
        p.expect_end()
        return render.outcome(image_repositories.drop(ctx, parts, if_exists))
    if p.accept("STAGE"):
        if_exists = p.accept("IF", "EXISTS")
        parts = p.qualified_name(3)
        p.expect_end()
        return render.outcome(stages.drop_stage(ctx, parts, if_exists))
    if p.accept("COMPUTE", "POOL"):
        if_exists = p.accept("IF", "EXISTS")
        name = p.identifier()
        p.expect_end()
        return render.outcome(compute_pools.drop(ctx, name, if_exists))
    if p.accept("NETWORK", "RULE"):
        if_exists = p.accept("IF", "EXISTS")
        parts = p.qualified_name(3)
        p.expect_end()
        return render.outcome(network_rules.drop(ctx, parts, if_exists))
    if p.accept("SECRET"):
        if_exists = p.accept("IF", "EXISTS")
        parts = p.qualified_name(3)
        p.expect_end()
        return render.outcome(secrets.drop(ctx, parts, if_exists))
    if p.accept("SERVICE"):
        if_exists = p.accept("IF", "EXISTS")
        parts = p.qualified_name(3)
        force = p.accept("FORCE")
        p.expect_end()
        return render.outcome(services.drop(ctx, parts, if_exists, force))
    if p.accept("SNAPSHOT"):
        return snapshot_statements.drop(ctx, p)
    if p.accept("FUNCTION"):
        return function_statements.drop(ctx, p)
    integration = _integration_kind(p)
    if integration is not None or p.peek_upper() == "INTEGRATION":
        p.expect("INTEGRATION")
        if_exists = p.accept("IF", "EXISTS")
        name = p.identifier()
        p.expect_end()
        return render.outcome(integrations.drop(ctx, name, integration, if_exists))
    kind = p.accept_any(*ACCOUNT_KINDS)
    if kind is None:
        return None
    if_exists = p.accept("IF", "EXISTS")
    if kind == "SCHEMA":
        parts = p.qualified_name(2)
        p.accept_any("CASCADE", "RESTRICT")
        p.expect_end()
        return render.outcome(schemas.drop(ctx, parts, if_exists))
    name = p.identifier()
    if kind == "DATABASE":
        p.accept_any("CASCADE", "RESTRICT")
    p.expect_end()
    drop: Callable[[Ctx, str, bool], str] = {
        "USER": users.drop, "ROLE": roles.drop, "DATABASE": databases.drop, "WAREHOUSE": warehouses.drop,
    }[kind]
    return render.outcome(drop(ctx, name, if_exists))


def _undrop(ctx: Ctx, p: Parser, _d: bool) -> Result | None:
    p.expect("UNDROP")
    kind = p.accept_any("DATABASE", "SCHEMA", "TABLE")
    if kind is None:
        known = known_statement_kind(p.sql)  # a kind Snowflake can UNDROP and Snowport cannot yet
        raise errors.unsupported(known) if known is not None else p.error()
    parts = p.qualified_name({"DATABASE": 1, "SCHEMA": 2, "TABLE": 3}[kind])
    p.expect_end()
    if kind == "DATABASE":
        return render.outcome(databases.undrop(ctx, parts[0]))
    if kind == "SCHEMA":
        return render.outcome(schemas.undrop(ctx, parts))
    return render.outcome(tables.undrop(ctx, parts))


# ---- ALTER ----------------------------------------------------------------------------------
def _alter_object(p: Parser, set_fn: Callable[[dict[str, Any]], Any], unset_fn: Callable[[list[str]], Any],
                  rename_fn: Callable[[list[str]], Any], name_parts: int = 1) -> Result:
    """The SET / UNSET / RENAME TO tail every kind shares."""
    if p.accept("RENAME", "TO"):
        new = p.qualified_name(name_parts)
        p.expect_end()
        return render.outcome(rename_fn(new))
    if p.accept("SET"):
        return render.outcome(set_fn(p.properties()))
    if p.accept("UNSET"):
        return render.outcome(unset_fn(p.identifier_list()))
    raise p.error()


def _alter(ctx: Ctx, p: Parser, _d: bool) -> Result | None:
    p.expect("ALTER")
    if p.accept("SESSION"):
        if p.accept("SET"):
            session.alter_session(ctx, p.properties())
        elif p.accept("UNSET"):
            session.alter_session(ctx, dict.fromkeys(p.identifier_list()), unset=True)
        else:
            raise p.error()
        return render.outcome(None, SCL)
    if p.accept("STAGE"):
        if_exists = p.accept("IF", "EXISTS")
        parts = p.qualified_name(3)
        if p.accept("REFRESH"):
            subpath = p.string() if p.accept("SUBPATH") and p.accept_punct(TokenType.EQ) else ""
            p.expect_end()
            return render.outcome(stages.refresh_stage(ctx, parts, subpath, if_exists))
        return _alter_object(p, lambda v: stages.set_stage_properties(ctx, parts, v, if_exists),
                             lambda k: stages.unset_stage_properties(ctx, parts, k, if_exists),
                             lambda new: stages.rename_stage(ctx, parts, new, if_exists), 3)
    if p.accept("COMPUTE", "POOL"):
        return _alter_compute_pool(ctx, p)
    if p.accept("SERVICE"):
        if_exists = p.accept("IF", "EXISTS")
        parts = p.qualified_name(3)
        if p.accept("SUSPEND"):
            p.expect_end()
            return render.outcome(services.suspend(ctx, parts, if_exists))
        if p.accept("RESUME"):
            p.expect_end()
            return render.outcome(services.resume(ctx, parts, if_exists))
        if p.accept("SET"):
            return render.outcome(services.set_properties(ctx, parts, p.properties(), if_exists))
        if p.accept("UNSET"):
            return render.outcome(services.unset_properties(ctx, parts, p.identifier_list(), if_exists))
        if p.accept("FROM"):
            source, values = _spec_source(p)
            if values:
                raise errors.SnowflakeError(1003, "42000", errors.compilation(
                    f"syntax error: unexpected '{next(iter(values))}' after the specification."))
            return render.outcome(services.upgrade(ctx, parts, source, if_exists))
        if p.accept("RESTORE"):
            return snapshot_statements.restore_volume(ctx, p, parts, if_exists)
        raise errors.unsupported("ALTER SERVICE " + p.peek_upper())
    if p.accept("SNAPSHOT"):
        return snapshot_statements.alter(ctx, p)
    if p.accept("FUNCTION"):
        return function_statements.alter(ctx, p)
    if p.accept("NETWORK", "RULE"):
        if_exists = p.accept("IF", "EXISTS")
        parts = p.qualified_name(3)
        return _alter_object(p, lambda v: network_rules.set_properties(ctx, parts, v, if_exists),
                             lambda k: network_rules.unset_properties(ctx, parts, k, if_exists),
                             lambda new: network_rules.rename(ctx, parts, new, if_exists), 3)
    if p.accept("SECRET"):
        if_exists = p.accept("IF", "EXISTS")
        parts = p.qualified_name(3)
        return _alter_object(p, lambda v: secrets.set_properties(ctx, parts, v, if_exists),
                             lambda k: secrets.unset_properties(ctx, parts, k, if_exists),
                             lambda new: secrets.rename(ctx, parts, new, if_exists), 3)
    integration = _integration_kind(p)
    if integration is not None or p.peek_upper() == "INTEGRATION":
        p.expect("INTEGRATION")
        if_exists = p.accept("IF", "EXISTS")
        name = p.identifier()
        return _alter_object(p, lambda v: integrations.set_properties(ctx, name, v, integration, if_exists),
                             lambda k: integrations.unset_properties(ctx, name, k, integration, if_exists),
                             lambda _new: _refuse("ALTER INTEGRATION ... RENAME TO"))
    kind = p.accept_any(*ACCOUNT_KINDS)
    if kind is None:
        return None
    if_exists = p.accept("IF", "EXISTS")
    if kind == "WAREHOUSE":
        return _alter_warehouse(ctx, p, if_exists)
    if kind == "SCHEMA":
        parts = p.qualified_name(2)
        return _alter_object(p, lambda v: schemas.set_properties(ctx, parts, v, if_exists),
                             lambda k: schemas.unset_properties(ctx, parts, k, if_exists),
                             lambda new: schemas.rename(ctx, parts, new, if_exists), 2)
    if kind == "USER" and token_statements.is_token_action(p):  # ALTER USER ADD PAT t: the session's user
        return token_statements.alter_user(ctx, p, None, if_exists)
    name = p.identifier()
    if kind == "USER" and token_statements.is_token_action(p):
        return token_statements.alter_user(ctx, p, name, if_exists)
    module: Any = {"USER": users, "ROLE": roles, "DATABASE": databases}[kind]
    return _alter_object(p, lambda v: module.set_properties(ctx, name, v, if_exists),
                         lambda k: module.unset_properties(ctx, name, k, if_exists),
                         lambda new: module.rename(ctx, name, new[-1], if_exists))


_WAREHOUSE_ACTIONS = ("SUSPEND", "RESUME", "SET", "UNSET", "ABORT", "RENAME")


def _alter_warehouse(ctx: Ctx, p: Parser, if_exists: bool) -> Result:
    # ALTER WAREHOUSE SUSPEND (no name): the session's current warehouse
    name = None if p.peek_upper() in _WAREHOUSE_ACTIONS and p.peek_upper(1) not in _WAREHOUSE_ACTIONS \
        else p.identifier()
    if p.accept("SUSPEND"):
        p.expect_end()
        return render.outcome(warehouses.suspend(ctx, name, if_exists))
    if p.accept("RESUME"):
        if_suspended = p.accept("IF", "SUSPENDED")
        p.expect_end()
        return render.outcome(warehouses.resume(ctx, name, if_suspended, if_exists))
    if p.accept("ABORT", "ALL", "QUERIES"):
        p.expect_end()
        return render.outcome(warehouses.abort_all_queries(ctx, name, if_exists))
    return _alter_object(p, lambda v: warehouses.set_properties(ctx, name, v, if_exists),
                         lambda k: warehouses.unset_properties(ctx, name, k, if_exists),
                         lambda new: warehouses.rename(ctx, name, new[-1], if_exists))


def _alter_compute_pool(ctx: Ctx, p: Parser) -> Result:
    if_exists = p.accept("IF", "EXISTS")
    name = p.identifier()
    if p.accept("SUSPEND"):
        p.expect_end()
        return render.outcome(compute_pools.suspend(ctx, name, if_exists))
    if p.accept("RESUME"):
        p.expect_end()
        return render.outcome(compute_pools.resume(ctx, name, if_exists))
    if p.accept("STOP", "ALL"):
        if p.accept("OF", "TYPE"):
            raise errors.unsupported("ALTER COMPUTE POOL ... STOP ALL OF TYPE")
        p.expect_end()
        return render.outcome(compute_pools.stop_all(ctx, name, if_exists))
    if p.accept("SET"):
        return render.outcome(compute_pools.set_properties(ctx, name, p.properties(), if_exists))
    if p.accept("UNSET"):
        return render.outcome(compute_pools.unset_properties(ctx, name, p.identifier_list(), if_exists))
    raise p.error()


def _refuse(feature: str) -> None:
    raise errors.unsupported(feature)


def _create_service(ctx: Ctx, p: Parser) -> Result:
    """CREATE SERVICE [IF NOT EXISTS] s IN COMPUTE POOL p FROM {SPECIFICATION[_TEMPLATE] text |
    @stage SPECIFICATION[_TEMPLATE]_FILE = 'f'} [USING (k => v, ...)] [properties], in any order after FROM."""
    if_not_exists = p.accept("IF", "NOT", "EXISTS")
    parts = p.qualified_name(3)
    p.expect("IN", "COMPUTE", "POOL")
    pool = p.identifier()
    before = _props(p) if p.peek_upper() != "FROM" else {}
    p.expect("FROM")
    spec_source, values = _spec_source(p)
    return render.outcome(services.create(ctx, parts, pool, spec_source, {**before, **values}, if_not_exists))


def _spec_head(p: Parser) -> dict[str, Any]:
    """{SPECIFICATION[_TEMPLATE] text | @stage SPECIFICATION[_TEMPLATE]_FILE = 'f'} after FROM."""
    source: dict[str, Any] = {}
    if p.peek_upper() in ("SPECIFICATION", "SPECIFICATION_TEMPLATE"):
        source["template"] = p.next().text.upper() == "SPECIFICATION_TEMPLATE"
        source["text"] = p.string()
    else:
        first = p.peek()
        while not p.at_end() and p.peek_upper() not in ("SPECIFICATION_FILE", "SPECIFICATION_TEMPLATE_FILE"):
            last = p.next()
        if first is None or p.at_end():
            raise p.error()
        source["stage"] = p.sql[first.start:last.end + 1]
        source["template"] = p.next().text.upper() == "SPECIFICATION_TEMPLATE_FILE"
        p.expect_punct(TokenType.EQ)
        source["file"] = p.string()
    return source


def _using(p: Parser, using: dict[str, Any]) -> None:
    """( k => v [, ...] ) after USING, into `using`."""
    p.expect_punct(TokenType.L_PAREN)
    while not p.accept_punct(TokenType.R_PAREN):
        p.accept_punct(TokenType.COMMA)
        key = p.next().text
        p.expect_punct(TokenType.FARROW)
        using[key] = p.value()


def _source(source: dict[str, Any], using: dict[str, Any]) -> services.SpecSource:
    if source.get("template") and not using:
        raise errors.SnowflakeError(1003, "42000", errors.compilation(
            "A specification template needs USING ( <key> => <value> [ , ... ] )."))
    return services.SpecSource(text=source.get("text"), stage=source.get("stage"), file=source.get("file"),
                               template=bool(source.get("template")), using=using)


def _spec_source(p: Parser) -> tuple[services.SpecSource, dict[str, Any]]:
    """What follows FROM in CREATE / ALTER SERVICE: {SPECIFICATION[_TEMPLATE] text | @stage
    SPECIFICATION[_TEMPLATE]_FILE = 'f'} [USING (k => v, ...)], and any properties after it."""
    source = _spec_head(p)
    values: dict[str, Any] = {}
    using: dict[str, Any] = {}
    while not p.at_end():
        if p.accept("USING"):
            _using(p, using)
            continue
        values.update(p.properties(stop_words=("USING",)))
    return _source(source, using), values


_EXECUTE_MASK = "EXECJOB"


def _execute(ctx: Ctx, p: Parser, _d: bool) -> Result | None:
    """EXECUTE JOB SERVICE IN COMPUTE POOL p, then in any order: FROM {SPECIFICATION[_TEMPLATE] text | @stage
    SPECIFICATION[_TEMPLATE]_FILE = 'f'} [USING (k => v, ...)], NAME = [db.schema.]name and options
    (ASYNC, REPLICAS, QUERY_WAREHOUSE, COMMENT, EXTERNAL_ACCESS_INTEGRATIONS)."""
    # sqlglot's tokenizer reads EXECUTE as a command and the rest as one string: the word is masked (same
    # length, so token offsets still index the statement as written)
    m = _FIRST_WORD.match(p.sql)
    assert m is not None
    p = Parser(p.sql[:m.start(1)] + _EXECUTE_MASK + p.sql[m.end(1):])
    p.expect(_EXECUTE_MASK)
    if not p.accept("JOB", "SERVICE"):
        raise p.error()
    p.expect("IN", "COMPUTE", "POOL")
    pool = p.identifier()
    source: dict[str, Any] | None = None
    using: dict[str, Any] = {}
    options = jobs.JobOptions()
    while not p.at_end():
        p.accept_punct(TokenType.COMMA)
        word = p.peek_upper()
        if word == "FROM" and source is None:
            p.next()
            source = _spec_head(p)
        elif word == "USING" and source is not None:
            p.next()
            _using(p, using)
        elif word == "NAME" and options.name is None:
            p.next()
            p.expect_punct(TokenType.EQ)
            options.name = p.qualified_name(3)
        elif word in ("WITH", "TAG"):
            raise errors.unsupported("EXECUTE JOB SERVICE ... WITH TAG")
        else:
            key_token = p.peek()
            key = p.identifier()
            if key in options.values or not p.accept_punct(TokenType.EQ):
                raise p.error(key_token)
            options.values[key] = p.value()
    if source is None:
        raise p.error()
    return render.outcome(jobs.execute(ctx, pool, _source(source, using), options))


def _integration_kind(p: Parser) -> str | None:
    """`EXTERNAL ACCESS` or `SECURITY` before INTEGRATION(S); None when the statement names neither."""
    if p.accept("EXTERNAL", "ACCESS"):
        return integrations.EXTERNAL_ACCESS
    if p.peek_upper() == "SECURITY" and p.peek_upper(1) in ("INTEGRATION", "INTEGRATIONS"):
        p.next()
        return integrations.SECURITY
    return None


# ---- USE ------------------------------------------------------------------------------------
def _use(ctx: Ctx, p: Parser, _d: bool) -> Result:
    p.expect("USE")
    if p.accept("ROLE"):
        name = p.identifier()
        p.expect_end()
        session.use_role(ctx, name)
    elif p.accept("SECONDARY", "ROLES"):
        value = p.accept_any("ALL", "NONE")
        if value is None:
            raise p.error()
        p.expect_end()
        session.use_secondary_roles(ctx, value)
    elif p.accept("WAREHOUSE"):
        name = p.identifier()
        p.expect_end()
        session.use_warehouse(ctx, name)
    elif p.accept("DATABASE"):
        name = p.identifier()
        p.expect_end()
        session.use_database(ctx, name)
    elif p.accept("SCHEMA"):
        parts = p.qualified_name(2)
        p.expect_end()
        session.use_schema(ctx, parts)
    else:
        parts = p.qualified_name(2)
        p.expect_end()
        if len(parts) == 1:
            session.use_database(ctx, parts[0])
        else:
            session.use_schema(ctx, parts)
    return render.outcome(None, USE)


# ---- GRANT / REVOKE -------------------------------------------------------------------------
def _securable(p: Parser) -> Securable:
    for words in sorted(SECURABLE_KINDS, key=lambda w: -len(w.split())):
        if p.accept(*words.split()):
            kind = SECURABLE_KINDS[words]
            if kind == "ACCOUNT":
                return Securable("ACCOUNT", [])
            parts = p.qualified_name(3)
            if kind == "FUNCTION":  # a function is named with its argument types: f(FLOAT)
                parts[-1] = functions.identity(parts[-1], [t.identity for t in function_statements.types(p)])
            return Securable(kind, parts)
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


def _service_role(p: Parser) -> tuple[list[str], str]:
    """`[db.schema.]svc!role`: the service's name parts and the role's name. (`ON SERVICE` before it, as one
    Snowflake doc page writes it, is accepted.)"""
    p.accept("ON", "SERVICE")
    parts = p.qualified_name(3)
    p.expect_punct(TokenType.EXCLAMATION)
    return parts, p.identifier()


def _service_role_grantee(p: Parser) -> tuple[str, str]:
    """`ROLE r`, `APPLICATION ROLE r` or `DATABASE ROLE [db.]r` after TO / FROM of GRANT / REVOKE SERVICE ROLE."""
    if p.accept("APPLICATION", "ROLE"):
        return "APPLICATION ROLE", p.identifier()
    if p.accept("DATABASE", "ROLE"):
        return "DATABASE ROLE", ".".join(p.qualified_name(2))
    p.expect("ROLE")
    return "ROLE", p.identifier()


def _grant(ctx: Ctx, p: Parser, _d: bool) -> Result:
    p.expect("GRANT")
    if p.accept("SERVICE", "ROLE"):
        parts, role = _service_role(p)
        p.expect("TO")
        kind, grantee = _service_role_grantee(p)
        p.expect_end()
        service_roles.grant(ctx, parts, role, kind, grantee)
        return render.outcome(None)
    if p.peek_upper() == "ROLE":
        p.next()
        role = p.identifier()
        p.expect("TO")
        kind, grantee = _grantee(p)
        p.expect_end()
        grants.grant_role(ctx, role, kind, grantee)
        return render.outcome(None)
    if p.accept("OWNERSHIP", "ON"):
        securable = _securable(p)
        p.expect("TO")
        p.accept("ROLE")
        new_owner = p.identifier()
        revoke = p.accept("REVOKE", "CURRENT", "GRANTS")
        p.accept("COPY", "CURRENT", "GRANTS")
        p.expect_end()
        grants.grant_ownership(ctx, securable, new_owner, revoke)
        return render.outcome(None)
    privileges = _privilege_list(p)
    p.expect("ON")
    if p.peek_upper() in ("FUTURE", "ALL") and p.peek_upper(1) in ("TABLES", "VIEWS", "SCHEMAS", "STAGES"):
        scope = p.next().text.upper()
        kind_name = p.next().text.upper()[:-1]
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
        if scope == "FUTURE":
            grants.grant_future(ctx, privileges, kind_name, container_kind, parts, role)
        else:
            grants.grant_all(ctx, privileges, kind_name, container_kind, parts, role, option)
        return render.outcome(None)
    securable = _securable(p)
    p.expect("TO")
    kind, grantee = _grantee(p)
    option = p.accept("WITH", "GRANT", "OPTION")
    p.expect_end()
    grants.grant_privileges(ctx, privileges, securable, kind, grantee, option)
    return render.outcome(None)


def _revoke(ctx: Ctx, p: Parser, _d: bool) -> Result:
    p.expect("REVOKE")
    if p.accept("SERVICE", "ROLE"):
        parts, role = _service_role(p)
        p.expect("FROM")
        kind, grantee = _service_role_grantee(p)
        p.expect_end()
        service_roles.revoke(ctx, parts, role, kind, grantee)
        return render.outcome(None)
    if p.peek_upper() == "ROLE":
        p.next()
        role = p.identifier()
        p.expect("FROM")
        kind, grantee = _grantee(p)
        p.expect_end()
        grants.revoke_role(ctx, role, kind, grantee)
        return render.outcome(None)
    p.accept("GRANT", "OPTION", "FOR")
    privileges = _privilege_list(p)
    p.expect("ON")
    securable = _securable(p)
    p.expect("FROM")
    kind, grantee = _grantee(p)
    p.accept_any("CASCADE", "RESTRICT")
    p.expect_end()
    grants.revoke_privileges(ctx, privileges, securable, kind, grantee)
    return render.outcome(None)


# ---- SHOW / DESCRIBE ------------------------------------------------------------------------
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
        return render.rows(_show_grants(ctx, p))
    if p.accept("IMAGE", "REPOSITORIES"):
        like = _like(p)
        in_kind, in_parts = _in_scope(p)
        p.expect_end()
        database, schema = tables.show_scope(ctx, in_kind, in_parts, "SHOW IMAGE REPOSITORIES")
        return render.rows(image_repositories.show(ctx, like, database, schema))
    if p.accept("COMPUTE", "POOL", "INSTANCE", "FAMILIES"):
        like = _like(p)
        p.expect_end()
        return render.rows(compute_pools.show_instance_families(ctx, like))
    if p.accept("SERVICE", "CONTAINERS", "IN", "SERVICE"):
        parts = p.qualified_name(3)
        p.expect_end()
        return render.rows(services.show_containers(ctx, parts))
    if p.accept("ENDPOINTS", "IN", "SERVICE"):
        parts = p.qualified_name(3)
        p.expect_end()
        return render.rows(service_endpoints.show(ctx, parts))
    if p.accept("SERVICE", "INSTANCES", "IN", "SERVICE"):
        parts = p.qualified_name(3)
        p.expect_end()
        return render.rows(services.show_instances(ctx, parts))
    job_services = p.accept("JOB", "SERVICES")
    if job_services or p.accept("SERVICES"):
        jobs_only = "ONLY" if job_services else "EXCLUDE" if p.accept("EXCLUDE", "JOBS") else None
        like = _like(p)
        in_kind, in_parts = _in_scope(p)
        _starts_and_limit(p)
        p.expect_end()
        if in_kind is None and ctx.session.database is not None:
            in_kind, in_parts = "DATABASE", [ctx.session.database]  # default scope: the current database
        database, schema = tables.show_scope(ctx, in_kind or "ACCOUNT", in_parts, "SHOW SERVICES")
        return render.rows(services.show(ctx, like, database, schema, jobs_only))
    if p.accept("SNAPSHOTS"):
        like = _like(p)
        in_kind, in_parts = _in_scope(p)
        _starts_and_limit(p)
        p.expect_end()
        database, schema = tables.show_scope(ctx, in_kind, in_parts, "SHOW SNAPSHOTS")
        return render.rows(snapshots.show(ctx, like, database, schema))
    if p.accept("NETWORK", "RULES"):
        like = _like(p)
        in_kind, in_parts = _in_scope(p)
        _starts_and_limit(p)
        p.expect_end()
        database, schema = tables.show_scope(ctx, in_kind, in_parts, "SHOW NETWORK RULES")
        return render.rows(network_rules.show(ctx, like, database, schema))
    if p.accept("USER", "FUNCTIONS") or p.accept("FUNCTIONS"):
        like = _like(p)
        in_kind, in_parts = _in_scope(p)
        _starts_and_limit(p)
        p.expect_end()
        return function_statements.show(ctx, like, in_kind, in_parts)
    if p.accept("SECRETS"):
        like = _like(p)
        in_kind, in_parts = _in_scope(p)
        _starts_and_limit(p)
        p.expect_end()
        database, schema = tables.show_scope(ctx, in_kind, in_parts, "SHOW SECRETS")
        return render.rows(secrets.show(ctx, like, database, schema))
    integration = _integration_kind(p)
    if integration is not None or p.peek_upper() == "INTEGRATIONS":
        p.expect("INTEGRATIONS")
        like = _like(p)
        p.expect_end()
        return render.rows(integrations.show(ctx, like, integration))
    if p.accept("COMPUTE", "POOLS"):
        like = _like(p)
        _starts_and_limit(p)
        p.expect_end()
        return render.rows(compute_pools.show(ctx, like))
    if p.accept("NODES"):
        p.expect("IN", "COMPUTE", "POOL")
        name = p.identifier()
        like = _like(p)
        _starts_and_limit(p)
        p.expect_end()
        return render.rows(compute_pools.show_nodes(ctx, name, like))
    if p.accept("ROLES", "IN", "SERVICE"):
        parts = p.qualified_name(3)
        p.expect_end()
        return render.rows(service_roles.show_roles(ctx, parts))
    if p.accept("IMAGES"):
        like = _like(p)
        p.expect("IN", "IMAGE", "REPOSITORY")
        parts = p.qualified_name(3)
        p.expect_end()
        return render.rows(image_repositories.show_images(ctx, like, parts))
    kind = p.accept_any("USERS", "ROLES", "DATABASES", "SCHEMAS", "WAREHOUSES", "TABLES", "VIEWS", "OBJECTS",
                        "STAGES")
    if kind is None and token_statements.is_show(p):
        return token_statements.show(ctx, p)
    if kind is None:
        if p.peek_upper() in ("PARAMETERS", "FUNCTIONS", "PROCEDURES", "USER"):
            return None
        raise errors.unsupported(f"SHOW {p.peek_upper()}")
    like = _like(p)
    in_kind, in_parts = _in_scope(p)
    _starts_and_limit(p)
    p.expect_end()
    if kind == "USERS":
        return render.rows(users.show(ctx, like))
    if kind == "ROLES":
        return render.rows(roles.show(ctx, like))
    if kind == "DATABASES":
        return render.rows(databases.show(ctx, like))
    if kind == "WAREHOUSES":
        return render.rows(warehouses.show(ctx, like))
    if kind == "SCHEMAS":
        return render.rows(schemas.show(ctx, like, in_parts[0] if in_parts else None, in_kind == "ACCOUNT"))
    if kind == "STAGES":
        database, schema = tables.show_scope(ctx, in_kind, in_parts, "SHOW STAGES")
        return render.rows(stages.show_stages(ctx, like, database, schema))
    return render.rows(tables.show(ctx, kind[:-1] if kind != "OBJECTS" else None, like, in_kind, in_parts))


def _starts_and_limit(p: Parser) -> None:
    """`STARTS WITH '...'` and `LIMIT n [FROM '...']`, accepted (the listing is not cut)."""
    if p.accept("STARTS", "WITH"):
        p.string()
    if p.accept("LIMIT"):
        p.value()
        if p.accept("FROM"):
            p.string()


def _show_grants(ctx: Ctx, p: Parser) -> Any:
    if p.at_end():
        return grants.show_to_user(ctx, ctx.session.user)
    if p.accept("TO", "SERVICE", "ROLE"):
        parts, role = _service_role(p)
        p.expect_end()
        return service_roles.show_grants_to(ctx, parts, role)
    if p.accept("OF", "SERVICE", "ROLE"):
        parts, role = _service_role(p)
        p.expect_end()
        return service_roles.show_grants_of(ctx, parts, role)
    if p.accept("TO"):
        kind = p.accept_any("ROLE", "USER")
        if kind is None:
            raise p.error()
        name = p.identifier()
        p.expect_end()
        return grants.show_to_role(ctx, name) if kind == "ROLE" else grants.show_to_user(ctx, name)
    if p.accept("OF", "ROLE"):
        name = p.identifier()
        p.expect_end()
        return grants.show_of_role(ctx, name)
    if p.accept("ON"):
        securable = _securable(p)
        p.expect_end()
        return grants.show_on(ctx, securable)
    raise p.error()


def _describe(ctx: Ctx, p: Parser, _d: bool) -> Result | None:
    p.next()
    if p.accept("STAGE"):
        parts = p.qualified_name(3)
        p.expect_end()
        return render.rows(stages.describe_stage(ctx, parts))
    if p.accept("COMPUTE", "POOL"):
        name = p.identifier()
        p.expect_end()
        return render.rows(compute_pools.describe(ctx, name))
    if p.accept("NETWORK", "RULE"):
        parts = p.qualified_name(3)
        p.expect_end()
        return render.rows(network_rules.describe(ctx, parts))
    if p.accept("SECRET"):
        parts = p.qualified_name(3)
        p.expect_end()
        return render.rows(secrets.describe(ctx, parts))
    if p.accept("SERVICE"):
        parts = p.qualified_name(3)
        p.expect_end()
        return render.rows(services.describe(ctx, parts))
    if p.accept("SNAPSHOT"):
        return snapshot_statements.describe(ctx, p)
    if p.accept("FUNCTION"):
        return function_statements.describe(ctx, p)
    integration = _integration_kind(p)
    if integration is not None or p.peek_upper() == "INTEGRATION":
        p.expect("INTEGRATION")
        name = p.identifier()
        p.expect_end()
        return render.rows(integrations.describe(ctx, name, integration))
    kind = p.accept_any("USER", "DATABASE", "SCHEMA", "WAREHOUSE")
    if kind is None:
        return None
    if kind == "SCHEMA":
        parts = p.qualified_name(2)
        p.expect_end()
        return render.rows(schemas.describe(ctx, parts))
    name = p.identifier()
    p.expect_end()
    describe: Callable[[Ctx, str], Any] = {"USER": users.describe, "DATABASE": databases.describe,
                                           "WAREHOUSE": warehouses.describe}[kind]
    return render.rows(describe(ctx, name))


# ---- stage files, COPY, CALL ----------------------------------------------------------------
def _pattern(options: dict[str, Any]) -> str | None:
    pattern = options.get("PATTERN")
    if pattern is not None and not isinstance(pattern, str):
        raise errors.invalid_value("PATTERN must be a string")
    return pattern


def _list(ctx: Ctx, p: Parser, _d: bool) -> Result:
    ref, options = parse_stage_command(p.sql)
    return render.rows(stages.list_files(ctx, ref, _pattern(options)))


def _remove(ctx: Ctx, p: Parser, _d: bool) -> Result:
    ref, options = parse_stage_command(p.sql)
    return render.rows(stages.remove_files(ctx, ref, _pattern(options)))


def _copy(ctx: Ctx, p: Parser, _d: bool) -> Result:
    def run_query(query: str) -> Any:
        return table_sql.run(ctx, query, None, False).to_arrow()

    outcome = copy.execute(ctx, parse_copy(p.sql), run_query)
    return render.rows(outcome, COPY_LOAD if outcome.columns is copy.LOAD_RESULT else SELECT)


_CALL = re.compile(r"^\s*CALL\s+(?P<name>[A-Za-z_][\w$]*(?:\.[A-Za-z_][\w$]*)*)\s*\((?P<args>.*)\)\s*;?\s*$",
                   re.I | re.S)


_WAIT_FOR = re.compile(r"^\s*CALL\s+(?P<service>[^!\s]+)\s*!\s*SPCS_WAIT_FOR\s*\(\s*'(?P<status>\w+)'\s*,\s*"
                       r"(?P<timeout>\d+(?:\.\d*)?)\s*\)\s*;?\s*$", re.I | re.S)


_CANCEL_JOB = re.compile(r"^\s*CALL\s+(?P<job>[^!\s]+)\s*!\s*SPCS_CANCEL_JOB\s*\(\s*\)\s*;?\s*$", re.I | re.S)


def _call(ctx: Ctx, p: Parser, describe_only: bool) -> Result:
    """CALL f(args): Snowflake's system functions answer one row in a column named after the function.
    CALL <service>!SPCS_WAIT_FOR('<status>', <seconds>) waits for a service's status."""
    wait = _WAIT_FOR.match(p.sql)
    if wait is not None:
        parts = Parser(wait.group("service")).qualified_name(3)
        message = services.wait_for(ctx, parts, wait.group("status"), float(wait.group("timeout")))
        return render.rows(Rows(columns(Col("SPCS_WAIT_FOR", value=lambda m: m)), [message]))
    cancel = _CANCEL_JOB.match(p.sql)
    if cancel is not None:
        parts = Parser(cancel.group("job")).qualified_name(3)
        message = jobs.cancel(ctx, parts)
        return render.rows(Rows(columns(Col("SPCS_CANCEL_JOB", value=lambda m: m)), [message]))
    m = _CALL.match(p.sql)
    if m is None:
        raise errors.syntax_error(1, 0, "CALL")
    name = m.group("name").split(".")[-1].upper()
    expression = table_sql.parse(f"SELECT {m.group('name')}({m.group('args')}) AS \"{name}\"")
    return table_sql.run_parsed(ctx, expression, None, describe_only)


_OWN: dict[str, Callable[[Ctx, Parser, bool], Result | None]] = {
    "CALL": _call,
    "EXECUTE": _execute,
    "COPY": _copy,
    "LIST": _list,
    "LS": _list,
    "REMOVE": _remove,
    "RM": _remove,
    "CREATE": _create,
    "DROP": _drop,
    "UNDROP": _undrop,
    "ALTER": _alter,
    "USE": _use,
    "GRANT": _grant,
    "REVOKE": _revoke,
    "SHOW": _show,
    "DESC": _describe,
    "DESCRIBE": _describe,
}

__all__ = ["execute"]
