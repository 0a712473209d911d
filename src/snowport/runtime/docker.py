"""The Docker engine behind the runtime interface; the only module that talks to the engine (docker SDK).

A pod is a sandbox container (`<scope>-<pod>`, a busybox that sleeps) holding the network and IPC
namespaces and the pod's volumes, plus one container per spec container (`<scope>-<pod>-<name>`)
started with `network_mode=container:<sandbox>`. Everything carries `snowport.managed=<scope>` and
`snowport.pod=<id>` plus the caller's labels; the scope (one per Snowport data dir) keeps servers
sharing an engine apart. See the package docstring for the design.
"""

from __future__ import annotations

import glob
import hashlib
import io
import logging
import math
import os
import queue
import re
import shutil
import socket
import tarfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import docker
import docker.errors
import requests.exceptions

from snowport.runtime import netfilter
from snowport.runtime.base import (
    MANAGED_LABEL,
    POD_LABEL,
    Capacity,
    ContainerSpec,
    ContainerState,
    ContainerStatus,
    EngineError,
    EventKind,
    ImagePullFailed,
    InvalidPodSpec,
    LogLine,
    Message,
    NetworkInUse,
    NetworkPolicy,
    NoPreviousRun,
    PodConflict,
    PodNotFound,
    PodSpec,
    PodStatus,
    ReadinessProbe,
    Reason,
    RegistryAuth,
    RestartPolicy,
    RuntimeEvent,
    RuntimeUnavailable,
    VolumeKind,
    pod_state,
)
from snowport.runtime.block import LoopBlockStorage

ROLE_LABEL = "snowport.role"  # sandbox | container | volume
CONTAINER_LABEL = "snowport.container"
DIGEST_LABEL = "snowport.spec-digest"
GRACE_LABEL = "snowport.grace"
CONTAINERS_LABEL = "snowport.containers"  # the sandbox lists its pod's container names
NETWORK_LABEL = "snowport.network"
IMAGE_LABEL = "snowport.image"
PROBE_LABEL = "snowport.probe"  # "<port> <path>"
RESTARTS_LABEL = "snowport.restart-base"  # restarts before this container was (re)created by restart_container
HOST_LABEL = "snowport.host"  # on networks: the host and pid of the Snowport process that made it
PID_LABEL = "snowport.pid"
LAST_EXIT_LABEL = "snowport.last-exit"  # exit code of the run before that
PREVIOUS = "-previous"  # name suffix of the container kept for previous logs after restart_container
OWN_LABELS = {MANAGED_LABEL, POD_LABEL, ROLE_LABEL, CONTAINER_LABEL, DIGEST_LABEL, GRACE_LABEL, CONTAINERS_LABEL,
              NETWORK_LABEL, IMAGE_LABEL, PROBE_LABEL, RESTARTS_LABEL, LAST_EXIT_LABEL}

TOOLS_DIR = "/.snowport"  # busybox for readiness probes, mounted read-only into app containers
VOLUMES_DIR = "/snowport/volumes"  # where the sandbox holds the pod's volumes (keeps tmpfs content alive)
PAUSE_SCRIPT = (f"trap 'exit 0' TERM INT; while :; do {TOOLS_DIR}/busybox sleep 3600 & wait $!; done")
ENGINE_EVENTS = ["create", "start", "die", "oom", "health_status", "destroy"]
_ZERO_TIME = "0001-01-01T00:00:00Z"
log = logging.getLogger("snowport.runtime.docker")

_RESTART = {RestartPolicy.ALWAYS: {"Name": "always"}, RestartPolicy.ON_FAILURE: {"Name": "on-failure"},
            RestartPolicy.NEVER: {"Name": "no"}}


def _ns(seconds: float) -> int:
    return int(seconds * 1_000_000_000)


def parse_time(text: str | None) -> datetime | None:
    """RFC 3339 with nanoseconds (Docker's) to an aware UTC datetime, microsecond precision."""
    if not text or text.startswith("0001-01-01"):
        return None
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1]
        offset = "+00:00"
    else:
        text, offset = text[:-6], text[-6:]
    if "." in text:
        whole, frac = text.split(".", 1)
        text = f"{whole}.{(frac + '000000')[:6]}"
    return datetime.fromisoformat(text + offset).astimezone(UTC)


# How long a new pod's creation waits for its just-started containers' first readiness answer.
FIRST_ANSWER_SECONDS = 0.15


def _timestamp(when: datetime) -> float:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _answers(ip: str, probe: ReadinessProbe, timeout: float = 0.5) -> bool:
    """The readiness probe, run from here while the engine has no result yet: engines before API 1.44 ignore
    the healthcheck's start interval, so their first check comes a whole interval (5 s) after the start,
    long after most apps answer. Only ever turns "starting" into ready; a failing check stays the engine's."""
    try:
        with urllib.request.urlopen(f"http://{ip}:{probe.port}{probe.path}", timeout=timeout) as response:
            return 200 <= response.status < 400
    except (OSError, ValueError):
        return False


def _process_alive(pid: str | None) -> bool:
    if not pid or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _digest_of(ref: str) -> str | None:
    return ref.split("@", 1)[1] if "@sha256:" in ref else None


