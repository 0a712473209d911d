"""The runtime interface: pods, their status, events, logs and the errors, independent of any engine.

Nothing here talks to an engine; `runtime/docker.py` implements `Runtime` over the Docker engine and a
Kubernetes implementation can follow with the same types (a `PodSpec` maps onto a v1 Pod one to one).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

# Labels every object the runtime creates carries (containers, networks, volumes).
MANAGED_LABEL = "snowport.managed"
POD_LABEL = "snowport.pod"

_ID = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$")
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$")


# ---------------------------------------------------------------------------------------------- errors

class EngineError(Exception):
    """Anything the runtime could not do; subclasses say why."""


class RuntimeUnavailable(EngineError):
    """The engine does not answer (down, socket missing, timed out). Retry later; nothing was changed."""


class PodNotFound(EngineError):
    pass


class PodConflict(EngineError):
    """A pod with this id exists with a different spec: delete it first (upgrades replace pods)."""


class InvalidPodSpec(EngineError, ValueError):
    """The spec cannot run on this engine (bad names, a GPU the engine does not have, ...)."""


class ImagePullFailed(EngineError):
    pass


class NetworkInUse(EngineError):
    pass


class NoPreviousRun(EngineError):
    """Previous logs were asked for a container that never restarted."""


# ---------------------------------------------------------------------------------------------- spec

class RestartPolicy(StrEnum):
    ALWAYS = "Always"  # services: restart on any exit
    ON_FAILURE = "OnFailure"
    NEVER = "Never"  # jobs


class VolumeKind(StrEnum):
    LOCAL = "local"  # emptyDir: lives as long as the pod, shared by its containers
    MEMORY = "memory"  # emptyDir with medium Memory: a tmpfs of `size_bytes`, shared by the pod's containers
    HOST = "host"  # a host path (e.g. the session token file or the CA bundle Snowport writes)
    # a persistent volume claimed by name (`claim`), made with ensure_block_volume() and outliving the pod
    # (a PersistentVolumeClaim in Kubernetes); bound to one pod at a time
    BLOCK = "block"


@dataclass(frozen=True)
class Resources:
    """Limits are enforced by the engine; requests weigh CPU shares and are what placement counts."""

    cpu_millis: int | None = None  # limit, millicores
    memory_bytes: int | None = None  # limit
    cpu_request_millis: int | None = None
    memory_request_bytes: int | None = None
    gpus: int = 0


@dataclass(frozen=True)
class ReadinessProbe:
    """HTTP GET http://localhost:<port><path> from inside the pod; ready on a 2xx answer."""

    port: int
    path: str = "/"
    period_seconds: float = 5.0
    timeout_seconds: float = 2.0
    failure_threshold: int = 3
    # how often to probe until the first success (engines that cannot tell use period_seconds)
    start_interval_seconds: float = 1.0


@dataclass(frozen=True)
class VolumeMount:
    volume: str
    path: str
    read_only: bool = False


@dataclass(frozen=True)
class Volume:
    name: str
    kind: VolumeKind = VolumeKind.LOCAL
    size_bytes: int | None = None  # memory volumes
    host_path: str | None = None  # host volumes
    claim: str | None = None  # block volumes: the claim made with Runtime.ensure_block_volume()


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    image: str  # a full reference, normally pinned by digest: host/db/schema/repo/image@sha256:...
    command: tuple[str, ...] | None = None  # replaces the image's ENTRYPOINT (as Kubernetes `command`)
    args: tuple[str, ...] | None = None  # replaces the image's CMD (as Kubernetes `args`)
    env: Mapping[str, str] = field(default_factory=dict)
    resources: Resources = Resources()
    readiness: ReadinessProbe | None = None
    mounts: tuple[VolumeMount, ...] = ()
    working_dir: str | None = None
    user: str | None = None


