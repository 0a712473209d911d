"""Account-level objects: users, roles, databases, schemas and warehouses.

Each `create_*`, `alter_*`, `drop_*`, `show_*` and `describe_*` function is one command,
callable from any surface with a Ctx; SQL parsing of these statements lives in dispatch.
"""

from __future__ import annotations

import time
from typing import Any

import duckdb

from snowport import errors
from snowport.catalog.store import CatalogObject, Grant
from snowport.names import display
from snowport.security.passwords import hash_password
from snowport.sql.context import Ctx
from snowport.sql.result import DESCRIBE, SHOW, Result, column, status, success
from snowport.sql.showing import like_matcher, owner_role_type, tf, ts, yn

WAREHOUSE_SIZES = {
    "XSMALL": "X-Small",
    "X-SMALL": "X-Small",
    "SMALL": "Small",
    "MEDIUM": "Medium",
    "LARGE": "Large",
    "XLARGE": "X-Large",
    "X-LARGE": "X-Large",
    "XXLARGE": "2X-Large",
    "X2LARGE": "2X-Large",
    "2X-LARGE": "2X-Large",
    "XXXLARGE": "3X-Large",
    "X3LARGE": "3X-Large",
    "3X-LARGE": "3X-Large",
    "X4LARGE": "4X-Large",
    "4X-LARGE": "4X-Large",
    "X5LARGE": "5X-Large",
    "5X-LARGE": "5X-Large",
    "X6LARGE": "6X-Large",
    "6X-LARGE": "6X-Large",
}


def _bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.upper() in ("TRUE", "FALSE"):
        return value.upper() == "TRUE"
    raise errors.invalid_value(f"invalid value [{value}] for parameter '{field}'")


def _exists_result(kind: str, name: str, if_not_exists: bool) -> Result:
    if if_not_exists:
        return status(f"{name} already exists, statement succeeded.")
    raise errors.already_exists(kind, name)


def _require_account(ctx: Ctx, privilege: str) -> None:
    if not ctx.auth.has_account(ctx.session, privilege):
        raise errors.insufficient_privileges("account", ctx.core.account_name)


def _require_owner(ctx: Ctx, obj: CatalogObject, kind: str, privileges: tuple[str, ...] = ()) -> None:
    if not (ctx.auth.owns(ctx.session, obj) or (privileges and ctx.auth.has(ctx.session, obj, privileges))):
        raise errors.insufficient_privileges(kind, display(obj.name))


# ======================================================================================
# Users
# ======================================================================================
USER_PROPS = (
    "PASSWORD",
    "LOGIN_NAME",
    "DISPLAY_NAME",
    "FIRST_NAME",
    "LAST_NAME",
    "EMAIL",
    "DEFAULT_ROLE",
    "DEFAULT_WAREHOUSE",
    "DEFAULT_NAMESPACE",
    "DEFAULT_SECONDARY_ROLES",
    "MUST_CHANGE_PASSWORD",
    "DISABLED",
    "COMMENT",
    "TYPE",
    "DAYS_TO_EXPIRY",
    "MINS_TO_UNLOCK",
)


def _apply_user_props(user: CatalogObject, props: dict[str, Any]) -> None:
    for key, value in props.items():
        if key not in USER_PROPS and key != "RSA_PUBLIC_KEY":
            raise errors.invalid_value(f"invalid property '{key}' for 'USER'")
        if key == "PASSWORD":
            user.props["password_hash"] = hash_password(str(value))
        elif key == "COMMENT":
            user.comment = value
        elif key in ("MUST_CHANGE_PASSWORD", "DISABLED"):
            user.props[key.lower()] = _bool(value, key)
        elif key in ("DEFAULT_ROLE", "DEFAULT_WAREHOUSE"):
            user.props[key.lower()] = None if value is None else str(value).upper() if not isinstance(
                value, str
            ) or value == value.upper() else value
        elif key == "DEFAULT_SECONDARY_ROLES":
            user.props["default_secondary_roles"] = value
        else:
            user.props[key.lower()] = value


