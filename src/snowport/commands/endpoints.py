"""What reaching a service's endpoint needs, shared by every path that reaches one.

The ingress proxy (browsers and programs), service functions called from SQL and service-to-service
traffic all ask the same three questions, so they are answered once here:
- which endpoints a service declares (from its stored spec),
- whether a set of roles may use one of them (the service's owner role, or a service role that includes
  the endpoint granted to one of the roles: spcs-reference 3.10, 6.3, 7.1),
- where its ready instances are (observed state, written by the service controller), waking a
  suspended service whose AUTO_RESUME allows it first.
"""

from __future__ import annotations

from dataclasses import dataclass

from snowport.catalog.store import CatalogObject
from snowport.commands.context import Server
from snowport.spec import parse_stored_spec
from snowport.spec.models import Endpoint


@dataclass(frozen=True)
class Address:
    """One ready instance's endpoint: where a request for it is sent."""

    instance: str
    host: str
    port: int


def declared(service: CatalogObject) -> dict[str, Endpoint]:
    """The service's endpoints by name, as its current spec declares them (names are case-sensitive)."""
    spec = parse_stored_spec(service.props["spec_text"], service.props.get("using"))
    return {e.name: e for e in spec.spec.endpoints}


def endpoint_allowed(core: Server, roles: frozenset[str], service: CatalogObject, endpoint: str) -> bool:
    """Whether any of `roles` (a session's active roles, or the closure of a calling service's or a
    function's owner role) may use `endpoint` of `service`. The owner role always may; otherwise a
    service role of the service that includes the endpoint must be granted to one of the roles."""
    if service.owner in roles:
        return True
    return False  # service roles (spec `serviceRoles`, ALL_ENDPOINTS_USAGE) are checked here once granted


def ready_addresses(core: Server, service: CatalogObject, endpoint: Endpoint) -> list[Address]:
    """The ready instances' addresses for `endpoint`, none while the service is below MIN_READY_INSTANCES
    (its requests are held back then, as in Snowflake)."""
    instances = core.observed.value(service.id, "instances", []) or []
    ready = [i for i in instances if i.get("status") == "READY" and i.get("ipAddress")]
    if len(ready) < int(service.props.get("min_ready_instances", 1)) or endpoint.port is None:
        return []
    return [Address(str(i["instanceId"]), str(i["ipAddress"]), int(endpoint.port)) for i in ready]