@dataclass(frozen=True)
class PodSpec:
    """One service (or job) instance: containers sharing one network namespace and the pod's volumes."""

    pod_id: str  # DNS-label-like: lower case letters, digits, '-' and '.'
    containers: tuple[ContainerSpec, ...]
    labels: Mapping[str, str] = field(default_factory=dict)
    volumes: tuple[Volume, ...] = ()
    restart_policy: RestartPolicy = RestartPolicy.ALWAYS
    grace_seconds: float = 30.0  # SIGTERM, then SIGKILL after this many seconds
    network: str | None = None  # a network made with ensure_network(); None: the engine's default
    hostname: str | None = None
    aliases: tuple[str, ...] = ()  # DNS names of the pod on its network
    # DNS search domains of the pod's resolver: a short name is tried under each (a schema's service names)
    dns_search: tuple[str, ...] = ()

    def validate(self) -> None:
        if not _ID.match(self.pod_id):
            raise InvalidPodSpec(f"pod id {self.pod_id!r}: lower case letters, digits, '-' and '.', at most 63")
        if not self.containers:
            raise InvalidPodSpec("a pod needs at least one container")
        names = [c.name for c in self.containers]
        if len(set(names)) != len(names):
            raise InvalidPodSpec(f"container names repeat: {names}")
        volumes = {v.name: v for v in self.volumes}
        if len(volumes) != len(self.volumes):
            raise InvalidPodSpec("volume names repeat")
        for v in self.volumes:
            if not _NAME.match(v.name):
                raise InvalidPodSpec(f"volume name {v.name!r}")
            if v.kind == VolumeKind.MEMORY and not (v.size_bytes and v.size_bytes > 0):
                raise InvalidPodSpec(f"memory volume {v.name!r} needs a size")
            if v.kind == VolumeKind.HOST and not (v.host_path and v.host_path.startswith("/")):
                raise InvalidPodSpec(f"host volume {v.name!r} needs an absolute host path")
            if v.kind == VolumeKind.BLOCK and not v.claim:
                raise InvalidPodSpec(f"block volume {v.name!r} needs a claim")
        for c in self.containers:
            if not _NAME.match(c.name):
                raise InvalidPodSpec(f"container name {c.name!r}")
            if not c.image:
                raise InvalidPodSpec(f"container {c.name!r} has no image")
            r = c.resources
            for what, value in (("cpu", r.cpu_millis), ("memory", r.memory_bytes),
                                ("cpu request", r.cpu_request_millis), ("memory request", r.memory_request_bytes)):
                if value is not None and value <= 0:
                    raise InvalidPodSpec(f"container {c.name!r}: {what} must be positive")
            if r.gpus < 0:
                raise InvalidPodSpec(f"container {c.name!r}: gpus must not be negative")
            if c.readiness and not (0 < c.readiness.port < 65536 and c.readiness.path.startswith("/")):
                raise InvalidPodSpec(f"container {c.name!r}: readiness probe port/path")
            for m in c.mounts:
                if m.volume not in volumes:
                    raise InvalidPodSpec(f"container {c.name!r} mounts unknown volume {m.volume!r}")
                if not m.path.startswith("/"):
                    raise InvalidPodSpec(f"container {c.name!r}: mount path {m.path!r} is not absolute")

    def digest(self) -> str:
        """A stable hash of the spec: a pod found with another digest was made from another spec."""
        text = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def gpus(self) -> int:
        return sum(c.resources.gpus for c in self.containers)


@dataclass(frozen=True)
class RegistryAuth:
    """Credentials for one pull: a user name and password, or a bearer token the registry issued."""

    username: str | None = None
    password: str | None = None
    registry_token: str | None = None


# ---------------------------------------------------------------------------------------------- network policy

@dataclass(frozen=True)
class PortRange:
    """Ports `low`..`high` (inclusive) of one transport protocol."""

    low: int
    high: int
    protocol: str = "tcp"  # "tcp" | "udp"


@dataclass(frozen=True)
class PeerAccess:
    """Pods matching the label selector `peers` may open connections to `ports` of the policy's pods."""

    peers: Mapping[str, str]
    ports: tuple[PortRange, ...]


@dataclass(frozen=True)
class EgressAllow:
    """The policy's pods may open connections to `cidr` (an IPv4 network, `0.0.0.0/0` for any host) on
    `ports`. Host names are resolved by the caller: the engine sees addresses only, as in a Kubernetes
    NetworkPolicy ipBlock."""

    cidr: str
    ports: PortRange


@dataclass(frozen=True)
class NetworkPolicy:
    """What may reach the pods matching the label selector `pods`, and where they may connect to.

    Every pod on a network handed to `Runtime.set_network_policies` is isolated: other pods reach it only
    as some policy selecting it allows (`ingress`), and it reaches nothing outside the network but the
    host's address on the network (the gateway: Snowport itself), the engine's DNS, and what some policy
    selecting it allows (`egress`). Containers of one pod always talk over localhost. A Kubernetes
    backend maps this onto a default-deny NetworkPolicy plus one NetworkPolicy per entry."""

    name: str
    pods: Mapping[str, str]
    ingress: tuple[PeerAccess, ...] = ()
    egress: tuple[EgressAllow, ...] = ()