def create_user(ctx: Ctx, name: str, props: dict[str, Any], or_replace: bool, if_not_exists: bool) -> Result:
    _require_account(ctx, "CREATE USER")
    with ctx.catalog.lock:
        existing = ctx.catalog.get("USER", name)
        if existing is not None:
            if not or_replace:
                return _exists_result("USER", name, if_not_exists)
            ctx.catalog.drop(existing)
        user = CatalogObject(kind="USER", name=name, owner=ctx.role, props={"login_name": name})
        _apply_user_props(user, props)
        ctx.catalog.create(user)
    return status(f"User {name} successfully created.")


def alter_user(ctx: Ctx, name: str, action: str, props: dict[str, Any], if_exists: bool) -> Result:
    user = ctx.catalog.get("USER", name)
    if user is None:
        if if_exists:
            return success()
        raise errors.does_not_exist("User", display(name))
    is_self = name == ctx.session.user
    if not ctx.auth.owns(ctx.session, user):
        # A user may change a few of its own properties; everything else needs ownership.
        own_props = {"PASSWORD", "DEFAULT_ROLE", "DEFAULT_WAREHOUSE", "DEFAULT_NAMESPACE", "DEFAULT_SECONDARY_ROLES"}
        if not (is_self and action in ("SET", "UNSET") and set(props) <= own_props):
            raise errors.insufficient_privileges("user", display(name))
    if action == "SET":
        _apply_user_props(user, props)
        ctx.catalog.save(user)
    elif action == "UNSET":
        for key in props:
            user.props.pop(key.lower(), None)
            if key == "COMMENT":
                user.comment = None
        ctx.catalog.save(user)
    elif action == "RENAME":
        new = props["NAME"]
        if ctx.catalog.get("USER", new) is not None:
            raise errors.already_exists("USER", new)
        old_key = user.key
        user.name = new
        ctx.catalog.save(user, rename_from=old_key)
        ctx.catalog.rename_grantee("USER", name, new)
    return success()


def drop_user(ctx: Ctx, name: str, if_exists: bool) -> Result:
    user = ctx.catalog.get("USER", name)
    if user is None:
        if if_exists:
            return status(f"Drop statement executed successfully ({name} already dropped).")
        raise errors.does_not_exist("User", display(name))
    _require_owner(ctx, user, "user")
    ctx.catalog.drop(user)
    return status(f"{name} successfully dropped.")


USER_COLUMNS = (
    "name created_on login_name display_name first_name last_name email mins_to_unlock days_to_expiry comment "
    "disabled must_change_password snowflake_lock default_warehouse default_namespace default_role "
    "default_secondary_roles ext_authn_duo ext_authn_uid mins_to_bypass_mfa owner last_success_login "
    "expires_at_time locked_until_time has_password has_rsa_public_key type has_mfa"
).split()


def show_users(ctx: Ctx, like: str | None) -> Result:
    if not (ctx.auth.has_account(ctx.session, "CREATE USER") or ctx.auth.has_account(ctx.session, "MANAGE GRANTS")):
        raise errors.insufficient_privileges("account", ctx.core.account_name)
    match = like_matcher(like)
    rows = []
    for u in ctx.catalog.list("USER"):
        if not match(u.name):
            continue
        p = u.props
        rows.append(
            (
                u.name,
                u.created_dt,
                str(p.get("login_name", u.name)).upper(),
                p.get("display_name", u.name),
                p.get("first_name"),
                p.get("last_name"),
                p.get("email"),
                None,
                None,
                u.comment,
                tf(p.get("disabled", False)),
                tf(p.get("must_change_password", False)),
                "false",
                p.get("default_warehouse"),
                p.get("default_namespace"),
                p.get("default_role"),
                p.get("default_secondary_roles", '["ALL"]'),
                "false",
                None,
                None,
                u.owner,
                ts(p.get("last_success_login")),
                None,
                None,
                tf(bool(p.get("password_hash"))),
                "false",
                p.get("type"),
                "false",
            )
        )
    cols = [column(n, "timestamp_ltz" if n in ("created_on", "last_success_login", "expires_at_time",
                                              "locked_until_time") else "text") for n in USER_COLUMNS]
    return Result(cols, rows, statement_type_id=SHOW)


