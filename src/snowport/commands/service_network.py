"""Service networking as the catalog defines it: DNS names, and the egress an integration list allows.

- DNS (spcs-reference 5.4): a service answers at `<service>.<hash>.svc.spcs.internal` (`<hash>`: the
  schema's DNS domain, SYSTEM$GET_SERVICE_DNS_DOMAIN), at the legacy
  `<service>.<schema>.<db>.snowflakecomputing.internal`, and at its bare name from its own schema (the
  pods' DNS search domain); `instances.<name>` gives every instance's address.
- Egress (spcs-reference 10): the host:port pairs the network rules of a service's external access
  integrations name, held to SPCS's rules (full host names, ports 22, 80, 443 and from 1024 up,
  `0.0.0.0` only with 80 or 443). CREATE SERVICE, EXECUTE JOB SERVICE and ALTER SERVICE SET
  EXTERNAL_ACCESS_INTEGRATIONS refuse a list that breaks them, naming the rule and the entry.

compute/network.py turns this into the runtime's network policies; nothing here talks to an engine.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from snowport import errors
from snowport.catalog.store import CatalogObject
from snowport.commands import lifecycle
from snowport.commands.context import Ctx
from snowport.commands.kinds import SCHEMA_KIND
from snowport.names import display, normalize

RECONCILER = "network"  # compute/network.py: recomputes the network policies when told
KEY = "policies"  # its one key: the policies of all pods are computed together
DOMAIN = "svc.spcs.internal"
LEGACY_DOMAIN = "snowflakecomputing.internal"
ANY_HOST = "0.0.0.0"
ALLOWED_PORTS = frozenset({22, 80, 443})  # and every port from 1024 up
MAX_INTEGRATIONS = 10


def _label(name: str) -> str:
    """An identifier as a DNS label: lower case, `_` (and anything else a label cannot hold, which only a
    quoted identifier has) becomes `-`."""
    return re.sub(r"[^a-z0-9-]", "-", name.lower())


def dns_domain(database: str, schema: str) -> str:
    """`<hash>.svc.spcs.internal`: the domain of a schema's services (4 hex digits of the schema's name)."""
    schema_hash = hashlib.sha256(f"{database}.{schema}".encode()).hexdigest()[:4]
    return f"{schema_hash}.{DOMAIN}"


def dns_name(service: CatalogObject) -> str:
    return f"{_label(service.name)}.{dns_domain(service.database, service.schema)}"


def legacy_dns_name(service: CatalogObject) -> str:
    return f"{_label(service.name)}.{_label(service.schema)}.{_label(service.database)}.{LEGACY_DOMAIN}"


def pod_aliases(service: CatalogObject) -> tuple[str, ...]:
    """The names each instance of the service answers at on the network (all instances share them, so a
    name resolves to every instance's address)."""
    names = (dns_name(service), legacy_dns_name(service))
    return (*names, *(f"instances.{n}" for n in names))


def pod_search(service: CatalogObject) -> tuple[str, ...]:
    """The search domains of a service's pods: bare names of its own schema, then `<service>.<hash>`."""
    return dns_domain(service.database, service.schema), DOMAIN


def get_dns_domain(ctx: Ctx, name: str) -> str:
    """SYSTEM$GET_SERVICE_DNS_DOMAIN('[db.]schema'): USAGE on the schema."""
    parts = [normalize(p) for p in str(name).split(".") if p]
    if not 1 <= len(parts) <= 2:
        raise errors.invalid_value(f"Invalid schema name '{name}' for SYSTEM$GET_SERVICE_DNS_DOMAIN: "
                                   "expected [<database>.]<schema>.")
    target = lifecycle.resolve(ctx, SCHEMA_KIND, parts, "SYSTEM$GET_SERVICE_DNS_DOMAIN")
    schema = lifecycle.existing(ctx, SCHEMA_KIND, target)
    ctx.require("SYSTEM$GET_SERVICE_DNS_DOMAIN", schema)
    return dns_domain(schema.database, schema.name)


# ---- egress ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HostPort:
    host: str  # a host name or address, or ANY_HOST
    port: int
    rule: str  # the network rule it comes from (for messages)


def _integration(catalog: Any, name: str) -> CatalogObject | None:
    return catalog.get("INTEGRATION", name) or catalog.get("INTEGRATION", name.upper())


def _entries(catalog: Any, integration: CatalogObject) -> list[HostPort]:
    found = []
    for qualified in integration.props.get("allowed_network_rules") or []:
        parts = qualified.split(".")
        if len(parts) != 3:
            continue
        rule = catalog.get("NETWORK RULE", parts[2], parts[0], parts[1])
        if rule is None or rule.props.get("mode") != "EGRESS" or rule.props.get("type") != "HOST_PORT":
            continue
        for entry in rule.props.get("value_list") or []:
            host, _, port = entry.partition(":")
            found.append(HostPort(host.lower(), int(port) if port else 443, display(*parts)))
    return found


def _usable(auth: Any, owner: str, integration: CatalogObject) -> bool:
    """The service's owner role (with what it inherits) owns the integration or holds USAGE on it: the
    owner's own right, whatever other roles the creating session had active."""
    roles = auth.closure(owner)
    if integration.owner in roles:
        return True
    return any(g.privilege == "USAGE" and g.grantee_kind == "ROLE" and g.grantee in roles
               for g in auth.catalog.grants(object_id=integration.id))


def egress(auth: Any, service: CatalogObject) -> list[HostPort]:
    """What a service's external access integrations allow now: disabled or dropped ones, and ones its
    owner role lost USAGE on, allow nothing."""
    found: list[HostPort] = []
    for name in service.props.get("external_access_integrations") or []:
        integration = _integration(auth.catalog, str(name))
        if integration is not None and integration.props.get("enabled") and \
                integration.props.get("type") == "EXTERNAL_ACCESS" and _usable(auth, service.owner, integration):
            found += _entries(auth.catalog, integration)
    return found


def check_integrations(ctx: Ctx, names: list[str] | None, owner: str) -> None:
    """The integrations a CREATE SERVICE, EXECUTE JOB SERVICE or ALTER SERVICE SET names for a service
    owned by `owner`: each exists and that role has USAGE on it, at most 10, and their rules keep to
    SPCS's egress rules (spcs-reference 10)."""
    names = list(names or [])
    if len(names) > MAX_INTEGRATIONS:
        raise errors.invalid_value(f"A service can use at most {MAX_INTEGRATIONS} external access integrations; "
                                   f"{len(names)} were given.")
    for name in names:
        integration = _integration(ctx.catalog, str(name))
        if integration is None or not _usable(ctx.auth, owner, integration):
            raise errors.does_not_exist("Integration", str(name))
        if integration.props.get("type") != "EXTERNAL_ACCESS":
            raise errors.invalid_value(f"Integration {display(integration.name)} is not an external access "
                                       "integration.")
        for entry in _entries(ctx.catalog, integration):
            where = (f"Network rule {entry.rule} of integration {display(integration.name)} allows "
                     f"'{entry.host}:{entry.port}'")
            if "*" in entry.host:
                raise errors.invalid_value(f"{where}: services need full host names, not wildcards.")
            if entry.host == ANY_HOST and entry.port not in (80, 443):
                raise errors.invalid_value(f"{where}: {ANY_HOST} (any host) is allowed only with port 80 or 443.")
            if entry.port not in ALLOWED_PORTS and entry.port < 1024:
                raise errors.invalid_value(f"{where}: services may only use ports 22, 80, 443 and 1024 or "
                                           "higher.")