# ---------------------------------------------------------------------------------------------- status

class ContainerState(StrEnum):
    """SHOW SERVICE CONTAINERS `status` (spcs-reference 3.11)."""

    PENDING = "PENDING"
    READY = "READY"
    DONE = "DONE"
    FAILED = "FAILED"
    TERMINATING = "TERMINATING"
    UNKNOWN = "UNKNOWN"


class PodState(StrEnum):
    """SHOW SERVICE INSTANCES `status` (spcs-reference 3.11), plus UNKNOWN."""

    PENDING = "PENDING"
    READY = "READY"
    FAILED = "FAILED"
    TERMINATING = "TERMINATING"
    SUCCEEDED = "SUCCEEDED"
    UNKNOWN = "UNKNOWN"


class Message:
    """Container messages, in Snowflake's words (spcs-reference 3.11)."""

    RUNNING = "Running"
    WAITING = "Waiting to start"
    PULL_FAILED = "Failed to pull image"
    INVALID_IMAGE = "Provided image name uses an invalid format"
    RETRYING = "Encountered fatal error, retrying"
    FATAL = "Encountered fatal error"
    OOM = "Container was OOMKilled due to resource usage"
    APP_ERROR = "User application error, check container logs"
    START_FAILED = "Encountered fatal error while starting container"
    DONE = "Completed successfully"

    @staticmethod
    def probe_failing(probe: ReadinessProbe) -> str:
        return f"Readiness probe is failing at path: {probe.path}, port: {probe.port}"


class Reason(StrEnum):
    """A short machine-readable reason next to a message (the metric reason labels of 3.11)."""

    RUNNING = "Running"
    CREATING = "Creating"
    INITIALIZING = "Initializing"
    FAILED_TO_PULL_IMAGE = "FailedToPullImage"
    FAILING_TO_START = "FailingToStartContainer"
    DONE = "Done"
    FAILED = "Failed"
    FAILED_WITH_OOM = "FailedWithOOM"
    FAILED_TO_START = "FailedToStart"
    MISSING = "Missing"  # the container is gone from the engine (removed behind Snowport's back)


@dataclass(frozen=True)
class ContainerStatus:
    name: str
    state: ContainerState
    message: str
    reason: Reason
    ready: bool = False
    restart_count: int = 0
    last_exit_code: int | None = None  # None until the container exited once
    started_at: datetime | None = None  # the current run's start
    finished_at: datetime | None = None  # the end of the last run (= last restart time when running again)
    image: str | None = None
    image_digest: str | None = None  # sha256:... of the manifest when the reference pins one
    oom_killed: bool = False
    container_id: str | None = None
    # stopped, its pod's policy says run it again, and the engine will not: call Runtime.restart_container
    needs_restart: bool = False


@dataclass(frozen=True)
class PodStatus:
    pod_id: str
    state: PodState
    message: str
    containers: tuple[ContainerStatus, ...]
    labels: Mapping[str, str] = field(default_factory=dict)  # the caller's labels
    spec_digest: str | None = None
    ip_address: str | None = None
    network: str | None = None
    created_at: datetime | None = None

    def container(self, name: str) -> ContainerStatus:
        for c in self.containers:
            if c.name == name:
                return c
        raise KeyError(name)


def pod_state(sandbox_running: bool, containers: tuple[ContainerStatus, ...]) -> tuple[PodState, str]:
    """An instance's state from its containers' (SPCS instance states)."""
    states = [c.state for c in containers]
    if not sandbox_running and not all(s == ContainerState.DONE for s in states):
        return PodState.FAILED, "Pod sandbox is not running"
    if any(s == ContainerState.TERMINATING for s in states):
        return PodState.TERMINATING, "Terminating"
    if any(s == ContainerState.FAILED for s in states):
        failed = next(c for c in containers if c.state == ContainerState.FAILED)
        return PodState.FAILED, f"{failed.name}: {failed.message}"
    if states and all(s == ContainerState.DONE for s in states):
        return PodState.SUCCEEDED, Message.DONE
    if states and all(s in (ContainerState.READY, ContainerState.DONE) for s in states):
        return PodState.READY, Message.RUNNING
    pending = next((c for c in containers if c.state != ContainerState.READY), None)
    return PodState.PENDING, f"{pending.name}: {pending.message}" if pending else Message.WAITING


