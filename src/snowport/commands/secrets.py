"""Secrets: CREATE / ALTER / DROP / SHOW / DESCRIBE SECRET, and binding a service spec's secrets at CREATE SERVICE.

A secret's metadata (type, username, scopes, integration, comment) is an ordinary catalog object; its
values (password, secret string, refresh token, generated key) are sealed with the data dir's secret
key (security/secret_box.py) before they reach the catalog, and no SHOW, DESCRIBE, message or log
shows them. Services name secrets in their spec (`containers[].secrets`): at CREATE SERVICE each is
resolved against the service's schema, READ on it is required, its type must have the key the spec
asks for, and the values of environment-variable secrets are sealed into the service as they are now
(an env secret does not follow ALTER SECRET, as in Snowflake). File secrets are written by the service
controller from the secret's current values (compute/pod_secrets.py), so they do follow ALTER SECRET.
"""

from __future__ import annotations

import re
import secrets as random
from typing import Any

from snowport import errors
from snowport.catalog.store import CatalogObject
from snowport.commands import lifecycle
from snowport.commands.columns import Col, Rows, columns, owner_role_type
from snowport.commands.context import Ctx
from snowport.commands.kinds import SECRET
from snowport.commands.lifecycle import Name
from snowport.names import display, normalize
from snowport.security.secret_box import box_for

TYPES = ("PASSWORD", "GENERIC_STRING", "OAUTH2", "CLOUD_PROVIDER_TOKEN", "SYMMETRIC_KEY",
         "WORKLOAD_IDENTITY_FEDERATION")
# The properties each type takes at CREATE (besides TYPE and COMMENT), and those it requires.
TYPE_PROPERTIES: dict[str, tuple[str, ...]] = {
    "PASSWORD": ("USERNAME", "PASSWORD"),
    "GENERIC_STRING": ("SECRET_STRING",),
    "OAUTH2": ("API_AUTHENTICATION", "OAUTH_SCOPES", "OAUTH_REFRESH_TOKEN", "OAUTH_REFRESH_TOKEN_EXPIRY_TIME"),
    "CLOUD_PROVIDER_TOKEN": ("API_AUTHENTICATION", "ENABLED"),
    "SYMMETRIC_KEY": ("ALGORITHM",),
    "WORKLOAD_IDENTITY_FEDERATION": (),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "PASSWORD": ("USERNAME", "PASSWORD"), "GENERIC_STRING": ("SECRET_STRING",), "OAUTH2": ("API_AUTHENTICATION",),
    "CLOUD_PROVIDER_TOKEN": ("API_AUTHENTICATION",), "SYMMETRIC_KEY": ("ALGORITHM",),
}
# What ALTER SECRET ... SET may change, by type (API_AUTHENTICATION and TYPE are fixed at CREATE).
ALTERABLE: dict[str, tuple[str, ...]] = {
    "PASSWORD": ("USERNAME", "PASSWORD"), "GENERIC_STRING": ("SECRET_STRING",),
    "OAUTH2": ("OAUTH_SCOPES", "OAUTH_REFRESH_TOKEN", "OAUTH_REFRESH_TOKEN_EXPIRY_TIME"),
    "CLOUD_PROVIDER_TOKEN": ("ENABLED",), "SYMMETRIC_KEY": (), "WORKLOAD_IDENTITY_FEDERATION": (),
}
# Values kept only sealed, never in the catalog's clear fields.
SEALED = ("PASSWORD", "SECRET_STRING", "OAUTH_REFRESH_TOKEN")
# spcs-reference 9.2: the key a spec may take from each type (secretKeyRef) and the files of directoryPath.
SPEC_KEYS: dict[str, tuple[str, ...]] = {
    "PASSWORD": ("username", "password"), "GENERIC_STRING": ("secret_string",), "OAUTH2": ("access_token",),
}
MAX_SECRETS_PER_SERVICE = 50
SERVICE_RECONCILER = "services"  # commands.services.RECONCILER, which imports this module


def _missing(key: str) -> errors.SnowflakeError:
    return errors.SnowflakeError(1003, "42000", errors.compilation(f"Missing option(s): [{key}]"))


def _text(key: str, value: Any) -> str:
    """A string property. The message never repeats the value: it may be the secret itself."""
    if not isinstance(value, str):
        raise errors.invalid_value(f"invalid value for property '{key}': expected a string literal")
    return value


def _wrong_key(key: str, secret_type: str) -> errors.SnowflakeError:
    takes = ", ".join((*TYPE_PROPERTIES[secret_type], "COMMENT"))
    return errors.invalid_value(f"invalid property '{key}' for 'SECRET' of TYPE = {secret_type}; "
                                f"a {secret_type} secret takes {takes}")


