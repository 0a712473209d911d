"""The service controller: runs each service's instances as pods on the runtime and reports what it sees.

Level-triggered: for every service (and every pod the runtime holds with a service label) it computes
how many instances should run (MIN_INSTANCES, or none while the service or its pool is suspended, or
once the service is dropped), creates the missing pods, deletes the extra ones, restarts containers
that were killed behind its back, and writes per-container status as observed state. Pods carry labels,
so a restarted Snowport adopts the running containers instead of creating them again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Hashable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from snowport.catalog.job_history import ended_job
from snowport.commands import block_volumes, service_network
from snowport.commands.compute_pools import SUSPENDED as POOL_SUSPENDED
from snowport.commands.jobs import job_state
from snowport.commands.services import RECONCILER, target_instances
from snowport.compute import network, pod_secrets
from snowport.compute.jobs import JobReconciling, is_job, job_env
from snowport.compute.placement import UNSCHEDULABLE, Placement, place
from snowport.compute.rollout import PodView, plan, revision
from snowport.runtime import (
    ContainerSpec,
    EngineError,
    PodSpec,
    PodState,
    PodStatus,
    ReadinessProbe,
    Reason,
    RegistryAuth,
    Resources,
    RestartPolicy,
    RuntimeUnavailable,
    Volume,
    VolumeKind,
    VolumeMount,
)
from snowport.security.tls import CONTAINER_BUNDLE, CONTAINER_DIR
from snowport.spec import parse_stored_spec
from snowport.spec.quantities import parse_size

log = logging.getLogger("snowport.compute.services")
SERVICE_LABEL = "snowport.service"
INSTANCE_LABEL = "snowport.instance"
SPEC_DIGEST_LABEL = "snowport.service-spec"  # the service's spec_digest an instance runs (SHOW SERVICE INSTANCES)
TOKEN_TTL = 3600  # seconds an instance's session token lives; rewritten at half-life


def pod_id(service_id: int, instance: int, spec_revision: str) -> str:
    """`svc-<id>-<instance>-<revision>`: an upgraded instance's new pod can start beside the old one."""
    return f"svc-{service_id}-{instance}-{spec_revision}"


def _has_block(pod: PodSpec) -> bool:
    """A pod with block volumes is replaced in place: a volume is attached to one instance's pod at a time."""
    return any(v.kind == VolumeKind.BLOCK for v in pod.volumes)


