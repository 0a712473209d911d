"""GRANT, REVOKE and SHOW GRANTS: privileges on the account and objects, ownership, the role graph."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from snowport import errors
from snowport.catalog.store import ACCOUNT_ID, CatalogObject, Grant
from snowport.commands.columns import Col, Rows, columns, tf, ts
from snowport.commands.context import Ctx
from snowport.names import display
from snowport.security.privileges import OBJECT_PRIVILEGES, SERVICE_ROLE_PREFIX

# Kinds as written after ON, mapped to catalog kinds.
SECURABLE_KINDS = {
    "ACCOUNT": "ACCOUNT", "DATABASE": "DATABASE", "SCHEMA": "SCHEMA", "TABLE": "TABLE", "VIEW": "VIEW",
    "WAREHOUSE": "WAREHOUSE", "USER": "USER", "ROLE": "ROLE", "INTEGRATION": "INTEGRATION",
    "COMPUTE POOL": "COMPUTE POOL", "STAGE": "STAGE", "IMAGE REPOSITORY": "IMAGE REPOSITORY", "SERVICE": "SERVICE",
    "FUNCTION": "FUNCTION", "SECRET": "SECRET", "NETWORK RULE": "NETWORK RULE", "SNAPSHOT": "SNAPSHOT",
}
SCHEMA_LEVEL = {"TABLE", "VIEW", "STAGE", "IMAGE REPOSITORY", "SERVICE", "FUNCTION", "SECRET", "NETWORK RULE",
                "SNAPSHOT"}
MANAGE_GRANTS = "MANAGE GRANTS"


@dataclass
class Securable:
    kind: str  # catalog kind, or ACCOUNT
    parts: list[str]


def resolve(ctx: Ctx, securable: Securable, command: str) -> CatalogObject | None:
    """The object a grant names (None for the account); 002003 when missing."""
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


def _grantee_exists(ctx: Ctx, grantee_kind: str, grantee: str) -> None:
    if grantee_kind == "ROLE":
        _role(ctx, grantee)
    elif ctx.catalog.get("USER", grantee) is None:
        raise errors.does_not_exist("User", display(grantee))


def _expand_all(kind: str, privileges: list[str]) -> list[str]:
    if privileges in (["ALL"], ["ALL PRIVILEGES"]):
        return [p for p in OBJECT_PRIVILEGES.get(kind, ()) if p != "IMPORTED PRIVILEGES"]
    return privileges


def _check_valid(kind: str, privileges: list[str], obj: CatalogObject | None) -> None:
    allowed = OBJECT_PRIVILEGES.get(kind)
    for p in privileges:
        if p == "OWNERSHIP":
            raise errors.SnowflakeError(3011, "42501", errors.compilation(
                "Invalid privilege OWNERSHIP: use GRANT OWNERSHIP ON ... TO ROLE."))
        if allowed is not None and p not in allowed:
            raise errors.SnowflakeError(3011, "42501", errors.compilation(f"Invalid privilege {p}."))
        if p == "IMPORTED PRIVILEGES" and (obj is None or not obj.props.get("system")):
            raise errors.SnowflakeError(3011, "42501", errors.compilation("Invalid privilege IMPORTED PRIVILEGES."))


def _may_grant(ctx: Ctx, obj: CatalogObject | None, privilege: str) -> bool:
    """Owners, holders of MANAGE GRANTS, and holders of the privilege WITH GRANT OPTION may grant it."""
    if obj is None:
        return ctx.auth.allows(ctx.session, "GRANT ON ACCOUNT", None) or ctx.auth.can_grant(ctx.session, None,
                                                                                           privilege)
    return ctx.auth.can_grant(ctx.session, obj, privilege)


def _visible_for_grant(ctx: Ctx, obj: CatalogObject | None) -> None:
    if obj is not None and not ctx.auth.can_see(ctx.session, obj) and not ctx.auth.has_account(
            ctx.session, MANAGE_GRANTS):
        raise errors.does_not_exist(obj.kind.title(), object_display(ctx, obj))


def _change_privileges(ctx: Ctx, privileges: list[str], securable: Securable, grantee_kind: str, grantee: str,
                       change: Callable[[CatalogObject | None, str], None], refused: errors.SnowflakeError,
                       command: str) -> None:
    """GRANT and REVOKE share every check; only what they do to each privilege differs."""
    with ctx.catalog.transaction():
        obj = resolve(ctx, securable, command)
        kind = "ACCOUNT" if obj is None else obj.kind
        _visible_for_grant(ctx, obj)
        privileges = _expand_all(kind, privileges)
        if command == "GRANT":
            _check_valid(kind, privileges, obj)
        _grantee_exists(ctx, grantee_kind, grantee)
        if not all(_may_grant(ctx, obj, p) for p in privileges):
            raise refused
        for p in privileges:
            change(obj, p)


def grant_privileges(ctx: Ctx, privileges: list[str], securable: Securable, grantee_kind: str, grantee: str,
                     grant_option: bool = False) -> None:
    def grant(obj: CatalogObject | None, privilege: str) -> None:
        ctx.catalog.grant(Grant(privilege=privilege, object_id=ACCOUNT_ID if obj is None else obj.id,
                                grantee_kind=grantee_kind, grantee=grantee, grant_option=grant_option,
                                granted_by=ctx.role))

    _change_privileges(ctx, privileges, securable, grantee_kind, grantee, grant, errors.grant_not_executed(), "GRANT")


def revoke_privileges(ctx: Ctx, privileges: list[str], securable: Securable, grantee_kind: str,
                      grantee: str) -> None:
    def revoke(obj: CatalogObject | None, privilege: str) -> None:
        ctx.catalog.revoke(privilege, ACCOUNT_ID if obj is None else obj.id, grantee_kind, grantee)

    _change_privileges(ctx, privileges, securable, grantee_kind, grantee, revoke, errors.revoke_not_executed(),
                       "REVOKE")


def grant_ownership(ctx: Ctx, securable: Securable, new_owner: str, revoke_current: bool = False) -> None:
    """GRANT OWNERSHIP ... TO ROLE r [REVOKE | COPY CURRENT GRANTS]: the one way ownership moves."""
    with ctx.catalog.transaction():
        obj = resolve(ctx, securable, "GRANT")
        if obj is None:
            raise errors.insufficient_privileges("account", ctx.core.account_name)
        _role(ctx, new_owner)
        if not (ctx.auth.allows(ctx.session, "GRANT OWNERSHIP", obj)
                or ctx.auth.has_account(ctx.session, MANAGE_GRANTS)):
            if not ctx.auth.can_see(ctx.session, obj):
                raise errors.does_not_exist(obj.kind.title(), object_display(ctx, obj))
            raise errors.insufficient_privileges(obj.kind.lower(), object_display(ctx, obj))
        if revoke_current:
            for g in ctx.catalog.grants(object_id=obj.id):
                if g.privilege != "USAGE" or obj.kind != "ROLE":
                    ctx.catalog.revoke(g.privilege, g.object_id, g.grantee_kind, g.grantee)
        ctx.catalog.update(obj.evolve(owner=new_owner))


def grant_role(ctx: Ctx, role_name: str, grantee_kind: str, grantee: str) -> None:
    with ctx.catalog.transaction():
        role = _role(ctx, role_name)
        _grantee_exists(ctx, grantee_kind, grantee)
        if grantee_kind == "ROLE" and (role_name == grantee or grantee in ctx.auth.closure(role_name) - {"PUBLIC"}):
            raise errors.SnowflakeError(
                3010, "42501",
                f"SQL execution error:\nGranting role '{role_name}' to role '{grantee}' would create a cycle.",
            )
        if not (ctx.auth.allows(ctx.session, "GRANT ROLE", role) or ctx.auth.has_account(ctx.session, MANAGE_GRANTS)):
            raise errors.grant_not_executed()
        ctx.catalog.grant(Grant(privilege="USAGE", object_id=role.id, grantee_kind=grantee_kind, grantee=grantee,
                                granted_by=ctx.role))


def revoke_role(ctx: Ctx, role_name: str, grantee_kind: str, grantee: str) -> None:
    with ctx.catalog.transaction():
        role = _role(ctx, role_name)
        if not (ctx.auth.allows(ctx.session, "REVOKE ROLE", role)
                or ctx.auth.has_account(ctx.session, MANAGE_GRANTS)):
            raise errors.revoke_not_executed()
        ctx.catalog.revoke("USAGE", role.id, grantee_kind, grantee)


def _container(ctx: Ctx, container_kind: str, parts: list[str]) -> tuple[CatalogObject, str, str | None]:
    if container_kind == "SCHEMA":
        database, schema = ctx.schema_of(parts, "GRANT")
        return ctx.visible_schema(database, schema), database, schema
    db = ctx.visible_database(parts[0])
    return db, db.name, None


def grant_future(ctx: Ctx, privileges: list[str], kind: str, container_kind: str, parts: list[str],
                 role: str) -> None:
    """GRANT ... ON FUTURE <kinds> IN SCHEMA|DATABASE: applied to each such object as it is created."""
    with ctx.catalog.transaction():
        container, _database, _schema = _container(ctx, container_kind, parts)
        _role(ctx, role)
        _check_valid(kind, _expand_all(kind, privileges), None)
        if not (ctx.auth.owns(ctx.session, container) or ctx.auth.has_account(ctx.session, MANAGE_GRANTS)):
            raise errors.insufficient_privileges(container.kind.lower(), object_display(ctx, container))
        future = [dict(e) for e in container.props.get("future_grants", [])]
        for priv in _expand_all(kind, privileges):
            entry = {"kind": kind, "privilege": priv, "role": role}
            if entry not in future:
                future.append(entry)
        ctx.catalog.update(container.with_props(future_grants=future))


def grant_all(ctx: Ctx, privileges: list[str], kind: str, container_kind: str, parts: list[str], role: str,
              grant_option: bool = False) -> None:
    """GRANT ... ON ALL <kinds> IN SCHEMA|DATABASE: each existing object, all or none."""
    with ctx.catalog.transaction():
        container, database, schema = _container(ctx, container_kind, parts)
        if not (ctx.auth.allows(ctx.session, "GRANT ON ALL", container)
                or ctx.auth.has_account(ctx.session, MANAGE_GRANTS)):
            raise errors.insufficient_privileges(container.kind.lower(), container.name)
        targets = [o for o in ctx.catalog.all_objects()
                   if o.kind == kind and o.database == database and (schema is None or o.schema == schema)]
        for obj in targets:
            grant_privileges(ctx, privileges, Securable(kind, [obj.database, obj.schema, obj.name]), "ROLE", role,
                             grant_option)


def retarget_future_grants(ctx: Ctx, role: str, new_role: str | None) -> None:
    """Future grants follow a role's rename, and end with the role: a new role of the same name gets none."""
    for holder in [o for o in ctx.catalog.all_objects() if o.kind in ("DATABASE", "SCHEMA")]:
        entries = holder.props.get("future_grants", [])
        if not any(e["role"] == role for e in entries):
            continue
        kept = [dict(e, role=new_role) if e["role"] == role else dict(e) for e in entries if
                e["role"] != role or new_role is not None]
        ctx.catalog.update(holder.with_props(future_grants=kept))


