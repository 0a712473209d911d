"""GRANT, REVOKE and SHOW GRANTS: privileges on the account and objects, and the role graph."""

from __future__ import annotations

from dataclasses import dataclass

from snowport import errors
from snowport.catalog.store import ACCOUNT_ID, CatalogObject, Grant
from snowport.names import display
from snowport.security.privileges import OBJECT_PRIVILEGES
from snowport.sql.context import Ctx
from snowport.sql.result import SHOW, Result, column, success
from snowport.sql.showing import tf, ts

# Kinds as written after ON, mapped to catalog kinds.
SECURABLE_KINDS = {
    "ACCOUNT": "ACCOUNT",
    "DATABASE": "DATABASE",
    "SCHEMA": "SCHEMA",
    "TABLE": "TABLE",
    "VIEW": "VIEW",
    "WAREHOUSE": "WAREHOUSE",
    "USER": "USER",
    "ROLE": "ROLE",
    "INTEGRATION": "INTEGRATION",
    "COMPUTE POOL": "COMPUTE POOL",
    "STAGE": "STAGE",
    "IMAGE REPOSITORY": "IMAGE REPOSITORY",
    "SERVICE": "SERVICE",
    "FUNCTION": "FUNCTION",
    "SECRET": "SECRET",
    "NETWORK RULE": "NETWORK RULE",
}
SCHEMA_LEVEL = {"TABLE", "VIEW", "STAGE", "IMAGE REPOSITORY", "SERVICE", "FUNCTION", "SECRET", "NETWORK RULE"}


@dataclass
class Securable:
    kind: str  # catalog kind, or ACCOUNT
    parts: list[str]


def resolve(ctx: Ctx, securable: Securable, command: str) -> CatalogObject | None:
    """The object a grant names (None for the account); 002003 when missing or invisible."""
    kind = securable.kind
    if kind == "ACCOUNT":
        return None
    if kind == "SCHEMA":
        database, name = ctx.schema_of(securable.parts, command)
        obj = ctx.catalog.get("SCHEMA", name, database)
        shown = display(database, name)
    elif kind in SCHEMA_LEVEL:
        database, schema, name = ctx.object_in_schema(securable.parts, command)
        obj = ctx.catalog.get(kind, name, database, schema)
        if obj is None and kind == "TABLE":
            obj = ctx.catalog.get("VIEW", name, database, schema)
        shown = display(database, schema, name)
    else:
        name = securable.parts[-1]
        obj = ctx.catalog.get(kind, name)
        shown = display(name)
    if obj is None:
        raise errors.does_not_exist(kind.title(), shown)
    return obj


def object_display(ctx: Ctx, obj: CatalogObject | None) -> str:
    if obj is None:
        return ctx.core.account_name
    return ".".join(p for p in (obj.database, obj.schema, obj.name) if p)


def _role(ctx: Ctx, name: str) -> CatalogObject:
    role = ctx.catalog.get("ROLE", name)
    if role is None:
        raise errors.does_not_exist("Role", display(name))
    return role


def _expand_all(kind: str, privileges: list[str]) -> list[str]:
    if privileges in (["ALL"], ["ALL PRIVILEGES"]):
        return [p for p in OBJECT_PRIVILEGES.get(kind, ()) if p != "IMPORTED PRIVILEGES"]
    return privileges


def _check_privileges_valid(kind: str, privileges: list[str]) -> None:
    allowed = OBJECT_PRIVILEGES.get(kind)
    for p in privileges:
        if p == "OWNERSHIP":
            continue
        if allowed is not None and p not in allowed:
            raise errors.SnowflakeError(3011, "42501", errors.compilation(f"Invalid privilege {p}."))