def _just_started(start_time: str | None, within: float = 30.0) -> bool:
    """Started less than `within` seconds ago: its readiness is followed closely for that long only."""
    if not start_time:
        return False
    started = datetime.strptime(start_time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    return time.time() - started < within


def _rfc3339(when: Any) -> str | None:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ") if when else None


class ServiceReconciler(JobReconciling):
    name = RECONCILER
    max_backoff = 8.0  # a failed start or restart is retried within seconds: a user is waiting on it

    def __init__(self, core: Any, interval: float) -> None:
        self.core = core
        self.interval = interval

    def keys(self) -> list[Hashable]:
        ids = {s.id for s in self.core.catalog.list("SERVICE")}
        try:
            ids |= {int(labels[SERVICE_LABEL]) for labels in self.core.runtime.pod_labels().values()
                    if labels.get(SERVICE_LABEL, "").isdigit()}
            # block volumes outlive pods: a dropped service's are deleted even after a restart
            ids |= {int(labels[block_volumes.SERVICE_LABEL])
                    for labels in self.core.runtime.list_block_volumes().values()
                    if labels.get(block_volumes.SERVICE_LABEL, "").isdigit()}
        except RuntimeUnavailable:
            pass  # the engine is down: keep reporting catalog services (their status says so)
        return sorted(ids)

    def _wanted(self, service: Any) -> int:
        if service is None or service.props.get("suspended"):
            return 0
        if ended_job(self.core.observed, service):
            return 0  # an ended job holds no room on its pool
        pool = self.core.catalog.get("COMPUTE POOL", service.props["compute_pool"])
        if pool is None or self.core.observed.value(pool.id, "state") == POOL_SUSPENDED:
            return 0
        return target_instances(self.core.observed, service)

    def reconcile(self, key: Hashable, listed: list[PodStatus] | None = None) -> None:
        """`listed`: the service's pods as the caller just listed them (saves listing them again)."""
        service_id = int(key)  # type: ignore[arg-type]
        service = self.core.catalog.by_id(service_id)
        if service is not None and service.kind != "SERVICE":
            service = None
        runtime = self.core.runtime
        try:
            if listed is None:
                listed = runtime.list_pods({SERVICE_LABEL: str(service_id)})
            pods = {p.pod_id: p for p in listed}
        except RuntimeUnavailable:
            if service is not None:
                self.core.observed.set(service.id, status="PENDING", engine_error="The container engine is not "
                                       "reachable; instances start once it is back.")
            raise
        if is_job(service):
            self._reconcile_job(service, pods)
            return
        wanted = self._wanted(service)
        specs = self._specs(service, wanted) if service is not None else {}
        views = []
        for pid, pod in pods.items():
            instance = int(pod.labels.get(INSTANCE_LABEL, "-1"))
            desired = specs.get(instance)
            fresh = desired is not None and pid == desired.pod_id and pod.spec_digest == desired.digest()
            views.append(PodView(pid, instance, fresh, ready=pod.state == PodState.READY))
        in_place = frozenset(i for i, spec in specs.items() if spec.pod_id in pods or _has_block(spec))
        min_ready = int(service.props.get("min_ready_instances", 1)) if service is not None else 0
        todo = plan(views, sorted(specs), min_ready, in_place)
        if len(todo.delete) > 1:  # each may wait out its grace period: together, not one after another
            with ThreadPoolExecutor(max_workers=min(8, len(todo.delete))) as pool:
                list(pool.map(runtime.delete_pod, todo.delete))
        elif todo.delete:
            runtime.delete_pod(todo.delete[0])
        if todo.delete:
            self._wake_waiting_neighbours(service_id)
        self._collect_block_volumes(service_id, service, specs, [p for p in pods.values()
                                                                 if p.pod_id not in todo.delete])
        if service is None:
            pod_secrets.forget(self.core.settings.data_dir, service_id)
            return
        placement = self._placement(service)
        unschedulable = {i for i in todo.create if placement is not None and not placement.fits(service.id, i)
                         and not any(v.instance == i for v in views)}
        restarted = False
        try:
            if todo.create:
                self._ensure_network()
            self._refresh_token(service)
            for instance in todo.create:
                if instance in unschedulable:
                    continue  # waits for room on the pool: PENDING, Unschedulable due to insufficient resources
                self._provision(service, specs[instance])
                with self._pull_auth(service) as auth:
                    runtime.create_pod(specs[instance], auth)
            for spec in specs.values():
                current = pods.get(spec.pod_id)
                if current is None or spec.pod_id in todo.delete or current.spec_digest != spec.digest():
                    continue
                if any(c.reason == Reason.MISSING for c in current.containers):
                    restarted = True
                    self._provision(service, spec)
                    with self._pull_auth(service) as auth:  # removed behind our back: the pod is completed
                        runtime.create_pod(spec, auth)
                    continue
                for container in current.containers:
                    if container.needs_restart:  # killed behind our back: Docker does not restart it
                        restarted = True
                        with self._pull_auth(service) as auth:
                            runtime.restart_container(spec, container.name, auth)
        except Exception as exc:
            # what failed is part of what the user sees, and the retry (with backoff) comes from the runner
            self._observe(service, specs, error=f"{type(exc).__name__}: {exc}", unschedulable=unschedulable)
            raise
        acted = bool(todo.delete or set(todo.create) - unschedulable or restarted)
        self._observe(service, specs, unschedulable=unschedulable, pods=None if acted else listed)
        starting = any(c.get("status") == "PENDING" and c.get("podId") and _just_started(c.get("startTime"))
                       for c in self.core.observed.value(service_id, "containers", []))
        if todo.upgrading or todo.create or starting:
            self._again_soon(service_id, 0.5 if starting else 1.0)

    def _ensure_network(self) -> None:
        """The server's network, with the pods' network policies current (a new service's included) before
        pods are created on it: their first connection already meets their rules (compute/network.py)."""
        runtime = self.core.runtime
        runtime.ensure_network(runtime.scope)
        try:
            network.apply(self.core)
        except EngineError as e:  # e.g. no iptables: pods still run, unisolated; said loudly
            log.warning("network policies not applied: %s", e)

    # ---- block volumes: one claim per (volume, instance), kept across pods (commands/block_volumes.py) ----
    def _provision(self, service: Any, pod: PodSpec) -> None:
        """Make the pod's block volumes that do not exist yet (empty, or from their snapshot)."""
        if not _has_block(pod):
            return
        spec = parse_stored_spec(service.props["spec_text"], service.props.get("using"))
        for wanted in block_volumes.claims(service, spec, int(pod.labels[INSTANCE_LABEL])):
            self.core.runtime.ensure_block_volume(wanted.name, wanted.size_bytes, wanted.labels, wanted.from_snapshot)

    def _collect_block_volumes(self, service_id: int, service: Any, specs: dict[int, PodSpec],
                               remaining: list[PodStatus]) -> None:
        """Delete the block volumes no instance will mount again: all of a dropped service's once its pods
        are gone (DROP SERVICE ... FORCE), and a restored instance's previous volume once its old pod is."""
        have = self.core.runtime.list_block_volumes({block_volumes.SERVICE_LABEL: str(service_id)})
        if not have:
            return
        if service is None:
            if not remaining:
                for claim in have:
                    self.core.runtime.delete_block_volume(claim)
            return
        spec = parse_stored_spec(service.props["spec_text"], service.props.get("using"))
        instances = range(int(service.props.get("max_instances", 1)))
        current = {block_volumes.claim(service, v, i).name
                   for v in block_volumes.block_volumes(spec) for i in instances}
        busy = {p.labels.get(INSTANCE_LABEL) for p in remaining
                if specs.get(int(p.labels.get(INSTANCE_LABEL, "-1"))) is None
                or p.spec_digest != specs[int(p.labels[INSTANCE_LABEL])].digest()}
        for claim, labels in have.items():
            if claim not in current and labels.get(block_volumes.INSTANCE_LABEL) not in busy:
                self.core.runtime.delete_block_volume(claim)

    def _placement(self, service: Any) -> Placement | None:
        pool = self.core.catalog.get("COMPUTE POOL", service.props["compute_pool"])
        if pool is None:
            return None
        return place(pool, self._on_pool(pool.name), self._wanted)

    def _on_pool(self, pool_name: str) -> list[Any]:
        return [s for s in self.core.catalog.list("SERVICE") if s.props.get("compute_pool") == pool_name]

    def _wake_waiting_neighbours(self, service_id: int) -> None:
        """Room freed on a pool: the services waiting there for room try again now, not at the next resync."""
        controllers = self.core.controllers
        service = self.core.catalog.by_id(service_id)
        pool_name = service.props.get("compute_pool") if service is not None and service.kind == "SERVICE" else None
        if controllers is None:
            return
        for other in self.core.catalog.list("SERVICE"):
            if other.id != service_id and (pool_name is None or other.props.get("compute_pool") == pool_name):
                controllers.notify(RECONCILER, other.id)

    def _again_soon(self, service_id: int, seconds: float) -> None:
        """A rollout, or an instance starting up (its readiness probe not yet passed), is followed closely
        rather than at the next resync."""
        if self.core.controllers is not None:
            self.core.controllers.notify(RECONCILER, service_id, after=seconds)

    # ---- building pods from the spec ----------------------------------------------------------
    def _token_dir(self, service: Any) -> Path:
        """`<data dir>/services/<id>/session`, mounted read-only at /snowflake/session in every container."""
        return Path(self.core.settings.data_dir) / "services" / str(service.id) / "session"

    def _refresh_token(self, service: Any) -> None:
        """/snowflake/session/token: an OAuth token for the service's owner role, renewed before it expires."""
        path = self._token_dir(service) / "token"
        if path.exists() and time.time() - path.stat().st_mtime < TOKEN_TTL / 2:
            return
        user = service.props.get("created_by")
        if not user or self.core.catalog.get("USER", user) is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        token = self.core.oauth.issue(user, service.owner, ttl_seconds=TOKEN_TTL)
        partial = path.with_suffix(".new")
        partial.write_text(token)
        partial.chmod(0o644)
        partial.replace(path)  # atomic: a container never reads half a token

    def _specs(self, service: Any, wanted: int) -> dict[int, PodSpec]:
        """The pod of each wanted instance (the spec parsed once per reconcile)."""
        spec = parse_stored_spec(service.props["spec_text"], service.props.get("using"))
        return {instance: self._pod(service, spec, instance) for instance in range(wanted)}

    def _pod(self, service: Any, spec: Any, instance: int) -> PodSpec:
        settings = self.core.settings
        tls = self.core.container_tls  # https on 443, the clients' defaults, when `snowport up` serves it
        host = tls.host if tls else self.core.container_host or settings.host
        base_env = {
            "SNOWFLAKE_ACCOUNT": self.core.account_name, "SNOWFLAKE_HOST": host,
            "SNOWFLAKE_PORT": "443" if tls else str(settings.port), "SNOWFLAKE_DATABASE": service.database,
            "SNOWFLAKE_SCHEMA": service.schema, "SNOWFLAKE_SERVICE_NAME": service.name,
            "SNOWFLAKE_SERVICE_INSTANCE_ID": str(instance),
        }
        if service.props.get("query_warehouse"):
            base_env["SNOWFLAKE_WAREHOUSE"] = service.props["query_warehouse"]
        if is_job(service):
            base_env.update(job_env(service, instance))
        if tls:
            base_env.update(REQUESTS_CA_BUNDLE=CONTAINER_BUNDLE, SSL_CERT_FILE=CONTAINER_BUNDLE)
        registry = f"127.0.0.1:{settings.port}"
        stage_volumes = service.props.get("stage_volumes") or {}
        read_only = {name for name, v in stage_volumes.items() if v.get("read_only")}
        secrets = pod_secrets.for_pod(self.core, service, spec)  # env from CREATE, files from the secret now
        containers = []
        for c in spec.containers:
            pinned = service.props["images"].get(c.name, {})
            image = f"{registry}/{pinned['name']}@{pinned['digest']}" if pinned.get("digest") else \
                f"{registry}/{pinned.get('name', c.image)}:{pinned.get('tag', 'latest')}"
            limits = c.resources.limits if c.resources else None
            resources = Resources(cpu_millis=limits.cpu_millis if limits else None,
                                  memory_bytes=limits.memory_bytes if limits else None)
            probe = c.readiness_probe
            mounts = (VolumeMount("snowflake-session", "/snowflake/session", read_only=True),) \
                if c.mount_session_token else ()
            mounts += tuple(VolumeMount(m.name, m.mount_path, read_only=m.name in read_only)
                            for m in c.volume_mounts)
            mounts += secrets.mounts.get(c.name, ())
            if tls:
                mounts += (VolumeMount("snowflake-tls", CONTAINER_DIR, read_only=True),)
            containers.append(ContainerSpec(
                name=c.name, image=image, command=tuple(c.command) if c.command else None,
                args=tuple(c.args) if c.args else None, env={**c.environment(base_env), **secrets.env.get(c.name, {})},
                resources=resources,
                readiness=ReadinessProbe(port=probe.port, path=probe.path or "/") if probe else None,
                mounts=mounts))
        volumes = (Volume("snowflake-session", VolumeKind.HOST, host_path=str(self._token_dir(service))),
                   *(self._volume(v, stage_volumes, service, instance) for v in spec.spec.volumes))
        if tls:
            volumes += (Volume("snowflake-tls", VolumeKind.HOST, host_path=str(tls.bundle_dir)),)
        volumes += secrets.volumes
        spec_revision = revision((service.props["spec_text"], service.props.get("using"), service.props["images"]))
        return PodSpec(pod_id=pod_id(service.id, instance, spec_revision), containers=tuple(containers),
                       labels={SERVICE_LABEL: str(service.id), INSTANCE_LABEL: str(instance),
                               SPEC_DIGEST_LABEL: service.props.get("spec_digest", "")},
                       volumes=volumes, network=self.core.runtime.scope,
                       aliases=service_network.pod_aliases(service), dns_search=service_network.pod_search(service),
                       grace_seconds=10.0,
                       restart_policy=RestartPolicy.NEVER if is_job(service) else RestartPolicy.ALWAYS)

    def _volume(self, v: Any, stage_volumes: dict[str, Any], service: Any, instance: int) -> Volume:
        """A spec volume as the runtime sees it: a stage volume is the stage's directory, bind-mounted
        (files PUT appear in the container and files it writes appear in LIST, with no copy between); a
        block volume is the instance's own claim, which outlives its pods."""
        if v.kind == "block":
            return Volume(v.name, VolumeKind.BLOCK, claim=block_volumes.claim(service, v, instance).name)
        if v.kind == "stage":
            where = stage_volumes[v.name]
            path = self.core.stages.mount_dir(where["key"], where["path"], v.uid, v.gid)
            return Volume(v.name, VolumeKind.HOST, host_path=str(path))
        return Volume(v.name, VolumeKind(v.kind), size_bytes=parse_size(v.size) if v.size else None)

    @contextmanager
    def _pull_auth(self, service: Any) -> Iterator[RegistryAuth | None]:
        """The service owner's own right to pull: a session of its creator with the owner role, for one pull."""
        user = service.props.get("created_by")
        if not user or self.core.catalog.get("USER", user) is None:
            yield None
            return
        session = self.core.sessions.open(user, service.owner)
        try:
            yield RegistryAuth(username="0sessiontoken", password=session.token)
        finally:
            self.core.sessions.close(session)

    # ---- observed state -----------------------------------------------------------------------
    def _observe(self, service: Any, specs: dict[int, PodSpec], error: str | None = None,
                 unschedulable: frozenset[int] | set[int] = frozenset(), pods: list[PodStatus] | None = None) -> None:
        """Write what the runtime holds now: per instance its current pod (the upgraded one once it exists),
        per container its state. `error` is why the last attempt to act failed: it replaces the message
        of every container that is not READY, so SHOW SERVICE CONTAINERS says what is wrong."""
        if pods is None:
            try:
                pods = self.core.runtime.list_pods({SERVICE_LABEL: str(service.id)})
            except RuntimeUnavailable:
                return
        shown: dict[int, Any] = {}
        upgrading = False
        for pod in pods:
            instance = int(pod.labels.get(INSTANCE_LABEL, "-1"))
            if instance not in specs:
                continue
            fresh = pod.pod_id == specs[instance].pod_id
            upgrading = upgrading or not fresh
            if instance not in shown or fresh:
                shown[instance] = pod
        found, instances = [], []
        ready_instances = 0
        failed = False
        registry = f"{self.core.settings.host}:{self.core.settings.port}"
        for instance in sorted(set(specs) - set(shown)):  # no pod (yet): waiting for room, or being created
            message = UNSCHEDULABLE if instance in unschedulable else "Waiting to start"
            instances.append({"instanceId": str(instance), "status": "PENDING", "specDigest":
                              service.props.get("spec_digest"), "creationTime": None, "startTime": None,
                              "ipAddress": None})
            for c in specs[instance].containers:
                found.append({"instanceId": str(instance), "instanceStatus": "PENDING", "containerName": c.name,
                              "status": "PENDING", "message": message, "podId": None, "image": c.image,
                              "imageDigest": None, "restartCount": 0, "lastExitCode": None, "startTime": None})
        for instance, pod in sorted(shown.items()):
            ready_instances += pod.state == PodState.READY
            started = [c.started_at for c in pod.containers if c.started_at]
            instances.append({
                "instanceId": str(instance), "status": str(pod.state), "ipAddress": pod.ip_address,
                "specDigest": pod.labels.get(SPEC_DIGEST_LABEL), "creationTime": _rfc3339(pod.created_at),
                "startTime": _rfc3339(min(started)) if started else None,
            })
            fresh = pod.pod_id == specs[instance].pod_id
            for c in pod.containers:
                failed = failed or c.state == "FAILED"
                pinned = service.props["images"].get(c.name, {}) if fresh else {}
                found.append({
                    "instanceId": str(instance), "instanceStatus": str(pod.state), "containerName": c.name,
                    "status": str(c.state), "podId": pod.pod_id,
                    "message": c.message if error is None or c.state == "READY" else f"{c.message} ({error})",
                    "image": f"{registry}/{pinned['name']}:{pinned.get('tag', 'latest')}" if pinned.get("name")
                    else c.image.split("@", 1)[0],
                    "imageDigest": pinned.get("digest") or c.image_digest,
                    "restartCount": c.restart_count, "lastExitCode": c.last_exit_code,
                    "startTime": _rfc3339(c.started_at),
                })
        min_ready = int(service.props.get("min_ready_instances", 1))
        state = job_state(instances) if is_job(service) else "SUSPENDED" if service.props.get("suspended") \
            else "RUNNING" if specs and ready_instances >= min_ready else "FAILED" if failed else "PENDING"
        self.core.observed.set(service.id, status=state, containers=found, instances=instances,
                               upgrading=upgrading, engine_error=None)
