"""The network controller: decides from the catalog what may reach each service, and where it may connect.

Per service (and job) one runtime NetworkPolicy selects its pods (by the service label) and says:
- ingress (spcs-reference 5.4): the ports its spec declares as endpoints (`port` or `portRange`), open
  to the pods of every service whose owner role may use that endpoint (`commands.endpoints.
  endpoint_allowed` with the closure of the caller's owner role: the same owner role, or a service role
  granted to it). Nothing else of another pod gets in; containers of one instance share localhost.
- egress (spcs-reference 10): the host:port pairs of its external access integrations' network rules,
  the host names resolved to addresses here (again at every resync, so a moved host follows);
  `0.0.0.0` is any host. The runtime always leaves the host's gateway address (Snowport itself) and
  DNS reachable.

The legacy spec field `networkPolicyConfig.allowInternetEgress` is accepted and opens nothing: egress is
granted only through integrations, whose USAGE the owner role must hold (docs/services.md).

The policies of all pods are computed together (one key) and handed to the runtime in one call, which
replaces the previous set in one step. It runs when a service is created, altered or dropped (commands
notify it), before a service's pods are created (the service controller calls `apply`), and at every
resync (grants and DNS change without telling anyone).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Hashable
from typing import Any

from snowport.commands import endpoints, service_network
from snowport.runtime import EgressAllow, NetworkPolicy, PeerAccess, PortRange, RuntimeUnavailable

log = logging.getLogger("snowport.compute.network")
SERVICE_LABEL = "snowport.service"  # as compute/services.py labels pods
RESOLVE_TTL = 30.0  # seconds a host name's addresses are reused before it is resolved again

_resolved: dict[str, tuple[float, tuple[str, ...]]] = {}
_apply_lock = threading.Lock()


def _addresses(host: str, fresh: bool) -> tuple[str, ...]:
    """The IPv4 addresses of `host` (itself when it is one); none when it does not resolve."""
    if host == service_network.ANY_HOST:
        return ("0.0.0.0/0",)
    cached = _resolved.get(host)
    if cached is not None and (not fresh or time.time() - cached[0] < RESOLVE_TTL):
        return cached[1]
    try:
        infos = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)
        found = tuple(sorted({f"{info[4][0]}/32" for info in infos}))
    except OSError:
        found = ()
        log.info("egress host %s does not resolve; nothing is opened for it", host)
    _resolved[host] = (time.time(), found)
    return found


def _ports(endpoint: Any) -> PortRange:
    low, high = endpoint.ports
    return PortRange(low, high)


def policies(core: Any, fresh: bool = True) -> tuple[NetworkPolicy, ...]:
    """The network policy of every service and job in the catalog."""
    services = core.catalog.list("SERVICE")
    closures = {s.owner: core.auth.closure(s.owner) for s in services}
    result = []
    for service in services:
        try:
            declared = endpoints.declared(service)
        except Exception:  # a stored spec that no longer parses: nothing is opened to it
            log.exception("service %s: spec does not parse; no endpoint is reachable", service.name)
            declared = {}
        ingress = []
        for peer in services:
            ports = tuple(dict.fromkeys(_ports(e) for name, e in declared.items()
                                        if endpoints.endpoint_allowed(core, closures[peer.owner], service, name)))
            if ports:
                ingress.append(PeerAccess({SERVICE_LABEL: str(peer.id)}, ports))
        egress = []
        for entry in service_network.egress(core.auth, service):
            for cidr in _addresses(entry.host, fresh):
                egress.append(EgressAllow(cidr, PortRange(entry.port, entry.port)))
        result.append(NetworkPolicy(name=f"service-{service.id}", pods={SERVICE_LABEL: str(service.id)},
                                    ingress=tuple(ingress), egress=tuple(dict.fromkeys(egress))))
    return tuple(result)


def apply(core: Any, fresh: bool = False) -> None:
    """Hand the current policies to the runtime for this server's network (`fresh`: resolve host names
    whose addresses are older than RESOLVE_TTL again)."""
    runtime = core.runtime
    with _apply_lock:
        runtime.set_network_policies(runtime.scope, policies(core, fresh))


class NetworkPolicyReconciler:
    name = service_network.RECONCILER

    def __init__(self, core: Any, interval: float) -> None:
        self.core = core
        self.interval = interval

    def keys(self) -> list[Hashable]:
        return [service_network.KEY]

    def reconcile(self, key: Hashable) -> None:
        runtime = self.core.runtime
        try:
            if runtime.scope not in runtime.list_networks():
                return  # no pod runs yet: the network (and with it the rules) comes with the first one
            apply(self.core, fresh=True)
        except RuntimeUnavailable:
            return
