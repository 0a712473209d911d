"""The server's background concerns as reconcilers, and the runner that drives them.

Each reconciler works on the `core` object (a `snowport.core.Snowport`, typed loosely here so
this module does not import it: `core` imports the layers below it, not the other way round).
Commands can ask for prompt reconciliation with `core.controllers.notify(WAREHOUSES, name)`.
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from typing import Any

from snowport.commands import lifecycle, snapshots
from snowport.compute.autoscaler import ServiceAutoscaler
from snowport.compute.engine_events import ObservingServiceReconciler
from snowport.compute.network import NetworkPolicyReconciler
from snowport.compute.pools import ComputePoolReconciler
from snowport.compute.runner import ControllerRunner
from snowport.compute.service_logs import ServiceLogStore
from snowport.config import Settings

WAREHOUSES = "warehouses"
SESSIONS = "sessions"
REGISTRY_GC = "registry-gc"
DROPPED = "dropped-objects"


class WarehouseReconciler:
    """Auto-suspend: a started warehouse idle for its AUTO_SUSPEND seconds is suspended."""

    name = WAREHOUSES

    def __init__(self, core: Any, interval: float) -> None:
        self.core = core
        self.interval = interval

    def keys(self) -> list[Hashable]:
        return [wh.name for wh in self.core.catalog.list("WAREHOUSE")]

    def reconcile(self, key: Hashable) -> None:
        self.core.warehouses.suspend_if_idle(key)  # a no-op for a dropped or busy warehouse


class SessionReconciler:
    """Session expiry: a session whose master token has lapsed is closed (engine, temporary stages)."""

    name = SESSIONS

    def __init__(self, core: Any, interval: float) -> None:
        self.core = core
        self.interval = interval

    def keys(self) -> list[Hashable]:
        return [session.id for session in self.core.sessions.expired()]

    def reconcile(self, key: Hashable) -> None:
        session = self.core.sessions.by_id(key)
        if session is None or session.master_expires >= time.time():
            return  # already closed (logout, an earlier reconcile) or still alive
        self.core.close_session(session)


class RegistryGcReconciler:
    """Registry garbage collection: unreferenced blobs past the grace period and stale uploads go."""

    name = REGISTRY_GC
    KEY = "registry"

    def __init__(self, core: Any, interval: float, grace_seconds: float) -> None:
        self.core = core
        self.interval = interval
        self.grace_seconds = grace_seconds

    def keys(self) -> list[Hashable]:
        return [self.KEY]

    def reconcile(self, key: Hashable) -> None:
        self.core.registry.collect_garbage(self.grace_seconds)


class DroppedObjectReconciler:
    """Time Travel's end: a dropped database, schema or table past its retention period is purged."""

    name = DROPPED

    def __init__(self, core: Any, interval: float) -> None:
        self.core = core
        self.interval = interval

    def keys(self) -> list[Hashable]:
        return [record.id for record in self.core.catalog.dropped_records(due_before=time.time())]

    def reconcile(self, key: Hashable) -> None:
        for record in self.core.catalog.dropped_records(due_before=time.time()):
            if record.id == key:
                lifecycle.purge(self.core, record)


class SnapshotExpiryReconciler:
    """`snapshotDeleteAfter`: the snapshots DROP SERVICE ... FORCE took are dropped once their time is up."""

    name = "snapshot-expiry"
    KEY = "snapshots"

    def __init__(self, core: Any, interval: float) -> None:
        self.core = core
        self.interval = interval

    def keys(self) -> list[Hashable]:
        return [self.KEY]

    def reconcile(self, key: Hashable) -> None:
        snapshots.drop_expired(self.core, time.time())


def build_runner(core: Any, settings: Settings, **runner_options: Any) -> ControllerRunner:
    """The runner for the server's controllers (not started); options go to `ControllerRunner`.

    The service controller keeps logs and platform events in `core.service_logs` (made here if the
    caller has not set one)."""
    if getattr(core, "service_logs", None) is None:
        core.service_logs = ServiceLogStore(settings.data_dir)
    return ControllerRunner(
        [
            WarehouseReconciler(core, settings.warehouse_tick_seconds),
            SessionReconciler(core, settings.warehouse_tick_seconds),
            RegistryGcReconciler(core, settings.registry_gc_interval_seconds, settings.registry_gc_grace_seconds),
            DroppedObjectReconciler(core, settings.dropped_purge_interval_seconds),
            SnapshotExpiryReconciler(core, settings.dropped_purge_interval_seconds),
            ComputePoolReconciler(core, settings.warehouse_tick_seconds),
            ObservingServiceReconciler(core, settings.service_tick_seconds, core.service_logs),
            ServiceAutoscaler(core, settings.autoscale_interval_seconds, settings.autoscale_window_seconds),
            NetworkPolicyReconciler(core, min(settings.service_tick_seconds, 5.0)),
        ],
        **runner_options,
    )
