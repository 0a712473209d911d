"""USE, ALTER SESSION and the session-scoped context functions (CURRENT_*())."""

from __future__ import annotations

import json
from typing import Any

from snowport import errors
from snowport.sql.context import Ctx
from snowport.sql.result import SCL, USE, Result, success

# Parameters sent back to the connector in every response; the connector applies them.
CLIENT_PARAMETERS = ("TIMEZONE", "PYTHON_CONNECTOR_QUERY_RESULT_FORMAT", "CLIENT_SESSION_KEEP_ALIVE",
                     "TIMESTAMP_OUTPUT_FORMAT", "DATE_OUTPUT_FORMAT", "QUERY_TAG")


def use_role(ctx: Ctx, role: str) -> Result:
    if ctx.catalog.get("ROLE", role) is None or not ctx.auth.user_has_role(ctx.session.user, role):
        raise errors.SnowflakeError(
            3013,
            "42501",
            f"SQL access control error:\nRequested role '{role}' is not assigned to the executing user. "
            "Specify another role to activate.",
        )
    ctx.session.role = role
    return success(USE)


def use_secondary_roles(ctx: Ctx, value: str) -> Result:
    ctx.session.secondary_roles = "ALL" if value == "ALL" else "NONE"
    return success(USE)


def use_database(ctx: Ctx, database: str) -> Result:
    db = ctx.catalog.get("DATABASE", database)
    if db is None or not ctx.auth.has(ctx.session, db, ("USAGE", "IMPORTED PRIVILEGES", "MONITOR")):
        raise errors.use_not_possible()
    schema = "PUBLIC" if ctx.catalog.get("SCHEMA", "PUBLIC", database) is not None else None
    ctx.core.set_namespace(ctx.session, database, schema)
    return success(USE)


def use_schema(ctx: Ctx, parts: list[str]) -> Result:
    database, schema = ctx.schema_of(parts, "USE SCHEMA")
    db = ctx.catalog.get("DATABASE", database)
    sch = ctx.catalog.get("SCHEMA", schema, database)
    if schema == "INFORMATION_SCHEMA" and db is not None and ctx.auth.has(ctx.session, db, ("USAGE",)):
        ctx.core.set_namespace(ctx.session, database, schema)  # every database has one, visible to its users
        return success(USE)
    if (
        db is None
        or sch is None
        or not ctx.auth.has(ctx.session, db, ("USAGE", "IMPORTED PRIVILEGES"))
        or not ctx.auth.has(ctx.session, sch, ("USAGE",))
    ):
        raise errors.use_not_possible()
    ctx.core.set_namespace(ctx.session, database, schema)
    return success(USE)


def use_warehouse(ctx: Ctx, name: str) -> Result:
    wh = ctx.catalog.get("WAREHOUSE", name)
    if wh is None or not ctx.auth.has(ctx.session, wh, ("USAGE",)):
        raise errors.use_not_possible()
    ctx.session.warehouse = name
    return success(USE)


def alter_session(ctx: Ctx, action: str, props: dict[str, Any]) -> Result:
    for key, value in props.items():
        if action == "SET":
            if key == "TIMEZONE" and not isinstance(value, str):
                raise errors.invalid_value(f"invalid value [{value}] for parameter 'TIMEZONE'")
            ctx.session.parameters[key] = value
        else:
            ctx.session.parameters.pop(key, None)
    return success(SCL)


def available_roles(ctx: Ctx) -> str:
    return json.dumps(sorted(ctx.auth.user_roles(ctx.session.user)))


def secondary_roles(ctx: Ctx) -> str:
    if ctx.session.secondary_roles != "ALL":
        return json.dumps({"roles": "", "value": ""})
    roles = sorted(ctx.auth.roles_granted_to("USER", ctx.session.user))
    return json.dumps({"roles": ",".join(roles), "value": "ALL"})