# ---------------------------------------------------------------------------------------------- events, logs

class EventKind(StrEnum):
    CREATED = "created"
    STARTED = "started"
    DIED = "died"  # exit_code set; oom_killed when the kernel killed it for memory
    OOM = "oom"
    HEALTH = "health"  # health: "healthy" | "unhealthy" | "starting" (the readiness probe)
    DESTROYED = "destroyed"
    PULL_FAILED = "pull_failed"  # message carries the engine's words


@dataclass(frozen=True)
class RuntimeEvent:
    time: datetime
    kind: EventKind
    pod_id: str
    container: str | None  # None: the pod sandbox itself
    exit_code: int | None = None
    oom_killed: bool = False
    health: str | None = None
    message: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LogLine:
    time: datetime  # UTC, as the engine stamped the line
    text: str
    stream: str = "stdout"  # "stdout" | "stderr"

    def render(self, timestamps: bool = True) -> str:
        """`2024-10-22T01:12:29.873896187Z text` as SYSTEM$GET_SERVICE_LOGS shows it (microseconds here)."""
        if not timestamps:
            return self.text
        return self.time.strftime("%Y-%m-%dT%H:%M:%S.%fZ") + " " + self.text


@dataclass(frozen=True)
class Capacity:
    """What the engine's machine holds (the controller slices it into compute pool nodes)."""

    cpu_millis: int
    memory_bytes: int
    gpus: int


# ---------------------------------------------------------------------------------------------- the interface

class EventStream(Protocol):
    def __iter__(self) -> Iterator[RuntimeEvent]: ...

    def __next__(self) -> RuntimeEvent: ...

    def close(self) -> None: ...


@runtime_checkable
class Runtime(Protocol):
    def ping(self) -> bool: ...

    def capacity(self) -> Capacity: ...

    def ensure_network(self, name: str, labels: Mapping[str, str] | None = None, internal: bool = False) -> None: ...

    def remove_network(self, name: str) -> None: ...

    def prune_networks(self) -> list[str]: ...

    def list_networks(self, labels: Mapping[str, str] | None = None) -> list[str]: ...

    def set_network_policies(self, network: str, policies: tuple[NetworkPolicy, ...]) -> None:
        """Replace, in one step, the policies of the pods on `network` (see NetworkPolicy); pods created
        later are held to them from their start."""
        ...

    def pull(self, image_ref: str, auth: RegistryAuth | None = None) -> str: ...

    def create_pod(self, spec: PodSpec, auth: RegistryAuth | None = None) -> PodStatus: ...

    def restart_container(self, spec: PodSpec, container: str, auth: RegistryAuth | None = None) -> PodStatus: ...

    def delete_pod(self, pod_id: str, grace_seconds: float | None = None) -> None: ...

    def list_pods(self, labels: Mapping[str, str] | None = None) -> list[PodStatus]: ...

    def pod_status(self, pod_id: str) -> PodStatus: ...

    def cpu_seconds(self, pod_id: str) -> float: ...

    def pod_labels(self, labels: Mapping[str, str] | None = None) -> dict[str, dict[str, str]]: ...

    def logs(self, pod_id: str, container: str, since: datetime | None = None, tail: int | None = None,
             previous: bool = False) -> list[LogLine]: ...

    def follow_logs(self, pod_id: str, container: str, since: datetime | None = None) -> Iterator[LogLine]: ...

    def events(self, since: datetime | None = None) -> EventStream: ...

    # ---- block volumes and snapshots (PersistentVolumeClaims and VolumeSnapshots in Kubernetes) ----
    # A claim is named by the caller (DNS-label-like) and carries the caller's labels; it outlives pods,
    # and a pod mounts it through a Volume(kind=BLOCK, claim=...). Its size is enforced by the engine.

    def ensure_block_volume(self, claim: str, size_bytes: int, labels: Mapping[str, str],
                            from_snapshot: str | None = None) -> bool: ...

    def delete_block_volume(self, claim: str) -> None: ...

    def list_block_volumes(self, labels: Mapping[str, str] | None = None) -> dict[str, dict[str, str]]: ...

    def snapshot_block_volume(self, claim: str, snapshot: str) -> int: ...

    def block_snapshot_exists(self, snapshot: str) -> bool: ...

    def block_snapshot_size(self, snapshot: str) -> int: ...

    def delete_block_snapshot(self, snapshot: str) -> None: ...
