"""Placement of service instances onto a compute pool's nodes by their resource requests.

A node is a slice of the host with the pool's instance family's vCPU, memory and GPUs (spcs-reference
2.10). Every wanted instance of every running service on the pool is packed first-fit onto at most
MAX_NODES nodes, oldest service first, so the answer is the same in every controller that asks: the
service controller starts only instances that got a node (the others stay PENDING with `Unschedulable
due to insufficient resources`), and the compute-pool controller grows the pool to the nodes in use.
An instance larger than one node can never run; CREATE SERVICE refuses it (commands/services.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from snowport.commands.compute_pools import FAMILIES
from snowport.spec import ResourceTotals, parse_stored_spec

UNSCHEDULABLE = "Unschedulable due to insufficient resources"


def instance_requests(service: Any) -> ResourceTotals:
    """What one instance of the service asks of a node: the sum of its containers' requests."""
    return parse_stored_spec(service.props["spec_text"], service.props.get("using")).instance_requests()


@dataclass(frozen=True)
class Placement:
    nodes: dict[tuple[int, int], int]  # (service id, instance) -> node index, for instances that fit
    nodes_used: int

    def fits(self, service_id: int, instance: int) -> bool:
        return (service_id, instance) in self.nodes


def place(pool: Any, services: Iterable[Any], wanted: Any) -> Placement:
    """First-fit of every wanted instance (`wanted(service)` instances each) of `services` on the pool."""
    capacity = FAMILIES[pool.props["instance_family"]].capacity
    free: list[ResourceTotals] = []
    placed: dict[tuple[int, int], int] = {}
    for service in sorted(services, key=lambda s: (s.created_on, s.id)):
        try:
            need = instance_requests(service)
        except Exception:  # noqa: BLE001 - a spec that no longer parses is reported by its own reconcile
            continue
        for instance in range(wanted(service)):
            for index, left in enumerate(free):
                if need.fits_in(left):
                    free[index] = _minus(left, need)
                    placed[(service.id, instance)] = index
                    break
            else:
                if len(free) < int(pool.props["max_nodes"]) and need.fits_in(capacity):
                    free.append(_minus(capacity, need))
                    placed[(service.id, instance)] = len(free) - 1
    return Placement(placed, len(free))


def _minus(a: ResourceTotals, b: ResourceTotals) -> ResourceTotals:
    return ResourceTotals(cpu_millis=a.cpu_millis - b.cpu_millis, memory_bytes=a.memory_bytes - b.memory_bytes,
                          gpus=a.gpus - b.gpus)
