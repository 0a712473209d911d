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
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from snowport.commands.compute_pools import SUSPENDED as POOL_SUSPENDED
from snowport.commands.services import RECONCILER
from snowport.runtime import (
    ContainerSpec,
    PodSpec,
    ReadinessProbe,
    RegistryAuth,
    Resources,
    RestartPolicy,
    RuntimeUnavailable,
    Volume,
    VolumeKind,
    VolumeMount,
)
from snowport.spec import parse_spec

log = logging.getLogger("snowport.compute.services")
SERVICE_LABEL = "snowport.service"
INSTANCE_LABEL = "snowport.instance"
TOKEN_TTL = 3600  # seconds an instance's session token lives; rewritten at half-life


def pod_id(service_id: int, instance: int) -> str:
    return f"svc-{service_id}-{instance}"


class ServiceReconciler:
    name = RECONCILER
    max_backoff = 8.0  # a failed start or restart is retried within seconds: a user is waiting on it

    def __init__(self, core: Any, interval: float) -> None:
        self.core = core
        self.interval = interval

    def keys(self) -> list[Hashable]:
        ids = {s.id for s in self.core.catalog.list("SERVICE")}
        try:
            ids |= {int(p.labels[SERVICE_LABEL]) for p in self.core.runtime.list_pods()
                    if p.labels.get(SERVICE_LABEL, "").isdigit()}
        except RuntimeUnavailable:
            pass  # the engine is down: keep reporting catalog services (their status says so)
        return sorted(ids)

    def _wanted(self, service: Any) -> int:
        if service is None or service.props.get("suspended"):
            return 0
        pool = self.core.catalog.get("COMPUTE POOL", service.props["compute_pool"])
        if pool is None or self.core.observed.value(pool.id, "state") == POOL_SUSPENDED:
            return 0
        return int(service.props.get("min_instances", 1))

    def reconcile(self, key: Hashable) -> None:
        service_id = int(key)  # type: ignore[arg-type]
        service = self.core.catalog.by_id(service_id)
        if service is not None and service.kind != "SERVICE":
            service = None
        runtime = self.core.runtime
        try:
            pods = {p.pod_id: p for p in runtime.list_pods({SERVICE_LABEL: str(service_id)})}
        except RuntimeUnavailable:
            if service is not None:
                self.core.observed.set(service.id, status="PENDING", engine_error="The container engine is not "
                                       "reachable; instances start once it is back.")
            raise
        wanted = self._wanted(service)
        specs = self._specs(service, wanted) if service is not None else {}
        for pid, pod in pods.items():
            instance = int(pod.labels.get(INSTANCE_LABEL, "-1"))
            if instance not in specs or pod.spec_digest != specs[instance].digest():
                runtime.delete_pod(pid)
        if service is None:
            return
        try:
            runtime.ensure_network(runtime.scope)
            self._refresh_token(service)
            for spec in specs.values():
                current = pods.get(spec.pod_id)
                if current is None or current.spec_digest != spec.digest():
                    with self._pull_auth(service) as auth:
                        runtime.create_pod(spec, auth)
                    continue
                for container in current.containers:
                    if container.needs_restart:  # killed behind our back: Docker does not restart it
                        with self._pull_auth(service) as auth:
                            runtime.restart_container(spec, container.name, auth)
        except Exception as exc:
            # what failed is part of what the user sees, and the retry (with backoff) comes from the runner
            self._observe(service, wanted, error=f"{type(exc).__name__}: {exc}")
            raise
        self._observe(service, wanted)

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
        spec = parse_spec(service.props["spec_text"], service.props.get("using"))
        return {instance: self._pod(service, spec, instance) for instance in range(wanted)}

    def _pod(self, service: Any, spec: Any, instance: int) -> PodSpec:
        settings = self.core.settings
        host = self.core.container_host or settings.host
        base_env = {
            "SNOWFLAKE_ACCOUNT": self.core.account_name, "SNOWFLAKE_HOST": host,
            "SNOWFLAKE_PORT": str(settings.port), "SNOWFLAKE_DATABASE": service.database,
            "SNOWFLAKE_SCHEMA": service.schema, "SNOWFLAKE_SERVICE_NAME": service.name,
            "SNOWFLAKE_SERVICE_INSTANCE_ID": str(instance),
        }
        if service.props.get("query_warehouse"):
            base_env["SNOWFLAKE_WAREHOUSE"] = service.props["query_warehouse"]
        registry = f"127.0.0.1:{settings.port}"
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
            containers.append(ContainerSpec(
                name=c.name, image=image, command=tuple(c.command) if c.command else None,
                args=tuple(c.args) if c.args else None, env=c.environment(base_env), resources=resources,
                readiness=ReadinessProbe(port=probe.port, path=probe.path or "/") if probe else None,
                mounts=mounts))
        session = Volume("snowflake-session", VolumeKind.HOST, host_path=str(self._token_dir(service)))
        return PodSpec(pod_id=pod_id(service.id, instance), containers=tuple(containers),
                       labels={SERVICE_LABEL: str(service.id), INSTANCE_LABEL: str(instance)},
                       volumes=(session,), restart_policy=RestartPolicy.ALWAYS, network=self.core.runtime.scope,
                       grace_seconds=10.0)

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
    def _observe(self, service: Any, wanted: int, error: str | None = None) -> None:
        """Write what the runtime holds now. `error` is why the last attempt to act failed: it replaces the
        message of every container that is not READY, so SHOW SERVICE CONTAINERS says what is wrong."""
        found = []
        ready_instances = 0
        failed = False
        for instance in range(wanted):
            try:
                pod = self.core.runtime.pod_status(pod_id(service.id, instance))
            except Exception:  # noqa: BLE001 - a pod being created or removed right now
                continue
            instance_ready = all(c.state == "READY" for c in pod.containers) and bool(pod.containers)
            ready_instances += instance_ready
            for c in pod.containers:
                failed = failed or c.state == "FAILED"
                pinned = service.props["images"].get(c.name, {})
                found.append({
                    "instanceId": str(instance), "instanceStatus": str(pod.state), "containerName": c.name,
                    "status": str(c.state), "podId": pod.pod_id,
                    "message": c.message if error is None or c.state == "READY" else f"{c.message} ({error})",
                    "image": f"{self.core.settings.host}:{self.core.settings.port}/{pinned.get('name', '')}:"
                             f"{pinned.get('tag', 'latest')}",
                    "imageDigest": pinned.get("digest") or c.image_digest,
                    "restartCount": c.restart_count, "lastExitCode": c.last_exit_code,
                    "startTime": c.started_at.strftime("%Y-%m-%dT%H:%M:%SZ") if c.started_at else None,
                })
        min_ready = int(service.props.get("min_ready_instances", 1))
        state = "SUSPENDED" if service.props.get("suspended") else "RUNNING" if wanted and \
            ready_instances >= min_ready else "FAILED" if failed else "PENDING"
        self.core.observed.set(service.id, status=state, containers=found, engine_error=None)