def describe_user(ctx: Ctx, name: str) -> Result:
    user = ctx.catalog.get("USER", name)
    if user is None or not (name == ctx.session.user or ctx.auth.owns(ctx.session, user)
                            or ctx.auth.has(ctx.session, user, ("MONITOR",))):
        raise errors.does_not_exist("User", display(name))
    p = user.props
    values = [
        ("NAME", user.name),
        ("COMMENT", user.comment),
        ("LOGIN_NAME", str(p.get("login_name", name)).upper()),
        ("DISPLAY_NAME", p.get("display_name", name)),
        ("FIRST_NAME", p.get("first_name")),
        ("LAST_NAME", p.get("last_name")),
        ("EMAIL", p.get("email")),
        ("PASSWORD", "********" if p.get("password_hash") else None),
        ("DISABLED", tf(p.get("disabled", False))),
        ("MUST_CHANGE_PASSWORD", tf(p.get("must_change_password", False))),
        ("DEFAULT_WAREHOUSE", p.get("default_warehouse")),
        ("DEFAULT_NAMESPACE", p.get("default_namespace")),
        ("DEFAULT_ROLE", p.get("default_role")),
        ("DEFAULT_SECONDARY_ROLES", p.get("default_secondary_roles", '["ALL"]')),
        ("TYPE", p.get("type")),
    ]
    rows = [(k, "null" if v is None else str(v), "null", "") for k, v in values]
    return Result([column("property"), column("value"), column("default"), column("description")], rows,
                  statement_type_id=DESCRIBE)


# ======================================================================================
# Roles
# ======================================================================================
def create_role(ctx: Ctx, name: str, comment: str | None, or_replace: bool, if_not_exists: bool) -> Result:
    _require_account(ctx, "CREATE ROLE")
    with ctx.catalog.lock:
        existing = ctx.catalog.get("ROLE", name)
        if existing is not None:
            if not or_replace:
                return _exists_result("ROLE", name, if_not_exists)
            _require_owner(ctx, existing, "role")
            ctx.catalog.drop(existing)
        ctx.catalog.create(CatalogObject(kind="ROLE", name=name, owner=ctx.role, comment=comment))
    return status(f"Role {name} successfully created.")


def drop_role(ctx: Ctx, name: str, if_exists: bool) -> Result:
    role = ctx.catalog.get("ROLE", name)
    if role is None:
        if if_exists:
            return status(f"Drop statement executed successfully ({name} already dropped).")
        raise errors.does_not_exist("Role", display(name))
    if name in ("ACCOUNTADMIN", "SECURITYADMIN", "USERADMIN", "SYSADMIN", "PUBLIC"):
        raise errors.SnowflakeError(3001, "42501", f"SQL access control error:\nCannot drop system role '{name}'.")
    _require_owner(ctx, role, "role")
    # Objects the role owned pass to the role that dropped it, as in Snowflake.
    for obj in list(ctx.catalog.all_objects()):
        if obj.owner == name and obj.id != role.id:
            obj.owner = ctx.role
            ctx.catalog.save(obj)
    ctx.catalog.drop(role)
    return status(f"{name} successfully dropped.")


def alter_role(ctx: Ctx, name: str, action: str, props: dict[str, Any], if_exists: bool) -> Result:
    role = ctx.catalog.get("ROLE", name)
    if role is None:
        if if_exists:
            return success()
        raise errors.does_not_exist("Role", display(name))
    _require_owner(ctx, role, "role")
    if action == "RENAME":
        new = props["NAME"]
        if ctx.catalog.get("ROLE", new) is not None:
            raise errors.already_exists("ROLE", new)
        old_key = role.key
        role.name = new
        ctx.catalog.save(role, rename_from=old_key)
        ctx.catalog.rename_grantee("ROLE", name, new)
        for s in ctx.core.sessions.all():
            if s.role == name:
                s.role = new
    elif action == "SET":
        if "COMMENT" in props:
            role.comment = props["COMMENT"]
        ctx.catalog.save(role)
    elif action == "UNSET":
        role.comment = None
        ctx.catalog.save(role)
    return success()


