"""The compute-pool controller: brings each pool's observed state to what its owner asked for.

Level-triggered and idempotent (spcs-reference 2.9): a pool that should run gets MIN_NODES nodes
(more, up to MAX_NODES, when its service instances need them) and is IDLE or ACTIVE; a pool that
should be suspended, or that has been idle for AUTO_SUSPEND_SECS, goes STOPPING → SUSPENDED and
gives its nodes back. A GPU family on a host without GPUs stays STARTING with Snowflake's capacity
error. The controller writes observed state only; the catalog holds what users asked for.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Hashable
from typing import Any

from snowport.catalog.job_history import ended_job
from snowport.commands.compute_pools import (
    ACTIVE,
    FAMILIES,
    IDLE,
    RECONCILER,
    STARTING,
    SUSPENDED,
)
from snowport.commands.services import target_instances
from snowport.compute.placement import place

CAPACITY_ERROR = "392507"


def host_gpus() -> int:
    """GPUs the host can give containers (none without NVIDIA's tools)."""
    return 1 if shutil.which("nvidia-smi") else 0


class ComputePoolReconciler:
    name = RECONCILER

    def __init__(self, core: Any, interval: float) -> None:
        self.core = core
        self.interval = interval

    def keys(self) -> list[Hashable]:
        return [pool.name for pool in self.core.catalog.list("COMPUTE POOL")]

    def _workloads(self, pool_name: str) -> tuple[int, int]:
        """(services, jobs) scheduled on the pool."""
        services = jobs = 0
        for obj in self.core.catalog.list("SERVICE"):
            if obj.props.get("compute_pool") == pool_name and not obj.props.get("suspended") \
                    and not ended_job(self.core.observed, obj):
                if obj.props.get("is_job"):
                    jobs += 1
                else:
                    services += 1
        return services, jobs

    def reconcile(self, key: Hashable) -> None:
        pool = self.core.catalog.get("COMPUTE POOL", key)
        if pool is None:
            return
        observed = self.core.observed
        seen = observed.get(pool.id)
        now = time.time()
        services, jobs = self._workloads(pool.name)
        if services or jobs:
            seen["auto_suspended"] = None  # work arriving on an auto-suspended pool resumes it (AUTO_RESUME)
        if pool.props.get("suspended") or seen.get("auto_suspended"):
            if seen.get("state") != SUSPENDED or seen.get("nodes"):
                observed.set(pool.id, state=SUSPENDED, nodes=[], target_nodes=0, num_services=services,
                             num_jobs=jobs, error_code=None, status_message=None, idle_since=None)
            return
        family = FAMILIES[pool.props["instance_family"]]
        if family.gpu_count and host_gpus() == 0:
            minutes = max(1, int((now - seen.get("starting_since", now)) // 60))
            observed.set(pool.id, state=STARTING, nodes=[], target_nodes=pool.props["min_nodes"],
                         starting_since=seen.get("starting_since", now), error_code=CAPACITY_ERROR,
                         status_message=f"Compute pool is starting for the last {minutes} minutes. "
                                        "We have observed CAPACITY_ERROR.")
            return
        needed = place(pool, [s for s in self.core.catalog.list("SERVICE") if s.props.get("compute_pool") == pool.name
                              and not s.props.get("suspended") and not ended_job(self.core.observed, s)],
                       lambda s: target_instances(self.core.observed, s)).nodes_used
        target = min(max(pool.props["min_nodes"], needed), pool.props["max_nodes"])
        nodes = list(seen.get("nodes", []))
        counter = int(seen.get("node_counter", 0))
        while len(nodes) < target:
            counter += 1
            nodes.append({"node_id": f"node-{pool.id}-{counter:02d}", "created_on": now})
        del nodes[target:]
        busy = services + jobs > 0
        idle_since = None if busy else seen.get("idle_since") or now
        suspend_after = pool.props.get("auto_suspend_secs", 3600)
        if not busy and suspend_after and now - idle_since >= suspend_after:
            observed.set(pool.id, state=SUSPENDED, nodes=[], target_nodes=0, auto_suspended=True, idle_since=None)
            return
        state = ACTIVE if busy else IDLE
        resumed_on = seen.get("resumed_on") if seen.get("state") in (IDLE, ACTIVE) else now
        changes = dict(state=state, nodes=nodes, target_nodes=target, node_counter=counter, num_services=services,
                       num_jobs=jobs, resumed_on=resumed_on, idle_since=idle_since, error_code=None,
                       status_message=None, starting_since=None, auto_suspended=None)
        if any(seen.get(k) != v for k, v in changes.items()):
            observed.set(pool.id, **changes)
