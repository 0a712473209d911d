"""The session: USE, ALTER SESSION, the namespace, and the session-scoped context functions."""

from __future__ import annotations

import json
from typing import Any

from snowport import errors
from snowport.commands.context import Ctx, Server
from snowport.security.sessions import Session

# Parameters sent back to the connector in every response; the connector applies them.
CLIENT_PARAMETERS = ("TIMEZONE", "PYTHON_CONNECTOR_QUERY_RESULT_FORMAT", "CLIENT_SESSION_KEEP_ALIVE",
                     "TIMESTAMP_OUTPUT_FORMAT", "DATE_OUTPUT_FORMAT", "QUERY_TAG")


def set_namespace(core: Server, session: Session, database: str | None, schema: str | None) -> None:
    """Point the session (and its engine connection) at a database and schema."""
    if schema is not None and schema != "INFORMATION_SCHEMA" and (
            database is None or core.catalog.get("SCHEMA", schema, database) is None):
        schema = None  # e.g. the database was replaced since: its old schemas are gone
    session.database = database
    session.schema = schema if database else None
    if session.engine is not None:
        db = None if database is None else core.catalog.get("DATABASE", database)
        attached = db is not None and not db.props.get("system")
        session.engine.set_namespace(database if attached else None, session.schema if attached else None)


def use_role(ctx: Ctx, role: str) -> None:
    fixed = ctx.session.restricted_role or (ctx.session.role if ctx.session.role_locked else None)
    if fixed is not None and role != fixed:  # a PAT's ROLE_RESTRICTION, a caller's-rights session
        raise errors.SnowflakeError(
            3013, "42501", f"SQL access control error:\nRequested role '{role}' is not assigned to the executing "
            f"user. Specify another role to activate. (This session is restricted to role '{fixed}'.)")
    if ctx.catalog.get("ROLE", role) is None or not ctx.auth.user_has_role(ctx.session.user, role):
        raise errors.SnowflakeError(
            3013,
            "42501",
            f"SQL access control error:\nRequested role '{role}' is not assigned to the executing user. "
            "Specify another role to activate.",
        )
    ctx.session.role = role


def use_secondary_roles(ctx: Ctx, value: str) -> None:
    ctx.session.secondary_roles = "ALL" if value == "ALL" else "NONE"


def use_database(ctx: Ctx, database: str) -> None:
    db = ctx.catalog.get("DATABASE", database)
    if db is None or not ctx.auth.allows(ctx.session, "USE DATABASE", db) and not ctx.auth.has(
            ctx.session, db, ("IMPORTED PRIVILEGES",)):
        raise errors.use_not_possible()
    schema = "PUBLIC" if ctx.catalog.get("SCHEMA", "PUBLIC", database) is not None else None
    set_namespace(ctx.core, ctx.session, database, schema)


def use_schema(ctx: Ctx, parts: list[str]) -> None:
    database, schema = ctx.schema_of(parts, "USE SCHEMA")
    db = ctx.catalog.get("DATABASE", database)
    sch = ctx.catalog.get("SCHEMA", schema, database)
    if schema == "INFORMATION_SCHEMA" and db is not None and ctx.auth.has(ctx.session, db, ("USAGE",)):
        set_namespace(ctx.core, ctx.session, database, schema)  # every database has one, visible to its users
        return
    if (
        db is None
        or sch is None
        or not ctx.auth.has(ctx.session, db, ("USAGE", "IMPORTED PRIVILEGES"))
        or not ctx.auth.allows(ctx.session, "USE SCHEMA", sch)
    ):
        raise errors.use_not_possible()
    set_namespace(ctx.core, ctx.session, database, schema)


def use_warehouse(ctx: Ctx, name: str) -> None:
    wh = ctx.catalog.get("WAREHOUSE", name)
    if wh is None or not ctx.auth.allows(ctx.session, "USE WAREHOUSE", wh):
        raise errors.use_not_possible()
    ctx.session.warehouse = name


def alter_session(ctx: Ctx, values: dict[str, Any], unset: bool = False) -> None:
    for key, value in values.items():
        if not unset and key == "TIMEZONE" and not isinstance(value, str):
            raise errors.invalid_value(f"invalid value [{value}] for parameter 'TIMEZONE'")
    for key, value in values.items():
        if unset:
            ctx.session.parameters.pop(key, None)
        else:
            ctx.session.parameters[key] = value


def available_roles(ctx: Ctx) -> str:
    return json.dumps(sorted(ctx.auth.user_roles(ctx.session.user)))


def secondary_roles(ctx: Ctx) -> str:
    if ctx.session.secondary_roles != "ALL":
        return json.dumps({"roles": "", "value": ""})
    roles = sorted(ctx.auth.roles_granted_to("USER", ctx.session.user))
    return json.dumps({"roles": ",".join(roles), "value": "ALL"})