def apply_future_grants(ctx: Ctx, obj: CatalogObject) -> None:
    """Grants ON FUTURE <kind> IN SCHEMA|DATABASE take effect as an object is created."""
    holders = [ctx.catalog.get("SCHEMA", obj.schema, obj.database), ctx.catalog.get("DATABASE", obj.database)]
    for holder in holders:
        if holder is None:
            continue
        for fg in holder.props.get("future_grants", []):
            if fg["kind"] == obj.kind:
                ctx.catalog.grant(Grant(privilege=fg["privilege"], object_id=obj.id, grantee_kind="ROLE",
                                        grantee=fg["role"], granted_by=holder.owner))


# ---- SHOW GRANTS --------------------------------------------------------------------------
@dataclass(frozen=True)
class GrantRow:
    created: datetime | None
    privilege: str
    granted_on: str
    name: str
    granted_to: str
    grantee_name: str
    grant_option: str
    granted_by: str
    role: str | None = None


def _granted_on(obj: CatalogObject | None) -> str:
    return "ACCOUNT" if obj is None else obj.kind.replace(" ", "_")


def _col(name: str, t: str = "text") -> Col:
    return Col(name, t, lambda r, n=name: getattr(r, n))


PRIVILEGE_COLUMNS = columns(
    Col("created_on", "timestamp_ltz", lambda r: r.created), _col("privilege"), _col("granted_on"), _col("name"),
    _col("granted_to"), _col("grantee_name"), _col("grant_option"), _col("granted_by"),
)
USER_GRANT_COLUMNS = columns(
    Col("created_on", "timestamp_ltz", lambda r: r.created), _col("privilege"), _col("granted_on"), _col("name"),
    _col("role"), _col("granted_to"), _col("grantee_name"), _col("grant_option"), _col("granted_by"),
)
OF_ROLE_COLUMNS = columns(
    Col("created_on", "timestamp_ltz", lambda r: r.created), Col("role", value=lambda r: r.name),
    _col("granted_to"), _col("grantee_name"), _col("granted_by"),
)


