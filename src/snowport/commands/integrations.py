"""Integrations: CREATE / ALTER / DROP / SHOW / DESCRIBE of EXTERNAL ACCESS and SECURITY INTEGRATION.

Integrations share one account-level namespace, whatever their type, as in Snowflake. An external
access integration names network rules (each must exist and be visible when it is created); services
list integrations in EXTERNAL_ACCESS_INTEGRATIONS, and their owner needs USAGE on each.
"""

from __future__ import annotations

from typing import Any

from snowport import errors
from snowport.catalog.store import CatalogObject
from snowport.commands import lifecycle, network_rules, properties
from snowport.commands.columns import Col, Rows, columns, created_on, like_matcher, tf
from snowport.commands.context import Ctx
from snowport.commands.kinds import INTEGRATION
from snowport.commands.lifecycle import Name
from snowport.names import display

EXTERNAL_ACCESS = "EXTERNAL_ACCESS"
SECURITY = "SECURITY"
EAI_PROPERTIES = ("ALLOWED_NETWORK_RULES", "ALLOWED_API_AUTHENTICATION_INTEGRATIONS",
                  "ALLOWED_AUTHENTICATION_SECRETS", "ENABLED", "COMMENT")
SECURITY_PROPERTIES = ("TYPE", "OAUTH_CLIENT", "OAUTH_REDIRECT_URI", "OAUTH_ISSUE_REFRESH_TOKENS",
                       "OAUTH_REFRESH_TOKEN_VALIDITY", "OAUTH_CLIENT_TYPE", "OAUTH_ENFORCE_PKCE", "BLOCKED_ROLES_LIST",
                       "PRE_AUTHORIZED_ROLES_LIST", "NETWORK_POLICY", "OAUTH_USE_SECONDARY_ROLES", "ENABLED",
                       "COMMENT")
SECURITY_TYPES = ("OAUTH", "SAML2", "EXTERNAL_OAUTH", "SCIM", "API_AUTHENTICATION")


def _names(key: str) -> Any:
    def convert(value: Any) -> tuple[str, list[str]]:
        items = value if isinstance(value, list) else [value]
        return key.lower(), [str(v) for v in items]
    return convert


def _enabled(value: Any) -> tuple[str, bool]:
    return "enabled", properties.boolean(value, "ENABLED")


def _security_type(value: Any) -> tuple[str, str]:
    kind = str(value).upper()
    if kind not in SECURITY_TYPES:
        raise errors.invalid_value(f"invalid value '{value}' for property 'TYPE'")
    return "security_type", kind


EAI_CONVERT = {"ALLOWED_NETWORK_RULES": _names("ALLOWED_NETWORK_RULES"),
               "ALLOWED_API_AUTHENTICATION_INTEGRATIONS": _names("ALLOWED_API_AUTHENTICATION_INTEGRATIONS"),
               "ALLOWED_AUTHENTICATION_SECRETS": _names("ALLOWED_AUTHENTICATION_SECRETS"), "ENABLED": _enabled}
SECURITY_CONVERT = {"TYPE": _security_type, "ENABLED": _enabled,
                    "OAUTH_CLIENT": lambda v: ("oauth_client", str(v).upper())}


def _checked_eai(ctx: Ctx, integration: CatalogObject, rules_named: bool = True) -> CatalogObject:
    """Every rule an external access integration allows must exist (and be an EGRESS rule), checked when
    the statement names them."""
    p = integration.props
    if p.get("enabled") is None:
        raise errors.SnowflakeError(1003, "42000", errors.compilation("Missing option(s): [ENABLED]"))
    if not p.get("allowed_network_rules"):
        raise errors.SnowflakeError(1003, "42000", errors.compilation("Missing option(s): [ALLOWED_NETWORK_RULES]"))
    if not rules_named:
        return integration
    rules = network_rules.resolve_all(ctx, p["allowed_network_rules"])
    for rule in rules:
        if rule.props.get("mode") != "EGRESS":
            raise errors.invalid_value(f"Network rule {display(rule.database, rule.schema, rule.name)} must have "
                                       "MODE = EGRESS to be used in an external access integration.")
    qualified = [f"{r.database}.{r.schema}.{r.name}" for r in rules]
    return integration.with_props(allowed_network_rules=qualified)


def _checked_security(integration: CatalogObject) -> CatalogObject:
    if integration.props.get("security_type") is None:
        raise errors.SnowflakeError(1003, "42000", errors.compilation("Missing option(s): [TYPE]"))
    return integration


def create_external_access(ctx: Ctx, name: str, values: dict[str, Any], or_replace: bool = False,
                           if_not_exists: bool = False) -> str:
    target = Name(name)

    def build() -> CatalogObject:
        integration = lifecycle.new_object(ctx, INTEGRATION, target, props={"type": EXTERNAL_ACCESS})
        return _checked_eai(ctx, properties.apply(integration, values, "EXTERNAL ACCESS INTEGRATION",
                                                  EAI_PROPERTIES, EAI_CONVERT))

    return lifecycle.create(ctx, INTEGRATION, target, build, or_replace=or_replace, if_not_exists=if_not_exists)[1]


