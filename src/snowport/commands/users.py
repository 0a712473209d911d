"""Users: CREATE / ALTER / DROP / SHOW / DESCRIBE USER."""

from __future__ import annotations

from typing import Any

from snowport import errors
from snowport.catalog.store import CatalogObject
from snowport.commands import lifecycle, properties
from snowport.commands.columns import Col, Rows, columns, like_matcher, tf, ts
from snowport.commands.context import Ctx
from snowport.commands.kinds import USER
from snowport.commands.lifecycle import Name
from snowport.security import credentials
from snowport.security.passwords import hash_password

PROPERTIES = (
    "PASSWORD", "LOGIN_NAME", "DISPLAY_NAME", "FIRST_NAME", "LAST_NAME", "EMAIL", "DEFAULT_ROLE",
    "DEFAULT_WAREHOUSE", "DEFAULT_NAMESPACE", "DEFAULT_SECONDARY_ROLES", "MUST_CHANGE_PASSWORD", "DISABLED",
    "COMMENT", "TYPE", "DAYS_TO_EXPIRY", "MINS_TO_UNLOCK", "RSA_PUBLIC_KEY", "RSA_PUBLIC_KEY_2",
)
# The key-pair properties: a user sets its own; for another user, OWNERSHIP or MODIFY PROGRAMMATIC
# AUTHENTICATION METHODS on it (privilege-matrix row ALTER USER SET RSA_PUBLIC_KEY).
KEY_PAIR = {"RSA_PUBLIC_KEY", "RSA_PUBLIC_KEY_2"}
# What a user may change about itself without owning its user object.
SELF_SERVICE = {"PASSWORD", "DEFAULT_ROLE", "DEFAULT_WAREHOUSE", "DEFAULT_NAMESPACE", "DEFAULT_SECONDARY_ROLES",
                *KEY_PAIR}


CONVERT = {
    "PASSWORD": lambda v: ("password_hash", hash_password(str(v))),
    "MUST_CHANGE_PASSWORD": lambda v: ("must_change_password", properties.boolean(v, "MUST_CHANGE_PASSWORD")),
    "DISABLED": lambda v: ("disabled", properties.boolean(v, "DISABLED")),
    "RSA_PUBLIC_KEY": lambda v: ("rsa_public_key", credentials.stored_public_key(v, "RSA_PUBLIC_KEY")),
    "RSA_PUBLIC_KEY_2": lambda v: ("rsa_public_key_2", credentials.stored_public_key(v, "RSA_PUBLIC_KEY_2")),
}
STORED = {"PASSWORD": "password_hash"}


def _with_properties(user: CatalogObject, values: dict[str, Any]) -> CatalogObject:
    return properties.apply(user, values, "USER", PROPERTIES, CONVERT)


def create(ctx: Ctx, name: str, values: dict[str, Any], or_replace: bool = False,
           if_not_exists: bool = False) -> str:
    target = Name(name)

    def build() -> CatalogObject:
        return _with_properties(lifecycle.new_object(ctx, USER, target, props={"login_name": name}), values)

    return lifecycle.create(ctx, USER, target, build, or_replace=or_replace, if_not_exists=if_not_exists)[1]


def _alter_command(keys: set[str]) -> str:
    """The matrix row an ALTER USER SET/UNSET of these properties is checked against."""
    return "ALTER USER SET RSA_PUBLIC_KEY" if keys and keys <= KEY_PAIR else "ALTER USER"


def set_properties(ctx: Ctx, name: str, values: dict[str, Any], if_exists: bool = False) -> str:
    is_self = name == ctx.session.user
    lifecycle.alter(ctx, USER, Name(name), _alter_command(set(values)), lambda u: _with_properties(u, values),
                    if_exists, allowed=lambda _u: is_self and set(values) <= SELF_SERVICE)
    return lifecycle.SUCCESS


def unset_properties(ctx: Ctx, name: str, keys: list[str], if_exists: bool = False) -> str:
    properties.only(dict.fromkeys(keys), PROPERTIES, "USER")
    is_self = name == ctx.session.user
    lifecycle.alter(ctx, USER, Name(name), _alter_command(set(keys)),
                    lambda u: properties.unset(u, keys, "USER", PROPERTIES, STORED), if_exists,
                    allowed=lambda _u: is_self and set(keys) <= SELF_SERVICE)
    return lifecycle.SUCCESS