def _ownership_row(ctx: Ctx, obj: CatalogObject, grantee_kind: str, grantee: str) -> GrantRow:
    return GrantRow(obj.created_dt, "OWNERSHIP", _granted_on(obj), object_display(ctx, obj), grantee_kind, grantee,
                    "true", obj.owner)


def _grant_rows(ctx: Ctx, grants: list[Grant]) -> list[GrantRow]:
    rows = []
    for g in grants:
        obj = ctx.catalog.by_id(g.object_id) if g.object_id else None
        if g.object_id and obj is None:
            continue
        if obj is not None and g.privilege.startswith(SERVICE_ROLE_PREFIX):  # a held service role (3.10)
            role = g.privilege[len(SERVICE_ROLE_PREFIX):]
            rows.append(GrantRow(ts(g.created_on), "USAGE", "SERVICE_ROLE", f"{object_display(ctx, obj)}!{role}",
                                 g.grantee_kind, g.grantee, "false", g.granted_by))
            continue
        rows.append(GrantRow(ts(g.created_on), g.privilege, _granted_on(obj), object_display(ctx, obj),
                             g.grantee_kind, g.grantee, tf(g.grant_option), g.granted_by))
    return rows


def show_to_role(ctx: Ctx, role_name: str) -> Rows:
    role = _role(ctx, role_name)
    if not (role_name in ctx.auth.active_roles(ctx.session) or ctx.auth.owns(ctx.session, role)
            or ctx.auth.has_account(ctx.session, MANAGE_GRANTS)):
        raise errors.insufficient_privileges("role", display(role_name))
    owned = sorted((o for o in ctx.catalog.all_objects() if o.owner == role_name),
                   key=lambda o: (o.kind, o.database, o.schema, o.name))
    rows = [_ownership_row(ctx, o, "ROLE", role_name) for o in owned]
    rows += _grant_rows(ctx, ctx.catalog.grants(grantee_kind="ROLE", grantee=role_name))
    return Rows(PRIVILEGE_COLUMNS, rows)