def create_security(ctx: Ctx, name: str, values: dict[str, Any], or_replace: bool = False,
                    if_not_exists: bool = False) -> str:
    target = Name(name)

    def build() -> CatalogObject:
        integration = lifecycle.new_object(ctx, INTEGRATION, target, props={"type": SECURITY, "enabled": False})
        return _checked_security(properties.apply(integration, values, "SECURITY INTEGRATION",
                                                  SECURITY_PROPERTIES, SECURITY_CONVERT))

    return lifecycle.create(ctx, INTEGRATION, target, build, or_replace=or_replace, if_not_exists=if_not_exists)[1]


def _typed(kind: str | None) -> Any:
    """A guard: `DROP EXTERNAL ACCESS INTEGRATION x` only names an external access integration."""
    def guard(integration: CatalogObject) -> None:
        if kind is not None and integration.props.get("type") != kind:
            raise errors.does_not_exist("Integration", integration.name)
    return guard


def drop(ctx: Ctx, name: str, kind: str | None = None, if_exists: bool = False) -> str:
    return lifecycle.drop(ctx, INTEGRATION, Name(name), if_exists, guard=_typed(kind))


def set_properties(ctx: Ctx, name: str, values: dict[str, Any], kind: str | None = None,
                   if_exists: bool = False) -> str:
    def change(integration: CatalogObject) -> CatalogObject:
        _typed(kind)(integration)
        if integration.props.get("type") == EXTERNAL_ACCESS:
            return _checked_eai(ctx, properties.apply(integration, values, "EXTERNAL ACCESS INTEGRATION",
                                                      EAI_PROPERTIES, EAI_CONVERT),
                                rules_named="ALLOWED_NETWORK_RULES" in values)
        return _checked_security(properties.apply(integration, values, "SECURITY INTEGRATION",
                                                  SECURITY_PROPERTIES, SECURITY_CONVERT))

    lifecycle.alter(ctx, INTEGRATION, Name(name), "ALTER INTEGRATION", change, if_exists)
    return lifecycle.SUCCESS


def unset_properties(ctx: Ctx, name: str, keys: list[str], kind: str | None = None, if_exists: bool = False) -> str:
    def change(integration: CatalogObject) -> CatalogObject:
        _typed(kind)(integration)
        allowed = EAI_PROPERTIES if integration.props.get("type") == EXTERNAL_ACCESS else SECURITY_PROPERTIES
        return properties.unset(integration, keys, "INTEGRATION", allowed, None, {"enabled": False})

    lifecycle.alter(ctx, INTEGRATION, Name(name), "ALTER INTEGRATION", change, if_exists)
    return lifecycle.SUCCESS


def _type_shown(integration: CatalogObject) -> str:
    if integration.props.get("type") == EXTERNAL_ACCESS:
        return EXTERNAL_ACCESS
    client = integration.props.get("oauth_client")
    return f"{integration.props.get('security_type', 'OAUTH')}" + (f" - {client}" if client else "")


SHOW_COLUMNS = columns(
    Col("name", value=lambda i: i.name),
    Col("type", value=_type_shown),
    Col("category", value=lambda i: "SECURITY"),
    Col("enabled", value=lambda i: tf(i.props.get("enabled", False))),
    Col("comment", value=lambda i: i.comment),
    created_on(),
)


def show(ctx: Ctx, like: str | None = None, kind: str | None = None) -> Rows:
    match = like_matcher(like)
    return Rows(SHOW_COLUMNS, [i for i in ctx.catalog.list("INTEGRATION")
                               if match(i.name) and (kind is None or i.props.get("type") == kind)
                               and ctx.auth.can_see(ctx.session, i)])


DESCRIBE_COLUMNS = columns(*(Col(n, value=lambda r, i=i: r[i]) for i, n in enumerate(
    ("property", "property_type", "property_value", "property_default"))))


def _listed(values: list[str]) -> str:
    return "[" + ",".join(values) + "]" if values else "[]"


def describe(ctx: Ctx, name: str, kind: str | None = None) -> Rows:
    integration = lifecycle.existing(ctx, INTEGRATION, Name(name))
    _typed(kind)(integration)
    ctx.require("DESCRIBE INTEGRATION", integration)
    p = integration.props
    rows = [("ENABLED", "Boolean", tf(p.get("enabled", False)), "false")]
    if p.get("type") == EXTERNAL_ACCESS:
        for key in ("ALLOWED_NETWORK_RULES", "ALLOWED_API_AUTHENTICATION_INTEGRATIONS",
                    "ALLOWED_AUTHENTICATION_SECRETS"):
            rows.append((key, "List", _listed(p.get(key.lower(), [])), "[]"))
    else:
        rows.append(("TYPE", "String", p.get("security_type", ""), ""))
        for key in SECURITY_PROPERTIES[1:-2]:
            if key.lower() in p:
                value = p[key.lower()]
                rows.append((key, "String", _listed(value) if isinstance(value, list) else str(value), ""))
    rows.append(("COMMENT", "String", integration.comment or "", ""))
    return Rows(DESCRIBE_COLUMNS, rows, describe=True)