def grant_privileges(
    ctx: Ctx, privileges: list[str], securable: Securable, grantee_kind: str, grantee: str, grant_option: bool
) -> Result:
    obj = resolve(ctx, securable, "GRANT")
    kind = "ACCOUNT" if obj is None else obj.kind
    if obj is not None and not ctx.auth.can_see(ctx.session, obj) and not ctx.auth.has_account(
        ctx.session, "MANAGE GRANTS"
    ):
        raise errors.does_not_exist(kind.title(), object_display(ctx, obj))
    privileges = _expand_all(kind, privileges)
    _check_privileges_valid(kind, privileges)
    if grantee_kind == "ROLE":
        _role(ctx, grantee)
    elif ctx.catalog.get("USER", grantee) is None:
        raise errors.does_not_exist("User", display(grantee))
    if "IMPORTED PRIVILEGES" in privileges and (obj is None or not obj.props.get("system")):
        raise errors.SnowflakeError(3011, "42501", "SQL compilation error:\nInvalid privilege IMPORTED PRIVILEGES.")
    for p in privileges:
        if not ctx.auth.can_grant(ctx.session, obj, p) and not (
            p == "IMPORTED PRIVILEGES" and ctx.auth.has_account(ctx.session, "MANAGE GRANTS")
            or p == "IMPORTED PRIVILEGES" and ctx.session.role == "ACCOUNTADMIN"
        ):
            raise errors.insufficient_privileges(kind.lower(), object_display(ctx, obj))
    for p in privileges:
        ctx.catalog.grant(
            Grant(
                privilege=p,
                object_id=ACCOUNT_ID if obj is None else obj.id,
                grantee_kind=grantee_kind,
                grantee=grantee,
                grant_option=grant_option,
                granted_by=ctx.role,
            )
        )
    return success()


def grant_ownership(ctx: Ctx, securable: Securable, new_owner: str, revoke_current: bool) -> Result:
    obj = resolve(ctx, securable, "GRANT")
    if obj is None:
        raise errors.insufficient_privileges("account", ctx.core.account_name)
    _role(ctx, new_owner)
    if not (ctx.auth.owns(ctx.session, obj) or ctx.auth.has_account(ctx.session, "MANAGE GRANTS")):
        raise errors.insufficient_privileges(obj.kind.lower(), object_display(ctx, obj))
    if revoke_current:
        for g in ctx.catalog.grants(object_id=obj.id):
            if g.privilege != "USAGE" or obj.kind != "ROLE":
                ctx.catalog.revoke(g.privilege, g.object_id, g.grantee_kind, g.grantee)
    obj.owner = new_owner
    ctx.catalog.save(obj)
    return success()


def revoke_privileges(ctx: Ctx, privileges: list[str], securable: Securable, grantee_kind: str, grantee: str) -> Result:
    obj = resolve(ctx, securable, "REVOKE")
    kind = "ACCOUNT" if obj is None else obj.kind
    privileges = _expand_all(kind, privileges)
    if grantee_kind == "ROLE":
        _role(ctx, grantee)
    for p in privileges:
        if not ctx.auth.can_grant(ctx.session, obj, p):
            raise errors.insufficient_privileges(kind.lower(), object_display(ctx, obj))
    for p in privileges:
        ctx.catalog.revoke(p, ACCOUNT_ID if obj is None else obj.id, grantee_kind, grantee)
    return success()


def grant_role(ctx: Ctx, role_name: str, grantee_kind: str, grantee: str) -> Result:
    role = _role(ctx, role_name)
    if grantee_kind == "ROLE":
        _role(ctx, grantee)
        # A cycle: the grantee already is (or inherits into) the role being granted.
        if role_name == grantee or grantee in ctx.auth.closure(role_name) - {"PUBLIC"}:
            raise errors.SnowflakeError(
                3010, "42501",
                f"SQL execution error:\nGranting role '{role_name}' to role '{grantee}' would create a cycle.",
            )
    elif ctx.catalog.get("USER", grantee) is None:
        raise errors.does_not_exist("User", display(grantee))
    if not (ctx.auth.owns(ctx.session, role) or ctx.auth.has_account(ctx.session, "MANAGE GRANTS")):
        raise errors.insufficient_privileges("role", display(role_name))
    ctx.catalog.grant(Grant(privilege="USAGE", object_id=role.id, grantee_kind=grantee_kind, grantee=grantee,
                            granted_by=ctx.role))
    return success()


def revoke_role(ctx: Ctx, role_name: str, grantee_kind: str, grantee: str) -> Result:
    role = _role(ctx, role_name)
    if not (ctx.auth.owns(ctx.session, role) or ctx.auth.has_account(ctx.session, "MANAGE GRANTS")):
        raise errors.insufficient_privileges("role", display(role_name))
    ctx.catalog.revoke("USAGE", role.id, grantee_kind, grantee)
    return success()


# ---- SHOW GRANTS --------------------------------------------------------------------------
PRIVILEGE_COLUMNS = ["created_on", "privilege", "granted_on", "name", "granted_to", "grantee_name", "grant_option",
                     "granted_by"]