def show_roles(ctx: Ctx, like: str | None) -> Result:
    match = like_matcher(like)
    grants = ctx.catalog.grants(privilege="USAGE")
    rows = []
    for r in ctx.catalog.list("ROLE"):
        if not match(r.name):
            continue
        on_role = [g for g in grants if g.object_id == r.id]
        granted_roles = [
            g for g in grants if g.grantee_kind == "ROLE" and g.grantee == r.name
            and (o := ctx.catalog.by_id(g.object_id)) is not None and o.kind == "ROLE"
        ]
        rows.append(
            (
                r.created_dt,
                r.name,
                yn(r.name == _user_default_role(ctx)),
                yn(r.name == ctx.session.role),
                yn(r.name in ctx.auth.active_roles(ctx.session) and r.name != ctx.session.role),
                sum(1 for g in on_role if g.grantee_kind == "USER"),
                sum(1 for g in on_role if g.grantee_kind == "ROLE"),
                len(granted_roles),
                r.owner,
                r.comment,
                owner_role_type(r),
            )
        )
    cols = [column("created_on", "timestamp_ltz")] + [
        column(n, "fixed") if n in ("assigned_to_users", "granted_to_roles", "granted_roles") else column(n)
        for n in ("name is_default is_current is_inherited assigned_to_users granted_to_roles granted_roles owner "
                  "comment owner_role_type").split()
    ]
    return Result(cols, rows, statement_type_id=SHOW)


def _user_default_role(ctx: Ctx) -> str | None:
    user = ctx.catalog.get("USER", ctx.session.user)
    return None if user is None else user.props.get("default_role")


# ======================================================================================
# Databases and schemas
# ======================================================================================
def create_database(
    ctx: Ctx, name: str, comment: str | None, or_replace: bool, if_not_exists: bool, transient: bool = False
) -> Result:
    _require_account(ctx, "CREATE DATABASE")
    with ctx.catalog.lock:
        existing = ctx.catalog.get("DATABASE", name)
        if existing is not None:
            if not or_replace:
                return _exists_result("DATABASE", name, if_not_exists)
            _require_owner(ctx, existing, "database")
            if existing.props.get("system"):
                raise errors.insufficient_privileges("database", name)
            ctx.catalog.drop(existing)
            ctx.core.engine.detach_and_delete(name)
        # The engine first: a name it cannot hold must leave no catalog entry behind.
        try:
            ctx.core.engine.attach(name)
            ctx.core.engine.create_schema(name, "PUBLIC")
        except duckdb.Error:
            ctx.core.engine.detach_and_delete(name)
            raise errors.unsupported(f"database name {display(name)}") from None
        db = ctx.catalog.create(
            CatalogObject(kind="DATABASE", name=name, owner=ctx.role, comment=comment,
                          props={"transient": transient})
        )
        ctx.catalog.create(CatalogObject(kind="SCHEMA", name="PUBLIC", database=name, owner=ctx.role))
    # Creating a database makes it (and its PUBLIC schema) current, as in Snowflake.
    ctx.core.set_namespace(ctx.session, db.name, "PUBLIC")
    return status(f"Database {name} successfully created.")


def _drop_stage_files(ctx: Ctx, objects: list[CatalogObject]) -> None:
    """Files of the stages (named and table stages) inside a database or schema being dropped."""
    for obj in objects:
        if obj.kind == "STAGE":
            ctx.core.stages.drop(f"stage-{obj.id}")
        elif obj.kind == "TABLE":
            ctx.core.stages.drop(f"table-{obj.id}")


def drop_database(ctx: Ctx, name: str, if_exists: bool) -> Result:
    db = ctx.catalog.get("DATABASE", name)
    if db is None or not ctx.auth.can_see(ctx.session, db):
        if if_exists:
            return status(f"Drop statement executed successfully ({name} already dropped).")
        raise errors.does_not_exist("Database", display(name))
    _require_owner(ctx, db, "database")
    if db.props.get("system"):
        raise errors.insufficient_privileges("database", name)
    _drop_stage_files(ctx, [o for o in ctx.catalog.all_objects() if o.database == name])
    ctx.catalog.drop(db)
    ctx.core.engine.detach_and_delete(name)
    for s in ctx.core.sessions.all():
        if s.database == name:
            ctx.core.set_namespace(s, None, None)
    return status(f"{name} successfully dropped.")


