"""Network rules: CREATE / ALTER / DROP / SHOW / DESCRIBE NETWORK RULE.

Stored and checked as catalog objects; external access integrations name them, and the networking
controller (a later issue) turns EGRESS HOST_PORT rules into what the network lets a container reach.
"""

from __future__ import annotations

import re
from typing import Any

from snowport import errors
from snowport.catalog.store import CatalogObject
from snowport.commands import lifecycle, properties
from snowport.commands.columns import Col, Rows, columns, owner_role_type, schema_object
from snowport.commands.context import Ctx
from snowport.commands.kinds import NETWORK_RULE

TYPES = ("IPV4", "HOST_PORT", "PRIVATE_HOST_PORT", "AWSVPCEID", "AZURELINKID", "GCPPSCID", "COMPUTE_POOL")
MODES = ("INGRESS", "EGRESS", "INTERNAL_STAGE", "POSTGRES_INGRESS", "POSTGRES_EGRESS")
PROPERTIES = ("TYPE", "MODE", "VALUE_LIST", "COMMENT")
_HOST_PORT = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\*\.[A-Za-z0-9.-]+)(?::(\d{1,5}))?$")


def _choice(key: str, allowed: tuple[str, ...]) -> Any:
    def convert(value: Any) -> tuple[str, str]:
        text = str(value).upper()
        if text not in allowed:
            raise errors.invalid_value(f"invalid value '{value}' for property '{key}'")
        return key.lower(), text
    return convert


def _values(value: Any) -> tuple[str, list[str]]:
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) for v in items):
        raise errors.invalid_value("VALUE_LIST must be a list of string literals, "
                                   "e.g. VALUE_LIST = ('example.com:443')")
    return "value_list", list(items)


CONVERT = {"TYPE": _choice("TYPE", TYPES), "MODE": _choice("MODE", MODES), "VALUE_LIST": _values}


def _checked(rule: CatalogObject) -> CatalogObject:
    for key in ("TYPE", "MODE", "VALUE_LIST"):
        if rule.props.get(key.lower()) is None:
            raise errors.SnowflakeError(1003, "42000", errors.compilation(f"Missing option(s): [{key}]"))
    if rule.props["type"] == "HOST_PORT":
        for entry in rule.props["value_list"]:
            m = _HOST_PORT.match(entry)
            if m is None or (m.group(1) and not 0 < int(m.group(1)) < 65536):
                raise errors.invalid_value(f"Invalid value '{entry}' in VALUE_LIST for a network rule of "
                                           "TYPE = HOST_PORT: expected host[:port].")
    return rule


def create(ctx: Ctx, parts: list[str], values: dict[str, Any], or_replace: bool = False,
           if_not_exists: bool = False) -> str:
    target = lifecycle.resolve(ctx, NETWORK_RULE, parts, "CREATE NETWORK RULE")

    def build() -> CatalogObject:
        return _checked(properties.apply(lifecycle.new_object(ctx, NETWORK_RULE, target), values, "NETWORK RULE",
                                         PROPERTIES, CONVERT))

    return lifecycle.create(ctx, NETWORK_RULE, target, build, or_replace=or_replace, if_not_exists=if_not_exists)[1]


def drop(ctx: Ctx, parts: list[str], if_exists: bool = False) -> str:
    return lifecycle.drop(ctx, NETWORK_RULE, lifecycle.resolve(ctx, NETWORK_RULE, parts, "DROP NETWORK RULE"),
                          if_exists)


def set_properties(ctx: Ctx, parts: list[str], values: dict[str, Any], if_exists: bool = False) -> str:
    target = lifecycle.resolve(ctx, NETWORK_RULE, parts, "ALTER NETWORK RULE")
    lifecycle.alter(ctx, NETWORK_RULE, target, "ALTER NETWORK RULE",
                    lambda rule: _checked(properties.apply(rule, values, "NETWORK RULE", ("VALUE_LIST", "COMMENT"),
                                                           CONVERT)), if_exists)
    return lifecycle.SUCCESS


def unset_properties(ctx: Ctx, parts: list[str], keys: list[str], if_exists: bool = False) -> str:
    target = lifecycle.resolve(ctx, NETWORK_RULE, parts, "ALTER NETWORK RULE")
    lifecycle.alter(ctx, NETWORK_RULE, target, "ALTER NETWORK RULE",
                    lambda rule: properties.unset(rule, keys, "NETWORK RULE", ("VALUE_LIST", "COMMENT"), None,
                                                  {"value_list": []}), if_exists)
    return lifecycle.SUCCESS


def rename(ctx: Ctx, parts: list[str], new_parts: list[str], if_exists: bool = False) -> str:
    target = lifecycle.resolve(ctx, NETWORK_RULE, parts, "ALTER NETWORK RULE")
    new = lifecycle.resolve(ctx, NETWORK_RULE, new_parts, "ALTER NETWORK RULE")
    if len(new_parts) == 1:
        new = lifecycle.Name(new.name, target.database, target.schema)
    return lifecycle.rename(ctx, NETWORK_RULE, target, new, if_exists)


SHOW_COLUMNS = columns(
    *schema_object(),
    Col("owner", value=lambda r: r.owner),
    Col("comment", value=lambda r: r.comment or ""),
    Col("type", value=lambda r: r.props["type"]),
    Col("mode", value=lambda r: r.props["mode"]),
    Col("entries_in_valuelist", "fixed", lambda r: len(r.props.get("value_list", []))),
    Col("owner_role_type", value=owner_role_type),
)
DESCRIBE_COLUMNS = columns(
    *schema_object(),
    Col("owner", value=lambda r: r.owner),
    Col("comment", value=lambda r: r.comment or ""),
    Col("type", value=lambda r: r.props["type"]),
    Col("mode", value=lambda r: r.props["mode"]),
    Col("value_list", value=lambda r: ",".join(r.props.get("value_list", []))),
)


def show(ctx: Ctx, like: str | None, database: str | None, schema: str | None) -> Rows:
    return lifecycle.show_in_scope(ctx, NETWORK_RULE, SHOW_COLUMNS, like, database, schema)


def describe(ctx: Ctx, parts: list[str]) -> Rows:
    return lifecycle.describe_one(ctx, NETWORK_RULE, parts, DESCRIBE_COLUMNS)


def resolve_all(ctx: Ctx, names: list[str]) -> list[CatalogObject]:
    """The network rules an integration names (`r`, `s.r`, `d.s.r` against the session)."""
    rules = []
    for name in names:
        parts = [p for p in name.split(".") if p]
        target = lifecycle.resolve(ctx, NETWORK_RULE, parts, "CREATE EXTERNAL ACCESS INTEGRATION")
        rules.append(lifecycle.existing(ctx, NETWORK_RULE, target))
    return rules
