"""Which public endpoint a request's Host names (spcs-reference 6.2).

Hosts are `<endpoint-id>.<ingress domain>` when a domain is configured, else the endpoint's own loopback
address (commands/service_endpoints.py). The map from host to (service, endpoint) is rebuilt from the
catalog on a miss and each hit is checked against the service's current props, so a dropped service or
an upgrade that removed the endpoint stops routing at once.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from snowport.catalog.store import CatalogObject
from snowport.commands import service_endpoints

ADDRESSES_REFRESH = 3.0


@dataclass(frozen=True)
class Route:
    service_id: int
    endpoint: str
    endpoint_id: str


def hostname(host_header: str) -> str:
    """The Host header without its port, lower case."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if ":" in host else host


class EndpointHosts:
    def __init__(self, core: Any) -> None:
        self.core = core
        self.settings = core.settings
        self._routes: dict[str, Route] = {}
        self._addresses: set[str] | None = None
        self._addresses_version = -1
        self._addresses_due = 0.0
        self._lock = threading.Lock()

    def is_ingress_host(self, host: str) -> bool:
        """Whether a host is of the ingress form (a request for it is never one of the server's own)."""
        if host == self.settings.host.lower():
            return False
        domain = (self.settings.ingress_domain or "").strip(".").lower()
        if domain:
            return host.endswith("." + domain)
        return service_endpoints.is_ingress_loopback(host)

    def find(self, host: str) -> tuple[CatalogObject, str] | None:
        """(service, endpoint name) for a host name, or None."""
        for attempt in range(2):
            route = self._routes.get(host)
            if route is not None:
                service = self.core.catalog.by_id(route.service_id)
                if service is not None and service_endpoints.ids_of(service).get(route.endpoint) == route.endpoint_id:
                    return service, route.endpoint
            if attempt == 0:
                self._rebuild()
        return None

    def _rebuild(self) -> None:
        routes = {}
        for service in self.core.catalog.list("SERVICE"):
            for endpoint, endpoint_id in service_endpoints.ids_of(service).items():
                host = service_endpoints.host_key(self.settings, endpoint_id)
                routes[host] = Route(service.id, endpoint, endpoint_id)
        with self._lock:
            self._routes = routes

    def loopback_addresses(self) -> set[str]:
        """The loopback addresses of every existing public endpoint (none with an ingress domain). The catalog
        is read again when its version moves (CREATE and DROP move it) and at least every few seconds (an
        upgrade that adds a public endpoint does not), so the listeners' frequent check costs next to nothing."""
        if self.settings.ingress_domain:
            return set()
        now = time.monotonic()
        version = self.core.catalog.version
        if self._addresses is None or version != self._addresses_version or now >= self._addresses_due:
            self._addresses = {service_endpoints.loopback_address(i) for s in self.core.catalog.list("SERVICE")
                               for i in service_endpoints.ids_of(s).values()}
            self._addresses_version, self._addresses_due = version, now + ADDRESSES_REFRESH
        return self._addresses