def alter_database(ctx: Ctx, name: str, action: str, props: dict[str, Any], if_exists: bool) -> Result:
    db = ctx.catalog.get("DATABASE", name)
    if db is None or not ctx.auth.can_see(ctx.session, db):
        if if_exists:
            return success()
        raise errors.does_not_exist("Database", display(name))
    _require_owner(ctx, db, "database", ("MODIFY",))
    if action == "RENAME":
        new = props["NAME"]
        if ctx.catalog.get("DATABASE", new) is not None:
            raise errors.already_exists("DATABASE", new)
        _require_owner(ctx, db, "database")
        with ctx.catalog.lock:
            for obj in list(ctx.catalog.all_objects()):
                if obj.database == name and obj.kind != "DATABASE":
                    old_key = obj.key
                    obj.database = new
                    ctx.catalog.save(obj, rename_from=old_key)
            old_key = db.key
            db.name = new
            ctx.catalog.save(db, rename_from=old_key)
            ctx.core.engine.rename_database(name, new)
        for s in ctx.core.sessions.all():
            if s.database == name:
                ctx.core.set_namespace(s, new, s.schema)
    elif action == "SET":
        if "COMMENT" in props:
            db.comment = props.pop("COMMENT")
        db.props.update({k.lower(): v for k, v in props.items()})
        ctx.catalog.save(db)
    elif action == "UNSET":
        for k in props:
            if k == "COMMENT":
                db.comment = None
            db.props.pop(k.lower(), None)
        ctx.catalog.save(db)
    return success()


DATABASE_COLUMNS = (
    "created_on name is_default is_current origin owner comment options retention_time kind budget "
    "owner_role_type"
).split()


def show_databases(ctx: Ctx, like: str | None) -> Result:
    match = like_matcher(like)
    rows = []
    for db in ctx.catalog.list("DATABASE"):
        if not match(db.name) or not ctx.auth.can_see(ctx.session, db):
            continue
        rows.append(
            (
                db.created_dt,
                db.name,
                "N",
                yn(db.name == ctx.session.database),
                "SNOWFLAKE.ACCOUNT_USAGE.SNOWFLAKE" if db.props.get("system") else "",
                db.owner,
                db.comment or "",
                "TRANSIENT" if db.props.get("transient") else "",
                "1",
                "APPLICATION" if db.props.get("system") else "STANDARD",
                None,
                owner_role_type(db),
            )
        )
    cols = [column("created_on", "timestamp_ltz")] + [column(n) for n in DATABASE_COLUMNS[1:]]
    return Result(cols, rows, statement_type_id=SHOW)


def describe_database(ctx: Ctx, name: str) -> Result:
    db = ctx.visible_database(name)
    rows = [(s.created_dt, s.name, "SCHEMA") for s in ctx.catalog.list("SCHEMA", db.name)]
    return Result([column("created_on", "timestamp_ltz"), column("name"), column("kind")], rows,
                  statement_type_id=DESCRIBE)


def create_schema(
    ctx: Ctx, parts: list[str], comment: str | None, or_replace: bool, if_not_exists: bool
) -> Result:
    database, name = ctx.schema_of(parts, "CREATE SCHEMA")
    db = ctx.visible_database(database)
    if not (ctx.auth.owns(ctx.session, db) or ctx.auth.has(ctx.session, db, ("CREATE SCHEMA",))):
        raise errors.insufficient_privileges("database", display(database))
    if db.props.get("system"):
        raise errors.insufficient_privileges("database", display(database))
    with ctx.catalog.lock:
        existing = ctx.catalog.get("SCHEMA", name, database)
        if existing is not None:
            if not or_replace:
                return _exists_result("SCHEMA", name, if_not_exists)
            _require_owner(ctx, existing, "schema")
            ctx.catalog.drop(existing)
            ctx.core.engine.drop_schema(database, name)
        ctx.catalog.create(CatalogObject(kind="SCHEMA", name=name, database=database, owner=ctx.role,
                                         comment=comment))
        ctx.core.engine.create_schema(database, name)
    ctx.core.set_namespace(ctx.session, database, name)
    return status(f"Schema {name} successfully created.")