def show_to_user(ctx: Ctx, user_name: str) -> Rows:
    user = ctx.catalog.get("USER", user_name)
    if user is None:
        raise errors.does_not_exist("User", display(user_name))
    if not (user_name == ctx.session.user or ctx.auth.owns(ctx.session, user)
            or ctx.auth.has_account(ctx.session, MANAGE_GRANTS)):
        raise errors.insufficient_privileges("user", display(user_name))
    rows = []
    for g in ctx.catalog.grants(grantee_kind="USER", grantee=user_name):
        obj = ctx.catalog.by_id(g.object_id)
        if obj is None:
            continue
        rows.append(GrantRow(ts(g.created_on), g.privilege, _granted_on(obj), obj.name, "USER", user_name,
                             tf(g.grant_option), g.granted_by, obj.name if obj.kind == "ROLE" else None))
    return Rows(USER_GRANT_COLUMNS, rows)


def show_on(ctx: Ctx, securable: Securable) -> Rows:
    obj = resolve(ctx, securable, "SHOW GRANTS")
    if obj is None:
        if not ctx.auth.has_account(ctx.session, MANAGE_GRANTS):
            raise errors.insufficient_privileges("account", ctx.core.account_name)
    elif not ctx.auth.can_see(ctx.session, obj):
        raise errors.does_not_exist(obj.kind.title(), object_display(ctx, obj))
    rows = [_ownership_row(ctx, obj, "ROLE", obj.owner)] if obj is not None and obj.owner else []
    held = ctx.catalog.grants(object_id=ACCOUNT_ID if obj is None else obj.id)
    # a service's roles are shown by SHOW GRANTS OF SERVICE ROLE, not as privileges on the service
    rows += _grant_rows(ctx, [g for g in held if not g.privilege.startswith(SERVICE_ROLE_PREFIX)])
    return Rows(PRIVILEGE_COLUMNS, rows)


def show_of_role(ctx: Ctx, role_name: str) -> Rows:
    role = _role(ctx, role_name)
    rows = [GrantRow(ts(g.created_on), "USAGE", "ROLE", role_name, g.grantee_kind, g.grantee, "false", g.granted_by)
            for g in ctx.catalog.grants(object_id=role.id, privilege="USAGE")]
    return Rows(OF_ROLE_COLUMNS, rows)

