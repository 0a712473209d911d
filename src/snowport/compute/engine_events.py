"""Observed state from the engine's events, not from polling.

One `EngineEventWatcher` thread consumes `runtime.events()` (Docker's event stream: a blocking read, no
CPU while nothing happens). For each event of a service's pod it

* records a platform event (CONTAINER.STATUS_CHANGE / SERVICE_INSTANCE.STATUS_CHANGE, spcs-reference 3.14)
  in the service's event log under the data dir, and
* asks the service controller to reconcile that service now (`controllers.notify`), so a killed or
  crashed container is seen and handled within a fraction of a second; the controller's periodic resync
  (`service_tick_seconds`, 30 s) is only the level-triggered safety net.

The stream survives the engine going away: the runtime raises RuntimeUnavailable, the watcher reconnects
with backoff (0.5 s doubling to 10 s), subscribes again from the last event's time and asks for a full
resync, since events may have been lost meanwhile.

`ObservingServiceReconciler` is the service controller plus what only it can see: before each reconcile
it copies new container output into the store (so lines reach the data dir before a DROP or SUSPEND
deletes the pods), and after it records SERVICE.STATUS_CHANGE / SERVICE_INSTANCE.STATUS_CHANGE events for
the changes in observed state the reconcile made.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Hashable
from datetime import UTC, datetime
from typing import Any

from snowport.commands.services import RECONCILER, target_instances
from snowport.compute.service_logs import ServiceLogStore
from snowport.compute.services import INSTANCE_LABEL, SERVICE_LABEL, ServiceReconciler
from snowport.runtime import EngineError, EventKind, Message, RuntimeEvent

log = logging.getLogger("snowport.compute.engine_events")

CONTAINER_EVENT = "CONTAINER.STATUS_CHANGE"
INSTANCE_EVENT = "SERVICE_INSTANCE.STATUS_CHANGE"
SERVICE_EVENT = "SERVICE.STATUS_CHANGE"

SERVICE_MESSAGES = {
    "PENDING": ("INFO", "Service is pending"), "RUNNING": ("INFO", "Service is ready"),
    "SUSPENDING": ("INFO", "Service is suspending"), "SUSPENDED": ("INFO", "Service has suspended"),
    "RESUMING": ("INFO", "Service is resuming"), "DELETING": ("INFO", "Service is deleting"),
    "DELETED": ("INFO", "Service has been deleted"), "FAILED": ("ERROR", "Service has failed"),
    "INTERNAL_ERROR": ("ERROR", "Service has encountered an error"),
}
JOB_MESSAGES = {  # SERVICE.STATUS_CHANGE of a job (spcs-reference 3.14)
    "PENDING": ("INFO", "Job is pending"), "RUNNING": ("INFO", "Job is running"),
    "DONE": ("INFO", "Job has completed"), "FAILED": ("ERROR", "Job has failed"),
    "CANCELLING": ("INFO", "Job is cancelling"), "CANCELLED": ("INFO", "Job has been cancelled"),
    "DELETING": ("INFO", "Job is deleting"), "DELETED": ("INFO", "Job has been deleted"),
}
INSTANCE_MESSAGES = {
    "PENDING": ("INFO", "Service instance is pending"), "READY": ("INFO", "Service instance is running"),
    "TERMINATING": ("INFO", "Service instance is terminating"), "FAILED": ("ERROR", "Service instance failed"),
    "SUCCEEDED": ("INFO", "Job instance has completed"),
}
COPY_EVERY = 60.0  # seconds between log copies of a steady service (see _copy_due)
PURGE_EVERY = 3600.0  # seconds between sweeps for dropped services' logs past their retention


def _now() -> datetime:
    return datetime.now(UTC)


class ObservingServiceReconciler(ServiceReconciler):
    """The service controller, plus log copying before it acts and status events after."""

    def __init__(self, core: Any, interval: float, store: ServiceLogStore) -> None:
        super().__init__(core, interval)
        self.store = store
        self._last_purge = 0.0
        self._copied: dict[int, float] = {}  # service -> when its logs were last copied (monotonic)

    def keys(self) -> list[Hashable]:
        if time.monotonic() - self._last_purge > PURGE_EVERY:
            self._last_purge = time.monotonic()
            self.store.purge()
        return super().keys()

    def reconcile(self, key: Hashable) -> None:
        service_id = int(key)  # type: ignore[arg-type]
        service = self.core.catalog.by_id(service_id)
        if service is not None and service.kind != "SERVICE":
            service = None
        before = self._seen(service)
        if service is not None:
            self.store.remember(service)
        listed: list | None = None
        try:
            pods = listed = self.core.runtime.list_pods({SERVICE_LABEL: str(service_id)})
            if self._copy_due(service_id, service, pods):
                self.store.collect(self.core.runtime, service_id, pods)
        except EngineError:
            pods = []  # the controller below reports the engine being down
        meta = self.store.meta(service_id)
        if service is None and meta is not None and not meta.get("dropped_on") and pods:
            self._service_event(service_id, "DELETING")
        try:
            super().reconcile(key, listed)
        finally:
            if service is None:
                self.core.job_history.deleted(service_id)  # a dropped job (no record: not a job)
                if meta is not None and not meta.get("dropped_on"):
                    self._service_event(service_id, "DELETED")
                    self.store.mark_dropped(service_id)
            else:
                self._record_changes(service_id, before, self._seen(service))

    def _copy_due(self, service_id: int, service: Any, pods: list) -> bool:
        """Copy logs before anything may remove a container (a drop, a suspend, an upgrade, a container
        that stopped or restarted), else at most every COPY_EVERY seconds: a steady service's resyncs
        would otherwise read every container's log each time, the largest part of an idle server's CPU.
        (Queries copy first anyway; Docker keeps 30 MB per container meanwhile.)"""
        now = time.monotonic()
        if service is not None and service.props.get("is_job"):
            # a job's containers end and are removed: copied each time until they are gone
            return not self.core.observed.value(service_id, "cleaned")
        steady = (service is not None and not service.props.get("suspended")
                  and not self.core.observed.value(service_id, "upgrading", False)
                  and all(c.state == "READY" for p in pods for c in p.containers)
                  and all(int(p.labels.get(INSTANCE_LABEL, "0")) < target_instances(self.core.observed, service)
                          for p in pods))  # no instance about to be scaled in
        if steady and now - self._copied.get(service_id, 0.0) < COPY_EVERY:
            return False
        self._copied[service_id] = now
        return True

    def _seen(self, service: Any) -> tuple[str | None, dict[str, str]]:
        if service is None:
            return None, {}
        containers = self.core.observed.value(service.id, "containers", []) or []
        return (self.core.observed.value(service.id, "status"),
                {str(c.get("instanceId")): str(c.get("instanceStatus")) for c in containers})

    def _record_changes(self, service_id: int, before: tuple[str | None, dict[str, str]],
                        after: tuple[str | None, dict[str, str]]) -> None:
        for instance, state in sorted(after[1].items()):
            if before[1].get(instance) != state and state in INSTANCE_MESSAGES:
                severity, message = INSTANCE_MESSAGES[state]
                self.store.record_event(service_id, _now(), INSTANCE_EVENT, severity,
                                        {"message": message, "status": state}, instance=int(instance))
        if after[0] != before[0] and after[0] is not None:
            self._service_event(service_id, after[0])

    def _service_event(self, service_id: int, status: str) -> None:
        service = self.core.catalog.by_id(service_id)
        was_job = self.core.job_history.get(service_id) is not None if service is None else \
            bool(service.props.get("is_job"))
        messages = JOB_MESSAGES if was_job else SERVICE_MESSAGES
        severity, message = messages.get(status, ("INFO", f"Service is {status.lower()}"))
        self.store.record_event(service_id, _now(), SERVICE_EVENT, severity, {"message": message, "status": status})


class EngineEventWatcher:
    """One thread: the engine's events become platform events and prompt reconciles (see module doc)."""

    def __init__(self, core: Any, store: ServiceLogStore, reconciler: str = RECONCILER,
                 max_backoff: float = 10.0) -> None:
        self.core = core
        self.store = store
        self.reconciler = reconciler
        self.max_backoff = max_backoff
        self._stop = threading.Event()
        self._stream: Any = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="snowport-engine-events")
        self.connects = 0  # subscriptions made (1 + reconnects), for tests and status

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        stream = self._stream
        if stream is not None:
            stream.close()  # ends the blocking read
        self._thread.join(timeout)

    def _run(self) -> None:
        since: datetime | None = None
        last: tuple | None = None
        backoff = 0.5
        while not self._stop.is_set():
            try:
                stream = self.core.runtime.events(since=since)
            except EngineError as e:
                log.info("engine events unavailable (%s); retrying in %.1f s", e, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                continue
            self._stream = stream
            self.connects += 1
            backoff = 0.5
            if self.connects > 1:  # events may have been lost while we were away: look at everything again
                self._resync()
            try:
                for event in stream:
                    if self._stop.is_set():
                        break
                    mark = (event.time, event.kind, event.pod_id, event.container)
                    if since is not None and (event.time < since or mark == last):
                        continue  # replayed by the resubscription from `since`
                    since, last = event.time, mark
                    try:
                        self.handle(event)
                    except Exception:  # noqa: BLE001 - one bad event must not end the watcher
                        log.exception("engine event %s not handled", event)
            except EngineError as e:
                log.info("engine event stream ended: %s", e)
            finally:
                stream.close()
                self._stream = None
            if not self._stop.is_set():
                self._stop.wait(backoff)

    def _resync(self) -> None:
        controllers = getattr(self.core, "controllers", None)
        if controllers is not None:
            controllers.resync(self.reconciler)

    def handle(self, event: RuntimeEvent) -> None:
        sid = event.labels.get(SERVICE_LABEL, "")
        if not sid.isdigit():
            return
        service_id = int(sid)
        controllers = getattr(self.core, "controllers", None)
        if controllers is not None and event.kind != EventKind.CREATED:
            controllers.notify(self.reconciler, service_id)
        instance = int(event.labels.get(INSTANCE_LABEL, "0") or 0)
        service = self.core.catalog.by_id(service_id)
        if service is not None and service.kind == "SERVICE":
            self.store.remember(service)
        recorded = self._container_event(event) if event.container else self._sandbox_event(event)
        if recorded is not None:
            severity, value = recorded
            self.store.record_event(service_id, event.time, CONTAINER_EVENT if event.container else INSTANCE_EVENT,
                                    severity, value, instance=instance, container=event.container)

    def _container_event(self, event: RuntimeEvent) -> tuple[str, dict[str, Any]] | None:
        if event.kind == EventKind.CREATED:
            return "INFO", {"message": Message.WAITING, "status": "PENDING"}
        if event.kind == EventKind.STARTED or (event.kind == EventKind.HEALTH and event.health == "healthy"):
            state, message = self._current(event)
            return "INFO", {"message": message, "status": state}
        if event.kind == EventKind.HEALTH and event.health == "unhealthy":
            state, message = self._current(event)
            return "INFO", {"message": message, "status": state}
        if event.kind == EventKind.DIED:
            if event.exit_code == 0 and not event.oom_killed:
                return "INFO", {"message": Message.DONE, "status": "DONE", "exitCode": 0}
            return "ERROR", {"message": Message.OOM if event.oom_killed else Message.APP_ERROR, "status": "FAILED",
                             "exitCode": event.exit_code}
        if event.kind == EventKind.PULL_FAILED:
            return "ERROR", {"message": event.message or Message.PULL_FAILED, "status": "PENDING"}
        return None

    def _current(self, event: RuntimeEvent) -> tuple[str, str]:
        """The container's state as the runtime tells it now (a started container with a readiness probe is
        still PENDING until the probe passes)."""
        try:
            c = self.core.runtime.pod_status(event.pod_id).container(event.container)
            return str(c.state), c.message
        except (EngineError, KeyError):
            return "READY", Message.RUNNING

    @staticmethod
    def _sandbox_event(event: RuntimeEvent) -> tuple[str, dict[str, Any]] | None:
        if event.kind == EventKind.CREATED:
            return "INFO", {"message": INSTANCE_MESSAGES["PENDING"][1], "status": "PENDING"}
        if event.kind == EventKind.DIED:
            return "INFO", {"message": INSTANCE_MESSAGES["TERMINATING"][1], "status": "TERMINATING"}
        return None