def drop_schema(ctx: Ctx, parts: list[str], if_exists: bool) -> Result:
    database, name = ctx.schema_of(parts, "DROP SCHEMA")
    sch = ctx.catalog.get("SCHEMA", name, database)
    if sch is None or not ctx.auth.can_see(ctx.session, sch):
        if if_exists:
            return status(f"Drop statement executed successfully ({name} already dropped).")
        raise errors.does_not_exist("Schema", display(database, name))
    _require_owner(ctx, sch, "schema")
    _drop_stage_files(ctx, [o for o in ctx.catalog.all_objects() if o.database == database and o.schema == name])
    ctx.catalog.drop(sch)
    ctx.core.engine.drop_schema(database, name)
    for s in ctx.core.sessions.all():
        if s.database == database and s.schema == name:
            ctx.core.set_namespace(s, database, None)
    return status(f"{name} successfully dropped.")


def alter_schema(ctx: Ctx, parts: list[str], action: str, props: dict[str, Any], if_exists: bool) -> Result:
    database, name = ctx.schema_of(parts, "ALTER SCHEMA")
    sch = ctx.catalog.get("SCHEMA", name, database)
    if sch is None or not ctx.auth.can_see(ctx.session, sch):
        if if_exists:
            return success()
        raise errors.does_not_exist("Schema", display(database, name))
    _require_owner(ctx, sch, "schema", ("MODIFY",))
    if action == "RENAME":
        raise errors.unsupported("ALTER SCHEMA ... RENAME TO")
    if action == "SET":
        if "COMMENT" in props:
            sch.comment = props["COMMENT"]
    elif action == "UNSET":
        sch.comment = None
    ctx.catalog.save(sch)
    return success()


SCHEMA_COLUMNS = (
    "created_on name is_default is_current database_name owner comment options retention_time owner_role_type "
    "budget"
).split()


def show_schemas(ctx: Ctx, like: str | None, in_database: str | None, in_account: bool) -> Result:
    match = like_matcher(like)
    if in_account:
        databases = [d.name for d in ctx.catalog.list("DATABASE") if ctx.auth.can_see(ctx.session, d)]
    else:
        target = in_database or ctx.session.database
        if target is None:
            raise errors.no_database("SHOW SCHEMAS")
        databases = [ctx.visible_database(target).name]
    rows = []
    for database in databases:
        db = ctx.catalog.get("DATABASE", database)
        assert db is not None
        if match("INFORMATION_SCHEMA"):
            rows.append((db.created_dt, "INFORMATION_SCHEMA", "N", yn(ctx.session.schema == "INFORMATION_SCHEMA"
                         and ctx.session.database == database), database, "", "Views describing the contents of "
                         "schemas in this database", "", "1", "", None))
        for s in ctx.catalog.list("SCHEMA", database):
            if not match(s.name) or not ctx.auth.can_see(ctx.session, s):
                continue
            rows.append(
                (
                    s.created_dt,
                    s.name,
                    "N",
                    yn(s.name == ctx.session.schema and database == ctx.session.database),
                    database,
                    s.owner,
                    s.comment or "",
                    "",
                    "1",
                    owner_role_type(s),
                    None,
                )
            )
    cols = [column("created_on", "timestamp_ltz")] + [column(n) for n in SCHEMA_COLUMNS[1:]]
    return Result(cols, rows, statement_type_id=SHOW)


def describe_schema(ctx: Ctx, parts: list[str]) -> Result:
    database, name = ctx.schema_of(parts, "DESCRIBE SCHEMA")
    ctx.visible_schema(database, name)
    rows = [
        (o.created_dt, o.name, o.kind)
        for o in ctx.catalog.all_objects()
        if o.database == database and o.schema == name
    ]
    rows.sort(key=lambda r: r[1])
    return Result([column("created_on", "timestamp_ltz"), column("name"), column("kind")], rows,
                  statement_type_id=DESCRIBE)


# ======================================================================================
# Warehouses
# ======================================================================================
WAREHOUSE_PROPS = {
    "WAREHOUSE_SIZE",
    "WAREHOUSE_TYPE",
    "AUTO_SUSPEND",
    "AUTO_RESUME",
    "INITIALLY_SUSPENDED",
    "MIN_CLUSTER_COUNT",
    "MAX_CLUSTER_COUNT",
    "SCALING_POLICY",
    "COMMENT",
    "ENABLE_QUERY_ACCELERATION",
    "QUERY_ACCELERATION_MAX_SCALE_FACTOR",
    "MAX_CONCURRENCY_LEVEL",
    "STATEMENT_TIMEOUT_IN_SECONDS",
    "STATEMENT_QUEUED_TIMEOUT_IN_SECONDS",
    "RESOURCE_MONITOR",
    "RESOURCE_CONSTRAINT",
}