def _apply(ctx: Ctx, secret: CatalogObject, values: dict[str, Any], allowed: tuple[str, ...]) -> CatalogObject:
    """The secret with `values` applied: clear fields in props, secret values sealed; an unknown or
    wrong-type key refuses the whole statement before anything is applied."""
    secret_type = secret.props["secret_type"]
    for key in values:
        if key != "COMMENT" and key not in allowed:
            if key in {k for keys in TYPE_PROPERTIES.values() for k in keys} | {"TYPE"}:
                raise _wrong_key(key, secret_type) if key != "TYPE" else errors.invalid_value(
                    "invalid property 'TYPE' for 'SECRET': the type of a secret cannot be changed")
            raise errors.invalid_value(f"invalid property '{key}' for 'SECRET'")
    props = dict(secret.props)
    comment = secret.comment
    box = box_for(ctx.core.settings.data_dir)
    sealed = box.open(props["sealed"]) if props.get("sealed") else {}
    for key, value in values.items():
        if key == "COMMENT":
            comment = None if value is None else str(value)
        elif key in SEALED:
            sealed[key.lower()] = _text(key, value)
        elif key == "OAUTH_SCOPES":
            items = value if isinstance(value, list) else [value]
            props["oauth_scopes"] = [_text(key, v) for v in items]
        elif key == "API_AUTHENTICATION":
            props["api_authentication"] = _integration(ctx, str(value)) if secret_type == "OAUTH2" else str(value)
        elif key == "ENABLED":
            if not isinstance(value, bool):
                raise errors.invalid_value("invalid value for property 'ENABLED': expected TRUE or FALSE")
            props["enabled"] = value
        elif key == "ALGORITHM":
            if str(value).upper() != "GENERIC":
                raise errors.invalid_value(f"invalid value '{value}' for property 'ALGORITHM': expected GENERIC")
            props["algorithm"] = "GENERIC"
            sealed.setdefault("symmetric_key", random.token_hex(32))  # Snowflake generates the key
        else:
            props[key.lower()] = _text(key, value)
    props["sealed"] = box.seal(sealed) if sealed else None
    return secret.evolve(props=props, comment=comment)


def _integration(ctx: Ctx, name: str) -> str:
    """An OAUTH2 secret's API_AUTHENTICATION names an API_AUTHENTICATION security integration the role may use."""
    integration = ctx.catalog.get("INTEGRATION", name)
    if integration is None or not ctx.auth.has(ctx.session, integration, ("USAGE",)):
        raise errors.does_not_exist("Integration", display(name))
    if integration.props.get("security_type") != "API_AUTHENTICATION":
        raise errors.invalid_value(f"Integration {display(name)} is not a security integration of "
                                   "TYPE = API_AUTHENTICATION.")
    return integration.name


def create(ctx: Ctx, parts: list[str], values: dict[str, Any], or_replace: bool = False,
           if_not_exists: bool = False) -> str:
    target = lifecycle.resolve(ctx, SECRET, parts, "CREATE SECRET")

    def build() -> CatalogObject:
        if "TYPE" not in values:
            raise _missing("TYPE")
        secret_type = str(values["TYPE"]).upper()
        if secret_type not in TYPES:
            raise errors.invalid_value(f"invalid value '{values['TYPE']}' for property 'TYPE' of 'SECRET'; "
                                       f"expected one of {', '.join(TYPES)}")
        rest = {k: v for k, v in values.items() if k != "TYPE"}
        new = lifecycle.new_object(ctx, SECRET, target, props={"secret_type": secret_type})
        built = _apply(ctx, new, rest, TYPE_PROPERTIES[secret_type])  # a key of another type is refused first
        for key in REQUIRED.get(secret_type, ()):
            if key not in rest:
                raise _missing(key)
        return built

    obj, message = lifecycle.create(ctx, SECRET, target, build, or_replace=or_replace, if_not_exists=if_not_exists)
    if obj is not None and or_replace:
        _notify_services(ctx, obj)
    return message


def drop(ctx: Ctx, parts: list[str], if_exists: bool = False) -> str:
    return lifecycle.drop(ctx, SECRET, lifecycle.resolve(ctx, SECRET, parts, "DROP SECRET"), if_exists)


def set_properties(ctx: Ctx, parts: list[str], values: dict[str, Any], if_exists: bool = False) -> str:
    target = lifecycle.resolve(ctx, SECRET, parts, "ALTER SECRET")
    changed = lifecycle.alter(ctx, SECRET, target, "ALTER SECRET",
                              lambda s: _apply(ctx, s, values, ALTERABLE[s.props["secret_type"]]), if_exists)
    if changed is not None and set(values) - {"COMMENT"}:
        _notify_services(ctx, changed)  # file secrets of running services follow the new values
    return lifecycle.SUCCESS


