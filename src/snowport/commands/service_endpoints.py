"""Public endpoints' identities and addresses, and SHOW ENDPOINTS IN SERVICE (spcs-reference 3.9, 6.2).

Each public endpoint gets a short random endpoint id when its service is created (or when an upgrade
adds the endpoint), kept in the service's props so its ingress URL survives suspend, resume and upgrade.

Where the id points:
- with SNOWPORT_INGRESS_DOMAIN set: the host `<id>.<domain>` (a wildcard DNS name the operator points at
  Snowport), routed by the Host header;
- by default: a loopback address of its own, `127.a.b.c` derived from the id (never in 127.0.0.0/16, so
  never 127.0.0.1), on which Snowport listens while the endpoint exists (ingress/listeners.py). A distinct
  address per endpoint needs no DNS (glibc does not resolve `*.localhost`), works from browsers and
  programs alike, and gives each endpoint its own origin and its own cookies (cookies ignore ports, so
  distinct ports on one address would share a login).
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import string
from typing import Any

from snowport.catalog.store import Catalog, CatalogObject
from snowport.commands import lifecycle
from snowport.commands.columns import Col, Rows, columns, tf
from snowport.commands.context import Ctx
from snowport.commands.endpoints import declared
from snowport.commands.kinds import SERVICE
from snowport.config import Settings
from snowport.spec.models import ServiceSpec

ID_ALPHABET = string.ascii_lowercase + string.digits
ID_LENGTH = 6
PROP = "endpoint_ids"  # service props: {endpoint name: endpoint id}


def loopback_address(endpoint_id: str) -> str:
    """The endpoint's own loopback address: 127.a.b.c with a and c in 1..254, from a hash of the id."""
    digest = hashlib.sha256(endpoint_id.encode()).digest()
    return f"127.{digest[0] % 254 + 1}.{digest[1]}.{digest[2] % 254 + 1}"


def is_ingress_loopback(host: str) -> bool:
    """Whether a host is of the form loopback_address gives (127.x.y.z with x ≠ 0)."""
    try:
        address = ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return address.packed[0] == 127 and address.packed[1] != 0


def host_key(settings: Settings, endpoint_id: str) -> str:
    """The host name (no port) requests for the endpoint arrive with."""
    if settings.ingress_domain:
        return f"{endpoint_id}.{settings.ingress_domain.strip('.').lower()}"
    return loopback_address(endpoint_id)


def ingress_url(settings: Settings, endpoint_id: str) -> str:
    """SHOW ENDPOINTS' `ingress_url`: host[:port], no scheme, as Snowflake shows it."""
    host = host_key(settings, endpoint_id)
    if settings.ingress_domain and settings.port in (80, 443):
        return host
    return f"{host}:{settings.port}"


def ids_of(service: CatalogObject) -> dict[str, str]:
    return dict(service.props.get(PROP) or {})


def assign_ids(catalog: Catalog, spec: ServiceSpec, kept: dict[str, str] | None = None) -> dict[str, str]:
    """Endpoint ids for the spec's public endpoints: those in `kept` stay, new ones are drawn at random so
    that neither the id nor its loopback address is used by another endpoint."""
    kept = kept or {}
    taken = {i for s in catalog.list("SERVICE") for i in ids_of(s).values()}
    addresses = {loopback_address(i) for i in taken}
    out: dict[str, str] = {}
    for endpoint in spec.public_endpoints:
        if endpoint.name in kept:
            out[endpoint.name] = kept[endpoint.name]
            continue
        while True:
            new = secrets.choice(string.ascii_lowercase) + "".join(
                secrets.choice(ID_ALPHABET) for _ in range(ID_LENGTH - 1))
            if new not in taken and loopback_address(new) not in addresses:
                break
        taken.add(new)
        addresses.add(loopback_address(new))
        out[endpoint.name] = new
    return out


SHOW_COLUMNS = columns(
    Col("name", value=lambda r: r["endpoint"].name),
    Col("port", "fixed", lambda r: r["endpoint"].port),
    Col("port_range", value=lambda r: r["endpoint"].port_range),
    Col("protocol", value=lambda r: r["endpoint"].protocol),
    Col("is_public", value=lambda r: tf(r["endpoint"].public)),
    Col("ingress_url", value=lambda r: r["url"]),
    Col("privatelink_ingress_url", value=lambda r: None),
)


def show(ctx: Ctx, parts: list[str]) -> Rows:
    """SHOW ENDPOINTS IN SERVICE <name>: one row per declared endpoint (services and jobs alike); USAGE."""
    target = lifecycle.resolve(ctx, SERVICE, parts, "SHOW ENDPOINTS IN SERVICE")
    service = lifecycle.existing(ctx, SERVICE, target)
    ctx.require("SHOW ENDPOINTS IN SERVICE", service, target.shown)
    ids = ids_of(service)
    items: list[dict[str, Any]] = []
    for name, endpoint in declared(service).items():
        url = ingress_url(ctx.core.settings, ids[name]) if endpoint.public and name in ids else None
        items.append({"endpoint": endpoint, "url": url})
    return Rows(SHOW_COLUMNS, items)
