"""The runtime: runs pods (service and job instances) on a container engine.

Layer: an engine, beside data/ and stages/. It imports nothing else from Snowport; the service
controllers in compute/ call it. `base.py` is the engine-neutral interface, `docker.py` the only code
that talks to the Docker engine. A Kubernetes runtime can follow with the same types.

Pods
    A `PodSpec` is one service instance: containers (image pinned by digest, command/args as
    Kubernetes' command/args, env, resources, readiness probe, volume mounts), volumes, labels, a
    restart policy (Always for services, Never/OnFailure for jobs), a termination grace period, and
    the network it joins. All containers of a pod share one network namespace (they reach each other
    on localhost), one IPC namespace and the pod's volumes.

    On Docker a pod is a sandbox container `snowport-<pod>` (a static busybox that sleeps; the image
    `snowport/pause:<hash>` is built locally from the host's busybox, FROM scratch, no registry) that
    owns the network and IPC namespaces, plus one container `snowport-<pod>-<name>` per spec container
    started with `network_mode=container:<sandbox>`. The sandbox joins the network the caller names
    (`ensure_network(name)`; per service or shared, the controller decides) with the pod's DNS aliases;
    `PodStatus.ip_address` is its address there.

Network policy
    `set_network_policies(network, policies)` isolates the pods on a network: other pods reach a pod
    only on the ports a policy selecting it opens to them, and a pod reaches nothing beyond its network
    but the host's gateway address, DNS and the addresses a policy lets it (runtime/netfilter.py does
    it with iptables on Docker; a Kubernetes backend maps it onto NetworkPolicy objects). Pods get DNS
    aliases and search domains from their PodSpec (Docker's embedded DNS answers them).

Volumes
    `local`: a Docker volume `snowport-<pod>-<volume>` (an emptyDir: as long as the pod lives).
    `memory`: a Docker volume of the local driver with tmpfs options (size from the spec); unlike
    per-container tmpfs mounts it is shared by the pod's containers. `host`: a bind mount (for the
    session token file and CA bundle Snowport writes). The sandbox mounts every pod volume too, so a
    tmpfs keeps its content while app containers restart. delete_pod removes them all.

Labels and adoption
    Every container, network and volume carries `snowport.managed=<scope>` (the runtime's scope: one
    per Snowport data dir, so servers sharing an engine never adopt or delete each other's pods; names
    start with the scope too, `snowport-<pod>` above is the default scope); pod objects also
    `snowport.pod=<id>`, a role (sandbox/container/volume) and the caller's labels (service id,
    instance id, ...). The sandbox records the spec digest, the grace period and the container names.
    `list_pods(labels)` is a label selector over the engine's containers: a restarted Snowport finds
    its running pods and adopts them; `create_pod` with the same spec completes a pod (recreates a
    container removed behind its back, retries a failed pull) and raises PodConflict for another spec.

Restarts
    Left to the engine: Docker's restart policy (`always` / `on-failure` / `no`) restarts the
    container in place with its own backoff (100 ms doubling to 1 min, reset after 10 s up), and
    `RestartCount` in inspect is restart_count, also after a Snowport restart. Docker resets ExitCode
    when a container starts again, so last_exit_code of a running container comes from the `die`
    events the runtime saw, else from the engine's bounded recent-event log (best effort; the
    controller should record exit codes from DIED events in observed state). `docker stop` (what
    delete_pod does) is not restarted; `docker kill` is, and restart_count goes up.

Status
    `ContainerStatus.state` uses SPCS's container states and messages (spcs-reference 3.11):
    PENDING `Waiting to start` / `Failed to pull image` / `Readiness probe is failing at path: ...`,
    READY `Running`, FAILED (`User application error, check container logs`, `Container was
    OOMKilled due to resource usage`, `Encountered fatal error, retrying` while Docker's backoff runs,
    `Encountered fatal error while starting container`), DONE `Completed successfully`. `PodState`
    is the instance state derived from them (PENDING, READY, FAILED, TERMINATING, SUCCEEDED).

Readiness
    A Docker healthcheck on the container runs `wget http://127.0.0.1:<port><path>` with a busybox
    that the sandbox image carries and a per-pod volume (`snowport-<pod>-tools`, filled by Docker's
    copy-up) mounts read-only at `/.snowport` in app containers, so any image can be probed. Health
    changes arrive as HEALTH events; READY means the probe passed.

Events
    `events(since)` reads the engine's event stream (never polls containers): created, started, died
    (exit code, OOM), oom, health, destroyed, plus pull failures the runtime itself reports. The
    stream raises RuntimeUnavailable when the engine goes away; the controller then lists pods (level
    triggered) and subscribes again with `since`.

Logs
    Docker keeps one json-file log per container across restarts (bounded: max-size/max-file).
    `logs()` returns the current run's lines (stdout and stderr merged by time, with timestamps);
    `previous=True` the run before (runs are told apart by their end times). `follow_logs()` streams
    lines until the container stops, for the controller to store them under the data dir.

Resources
    cpu limit -> NanoCpus, cpu request -> CpuShares, memory limit -> Memory (= MemorySwap, no swap),
    memory request -> MemoryReservation; GPUs -> a DeviceRequest only when asked for, refused with
    InvalidPodSpec when the engine has fewer (`capacity().gpus`, 0 without the NVIDIA runtime).

Engine down
    The client is made on first use; `ping()` answers False instead of raising, and every other
    call raises RuntimeUnavailable, so commands can still answer and show an error state.
"""

from snowport.runtime.base import (
    MANAGED_LABEL,
    POD_LABEL,
    Capacity,
    ContainerSpec,
    ContainerState,
    ContainerStatus,
    EgressAllow,
    EngineError,
    EventKind,
    EventStream,
    ImagePullFailed,
    InvalidPodSpec,
    LogLine,
    Message,
    NetworkInUse,
    NetworkPolicy,
    NoPreviousRun,
    PeerAccess,
    PodConflict,
    PodNotFound,
    PodSpec,
    PodState,
    PodStatus,
    PortRange,
    ReadinessProbe,
    Reason,
    RegistryAuth,
    Resources,
    RestartPolicy,
    Runtime,
    RuntimeEvent,
    RuntimeUnavailable,
    Volume,
    VolumeKind,
    VolumeMount,
)

__all__ = [
    "MANAGED_LABEL", "POD_LABEL", "Capacity", "ContainerSpec", "ContainerState", "ContainerStatus", "EngineError",
    "EventKind", "EventStream", "ImagePullFailed", "InvalidPodSpec", "LogLine", "Message", "NetworkInUse",
    "NoPreviousRun", "PodConflict", "PodNotFound", "PodSpec", "PodState", "PodStatus", "ReadinessProbe", "Reason",
    "RegistryAuth", "Resources", "RestartPolicy", "Runtime", "RuntimeEvent", "RuntimeUnavailable", "Volume",
    "VolumeKind", "VolumeMount", "EgressAllow", "NetworkPolicy", "PeerAccess", "PortRange",
]
