"""Job services in the service controller: run each replica once, compute the job's status, clean up.

A job (EXECUTE JOB SERVICE, commands/jobs.py) is a SERVICE catalog object with `is_job`; its desired state
is its spec, REPLICAS and whether a cancel was asked for. Unlike a service it is not kept running:

* each instance 0..REPLICAS-1 gets one pod, created once (`started` in observed state), whose containers
  are never restarted (RestartPolicy NEVER) and see SNOWFLAKE_JOBS_COUNT / SNOWFLAKE_JOB_INDEX;
* the job's status follows spcs-reference 4.3 (`job_state`): FAILED as soon as an instance failed, DONE once
  every instance succeeded, RUNNING while one runs, else PENDING; a cancel stops the pods (CANCELLING, as
  commands/services.job_status shows it) and ends CANCELLED;
* once the job has ended (`finished_on`) what was observed is frozen: SHOW SERVICE CONTAINERS / INSTANCES,
  DESCRIBE and GET_JOB_HISTORY keep showing it after the containers are gone. The pods are deleted
  `job_cleanup_seconds` later (their logs were copied to the data dir first, see compute/engine_events.py)
  and the job itself is removed from the catalog `job_retention_seconds` after it ended (30 days);
* every change of status is written to the job history (catalog/job_history.py).
"""

from __future__ import annotations

import time
from typing import Any

from snowport.commands.jobs import MESSAGES, instance_statuses, job_state
from snowport.commands.services import JOB_TERMINAL, RECONCILER
from snowport.runtime import PodStatus

JOBS_COUNT = "SNOWFLAKE_JOBS_COUNT"
JOB_INDEX = "SNOWFLAKE_JOB_INDEX"
CANCELLED_MESSAGE = "Job was cancelled"


def is_job(service: Any) -> bool:
    return service is not None and bool(service.props.get("is_job"))


def job_env(service: Any, instance: int) -> dict[str, str]:
    """The variables every container of a job replica sees (spcs-reference 4.2)."""
    return {JOBS_COUNT: str(int(service.props.get("replicas", 1))), JOB_INDEX: str(instance)}