def _apply_warehouse_props(wh: CatalogObject, props: dict[str, Any]) -> None:
    for key, value in props.items():
        if key not in WAREHOUSE_PROPS:
            raise errors.invalid_value(f"invalid property '{key}' for 'WAREHOUSE'")
        if key == "WAREHOUSE_SIZE":
            size = WAREHOUSE_SIZES.get(str(value).upper().replace("_", ""))
            if size is None:
                raise errors.invalid_value(f"invalid value '{value}' for property 'WAREHOUSE_SIZE'")
            wh.props["size"] = size
        elif key == "AUTO_SUSPEND":
            if value is not None and (not isinstance(value, int) or value < 0):
                raise errors.invalid_value(f"invalid value [{value}] for parameter 'AUTO_SUSPEND'")
            wh.props["auto_suspend"] = value if value else None
        elif key in ("AUTO_RESUME", "INITIALLY_SUSPENDED", "ENABLE_QUERY_ACCELERATION"):
            wh.props[key.lower()] = _bool(value, key)
        elif key == "COMMENT":
            wh.comment = value
        else:
            wh.props[key.lower()] = value


def create_warehouse(ctx: Ctx, name: str, props: dict[str, Any], or_replace: bool, if_not_exists: bool) -> Result:
    _require_account(ctx, "CREATE WAREHOUSE")
    with ctx.catalog.lock:
        existing = ctx.catalog.get("WAREHOUSE", name)
        if existing is not None:
            if not or_replace:
                return _exists_result("WAREHOUSE", name, if_not_exists)
            _require_owner(ctx, existing, "warehouse")
            ctx.catalog.drop(existing)
        wh = CatalogObject(
            kind="WAREHOUSE",
            name=name,
            owner=ctx.role,
            props={"size": "X-Small", "auto_suspend": 600, "auto_resume": True, "type": "STANDARD",
                   "min_cluster_count": 1, "max_cluster_count": 1, "scaling_policy": "STANDARD"},
        )
        _apply_warehouse_props(wh, props)
        suspended = wh.props.pop("initially_suspended", False)
        now = time.time()
        wh.props["state"] = "SUSPENDED" if suspended else "STARTED"
        wh.props["resumed_on"] = None if suspended else now
        wh.props["updated_on"] = now
        ctx.catalog.create(wh)
    ctx.core.warehouses.touch(name)
    # Creating a warehouse makes it current, as in Snowflake.
    ctx.session.warehouse = name
    return status(f"Warehouse {name} successfully created.")


def drop_warehouse(ctx: Ctx, name: str, if_exists: bool) -> Result:
    wh = ctx.catalog.get("WAREHOUSE", name)
    if wh is None or not ctx.auth.can_see(ctx.session, wh):
        if if_exists:
            return status(f"Drop statement executed successfully ({name} already dropped).")
        raise errors.does_not_exist("Warehouse", display(name))
    _require_owner(ctx, wh, "warehouse")
    ctx.catalog.drop(wh)
    for s in ctx.core.sessions.all():
        if s.warehouse == name:
            s.warehouse = None
    return status(f"{name} successfully dropped.")