def unset_properties(ctx: Ctx, parts: list[str], keys: list[str], if_exists: bool = False) -> str:
    target = lifecycle.resolve(ctx, SECRET, parts, "ALTER SECRET")

    def change(secret: CatalogObject) -> CatalogObject:
        for key in keys:
            if key != "COMMENT":
                raise errors.invalid_value(f"invalid property '{key}' for 'SECRET': only COMMENT can be unset")
        return secret.evolve(comment=None)

    lifecycle.alter(ctx, SECRET, target, "ALTER SECRET", change, if_exists)
    return lifecycle.SUCCESS


def rename(ctx: Ctx, parts: list[str], new_parts: list[str], if_exists: bool = False) -> str:
    target = lifecycle.resolve(ctx, SECRET, parts, "ALTER SECRET")
    new = lifecycle.resolve(ctx, SECRET, new_parts, "ALTER SECRET")
    if len(new_parts) == 1:
        new = Name(new.name, target.database, target.schema)
    return lifecycle.rename(ctx, SECRET, target, new, if_exists)


def _notify_services(ctx: Ctx, secret: CatalogObject) -> None:
    """The services whose spec names this secret re-write their secret files now, not at the next resync."""
    controllers = getattr(ctx.core, "controllers", None)
    if controllers is None:
        return
    qualified = display(secret.database, secret.schema, secret.name)
    for service in ctx.catalog.list("SERVICE"):
        refs = service.props.get("secret_refs") or []
        if any(r.get("id") == secret.id or r.get("name") == qualified for r in refs):
            controllers.notify(SERVICE_RECONCILER, service.id)


# ---- SHOW / DESCRIBE ----------------------------------------------------------------------------
def _scopes(secret: CatalogObject) -> str | None:
    scopes = secret.props.get("oauth_scopes")
    return ",".join(scopes) if scopes else None


SHOW_COLUMNS = columns(
    Col("created_on", "timestamp_ltz", lambda s: s.created_dt),
    Col("name", value=lambda s: s.name),
    Col("schema_name", value=lambda s: s.schema),
    Col("database_name", value=lambda s: s.database),
    Col("owner", value=lambda s: s.owner),
    Col("comment", value=lambda s: s.comment),
    Col("secret_type", value=lambda s: s.props["secret_type"]),
    Col("oauth_scopes", value=_scopes),
    Col("owner_role_type", value=owner_role_type),
)
DESCRIBE_COLUMNS = columns(
    Col("created_on", "timestamp_ltz", lambda s: s.created_dt),
    Col("name", value=lambda s: s.name),
    Col("schema_name", value=lambda s: s.schema),
    Col("database_name", value=lambda s: s.database),
    Col("owner", value=lambda s: s.owner),
    Col("comment", value=lambda s: s.comment),
    Col("secret_type", value=lambda s: s.props["secret_type"]),
    Col("username", value=lambda s: s.props.get("username")),
    Col("oauth_access_token_expiry_time", value=lambda s: None),
    Col("oauth_refresh_token_expiry_time", value=lambda s: s.props.get("oauth_refresh_token_expiry_time")),
    Col("oauth_scopes", value=_scopes),
    Col("integration_name", value=lambda s: s.props.get("api_authentication")),
)


def show(ctx: Ctx, like: str | None, database: str | None, schema: str | None) -> Rows:
    return lifecycle.show_in_scope(ctx, SECRET, SHOW_COLUMNS, like, database, schema)


def describe(ctx: Ctx, parts: list[str]) -> Rows:
    return lifecycle.describe_one(ctx, SECRET, parts, DESCRIBE_COLUMNS)


# ---- a service spec's secrets ---------------------------------------------------------------------
_NAME_PART = re.compile(r'"(?:[^"]|"")*"|[^.]+')
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _spec_name(text: str, database: str, schema: str) -> tuple[str, str, str]:
    """`n`, `s.n` or `d.s.n` from a spec, resolved against the service's schema (spcs-reference 9.2)."""
    parts = [normalize(p) for p in _NAME_PART.findall(text.strip())]
    if not 1 <= len(parts) <= 3 or not all(parts):
        raise errors.invalid_value(f"Invalid secret name '{text}' in the specification.")
    full = [database, schema][: 3 - len(parts)] + parts
    return full[0], full[1], full[2]


def _spec_error(where: str, message: str) -> errors.SnowflakeError:
    return errors.SnowflakeError(2025, "22023", f"Invalid spec: {where}: {message}")