class JobReconciling:
    """The job part of the service controller, mixed into ServiceReconciler (compute/services.py), whose
    pod building, placement, token and observation it uses."""

    core: Any
    _specs: Any
    _wanted: Any
    _placement: Any
    _refresh_token: Any
    _pull_auth: Any
    _observe: Any
    _again_soon: Any
    _wake_waiting_neighbours: Any

    @property
    def _settings(self) -> Any:
        return self.core.settings

    def _reconcile_job(self, job: Any, pods: dict[str, PodStatus]) -> None:
        observed = self.core.observed
        finished_on = observed.value(job.id, "finished_on")
        if finished_on is None and job.props.get("cancel_requested"):
            self._cancel_job(job, pods)
        elif finished_on is None:
            self._run_job(job, pods)
        else:
            self._after_job_end(job, pods, float(finished_on))

    # ---- running ------------------------------------------------------------------------------
    def _run_job(self, job: Any, pods: dict[str, PodStatus]) -> None:
        before = self.core.observed.value(job.id, "status")
        replicas = int(job.props.get("replicas", 1))
        specs = self._specs(job, replicas)
        started = set(self.core.observed.value(job.id, "started", []))
        runnable = self._wanted(job) > 0  # 0 while its pool is suspended
        placement = self._placement(job) if runnable else None
        unschedulable = {i for i in specs if i not in started and placement is not None
                         and not placement.fits(job.id, i)}
        created = False
        if runnable:
            todo = [i for i in sorted(specs) if i not in started and i not in unschedulable
                    and specs[i].pod_id not in pods]
            # a started replica's container that was never created (its image could not be pulled yet)
            incomplete = [i for i in sorted(started & set(specs)) if specs[i].pod_id in pods
                          and any(c.container_id is None for c in pods[specs[i].pod_id].containers)]
            try:
                if todo or incomplete:
                    runtime = self.core.runtime
                    self._ensure_network()  # type: ignore[attr-defined]
                    self._refresh_token(job)
                for instance in todo + incomplete:
                    with self._pull_auth(job) as auth:
                        runtime.create_pod(specs[instance], auth)
                    started.add(instance)
                    created = True
                    # recorded at once: a replica runs once, even if this reconcile fails after it
                    self.core.observed.set(job.id, started=sorted(started))
            except Exception as exc:
                # what failed is part of what the user sees; the retry (with backoff) comes from the runner
                self._observe(job, specs, error=f"{type(exc).__name__}: {exc}", unschedulable=unschedulable)
                raise
        self._observe(job, specs, unschedulable=unschedulable, pods=None if created else list(pods.values()))
        self._lost_replicas(job, started, pods if not created else None)
        state = self.core.observed.value(job.id, "status", "PENDING")
        if state in JOB_TERMINAL:
            self._job_ended(job, state)
        elif state != before:
            self._record_job(job, state)
        elif created:  # followed closely while its containers start (the engine's events do the rest)
            self._again_soon(job.id, 1.0)

    def _lost_replicas(self, job: Any, started: set[int], pods: dict[str, PodStatus] | None) -> None:
        """An instance whose pod was started and is gone (removed behind Snowport's back) has failed:
        a replica is never run twice."""
        if pods is None:
            return
        running = {int(p.labels.get("snowport.instance", "-1")) for p in pods.values()}
        gone = started - running
        if not gone:
            return
        instances = [dict(i, status="FAILED") if int(i["instanceId"]) in gone else i
                     for i in self.core.observed.value(job.id, "instances", [])]
        seen = self.core.observed.value(job.id, "containers", [])
        containers = [dict(c, status="FAILED", instanceStatus="FAILED", message="Encountered fatal error")
                      if int(c["instanceId"]) in gone else c for c in seen]
        self.core.observed.set(job.id, instances=instances, containers=containers, status=job_state(instances))

    def _job_ended(self, job: Any, state: str) -> None:
        now = time.time()
        self.core.observed.set(job.id, finished_on=now)
        self._record_job(job, state, completed=now)
        self._again_soon(job.id, max(0.1, float(self._settings.job_cleanup_seconds)))

    # ---- cancelling ---------------------------------------------------------------------------
    def _cancel_job(self, job: Any, pods: dict[str, PodStatus]) -> None:
        """Stop every replica (SIGTERM, then SIGKILL after the grace period): CANCELLING until they are
        gone, then CANCELLED, with what the containers last showed kept."""
        self._record_job(job, "CANCELLING")
        for pod_id in list(pods):
            self.core.runtime.delete_pod(pod_id)
        containers = [c if c.get("status") in ("DONE", "FAILED") else
                      dict(c, status="FAILED", instanceStatus="FAILED", message=CANCELLED_MESSAGE)
                      for c in self.core.observed.value(job.id, "containers", [])]
        instances = [i if i.get("status") in ("SUCCEEDED", "FAILED") else dict(i, status="FAILED")
                     for i in self.core.observed.value(job.id, "instances", [])]
        now = time.time()
        self.core.observed.set(job.id, status="CANCELLED", containers=containers, instances=instances,
                               finished_on=now, cleaned=True)
        self._record_job(job, "CANCELLED", completed=now)

    # ---- after the end ------------------------------------------------------------------------
    def _after_job_end(self, job: Any, pods: dict[str, PodStatus], finished_on: float) -> None:
        now = time.time()
        cleanup_at = finished_on + float(self._settings.job_cleanup_seconds)
        if pods and not self.core.observed.value(job.id, "cleaned"):
            # replicas still stopping after another failed: followed until the pods go, status kept
            specs = self._specs(job, int(job.props.get("replicas", 1)))
            frozen = self.core.observed.value(job.id, "status")
            self._observe(job, specs, pods=list(pods.values()))
            self.core.observed.set(job.id, status=frozen)
        if pods and now >= cleanup_at:
            for pod_id in list(pods):
                self.core.runtime.delete_pod(pod_id)
            self.core.observed.set(job.id, cleaned=True)
            self._wake_waiting_neighbours(job.id)
        elif pods:
            self._again_soon(job.id, cleanup_at - now)
        if now >= finished_on + float(self._settings.job_retention_seconds):
            self._forget_job(job)

    def _forget_job(self, job: Any) -> None:
        """The job's metadata has been kept its time: it leaves the catalog (its history stays)."""
        catalog = self.core.catalog
        with catalog.transaction():
            current = catalog.by_id(job.id)
            if current is not None:
                catalog.drop(current)
        self.core.observed.forget(job.id)
        self.core.job_history.deleted(job.id)
        if self.core.controllers is not None:
            self.core.controllers.notify(RECONCILER, job.id)

    def _record_job(self, job: Any, state: str, **more: Any) -> None:
        observed = self.core.observed
        self.core.job_history.update(
            job.id, status=state, message=MESSAGES.get(state, state),
            instance_statuses=instance_statuses(observed.value(job.id, "containers", []),
                                                observed.value(job.id, "instances", [])), **more)