def rename(ctx: Ctx, name: str, new_name: str, if_exists: bool = False) -> str:
    return lifecycle.rename(ctx, USER, Name(name), Name(new_name), if_exists)


def drop(ctx: Ctx, name: str, if_exists: bool = False) -> str:
    return lifecycle.drop(ctx, USER, Name(name), if_exists)


def _login(u: CatalogObject) -> str:
    return str(u.props.get("login_name", u.name)).upper()


SHOW_COLUMNS = columns(
    Col("name", value=lambda u: u.name),
    Col("created_on", "timestamp_ltz", lambda u: u.created_dt),
    Col("login_name", value=_login),
    Col("display_name", value=lambda u: u.props.get("display_name", u.name)),
    Col("first_name", value=lambda u: u.props.get("first_name")),
    Col("last_name", value=lambda u: u.props.get("last_name")),
    Col("email", value=lambda u: u.props.get("email")),
    Col("mins_to_unlock", value=lambda u: None),
    Col("days_to_expiry", value=lambda u: None),
    Col("comment", value=lambda u: u.comment),
    Col("disabled", value=lambda u: tf(u.props.get("disabled", False))),
    Col("must_change_password", value=lambda u: tf(u.props.get("must_change_password", False))),
    Col("snowflake_lock", value=lambda u: "false"),
    Col("default_warehouse", value=lambda u: u.props.get("default_warehouse")),
    Col("default_namespace", value=lambda u: u.props.get("default_namespace")),
    Col("default_role", value=lambda u: u.props.get("default_role")),
    Col("default_secondary_roles", value=lambda u: u.props.get("default_secondary_roles", '["ALL"]')),
    Col("ext_authn_duo", value=lambda u: "false"),
    Col("ext_authn_uid", value=lambda u: None),
    Col("mins_to_bypass_mfa", value=lambda u: None),
    Col("owner", value=lambda u: u.owner),
    Col("last_success_login", "timestamp_ltz", lambda u: ts(u.props.get("_last_success_login"))),
    Col("expires_at_time", "timestamp_ltz", lambda u: None),
    Col("locked_until_time", "timestamp_ltz", lambda u: None),
    Col("has_password", value=lambda u: tf(bool(u.props.get("password_hash")))),
    Col("has_rsa_public_key", value=lambda u: tf(bool(u.props.get("rsa_public_key")))),
    Col("type", value=lambda u: u.props.get("type")),
    Col("has_mfa", value=lambda u: "false"),
)


def _with_last_login(ctx: Ctx, user: CatalogObject) -> CatalogObject:
    """The user as SHOW prints it: the last login is observed state, merged in for display only."""
    last = ctx.core.observed.value(user.id, "last_success_login")
    return user.with_props(_last_success_login=last) if last else user


def show(ctx: Ctx, like: str | None = None) -> Rows:
    ctx.require("SHOW USERS")
    match = like_matcher(like)
    return Rows(SHOW_COLUMNS, [_with_last_login(ctx, u) for u in ctx.catalog.list("USER") if match(u.name)])


DESCRIBE_COLUMNS = columns(Col("property", value=lambda r: r[0]), Col("value", value=lambda r: r[1]),
                           Col("default", value=lambda r: "null"), Col("description", value=lambda r: ""))


def describe(ctx: Ctx, name: str) -> Rows:
    user = lifecycle.existing(ctx, USER, Name(name))
    if name != ctx.session.user:
        ctx.require("DESCRIBE USER", user)
    p = user.props
    values = [
        ("NAME", user.name),
        ("COMMENT", user.comment),
        ("LOGIN_NAME", _login(user)),
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
        ("RSA_PUBLIC_KEY", p.get("rsa_public_key")),
        ("RSA_PUBLIC_KEY_FP", credentials.stored_fingerprint(p.get("rsa_public_key"))),
        ("RSA_PUBLIC_KEY_2", p.get("rsa_public_key_2")),
        ("RSA_PUBLIC_KEY_2_FP", credentials.stored_fingerprint(p.get("rsa_public_key_2"))),
    ]
    return Rows(DESCRIBE_COLUMNS, [(k, "null" if v is None else str(v)) for k, v in values], describe=True)


def missing(name: str) -> errors.SnowflakeError:
    return errors.does_not_exist("User", name)
