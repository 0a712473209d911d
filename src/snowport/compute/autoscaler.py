"""CPU-based autoscaling of services between MIN_INSTANCES and MAX_INSTANCES (spcs-reference 3.16).

A service autoscales when MAX_INSTANCES > MIN_INSTANCES and its spec requests CPU or memory (without
requests Snowflake keeps it at MIN_INSTANCES). Every `interval` seconds the autoscaler reads each running
instance's cumulative CPU time from the runtime and turns two readings into a utilisation of the
instance's CPU request. The instance count it would want is Kubernetes' HPA rule against Snowflake's
target of 80 % of the requests: `ceil(current * utilisation / 0.8)`, bounded by MIN and MAX. It moves
one instance at a time, and only when every sample in the stabilisation window (5 minutes in Snowflake;
`SNOWPORT_AUTOSCALE_WINDOW_SECONDS` here, so a test can see it act) agreed on the direction and the
service has its current target running. The decision is observed state (`target_instances`), which the
service controller reads; the catalog keeps what the owner asked for.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Hashable
from typing import Any

from snowport.commands.services import RECONCILER as SERVICES
from snowport.commands.services import target_instances
from snowport.compute.placement import instance_requests
from snowport.runtime import RuntimeUnavailable
from snowport.spec import SpecError, parse_stored_spec

log = logging.getLogger("snowport.compute.autoscaler")
AUTOSCALER = "autoscaler"
TARGET_UTILISATION = 0.8


def autoscales(service: Any) -> bool:
    if service.props.get("suspended") or service.props.get("is_job"):
        return False
    if int(service.props.get("max_instances", 1)) <= int(service.props.get("min_instances", 1)):
        return False
    try:  # a spec without resource requests stays at MIN_INSTANCES
        return parse_stored_spec(service.props.get("spec_text", ""), service.props.get("using")).requests_resources
    except SpecError:
        return False


class ServiceAutoscaler:
    name = AUTOSCALER

    def __init__(self, core: Any, interval: float, window: float) -> None:
        self.core = core
        self.interval = interval
        self.window = window
        self._last: dict[int, tuple[float, dict[str, float]]] = {}  # service -> (time, cpu seconds per pod)
        self._wants: dict[int, deque[tuple[float, int]]] = {}  # service -> (time, wanted count) samples
        self._since: dict[int, float] = {}  # service -> when its current watch began (decisions need a window)

    def keys(self) -> list[Hashable]:
        services = self.core.catalog.list("SERVICE")
        for service in services:  # no longer autoscaled (suspended, MAX = MIN, requests removed): back to MIN
            if not autoscales(service) and self.core.observed.value(service.id, "target_instances") is not None:
                self.core.observed.set(service.id, target_instances=None)
        live = [s for s in services if autoscales(s)]
        for gone in set(self._last) - {s.id for s in live}:
            self._last.pop(gone, None)
            self._wants.pop(gone, None)
            self._since.pop(gone, None)
        return [s.id for s in live]

    def reconcile(self, key: Hashable) -> None:
        service = self.core.catalog.by_id(int(key))  # type: ignore[arg-type]
        if service is None or service.kind != "SERVICE" or not autoscales(service):
            return
        current = target_instances(self.core.observed, service)
        instances = self.core.observed.value(service.id, "instances", [])
        if sum(1 for i in instances if i.get("status") == "READY") < current:
            self._wants.pop(service.id, None)  # still getting to the current target: no decision yet
            self._since.pop(service.id, None)
            return
        try:
            pods = {p.pod_id for p in self.core.runtime.list_pods({"snowport.service": str(service.id)})}
            usage = {pod: self.core.runtime.cpu_seconds(pod) for pod in pods}
        except RuntimeUnavailable:
            return
        now = time.monotonic()
        before = self._last.get(service.id)
        self._last[service.id] = (now, usage)
        if before is None or now <= before[0]:
            return
        used = sum(max(0.0, usage[p] - before[1][p]) for p in usage if p in before[1]) / (now - before[0])
        requested = max(instance_requests(service).cpu_millis / 1000, 0.001) * current
        wanted = math.ceil(current * (used / requested) / TARGET_UTILISATION - 1e-9) if used > 0 else 0
        low, high = int(service.props.get("min_instances", 1)), int(service.props.get("max_instances", 1))
        wanted = max(low, min(high, wanted))
        samples = self._wants.setdefault(service.id, deque())
        samples.append((now, wanted))
        while samples and samples[0][0] < now - self.window:
            samples.popleft()
        since = self._since.setdefault(service.id, now)
        if now - since < self.window:  # not watched for a whole window yet
            return
        if all(w > current for _, w in samples):
            step = current + 1
        elif all(w < current for _, w in samples):
            step = current - 1
        else:
            return
        log.info("autoscaler: service %s from %d to %d instances (%.2f vCPU used of %.2f requested)",
                 service.name, current, step, used, requested)
        self.core.observed.set(service.id, target_instances=step)
        samples.clear()
        self._since.pop(service.id, None)
        if self.core.controllers is not None:
            self.core.controllers.notify(SERVICES, service.id)