def _granted_on(obj: CatalogObject | None) -> str:
    return "ACCOUNT" if obj is None else obj.kind.replace(" ", "_")


def _privilege_rows(ctx: Ctx, grants: list[Grant], owned: list[CatalogObject], grantee_kind: str,
                    grantee: str) -> list[tuple]:
    rows: list[tuple] = []
    for o in owned:
        rows.append((o.created_dt, "OWNERSHIP", _granted_on(o), object_display(ctx, o), grantee_kind, grantee,
                     "true", o.owner))
    for g in grants:
        obj = ctx.catalog.by_id(g.object_id) if g.object_id else None
        if g.object_id and obj is None:
            continue
        rows.append((ts(g.created_on), g.privilege, _granted_on(obj), object_display(ctx, obj),
                     g.grantee_kind, g.grantee, tf(g.grant_option), g.granted_by))
    return rows


def _cols(names: list[str]) -> list[dict]:
    return [column(n, "timestamp_ltz" if n == "created_on" else "text") for n in names]


def show_grants_to_role(ctx: Ctx, role_name: str) -> Result:
    role = _role(ctx, role_name)
    if not (role_name in ctx.auth.active_roles(ctx.session) or ctx.auth.owns(ctx.session, role)
            or ctx.auth.has_account(ctx.session, "MANAGE GRANTS")):
        raise errors.does_not_exist("Role", display(role_name))
    owned = [o for o in ctx.catalog.all_objects() if o.owner == role_name]
    owned.sort(key=lambda o: (o.kind, o.database, o.schema, o.name))
    rows = _privilege_rows(ctx, ctx.catalog.grants(grantee_kind="ROLE", grantee=role_name), owned, "ROLE",
                           role_name)
    return Result(_cols(PRIVILEGE_COLUMNS), rows, statement_type_id=SHOW)


def show_grants_to_user(ctx: Ctx, user_name: str) -> Result:
    user = ctx.catalog.get("USER", user_name)
    if user is None or not (user_name == ctx.session.user or ctx.auth.owns(ctx.session, user)
                            or ctx.auth.has_account(ctx.session, "MANAGE GRANTS")):
        raise errors.does_not_exist("User", display(user_name))
    rows = []
    for g in ctx.catalog.grants(grantee_kind="USER", grantee=user_name):
        obj = ctx.catalog.by_id(g.object_id)
        if obj is None:
            continue
        is_role = obj.kind == "ROLE"
        rows.append((ts(g.created_on), g.privilege, _granted_on(obj), obj.name, obj.name if is_role else None,
                     "USER", user_name, tf(g.grant_option), g.granted_by))
    names = ["created_on", "privilege", "granted_on", "name", "role", "granted_to", "grantee_name", "grant_option",
             "granted_by"]
    return Result(_cols(names), rows, statement_type_id=SHOW)


def show_grants_on(ctx: Ctx, securable: Securable) -> Result:
    obj = resolve(ctx, securable, "SHOW GRANTS")
    if obj is not None and not ctx.auth.can_see(ctx.session, obj):
        raise errors.does_not_exist(obj.kind.title(), object_display(ctx, obj))
    if obj is None and not ctx.auth.has_account(ctx.session, "MANAGE GRANTS"):
        raise errors.insufficient_privileges("account", ctx.core.account_name)
    rows: list[tuple] = []
    if obj is not None and obj.owner:
        rows.append((obj.created_dt, "OWNERSHIP", _granted_on(obj), object_display(ctx, obj), "ROLE", obj.owner,
                     "true", obj.owner))
    rows += _privilege_rows(ctx, ctx.catalog.grants(object_id=ACCOUNT_ID if obj is None else obj.id), [], "", "")
    return Result(_cols(PRIVILEGE_COLUMNS), rows, statement_type_id=SHOW)


def show_grants_of_role(ctx: Ctx, role_name: str) -> Result:
    role = _role(ctx, role_name)
    rows = [
        (ts(g.created_on), role_name, g.grantee_kind, g.grantee, g.granted_by)
        for g in ctx.catalog.grants(object_id=role.id, privilege="USAGE")
    ]
    return Result(_cols(["created_on", "role", "granted_to", "grantee_name", "granted_by"]), rows,
                  statement_type_id=SHOW)