def values_of(data_dir: Any, secret: CatalogObject) -> dict[str, str]:
    """What a container gets from the secret, keyed as spec keys and file names (username, password,
    secret_string, access_token). Snowport fetches no OAuth access token from an external provider: an
    OAUTH2 secret's access_token is its refresh token when it has one (see docs/secrets.md)."""
    sealed = box_for(data_dir).open(secret.props["sealed"]) if secret.props.get("sealed") else {}
    secret_type = secret.props["secret_type"]
    if secret_type == "PASSWORD":
        return {"username": secret.props.get("username") or "", "password": sealed.get("password", "")}
    if secret_type == "GENERIC_STRING":
        return {"secret_string": sealed.get("secret_string", "")}
    if secret_type == "OAUTH2":
        return {"access_token": sealed.get("oauth_refresh_token", "")}
    return {}


def bind_for_service(ctx: Ctx, spec: Any, target: Name, integrations: list[str] | None = None) -> dict[str, Any]:
    """The service props that carry its spec's secrets: `secret_refs` (which secret each entry names,
    by id and name) and `secret_env` (the env-var values as they are now, sealed). Refuses a missing
    secret, one without READ, a key the secret's type does not have, and OAUTH2 secrets no attached
    external access integration allows (spcs-reference 9.2); nothing is created then."""
    refs: list[dict[str, Any]] = []
    env: dict[str, dict[str, str]] = {}
    allowed = _allowed_authentication_secrets(ctx, integrations or [], target)
    for ci, container in enumerate(spec.containers):
        for si, item in enumerate(container.secrets):
            where = f"spec.containers[{ci}].secrets[{si}]"
            if item.snowflake_secret.object_reference is not None:
                raise errors.unsupported("snowflakeSecret.objectReference (native app references)")
            database, schema, name = _spec_name(item.snowflake_secret.object_name, target.database, target.schema)
            shown = display(database, schema, name)
            secret = lifecycle.find(ctx, SECRET, Name(name, database, schema))
            if secret is None:
                raise errors.does_not_exist("Secret", shown)
            ctx.require("USE SECRET IN SERVICE", secret, shown)  # READ on the secret
            secret_type = secret.props["secret_type"]
            keys = SPEC_KEYS.get(secret_type)
            if keys is None:
                raise _spec_error(where, f"secret {shown} is of TYPE = {secret_type}; a container can use only "
                                  "PASSWORD, GENERIC_STRING and OAUTH2 secrets.")
            if item.env_var_name is not None:
                if not _ENV_NAME.match(item.env_var_name):  # the engine would refuse it, quoting the value
                    raise _spec_error(where, f"envVarName '{item.env_var_name}' is not a valid environment "
                                      "variable name (letters, digits and '_', not starting with a digit).")
                if item.secret_key_ref is None:
                    raise _spec_error(where, "envVarName needs secretKeyRef (one of "
                                      f"{', '.join(keys)} for secret {shown}).")
                if item.secret_key_ref not in keys:
                    raise _spec_error(where, f"secretKeyRef '{item.secret_key_ref}' does not match secret {shown} "
                                      f"of TYPE = {secret_type}; it has {', '.join(keys)}.")
                env.setdefault(container.name, {})[item.env_var_name] = \
                    values_of(ctx.core.settings.data_dir, secret)[item.secret_key_ref]
            if secret_type == "OAUTH2" and secret.id not in allowed:
                raise _spec_error(where, f"OAUTH2 secret {shown} must be in ALLOWED_AUTHENTICATION_SECRETS of an "
                                  "external access integration the service uses (EXTERNAL_ACCESS_INTEGRATIONS).")
            refs.append({"container": container.name, "index": si, "id": secret.id,
                         "name": display(secret.database, secret.schema, secret.name)})
    if len(refs) > MAX_SECRETS_PER_SERVICE:
        raise _spec_error("spec.containers", f"a service may use at most {MAX_SECRETS_PER_SERVICE} secrets.")
    sealed_env = box_for(ctx.core.settings.data_dir).seal(env) if env else None
    return {"secret_refs": refs, "secret_env": sealed_env}


def _allowed_authentication_secrets(ctx: Ctx, integrations: list[str], target: Name) -> set[int]:
    """Ids of the secrets the service's external access integrations allow for authentication."""
    ids: set[int] = set()
    for name in integrations:
        integration = ctx.catalog.get("INTEGRATION", str(name).upper())
        for text in (integration.props.get("allowed_authentication_secrets") or []) if integration else []:
            secret = ctx.catalog.get("SECRET", *_reordered(_spec_name(str(text), target.database, target.schema)))
            if secret is not None:
                ids.add(secret.id)
    return ids


def _reordered(name: tuple[str, str, str]) -> tuple[str, str, str]:
    """(database, schema, name) as Catalog.get takes it: (name, database, schema)."""
    return name[2], name[0], name[1]