def alter_warehouse(ctx: Ctx, name: str | None, action: str, props: dict[str, Any], if_exists: bool) -> Result:
    name = name or ctx.session.warehouse
    wh = None if name is None else ctx.catalog.get("WAREHOUSE", name)
    if wh is None or not ctx.auth.can_see(ctx.session, wh):
        if if_exists:
            return success()
        raise errors.does_not_exist("Warehouse", display(name or ""))
    if action in ("SUSPEND", "RESUME", "ABORT ALL QUERIES"):
        _require_owner(ctx, wh, "warehouse", ("OPERATE",))
        if action == "SUSPEND":
            if wh.props.get("state") == "SUSPENDED":
                raise errors.SnowflakeError(
                    90064, "22000", f"Invalid state. Warehouse '{name}' cannot be suspended."
                )
            ctx.core.warehouses.suspend(wh)
        elif action == "RESUME":
            if wh.props.get("state") == "STARTED" and not props.get("IF SUSPENDED"):
                raise errors.SnowflakeError(90063, "22000", f"Invalid state. Warehouse '{name}' cannot be resumed.")
            ctx.core.warehouses.resume(wh)
        return success()
    _require_owner(ctx, wh, "warehouse", ("MODIFY",))
    if action == "RENAME":
        new = props["NAME"]
        if ctx.catalog.get("WAREHOUSE", new) is not None:
            raise errors.already_exists("WAREHOUSE", new)
        old_key = wh.key
        wh.name = new
        ctx.catalog.save(wh, rename_from=old_key)
        for s in ctx.core.sessions.all():
            if s.warehouse == name:
                s.warehouse = new
    elif action == "SET":
        _apply_warehouse_props(wh, props)
        wh.props.pop("initially_suspended", None)
        wh.props["updated_on"] = time.time()
        ctx.catalog.save(wh)
    elif action == "UNSET":
        for k in props:
            if k == "COMMENT":
                wh.comment = None
            else:
                wh.props.pop(k.lower(), None)
        ctx.catalog.save(wh)
    return success()


WAREHOUSE_COLUMNS = (
    "name state type size min_cluster_count max_cluster_count started_clusters running queued is_default is_current "
    "auto_suspend auto_resume available provisioning quiescing other created_on resumed_on updated_on owner comment "
    "enable_query_acceleration query_acceleration_max_scale_factor resource_monitor actives pendings failed "
    "suspended uuid scaling_policy budget owner_role_type"
).split()


def show_warehouses(ctx: Ctx, like: str | None) -> Result:
    match = like_matcher(like)
    rows = []
    for wh in ctx.catalog.list("WAREHOUSE"):
        if not match(wh.name) or not ctx.auth.can_see(ctx.session, wh):
            continue
        p = wh.props
        started = p.get("state") == "STARTED"
        rows.append(
            (
                wh.name,
                p.get("state"),
                p.get("type", "STANDARD"),
                p.get("size"),
                p.get("min_cluster_count", 1),
                p.get("max_cluster_count", 1),
                1 if started else 0,
                ctx.core.warehouses.running(wh.name),
                0,
                "N",
                yn(wh.name == ctx.session.warehouse),
                None if p.get("auto_suspend") is None else str(p.get("auto_suspend")),
                tf(p.get("auto_resume", True)),
                "100" if started else "",
                "0" if started else "",
                "0" if started else "",
                "0" if started else "",
                wh.created_dt,
                ts(p.get("resumed_on")),
                ts(p.get("updated_on")),
                wh.owner,
                wh.comment or "",
                tf(p.get("enable_query_acceleration", False)),
                8,
                "null",
                1 if started else 0,
                0,
                0,
                0 if started else 1,
                str(wh.id),
                p.get("scaling_policy", "STANDARD"),
                None,
                owner_role_type(wh),
            )
        )
    fixed = {"min_cluster_count", "max_cluster_count", "started_clusters", "running", "queued",
             "query_acceleration_max_scale_factor", "actives", "pendings", "failed", "suspended"}
    stamps = {"created_on", "resumed_on", "updated_on"}
    cols = [
        column(n, "fixed" if n in fixed else "timestamp_ltz" if n in stamps else "text") for n in WAREHOUSE_COLUMNS
    ]
    return Result(cols, rows, statement_type_id=SHOW)


def describe_warehouse(ctx: Ctx, name: str) -> Result:
    wh = ctx.catalog.get("WAREHOUSE", name)
    if wh is None or not ctx.auth.can_see(ctx.session, wh):
        raise errors.does_not_exist("Warehouse", display(name))
    return Result([column("created_on", "timestamp_ltz"), column("name"), column("kind")],
                  [(wh.created_dt, wh.name, "WAREHOUSE")], statement_type_id=DESCRIBE)


def grant_role_membership(ctx: Ctx, role: CatalogObject, grantee_kind: str, grantee: str) -> Grant:
    return Grant(privilege="USAGE", object_id=role.id, grantee_kind=grantee_kind, grantee=grantee,
                 granted_by=ctx.role)