class DockerRuntime:
    """`Runtime` over one Docker engine. Thread-safe; the client is made on first use, so a runtime made
    while the engine is down still answers (`ping()` is False, calls raise `RuntimeUnavailable`)."""

    def __init__(self, base_url: str | None = None, timeout: float = 60.0, busybox_path: str | None = None,
                 gpus: int | None = None, log_max_size: str = "10m", log_max_files: int = 3,
                 scope: str = "snowport", block_root: Path | None = None) -> None:
        """`scope` keeps several Snowports on one engine apart: it is the value of `snowport.managed` on
        everything this runtime creates, every listing filters on it, and it prefixes container and volume
        names (`<scope>-<pod>`), so one server never sees, adopts or deletes another's pods. `block_root`:
        where block volumes and snapshots live (loop-mounted images on this machine, runtime/block.py);
        without it block volumes are refused."""
        if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", scope):
            raise ValueError(f"invalid runtime scope {scope!r}")
        self.scope = scope
        self._base_url = base_url
        self._timeout = timeout
        self._busybox = busybox_path
        self._gpus = gpus
        self._log_config = {"Type": "json-file", "Config": {"max-size": log_max_size, "max-file": str(log_max_files)}}
        self._lock = threading.Lock()
        self._client: docker.DockerClient | None = None
        self._sandbox_image: str | None = None
        self._pull_errors: dict[tuple[str, str], tuple[ContainerState, str, str]] = {}
        # (container id, FinishedAt) -> exit code, and (container id, "oom " + FinishedAt) -> 1 if OOM-killed
        self._exit_codes: dict[tuple[str, str], int] = {}
        self._streams: set[DockerEventStream] = set()
        self._block = LoopBlockStorage(block_root) if block_root is not None else None
        self._policies: dict[str, tuple[NetworkPolicy, ...]] = {}  # network -> what set_network_policies set
        self._rules: dict[str, str] = {}  # network -> the iptables rules last written for it
        # listing the pods and writing their rules is one step: the last writer has the freshest addresses
        self._policy_lock = threading.Lock()

    # ------------------------------------------------------------------------------------------ engine access

    def _api(self) -> docker.APIClient:
        with self._lock:
            if self._client is None:
                try:
                    if self._base_url:
                        self._client = docker.DockerClient(base_url=self._base_url, version="auto",
                                                           timeout=self._timeout)
                    else:
                        self._client = docker.from_env(timeout=self._timeout)
                except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as e:
                    raise RuntimeUnavailable(f"the container engine does not answer: {e}") from e
            return self._client.api

    def _call(self, fn, *args, **kwargs):
        """One engine call; connection failures become RuntimeUnavailable, API errors stay docker's."""
        try:
            return fn(*args, **kwargs)
        except docker.errors.APIError:
            raise
        except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as e:
            raise RuntimeUnavailable(f"the container engine does not answer: {e}") from e

    def ping(self) -> bool:
        try:
            return bool(self._call(self._api().ping))
        except (EngineError, docker.errors.APIError):
            return False

    def close(self) -> None:
        for stream in list(self._streams):
            stream.close()
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def capacity(self) -> Capacity:
        info = self._call(self._api().info)
        return Capacity(cpu_millis=int(info["NCPU"]) * 1000, memory_bytes=int(info["MemTotal"]),
                        gpus=self._gpu_count(info))

    def _gpu_count(self, info: dict) -> int:
        if self._gpus is not None:
            return self._gpus
        if "nvidia" not in (info.get("Runtimes") or {}):
            return 0
        return len(glob.glob("/dev/nvidia[0-9]*"))

    # ------------------------------------------------------------------------------------------ networks

    def ensure_network(self, name: str, labels: Mapping[str, str] | None = None, internal: bool = False) -> None:
        """Create the network unless it exists. It records which process made it (host and pid), so that
        `prune_networks` of any Snowport can collect it once that process is gone and nothing uses it."""
        api = self._api()
        if any(n["Name"] == name for n in self._call(api.networks, names=[name])):
            return
        try:
            self._call(api.create_network, name, driver="bridge", internal=internal, check_duplicate=True,
                       labels={**(labels or {}), MANAGED_LABEL: self.scope, HOST_LABEL: socket.gethostname(),
                               PID_LABEL: str(os.getpid())})
        except docker.errors.APIError as e:
            if e.status_code != 409:  # made concurrently: fine
                raise EngineError(f"cannot create network {name}: {e.explanation}") from e

    def network_gateway(self, name: str) -> str | None:
        """The host's address on a network: where its containers reach services the host runs."""
        try:
            net = self._call(self._api().inspect_network, name)
        except docker.errors.NotFound:
            return None
        for config in (net.get("IPAM") or {}).get("Config") or []:
            if config.get("Gateway"):
                return str(config["Gateway"])
        return None

    def remove_network(self, name: str) -> None:
        """Remove the network unless a container uses it; this runtime's own network takes its policy
        chains with it (runtime/netfilter.py)."""
        api = self._api()
        try:
            net = self._call(api.inspect_network, name)
        except docker.errors.NotFound:
            self._release_policies(name)
            return
        if (net.get("Labels") or {}).get(MANAGED_LABEL) != self.scope:
            raise EngineError(f"network {name} is not Snowport's")
        if net.get("Containers"):
            raise NetworkInUse(f"network {name} still has {len(net['Containers'])} containers")
        try:
            self._call(api.remove_network, net["Id"])
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as e:
            raise NetworkInUse(f"cannot remove network {name}: {e.explanation}") from e
        self._release_policies(name)

    def _release_policies(self, network: str) -> None:
        if network != self.scope:
            return
        self._policies.pop(network, None)
        self._rules.pop(network, None)
        try:
            netfilter.remove(self.scope)
        except netfilter.NetfilterError as e:
            log.warning("cannot remove the network policy chains of %s: %s", self.scope, e)

    def prune_networks(self) -> list[str]:
        """Remove the networks of any scope whose creating Snowport process has ended on this host and that no
        container uses: each server has its own network, and a server killed with nothing running leaves
        it behind, while the engine has room for only a few dozen bridge networks. Returns the names removed;
        this runtime's own network is renewed (recreated under this process) when it is empty."""
        removed = []
        host = socket.gethostname()
        for net in self._call(self._api().networks, filters={"label": [MANAGED_LABEL]}):
            labels = net.get("Labels") or {}
            mine = labels.get(MANAGED_LABEL) == self.scope
            if labels.get(HOST_LABEL, host) != host or (not mine and _process_alive(labels.get(PID_LABEL))):
                continue
            if mine and labels.get(PID_LABEL) == str(os.getpid()):
                continue
            try:
                info = self._call(self._api().inspect_network, net["Id"])
                if not info.get("Containers"):
                    self._call(self._api().remove_network, net["Id"])
                    removed.append(net["Name"])
            except docker.errors.APIError:
                continue  # in use after all, or removed meanwhile
        try:  # the policy chains of servers whose network is gone
            names = [n["Name"] for n in self._call(self._api().networks)]
            netfilter.collect_orphans(names)
        except netfilter.NetfilterError as e:
            log.warning("cannot collect network policy chains: %s", e)
        return removed

    # ------------------------------------------------------------------------------------------ network policy

    def set_network_policies(self, network: str, policies: tuple[NetworkPolicy, ...]) -> None:
        """Isolate the pods on `network` (runtime/netfilter.py); kept, so that create_pod applies them again
        for a new pod's address before its containers start."""
        self._policies[network] = tuple(policies)
        self._apply_policies(network)

    def _apply_policies(self, network: str) -> None:
        if network not in self._policies:
            return
        with self._policy_lock:
            self._write_policies(network, self._policies[network])

    def _write_policies(self, network: str, policies: tuple[NetworkPolicy, ...]) -> None:
        try:
            net = self._call(self._api().inspect_network, network)
        except docker.errors.NotFound:
            return
        if (net.get("Labels") or {}).get(MANAGED_LABEL) != self.scope or network != self.scope:
            raise EngineError(f"network {network} is not this server's network")
        options = net.get("Options") or {}
        interface = options.get("com.docker.network.bridge.name") or f"br-{net['Id'][:12]}"
        gateway = next((c["Gateway"] for c in (net.get("IPAM") or {}).get("Config") or [] if c.get("Gateway")), None)
        if gateway is None:
            raise EngineError(f"network {network} has no gateway address")
        sandboxes = self._call(self._api().containers, all=True,
                               filters={"label": [f"{MANAGED_LABEL}={self.scope}", f"{ROLE_LABEL}=sandbox"]})
        members = []
        for c in sandboxes:
            ip = ((c.get("NetworkSettings") or {}).get("Networks") or {}).get(network, {}).get("IPAddress")
            if ip:
                members.append(netfilter.Member(ip, c.get("Labels") or {}))
        rules = netfilter.render(self.scope, netfilter.Bridge(interface, gateway), members, policies,
                                 netfilter.nameservers())
        if self._rules.get(network) == rules and netfilter.installed(self.scope):
            return  # nothing changed (the controller asks at every resync)
        netfilter.apply(self.scope, rules)
        self._rules[network] = rules

    def list_networks(self, labels: Mapping[str, str] | None = None) -> list[str]:
        filters = {"label": [f"{MANAGED_LABEL}={self.scope}", *(f"{k}={v}" for k, v in (labels or {}).items())]}
        return sorted(n["Name"] for n in self._call(self._api().networks, filters=filters))

    # ------------------------------------------------------------------------------------------ images

    def pull(self, image_ref: str, auth: RegistryAuth | None = None) -> str:
        """Pull from a registry (Snowport's own); returns the local image id. Raises ImagePullFailed."""
        api = self._api()
        config = None
        if auth is not None:
            if auth.registry_token:
                config = {"registrytoken": auth.registry_token}
            else:
                config = {"username": auth.username or "", "password": auth.password or ""}
        try:
            for chunk in self._call(api.pull, image_ref, stream=True, decode=True, auth_config=config):
                if isinstance(chunk, dict) and chunk.get("error"):
                    raise ImagePullFailed(f"{image_ref}: {chunk['error']}")
            return self._call(api.inspect_image, image_ref)["Id"]
        except docker.errors.APIError as e:
            raise ImagePullFailed(f"{image_ref}: {e.explanation or e}") from e
        except docker.errors.DockerException as e:  # e.g. a malformed reference, refused by the SDK
            raise ImagePullFailed(f"{image_ref}: {e}") from e

    def _has_image(self, ref: str) -> bool:
        try:
            self._call(self._api().inspect_image, ref)
            return True
        except docker.errors.NotFound:
            return False
        except docker.errors.APIError:  # e.g. an invalid reference
            return False

    def _ensure_sandbox_image(self) -> str:
        """The pause image, built locally from a static busybox (no registry needed); cached by content."""
        if self._sandbox_image:
            return self._sandbox_image
        busybox = self._busybox or next((p for p in ("/bin/busybox", "/usr/bin/busybox", shutil.which("busybox"))
                                         if p and os.path.exists(p)), None)
        if not busybox:
            raise EngineError("no busybox binary to build the pod sandbox image from (install busybox-static)")
        with open(busybox, "rb") as f:
            binary = f.read()
        dockerfile = (f"FROM scratch\nCOPY busybox {TOOLS_DIR}/busybox\n"
                      f'ENTRYPOINT ["{TOOLS_DIR}/busybox", "sh", "-c", "{PAUSE_SCRIPT}"]\n').encode()
        tag = "snowport/pause:" + hashlib.sha256(binary + dockerfile).hexdigest()[:12]
        if not self._has_image(tag):
            context = io.BytesIO()
            with tarfile.open(fileobj=context, mode="w") as tar:
                for name, data, mode in (("Dockerfile", dockerfile, 0o644), ("busybox", binary, 0o755)):
                    entry = tarfile.TarInfo(name)
                    entry.size, entry.mode = len(data), mode
                    tar.addfile(entry, io.BytesIO(data))
            context.seek(0)
            try:
                for chunk in self._call(self._api().build, fileobj=context, custom_context=True, tag=tag, rm=True,
                                        decode=True, labels={MANAGED_LABEL: self.scope}):
                    if isinstance(chunk, dict) and chunk.get("error"):
                        raise EngineError(f"cannot build the pod sandbox image: {chunk['error']}")
            except docker.errors.APIError as e:
                raise EngineError(f"cannot build the pod sandbox image: {e.explanation}") from e
        self._sandbox_image = tag
        return tag

    # ------------------------------------------------------------------------------------------ pods

    def create_pod(self, spec: PodSpec, auth: RegistryAuth | None = None) -> PodStatus:
        """Create the pod, or complete it: an existing pod with the same spec gets its missing containers
        (an image pull that failed is retried, a container removed behind our back is recreated).
        A pull failure does not raise: the container stays PENDING with `Failed to pull image`."""
        spec.validate()
        api = self._api()
        if spec.gpus:
            have = self.capacity().gpus
            if spec.gpus > have:
                raise InvalidPodSpec(f"pod {spec.pod_id} asks for {spec.gpus} GPUs; the engine has {have}")
        existing = self._pod_containers(spec.pod_id)
        sandbox = next((c for c in existing if c["Labels"].get(ROLE_LABEL) == "sandbox"), None)
        if sandbox is not None and sandbox["Labels"].get(DIGEST_LABEL) != spec.digest():
            raise PodConflict(f"pod {spec.pod_id} exists with another spec")
        made_sandbox = sandbox is None
        have = {c["Labels"].get(CONTAINER_LABEL) for c in existing if _is_current(c)}
        missing = [c for c in spec.containers if c.name not in have]
        try:
            sandbox_id = self._create_sandbox(spec) if sandbox is None else sandbox["Id"]
            # The sandbox starts (joining the network: most of a pod's start time) while the containers are
            # created, pulled if need be, in its namespaces; they start once it runs.
            with ThreadPoolExecutor(max_workers=1 + min(8, len(missing))) as pool:
                sandbox_started = pool.submit(self._call, api.start, sandbox_id) if made_sandbox or \
                    sandbox["State"] != "running" else None
                created = [pool.submit(self._create_container, spec, c, sandbox_id, auth, start=False)
                           for c in missing]
                if sandbox_started is not None:
                    sandbox_started.result()
                    self._hold_to_policies(spec)
                ids = [done.result() for done in created]
                for container_id in [i for i in ids if i]:
                    pool.submit(self._start_container, container_id)
        except docker.errors.APIError as e:
            if made_sandbox:
                self.delete_pod(spec.pod_id, grace_seconds=0)
            raise EngineError(f"cannot create pod {spec.pod_id}: {e.explanation or e}") from e
        self._await_first_answer(sandbox_id, [c.readiness for c in missing if c.readiness])
        return self.pod_status(spec.pod_id)

    def _hold_to_policies(self, spec: PodSpec) -> None:
        """The sandbox has its address now: the network's policies are rendered again with it before the
        pod's containers start, so their first connection already meets the pod's rules."""
        network = spec.network or "bridge"
        try:
            self._apply_policies(network)
        except (EngineError, docker.errors.APIError) as e:
            log.warning("network policies not applied for pod %s: %s", spec.pod_id, e)

    def _await_first_answer(self, sandbox_id: str, probes: list[ReadinessProbe]) -> None:
        """Probe the containers just started for up to FIRST_ANSWER_SECONDS: most apps answer within a
        few milliseconds of their start, and the status built right after then says ready, instead of
        waiting for the next look at the pod. A slower app costs its pod's creation no more than that."""
        if not probes:
            return
        info = self._inspect(sandbox_id)
        network = info["Config"]["Labels"].get(NETWORK_LABEL) if info else None
        ip = ((info or {}).get("NetworkSettings", {}).get("Networks") or {}).get(network or "", {}).get("IPAddress")
        if not ip:
            return
        deadline = time.monotonic() + FIRST_ANSWER_SECONDS
        waiting = list(probes)
        while waiting and time.monotonic() < deadline:
            waiting = [p for p in waiting if not _answers(ip, p, timeout=0.05)]
            if waiting:
                time.sleep(0.01)

    def _labels(self, spec: PodSpec, role: str, **more: str) -> dict[str, str]:
        return {**spec.labels, MANAGED_LABEL: self.scope, POD_LABEL: spec.pod_id, ROLE_LABEL: role, **more}

    def _volume_name(self, pod_id: str, volume: str) -> str:
        return f"{self.scope}-{pod_id}-{volume}"

    def _create_sandbox(self, spec: PodSpec) -> str:
        api = self._api()
        image = self._ensure_sandbox_image()
        mounts = [docker.types.Mount(TOOLS_DIR, self._volume_name(spec.pod_id, "tools"), type="volume",
                                     labels=self._labels(spec, "volume"))]
        for v in spec.volumes:
            if v.kind in (VolumeKind.HOST, VolumeKind.BLOCK):
                continue
            name = self._volume_name(spec.pod_id, v.name)
            opts = {"type": "tmpfs", "device": "tmpfs", "o": f"size={v.size_bytes}"} if v.kind == VolumeKind.MEMORY \
                else None
            self._call(api.create_volume, name, driver="local", driver_opts=opts,
                       labels=self._labels(spec, "volume", **{"snowport.volume": v.name}))
            mounts.append(docker.types.Mount(f"{VOLUMES_DIR}/{v.name}", name, type="volume"))
        network = spec.network or "bridge"
        host_config = api.create_host_config(network_mode=network, ipc_mode="shareable", mounts=mounts,
                                             restart_policy={"Name": "always"}, log_config=self._log_config,
                                             dns_search=list(spec.dns_search) or None)
        networking = None
        if spec.network and spec.aliases:
            networking = api.create_networking_config(
                {spec.network: api.create_endpoint_config(aliases=list(spec.aliases))})
        labels = self._labels(spec, "sandbox", **{
            DIGEST_LABEL: spec.digest(), GRACE_LABEL: str(spec.grace_seconds),
            CONTAINERS_LABEL: ",".join(c.name for c in spec.containers), NETWORK_LABEL: network})
        created = self._call(api.create_container, image, name=f"{self.scope}-{spec.pod_id}", labels=labels,
                             hostname=spec.hostname or spec.pod_id, host_config=host_config,
                             networking_config=networking, stop_signal="SIGTERM")
        return created["Id"]  # not started: create_pod starts it while the pod's containers are created

    def _create_container(self, spec: PodSpec, c: ContainerSpec, sandbox_id: str, auth: RegistryAuth | None,
                          extra_labels: Mapping[str, str] | None = None, start: bool = True) -> str | None:
        """Create (and unless `start` is false, start) one container in the sandbox's namespaces; returns its
        id, or None when its image could not be pulled (the container then shows PENDING with the error)."""
        api = self._api()
        key = (spec.pod_id, c.name)
        if not self._has_image(c.image):
            try:
                self.pull(c.image, auth)
            except ImagePullFailed as e:
                invalid = "invalid reference format" in str(e) or "Error parsing reference" in str(e)
                state, message = ((ContainerState.FAILED, Message.INVALID_IMAGE) if invalid
                                  else (ContainerState.PENDING, Message.PULL_FAILED))
                self._pull_errors[key] = (state, message, str(e))
                self._publish(RuntimeEvent(time=datetime.now(UTC), kind=EventKind.PULL_FAILED, pod_id=spec.pod_id,
                                           container=c.name, message=f"{message}: {e}", labels=dict(spec.labels)))
                return None
        self._pull_errors.pop(key, None)
        r = c.resources
        mounts = []
        volumes = {v.name: v for v in spec.volumes}
        for m in c.mounts:
            v = volumes[m.volume]
            if v.kind == VolumeKind.HOST:
                mounts.append(docker.types.Mount(m.path, v.host_path, type="bind", read_only=m.read_only))
            elif v.kind == VolumeKind.BLOCK:  # mounted on the host (again, after a reboot) before the container
                mounts.append(docker.types.Mount(m.path, self._blocks().mounted(v.claim or ""), type="bind",
                                                 read_only=m.read_only))
            else:
                mounts.append(docker.types.Mount(m.path, self._volume_name(spec.pod_id, v.name), type="volume",
                                                 read_only=m.read_only))
        labels = self._labels(spec, "container", **{CONTAINER_LABEL: c.name, IMAGE_LABEL: c.image},
                              **(extra_labels or {}))
        healthcheck = None
        if c.readiness:
            p = c.readiness
            mounts.append(docker.types.Mount(TOOLS_DIR, self._volume_name(spec.pod_id, "tools"), type="volume",
                                             read_only=True))
            labels[PROBE_LABEL] = f"{p.port} {p.path}"
            healthcheck = {
                # no `wget -T`: it crashes some busybox builds; the engine's timeout ends a stuck probe
                "test": ["CMD", f"{TOOLS_DIR}/busybox", "wget", "-q", "-O", "/dev/null",
                         f"http://127.0.0.1:{p.port}{p.path}"],
                "interval": _ns(p.period_seconds), "timeout": _ns(p.timeout_seconds),
                "retries": p.failure_threshold, "start_period": _ns(300),
            }
            healthcheck = docker.types.Healthcheck(**healthcheck)
            healthcheck["StartInterval"] = _ns(p.start_interval_seconds)  # engines before API 1.44 ignore it
        device_requests = None
        if r.gpus:
            device_requests = [docker.types.DeviceRequest(count=r.gpus, capabilities=[["gpu"]])]
        host_config = api.create_host_config(
            network_mode=f"container:{sandbox_id}", ipc_mode=f"container:{sandbox_id}",
            restart_policy=_RESTART[spec.restart_policy], log_config=self._log_config, mounts=mounts,
            nano_cpus=r.cpu_millis * 1_000_000 if r.cpu_millis else None,
            cpu_shares=max(2, r.cpu_request_millis * 1024 // 1000) if r.cpu_request_millis else None,
            mem_limit=r.memory_bytes, memswap_limit=r.memory_bytes,
            mem_reservation=r.memory_request_bytes, device_requests=device_requests)
        created = self._call(api.create_container, c.image, name=f"{self.scope}-{spec.pod_id}-{c.name}",
                             entrypoint=list(c.command) if c.command is not None else None,
                             command=list(c.args) if c.args is not None else None,
                             environment={k: str(v) for k, v in c.env.items()}, working_dir=c.working_dir,
                             user=c.user, labels=labels, host_config=host_config, healthcheck=healthcheck)
        if start:
            self._start_container(created["Id"])
        return created["Id"]

    def _start_container(self, container_id: str) -> None:
        try:
            self._call(self._api().start, container_id)
        except docker.errors.APIError:
            pass  # e.g. the command does not exist: the container shows FAILED with the engine's error

    def restart_container(self, spec: PodSpec, container: str, auth: RegistryAuth | None = None) -> PodStatus:
        """Run a stopped container again, counting the restart. Docker restarts crashed containers itself
        (restart policy), but treats a container stopped or killed through its API (`docker stop`,
        `docker kill`) as stopped by hand; `ContainerStatus.needs_restart` says so and the controller calls
        this (with its backoff). The container is recreated from the spec carrying restart_count and the
        exit code on; the old one is kept as `...-previous` for previous logs."""
        api = self._api()
        found = self._pod_containers(spec.pod_id)
        sandbox = next((c for c in found if c["Labels"].get(ROLE_LABEL) == "sandbox"), None)
        if sandbox is None or sandbox["State"] != "running":
            raise PodNotFound(f"pod {spec.pod_id} has no running sandbox: recreate the pod")
        c_spec = next((c for c in spec.containers if c.name == container), None)
        if c_spec is None:
            raise InvalidPodSpec(f"pod {spec.pod_id} has no container {container!r}")
        mine = [c for c in found if c["Labels"].get(CONTAINER_LABEL) == container]
        current = next((c for c in mine if _is_current(c)), None)
        extra: dict[str, str] = {}
        if current is not None:
            info = self._inspect(current["Id"])
            if info is not None and (info["State"].get("Running") or info["State"].get("Restarting")):
                return self.pod_status(spec.pod_id)
            if info is not None:
                base = int(info["Config"]["Labels"].get(RESTARTS_LABEL) or 0)
                extra = {RESTARTS_LABEL: str(base + int(info.get("RestartCount") or 0) + 1),
                         LAST_EXIT_LABEL: str(int(info["State"].get("ExitCode", 0)))}
            for old in mine:
                if old is not current:
                    self._call(api.remove_container, old["Id"], force=True)
            self._call(api.rename, current["Id"], f"{self.scope}-{spec.pod_id}-{container}{PREVIOUS}")
        self._create_container(spec, c_spec, sandbox["Id"], auth, extra)
        return self.pod_status(spec.pod_id)

    def delete_pod(self, pod_id: str, grace_seconds: float | None = None) -> None:
        """SIGTERM to every container, SIGKILL after the grace period, then remove the containers, the
        sandbox and the pod's volumes. Deleting a pod that is not there does nothing."""
        api = self._api()
        found = self._pod_containers(pod_id)
        sandbox = next((c for c in found if c["Labels"].get(ROLE_LABEL) == "sandbox"), None)
        if grace_seconds is None:
            grace_seconds = float(sandbox["Labels"].get(GRACE_LABEL, 30)) if sandbox else 30.0
        apps = [c for c in found if c is not sandbox]

        def stop(container: dict) -> None:
            try:
                if grace_seconds > 0 and container["State"] in ("running", "restarting", "paused"):
                    self._call(api.stop, container["Id"], timeout=math.ceil(grace_seconds))
            except docker.errors.APIError:
                pass
            try:
                self._call(api.remove_container, container["Id"], force=True)
            except docker.errors.NotFound:
                pass

        if apps:
            with ThreadPoolExecutor(max_workers=min(8, len(apps))) as pool:
                list(pool.map(stop, apps))
        if sandbox is not None:
            try:
                self._call(api.remove_container, sandbox["Id"], force=True)
            except docker.errors.NotFound:
                pass
        for volume in self._call(api.volumes, filters={"label": f"{POD_LABEL}={pod_id}"}).get("Volumes") or []:
            try:
                self._call(api.remove_volume, volume["Name"], force=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as e:
                raise EngineError(f"cannot remove volume {volume['Name']}: {e.explanation}") from e
        for key in [k for k in self._pull_errors if k[0] == pod_id]:
            self._pull_errors.pop(key, None)

    # ------------------------------------------------------------------------------------------ block volumes

    def _blocks(self) -> LoopBlockStorage:
        if self._block is None:
            raise InvalidPodSpec("block volumes need a storage directory (DockerRuntime(block_root=...))")
        return self._block

    def ensure_block_volume(self, claim: str, size_bytes: int, labels: Mapping[str, str],
                            from_snapshot: str | None = None) -> bool:
        """Create the claim unless it exists (empty, or a copy of `from_snapshot`); True when made now."""
        return self._blocks().ensure(claim, size_bytes, {**labels, MANAGED_LABEL: self.scope}, from_snapshot)

    def delete_block_volume(self, claim: str) -> None:
        """Unmount and delete the claim; its pods must be gone (a container still using it keeps the old
        file system until it ends)."""
        self._blocks().delete(claim)

    def list_block_volumes(self, labels: Mapping[str, str] | None = None) -> dict[str, dict[str, str]]:
        if self._block is None:
            return {}
        return {claim: {k: v for k, v in have.items() if k != MANAGED_LABEL}
                for claim, have in self._block.list(labels).items()}

    def snapshot_block_volume(self, claim: str, snapshot: str) -> int:
        return self._blocks().snapshot(claim, snapshot)

    def block_snapshot_exists(self, snapshot: str) -> bool:
        return self._block is not None and self._block.snapshot_exists(snapshot)

    def block_snapshot_size(self, snapshot: str) -> int:
        return self._blocks().snapshot_size(snapshot)

    def delete_block_snapshot(self, snapshot: str) -> None:
        if self._block is not None:
            self._block.delete_snapshot(snapshot)

    def _pod_containers(self, pod_id: str) -> list[dict]:
        return self._call(self._api().containers, all=True,
                          filters={"label": [f"{MANAGED_LABEL}={self.scope}", f"{POD_LABEL}={pod_id}"]})

    def pod_labels(self, labels: Mapping[str, str] | None = None) -> dict[str, dict[str, str]]:
        """The caller's labels of every pod matching `labels`, from one listing and no inspect: what a
        controller's resync needs to know which objects have pods, at a fraction of list_pods' cost."""
        selector = [f"{MANAGED_LABEL}={self.scope}", *(f"{k}={v}" for k, v in (labels or {}).items())]
        found = self._call(self._api().containers, all=True, filters={"label": selector})
        return {c["Labels"][POD_LABEL]: {k: v for k, v in c["Labels"].items() if k not in OWN_LABELS}
                for c in found if c["Labels"].get(POD_LABEL) and c["Labels"].get(ROLE_LABEL) == "sandbox"}

    def list_pods(self, labels: Mapping[str, str] | None = None) -> list[PodStatus]:
        """Every pod whose labels include `labels`: how a restarted Snowport finds what is running."""
        selector = [f"{MANAGED_LABEL}={self.scope}", *(f"{k}={v}" for k, v in (labels or {}).items())]
        found = self._call(self._api().containers, all=True, filters={"label": selector})
        pods: dict[str, list[dict]] = {}
        for c in found:
            if c["Labels"].get(ROLE_LABEL) in ("sandbox", "container") and c["Labels"].get(POD_LABEL):
                pods.setdefault(c["Labels"][POD_LABEL], []).append(c)
        return [self._status(pod_id, summaries) for pod_id, summaries in sorted(pods.items())]

    def pod_status(self, pod_id: str) -> PodStatus:
        found = self._pod_containers(pod_id)
        if not found:
            raise PodNotFound(f"pod {pod_id} does not exist")
        return self._status(pod_id, found)

    def _inspect(self, container_id: str) -> dict | None:
        try:
            return self._call(self._api().inspect_container, container_id)
        except docker.errors.NotFound:
            return None

    def _status(self, pod_id: str, summaries: list[dict]) -> PodStatus:
        sandbox_summary = next((c for c in summaries if c["Labels"].get(ROLE_LABEL) == "sandbox"), None)
        sandbox = self._inspect(sandbox_summary["Id"]) if sandbox_summary else None
        apps = {}
        for s in summaries:
            if _is_current(s):
                info = self._inspect(s["Id"])
                if info is not None:
                    apps[s["Labels"][CONTAINER_LABEL]] = info
        some = sandbox or next(iter(apps.values()), None)
        labels = {k: v for k, v in (some["Config"]["Labels"] if some else {}).items() if k not in OWN_LABELS}
        names = sandbox["Config"]["Labels"].get(CONTAINERS_LABEL, "").split(",") if sandbox else []
        names = [n for n in names if n] + [n for n in apps if n not in names]
        ip = network = None
        if sandbox:
            network = sandbox["Config"]["Labels"].get(NETWORK_LABEL)
            nets = sandbox["NetworkSettings"].get("Networks") or {}
            if network in nets:
                ip = nets[network].get("IPAddress") or None
        containers = tuple(self._container_status(pod_id, name, apps.get(name), ip) for name in names)
        sandbox_running = bool(sandbox and sandbox["State"]["Running"])
        state, message = pod_state(sandbox_running, containers)
        return PodStatus(pod_id=pod_id, state=state, message=message, containers=containers, labels=labels,
                         spec_digest=sandbox["Config"]["Labels"].get(DIGEST_LABEL) if sandbox else None,
                         ip_address=ip, network=network, created_at=parse_time(sandbox["Created"]) if sandbox else None)

    def _container_status(self, pod_id: str, name: str, info: dict | None, ip: str | None = None) -> ContainerStatus:
        if info is None:
            failed = self._pull_errors.get((pod_id, name))
            if failed:
                state, message, _ = failed
                return ContainerStatus(name=name, state=state, message=message, reason=Reason.FAILED_TO_PULL_IMAGE)
            return ContainerStatus(name=name, state=ContainerState.PENDING, message=Message.WAITING,
                                   reason=Reason.MISSING)
        st = info["State"]
        labels = info["Config"]["Labels"]
        image = labels.get(IMAGE_LABEL) or info["Config"]["Image"]
        probe = None
        if labels.get(PROBE_LABEL):
            port, path = labels[PROBE_LABEL].split(" ", 1)
            probe = ReadinessProbe(port=int(port), path=path)
        restarts = int(info.get("RestartCount") or 0)
        base = int(labels.get(RESTARTS_LABEL) or 0)
        started, finished = parse_time(st.get("StartedAt")), parse_time(st.get("FinishedAt"))
        oom = bool(st.get("OOMKilled"))
        error = st.get("Error") or ""
        last_exit: int | None = int(labels[LAST_EXIT_LABEL]) if labels.get(LAST_EXIT_LABEL) else None
        policy = (info["HostConfig"].get("RestartPolicy") or {}).get("Name") or "no"
        stopped = not st.get("Running") and not st.get("Restarting")
        code = int(st.get("ExitCode", 0))
        needs_restart = stopped and st.get("Status") in ("exited", "created", "dead") and (
            policy in ("always", "unless-stopped") or (policy == "on-failure" and (code != 0 or bool(error))))
        if st.get("Status") == "created" and not error:
            needs_restart = False
        common = dict(name=name, restart_count=base + restarts, started_at=started, finished_at=finished, image=image,
                      image_digest=_digest_of(image) or self._image_digest(info), container_id=info["Id"],
                      needs_restart=needs_restart)
        if st.get("Status") == "created":
            if error:
                return ContainerStatus(state=ContainerState.FAILED, message=Message.START_FAILED,
                                       reason=Reason.FAILED_TO_START, **common)
            return ContainerStatus(state=ContainerState.PENDING, message=Message.WAITING, reason=Reason.CREATING,
                                   **common)
        if st.get("Status") == "removing":
            return ContainerStatus(state=ContainerState.TERMINATING, message="Terminating", reason=Reason.RUNNING,
                                   **common)
        if not oom and code == 137 and (stopped or st.get("Restarting")):
            oom = self._oom_near(info["Id"], finished)  # Docker can miss the OOM when the exit comes first
        if st.get("Restarting"):
            return ContainerStatus(state=ContainerState.FAILED, message=Message.OOM if oom else Message.RETRYING,
                                   reason=Reason.FAILED_WITH_OOM if oom else Reason.FAILED,
                                   last_exit_code=int(st.get("ExitCode", 0)), oom_killed=oom, **common)
        if st.get("Running"):
            if restarts and finished:
                last_exit = self._last_exit_code(info["Id"], finished)
            health = (st.get("Health") or {}).get("Status")
            if probe is not None and health == "starting" and ip and _answers(ip, probe):
                health = "healthy"  # the engine's first check is still seconds away (see _answers)
            if probe is not None and health != "healthy":
                return ContainerStatus(state=ContainerState.PENDING, message=Message.probe_failing(probe),
                                       reason=Reason.INITIALIZING, last_exit_code=last_exit, **common)
            return ContainerStatus(state=ContainerState.READY, message=Message.RUNNING, reason=Reason.RUNNING,
                                   ready=True, last_exit_code=last_exit, **common)
        if needs_restart:  # a service container stopped behind our back: failed until restart_container
            return ContainerStatus(state=ContainerState.FAILED, message=Message.OOM if oom else Message.RETRYING,
                                   reason=Reason.FAILED_WITH_OOM if oom else Reason.FAILED, last_exit_code=code,
                                   oom_killed=oom, **common)
        if code == 0 and not error:
            return ContainerStatus(state=ContainerState.DONE, message=Message.DONE, reason=Reason.DONE,
                                   last_exit_code=0, **common)
        if oom:
            return ContainerStatus(state=ContainerState.FAILED, message=Message.OOM, reason=Reason.FAILED_WITH_OOM,
                                   last_exit_code=code, oom_killed=True, **common)
        if error:
            return ContainerStatus(state=ContainerState.FAILED, message=Message.START_FAILED,
                                   reason=Reason.FAILED_TO_START, last_exit_code=code, **common)
        return ContainerStatus(state=ContainerState.FAILED, message=Message.APP_ERROR, reason=Reason.FAILED,
                               last_exit_code=code, **common)

    def _image_digest(self, info: dict) -> str | None:
        try:
            image = self._call(self._api().inspect_image, info["Image"])
        except docker.errors.APIError:
            return None
        digests = image.get("RepoDigests") or []
        return digests[0].split("@", 1)[1] if digests else None

    def _last_exit_code(self, container_id: str, finished: datetime) -> int | None:
        """The exit code of the run that ended at `finished` (Docker resets ExitCode on restart): from the
        events this runtime saw, else from the engine's recent-event log (best effort, it is bounded)."""
        key = (container_id, finished.isoformat())
        if key in self._exit_codes:
            return self._exit_codes[key]
        dies = self._die_events(container_id, finished - timedelta(seconds=2), finished + timedelta(seconds=2))
        if not dies:
            return None
        code = dies[-1][1]
        self._exit_codes[key] = code
        return code

    def _oom_near(self, container_id: str, finished: datetime | None) -> bool:
        if finished is None:
            return False
        key = (container_id, "oom " + finished.isoformat())
        if key in self._exit_codes:
            return bool(self._exit_codes[key])
        window_end = finished + timedelta(seconds=2)
        now = datetime.now(UTC)
        stream = self._call(self._api().events, since=_timestamp(finished - timedelta(seconds=5)),
                            until=_timestamp(min(window_end, now)), decode=True,
                            filters={"container": container_id, "event": "oom"})
        try:
            seen = any(True for _ in stream)
        finally:
            stream.close()
        if seen or now >= window_end:  # "no OOM" is final only once the window is over: the engine can
            self._exit_codes[key] = int(seen)  # report the OOM after the exit
        return seen

    def _die_events(self, container_id: str, since: datetime, until: datetime) -> list[tuple[datetime, int]]:
        now = datetime.now(UTC)
        until = min(until, now)
        if until <= since:
            return []
        stream = self._call(self._api().events, since=_timestamp(since), until=_timestamp(until), decode=True,
                            filters={"container": container_id, "event": "die"})
        out = []
        try:
            for ev in stream:
                when = datetime.fromtimestamp(ev.get("timeNano", 0) / 1e9, UTC)
                out.append((when, int(ev.get("Actor", {}).get("Attributes", {}).get("exitCode", 0))))
        finally:
            stream.close()
        return out

    # ------------------------------------------------------------------------------------------ logs

    def _find_container(self, pod_id: str, container: str) -> dict:
        found = self._call(self._api().containers, all=True, filters={"label": [
            f"{MANAGED_LABEL}={self.scope}", f"{POD_LABEL}={pod_id}", f"{CONTAINER_LABEL}={container}"]})
        found = [c for c in found if _is_current(c)]
        if not found:
            raise PodNotFound(f"container {container} of pod {pod_id} does not exist "
                              f"(Container Status: {ContainerState.PENDING})")
        info = self._inspect(found[0]["Id"])
        if info is None:
            raise PodNotFound(f"container {container} of pod {pod_id} does not exist")
        return info

    def cpu_seconds(self, pod_id: str) -> float:
        """CPU time the pod's running app containers have used so far (cumulative, seconds): the autoscaler
        turns two readings into a utilisation. One-shot stats: the engine does not sample for a second."""
        total = 0.0
        for c in self._pod_containers(pod_id):
            if not _is_current(c) or c["State"] != "running":
                continue
            try:
                stats = self._call(self._api().stats, c["Id"], stream=False, one_shot=True)
            except docker.errors.APIError:
                continue  # stopped meanwhile
            total += int(((stats.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage") or 0) / 1e9
        return total

    def logs(self, pod_id: str, container: str, since: datetime | None = None, tail: int | None = None,
             previous: bool = False) -> list[LogLine]:
        """The current run's output (stdout and stderr, merged by time), or the previous run's.

        Docker keeps one log per container across restarts; runs are told apart by their end times
        (`FinishedAt`, and the engine's recent `die` events for older ones)."""
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        info = self._find_container(pod_id, container)
        restarts = int(info.get("RestartCount") or 0)
        if previous and not restarts:
            if not int(info["Config"]["Labels"].get(RESTARTS_LABEL) or 0):
                raise NoPreviousRun(f"container {container} of pod {pod_id} has not restarted")
            old = self._inspect(f"{self.scope}-{pod_id}-{container}{PREVIOUS}")
            if old is None:
                raise NoPreviousRun(f"the previous run of container {container} of pod {pod_id} is gone")
            return self._run_logs(old, since, tail, previous=False)
        return self._run_logs(info, since, tail, previous)

    def _run_logs(self, info: dict, since: datetime | None, tail: int | None, previous: bool) -> list[LogLine]:
        st = info["State"]
        restarts = int(info.get("RestartCount") or 0)
        lower = upper = None  # the run's window: (lower, upper]
        if restarts:
            finished = parse_time(st.get("FinishedAt"))
            created = parse_time(info.get("Created")) or datetime.fromtimestamp(0, UTC)
            # a run's lines all come before its `die` event; FinishedAt stands in for the last one if the
            # engine's bounded event log no longer has it
            ends = sorted(t for t, _ in self._die_events(info["Id"], created, datetime.now(UTC)))
            if finished and not any(timedelta(seconds=-1) <= t - finished <= timedelta(seconds=5) for t in ends):
                ends = sorted([*ends, finished])
            if not st.get("Running") or st.get("Restarting"):
                ends = ends[:-1]  # the run that just ended is still the current one
            # runs: (.., ends[-2]], (ends[-2], ends[-1]], (ends[-1], now)
            if previous:
                upper = ends[-1] if ends else None
                lower = ends[-2] if len(ends) > 1 else None
            else:
                lower = ends[-1] if ends else None
        exact = lower is None and upper is None and since is None
        fetch_from = max(t for t in (lower, since) if t is not None) if (lower or since) else None
        lines = self._read_logs(info["Id"], fetch_from, upper, tail if exact else None)
        lines = [line for line in lines if (lower is None or line.time > lower)
                 and (upper is None or line.time <= upper) and (since is None or line.time >= since)]
        if tail is not None:
            lines = lines[-tail:] if tail > 0 else []
        return lines

    def _read_logs(self, container_id: str, since: datetime | None, until: datetime | None,
                   tail: int | None) -> list[LogLine]:
        api = self._api()
        out: list[LogLine] = []
        for stream in ("stdout", "stderr"):
            raw = self._call(api.logs, container_id, stdout=stream == "stdout", stderr=stream == "stderr",
                             timestamps=True, tail=tail if tail is not None else "all",
                             since=_timestamp(since - timedelta(seconds=1)) if since else None,
                             until=_timestamp(until + timedelta(seconds=1)) if until else None)
            out.extend(_parse_log_lines(raw.decode("utf-8", "replace"), stream))
        out.sort(key=lambda line: line.time)
        return out

    def follow_logs(self, pod_id: str, container: str, since: datetime | None = None) -> Iterator[LogLine]:
        """Lines as they come (stdout and stderr), until the container stops or the iterator is closed."""
        info = self._find_container(pod_id, container)
        api = self._api()
        lines: queue.Queue = queue.Queue()
        streams = []
        for name in ("stdout", "stderr"):
            streams.append((name, self._call(api.logs, info["Id"], stdout=name == "stdout",
                                             stderr=name == "stderr", timestamps=True, stream=True, follow=True,
                                             since=_timestamp(since) if since else None)))

        def pump(name: str, stream) -> None:
            pending = ""
            try:
                for chunk in stream:
                    pending += chunk.decode("utf-8", "replace")
                    *complete, pending = pending.split("\n")
                    for line in _parse_log_lines("\n".join(complete), name):
                        lines.put(line)
                if pending:
                    for line in _parse_log_lines(pending, name):
                        lines.put(line)
            finally:
                lines.put(None)

        threads = [threading.Thread(target=pump, args=s, daemon=True) for s in streams]
        for t in threads:
            t.start()
        done = 0
        try:
            while done < len(threads):
                line = lines.get()
                if line is None:
                    done += 1
                else:
                    yield line
        finally:
            for _, stream in streams:
                stream.close()

    # ------------------------------------------------------------------------------------------ events

    def events(self, since: datetime | None = None) -> DockerEventStream:
        """Typed events of Snowport's containers from the engine's event stream (plus pull failures).
        The stream raises RuntimeUnavailable when the engine goes away: re-list, then subscribe again."""
        api = self._api()
        raw = self._call(api.events, since=_timestamp(since) if since else None, decode=True,
                         filters={"type": "container", "label": [f"{MANAGED_LABEL}={self.scope}"],
                                  "event": ENGINE_EVENTS})
        stream = DockerEventStream(self, raw)
        self._streams.add(stream)
        stream.start()
        return stream

    def _publish(self, event: RuntimeEvent) -> None:
        for stream in list(self._streams):
            stream.put(event)

    def unsubscribe(self, stream: DockerEventStream) -> None:
        self._streams.discard(stream)

    def translate_event(self, ev: dict, oom_seen: set[str]) -> RuntimeEvent | None:
        attrs = ev.get("Actor", {}).get("Attributes", {})
        pod_id = attrs.get(POD_LABEL)
        if not pod_id or attrs.get("name", "").endswith(PREVIOUS):
            return None
        action = ev.get("Action") or ev.get("status") or ""
        when = datetime.fromtimestamp(ev.get("timeNano", 0) / 1e9, UTC)
        container = attrs.get(CONTAINER_LABEL) if attrs.get(ROLE_LABEL) == "container" else None
        labels = {k: v for k, v in attrs.items() if k not in OWN_LABELS and k not in ("image", "name", "exitCode")}
        cid = ev.get("Actor", {}).get("ID") or ev.get("id") or ""
        base = dict(time=when, pod_id=pod_id, container=container, labels=labels)
        if action == "create":
            return RuntimeEvent(kind=EventKind.CREATED, **base)
        if action == "start":
            return RuntimeEvent(kind=EventKind.STARTED, **base)
        if action == "oom":
            oom_seen.add(cid)
            return RuntimeEvent(kind=EventKind.OOM, oom_killed=True, message=Message.OOM, **base)
        if action == "die":
            code = int(attrs.get("exitCode", 0))
            oom = cid in oom_seen
            oom_seen.discard(cid)
            info = self._inspect(cid)  # one call per exit: OOMKilled, and FinishedAt to remember the exit code by
            if info is not None:
                oom = oom or bool(info["State"].get("OOMKilled"))
                finished = parse_time(info["State"].get("FinishedAt"))
                if finished:
                    self._exit_codes[(cid, finished.isoformat())] = code
                    if oom:
                        self._exit_codes[(cid, "oom " + finished.isoformat())] = 1
            if code or oom:
                message = Message.OOM if oom else Message.APP_ERROR
            else:
                message = Message.DONE
            return RuntimeEvent(kind=EventKind.DIED, exit_code=code, oom_killed=oom, message=message, **base)
        if action.startswith("health_status"):
            health = action.split(":", 1)[1].strip() if ":" in action else None
            return RuntimeEvent(kind=EventKind.HEALTH, health=health, **base)
        if action == "destroy":
            return RuntimeEvent(kind=EventKind.DESTROYED, **base)
        return None


class DockerEventStream:
    """An iterator of RuntimeEvent fed by a thread that reads the engine's event stream."""

    def __init__(self, runtime: DockerRuntime, raw) -> None:
        self._runtime = runtime
        self._raw = raw
        self._queue: queue.Queue = queue.Queue()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._pump, daemon=True, name="snowport-runtime-events")

    def start(self) -> None:
        self._thread.start()

    def put(self, event: RuntimeEvent) -> None:
        if not self._closed.is_set():
            self._queue.put(event)

    def _pump(self) -> None:
        oom_seen: set[str] = set()
        failure: Exception | None = None
        try:
            for ev in self._raw:
                if self._closed.is_set():
                    break
                event = self._runtime.translate_event(ev, oom_seen)
                if event is not None:
                    self._queue.put(event)
        except Exception as e:  # noqa: BLE001 - the reader must always hand over an end marker
            failure = e
        if not self._closed.is_set():
            failure = failure or RuntimeUnavailable("the container engine's event stream ended")
            self._queue.put(RuntimeUnavailable(str(failure)))
        self._queue.put(StopIteration())

    def __iter__(self) -> DockerEventStream:
        return self

    def __next__(self) -> RuntimeEvent:
        event = self.next_event(timeout=None)
        assert event is not None
        return event

    def next_event(self, timeout: float | None) -> RuntimeEvent | None:
        """The next event, or None after `timeout` seconds without one."""
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if isinstance(item, StopIteration):
            self._queue.put(item)
            raise StopIteration
        if isinstance(item, Exception):
            raise item
        return item

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        self._runtime.unsubscribe(self)
        try:
            self._raw.close()
        except Exception:  # noqa: BLE001 - closing a dead stream
            pass
        self._queue.put(StopIteration())

    def __enter__(self) -> DockerEventStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _parse_log_lines(text: str, stream: str) -> list[LogLine]:
    out = []
    for raw in text.split("\n"):
        if not raw:
            continue
        stamp, _, rest = raw.partition(" ")
        when = parse_time(stamp)
        if when is None:
            continue
        out.append(LogLine(time=when, text=rest.rstrip("\r"), stream=stream))
    return out


def _is_current(summary: dict) -> bool:
    """An app container (not the sandbox, not one kept for previous logs)."""
    return summary["Labels"].get(ROLE_LABEL) == "container" and not any(
        n.endswith(PREVIOUS) for n in summary.get("Names") or [])
