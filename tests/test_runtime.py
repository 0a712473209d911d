"""runtime/: pods on the real Docker engine (images built locally from busybox; nothing pulled from Docker Hub).

The pods are made once, concurrently, by a module fixture; each test checks one property of them and the
last one deletes them and checks that nothing is left behind.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from registry_helpers import BASE_IMAGE, ensure_base_image, ensure_engine

from snowport.runtime import (
    ContainerSpec,
    ContainerState,
    EventKind,
    InvalidPodSpec,
    Message,
    NoPreviousRun,
    PodConflict,
    PodNotFound,
    PodSpec,
    PodState,
    ReadinessProbe,
    Reason,
    Resources,
    RestartPolicy,
    Runtime,
    RuntimeEvent,
    RuntimeUnavailable,
    Volume,
    VolumeKind,
    VolumeMount,
)
from snowport.runtime.docker import DockerRuntime

RUN = uuid.uuid4().hex[:8]
RUN_LABEL = "snowport.test-run"
NETWORK = f"snowport-test-{RUN}"
BB = "/bin/busybox"
MISSING_IMAGE = "127.0.0.1:9/snowport-test/missing@sha256:" + "0" * 64


def sh(script: str) -> tuple[str, ...]:
    return (BB, "sh", "-c", script)


def pod(name: str, *containers: ContainerSpec, **kw) -> PodSpec:
    return PodSpec(pod_id=f"rt-{RUN}-{name}", containers=containers,
                   labels={RUN_LABEL: RUN, "snowport.test-pod": name}, **kw)


PAIR = pod(
    "pair",
    ContainerSpec("web", BASE_IMAGE, command=sh(
        "echo from-web > /data/shared.txt; echo mem-ok > /scratch/m.txt; mkdir -p /www; "
        f"echo hello-over-localhost > /www/index.html; echo web-err >&2; exec {BB} httpd -f -p 8080 -h /www"),
        readiness=ReadinessProbe(port=8080, path="/index.html", period_seconds=1, timeout_seconds=5),
        resources=Resources(cpu_millis=250, memory_bytes=64 * 2**20, cpu_request_millis=100),
        mounts=(VolumeMount("data", "/data"), VolumeMount("scratch", "/scratch"))),
    ContainerSpec("client", BASE_IMAGE, command=sh(
        f"while :; do {BB} wget -q -O - http://localhost:8080/index.html; cat /data/shared.txt /scratch/m.txt; "
        f"{BB} grep ' /scratch ' /proc/mounts; sleep 1; done"),
        env={"GREETING": "hi", "NUMBER": "1"},
        mounts=(VolumeMount("data", "/data", read_only=True), VolumeMount("scratch", "/scratch"))),
    volumes=(Volume("data"), Volume("scratch", VolumeKind.MEMORY, size_bytes=8 * 2**20)),
    network=NETWORK, aliases=("pair-svc",),
)
# fails once (exit 3), then runs: a deterministic restart
CRASH = pod("crash", ContainerSpec("main", BASE_IMAGE, command=sh(
    "if [ -f /state/ran ]; then echo second-run; exec sleep 3600; fi; touch /state/ran; echo first-run; exit 3"),
    mounts=(VolumeMount("state", "/state"),)), volumes=(Volume("state"),))
OOM = pod("oom", ContainerSpec("hog", BASE_IMAGE, command=(BB, "awk", 'BEGIN { s = "x"; while (1) s = s s }'),
                               resources=Resources(memory_bytes=16 * 2**20)), restart_policy=RestartPolicy.NEVER)
JOB = pod("job", ContainerSpec("main", BASE_IMAGE, command=sh("echo job-done")), restart_policy=RestartPolicy.NEVER)
MISSING = pod("missing", ContainerSpec("main", MISSING_IMAGE))
STUBBORN = pod("stubborn", ContainerSpec("main", BASE_IMAGE, command=sh("trap '' TERM; while :; do sleep 1; done")),
               grace_seconds=1)
ALL = (PAIR, CRASH, OOM, JOB, MISSING, STUBBORN)


def wait_for(check, timeout: float = 40.0, interval: float = 0.3):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting; last value {value!r}")
        time.sleep(interval)


def docker_cli(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True, timeout=60).stdout


def leftovers() -> dict[str, list[str]]:
    label = f"label={RUN_LABEL}={RUN}"
    return {kind: docker_cli(*cmd, "--filter", label).split() for kind, cmd in (
        ("containers", ("ps", "-aq")), ("volumes", ("volume", "ls", "-q")), ("networks", ("network", "ls", "-q")))}


class Recorder:
    """Collects the runtime's events in the background."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.events: list[RuntimeEvent] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for event in self.stream:
                self.events.append(event)
        except RuntimeUnavailable:
            pass

    def of(self, spec: PodSpec, kind: EventKind) -> list[RuntimeEvent]:
        return [e for e in self.events if e.pod_id == spec.pod_id and e.kind == kind]


@pytest.fixture(scope="module")
def runtime():
    ensure_engine()
    ensure_base_image()
    rt = DockerRuntime()
    rt.ensure_network(NETWORK, labels={RUN_LABEL: RUN})
    recorder = Recorder(rt.events())
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(ALL)) as pool:
        created = dict(zip((s.pod_id for s in ALL), pool.map(rt.create_pod, ALL), strict=True))
    rt.created, rt.recorder, rt.create_seconds = created, recorder, time.monotonic() - started
    yield rt
    recorder.stream.close()
    with ThreadPoolExecutor(max_workers=len(ALL)) as pool:
        list(pool.map(lambda s: rt.delete_pod(s.pod_id, grace_seconds=0), rt.list_pods({RUN_LABEL: RUN})))
    rt.remove_network(NETWORK)
    rt.close()


def test_docker_runtime_is_a_runtime(runtime) -> None:
    assert isinstance(runtime, Runtime)
    assert runtime.ping()
    capacity = runtime.capacity()
    assert capacity.cpu_millis >= 1000 and capacity.memory_bytes > 2**28 and capacity.gpus == 0


def test_containers_of_a_pod_talk_over_localhost_and_become_ready(runtime) -> None:
    status = wait_for(lambda: (s := runtime.pod_status(PAIR.pod_id)).state == PodState.READY and s)
    web = status.container("web")
    assert (web.state, web.message, web.ready) == (ContainerState.READY, Message.RUNNING, True)
    assert status.network == NETWORK and status.ip_address and status.spec_digest == PAIR.digest()
    assert status.labels == {RUN_LABEL: RUN, "snowport.test-pod": "pair"}
    wait_for(lambda: "hello-over-localhost" in [x.text for x in runtime.logs(PAIR.pod_id, "client")])


def test_readiness_pending_message_before_the_probe_passes(runtime) -> None:
    first = runtime.created[PAIR.pod_id].container("web")
    if first.state == ContainerState.PENDING:  # the engine may already have run the first probe
        assert first.message == "Readiness probe is failing at path: /index.html, port: 8080"
        assert first.reason == Reason.INITIALIZING
    health = wait_for(lambda: runtime.recorder.of(PAIR, EventKind.HEALTH))
    assert health[-1].container == "web" and health[-1].health == "healthy"


def test_local_and_memory_volumes_are_shared_by_the_pod(runtime) -> None:
    texts = wait_for(lambda: {x.text for x in runtime.logs(PAIR.pod_id, "client")} >= {"from-web", "mem-ok"}
                     and [x.text for x in runtime.logs(PAIR.pod_id, "client")])
    mount = next(t for t in texts if " /scratch " in t)
    assert mount.startswith("tmpfs /scratch tmpfs") and "size=8192k" in mount


def test_cpu_and_memory_limits_reach_the_engine(runtime) -> None:
    web = runtime.pod_status(PAIR.pod_id).container("web")
    host = docker_cli("inspect", "--format", "{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}} "
                      "{{.HostConfig.MemorySwap}} {{.HostConfig.CpuShares}} {{.HostConfig.NetworkMode}}",
                      web.container_id).split()
    assert host[:4] == [str(250_000_000), str(64 * 2**20), str(64 * 2**20), str(102)]
    assert host[4].startswith("container:")
    env = docker_cli("inspect", "--format", "{{json .Config.Env}}",
                     runtime.pod_status(PAIR.pod_id).container("client").container_id)
    assert '"GREETING=hi"' in env and '"NUMBER=1"' in env


def test_memory_limit_kills_with_oom(runtime) -> None:
    hog = wait_for(lambda: (c := runtime.pod_status(OOM.pod_id).container("hog")).state == ContainerState.FAILED
                   and c.oom_killed and c)
    assert hog.oom_killed and hog.message == Message.OOM and hog.reason == Reason.FAILED_WITH_OOM
    assert runtime.pod_status(OOM.pod_id).state == PodState.FAILED
    died = wait_for(lambda: runtime.recorder.of(OOM, EventKind.DIED))
    assert died[0].oom_killed and died[0].message == Message.OOM and died[0].container == "hog"


def test_a_job_that_exits_zero_is_done(runtime) -> None:
    status = wait_for(lambda: (s := runtime.pod_status(JOB.pod_id)).state == PodState.SUCCEEDED and s)
    main = status.container("main")
    assert (main.state, main.message, main.last_exit_code) == (ContainerState.DONE, Message.DONE, 0)
    assert [x.text for x in runtime.logs(JOB.pod_id, "main")] == ["job-done"]
    with pytest.raises(NoPreviousRun):
        runtime.logs(JOB.pod_id, "main", previous=True)


def test_a_container_that_exits_non_zero_restarts(runtime) -> None:
    main = wait_for(lambda: (c := runtime.pod_status(CRASH.pod_id).container("main")).restart_count >= 1
                    and c.state == ContainerState.READY and c)
    assert main.restart_count == 1 and main.last_exit_code == 3 and main.finished_at and main.started_at
    assert wait_for(lambda: [x.text for x in runtime.logs(CRASH.pod_id, "main")]) == ["second-run"]
    previous = runtime.logs(CRASH.pod_id, "main", previous=True)
    assert [x.text for x in previous] == ["first-run"]
    line = previous[0]
    assert line.time.tzinfo is not None and line.stream == "stdout"
    assert line.render().endswith("Z first-run") and line.render()[:4].isdigit()
    died = wait_for(lambda: runtime.recorder.of(CRASH, EventKind.DIED))
    assert died[0].exit_code == 3 and died[0].message == Message.APP_ERROR
    assert len(runtime.recorder.of(CRASH, EventKind.STARTED)) >= 3  # sandbox, first run, restart


def test_docker_kill_needs_a_restart_that_counts(runtime) -> None:
    """Docker treats `docker kill` as a manual stop and does not restart; the status says so and
    restart_container (what the controller calls) runs it again with restart_count going up."""
    before = wait_for(lambda: (c := runtime.pod_status(CRASH.pod_id).container("main")).restart_count == 1
                      and c.state == ContainerState.READY and c)
    assert not before.needs_restart
    docker_cli("kill", before.container_id)
    killed = wait_for(lambda: (c := runtime.pod_status(CRASH.pod_id).container("main")).needs_restart and c)
    assert killed.state == ContainerState.FAILED and killed.last_exit_code == 137
    runtime.restart_container(CRASH, "main")
    after = wait_for(lambda: (c := runtime.pod_status(CRASH.pod_id).container("main")).state == ContainerState.READY
                     and c)
    assert after.restart_count == 2 and after.last_exit_code == 137 and not after.needs_restart
    assert after.container_id != before.container_id
    assert runtime.restart_container(CRASH, "main").container("main").container_id == after.container_id  # running
    assert wait_for(lambda: [x.text for x in runtime.logs(CRASH.pod_id, "main")]) == ["second-run"]
    assert [x.text for x in runtime.logs(CRASH.pod_id, "main", previous=True)] == ["second-run"]


def test_logs_merge_streams_with_timestamps_and_tail(runtime) -> None:
    lines = wait_for(lambda: [x for x in runtime.logs(PAIR.pod_id, "web")])
    assert ("web-err", "stderr") in [(x.text, x.stream) for x in lines]
    client = wait_for(lambda: len(x := runtime.logs(PAIR.pod_id, "client")) >= 6 and x)
    assert [x.time for x in client] == sorted(x.time for x in client)
    assert len(runtime.logs(PAIR.pod_id, "client", tail=2)) == 2
    later = runtime.logs(PAIR.pod_id, "client", since=client[3].time)
    assert later and all(x.time >= client[3].time for x in later)
    since = datetime.now(UTC)
    followed = runtime.follow_logs(PAIR.pod_id, "client", since=since)
    try:
        line = next(followed)
        assert line.time >= since.replace(microsecond=0) and line.text
    finally:
        followed.close()


def test_missing_image_is_pending_with_failed_to_pull(runtime) -> None:
    status = runtime.created[MISSING.pod_id]
    main = status.container("main")
    assert (main.state, main.message, main.reason) == (ContainerState.PENDING, Message.PULL_FAILED,
                                                        Reason.FAILED_TO_PULL_IMAGE)
    assert status.state == PodState.PENDING
    failed = runtime.recorder.of(MISSING, EventKind.PULL_FAILED)
    assert failed and failed[0].message.startswith("Failed to pull image: 127.0.0.1:9/")
    with pytest.raises(PodNotFound, match="PENDING"):
        runtime.logs(MISSING.pod_id, "main")


def test_a_new_runtime_adopts_running_pods(runtime) -> None:
    wait_for(lambda: runtime.pod_status(PAIR.pod_id).state == PodState.READY)
    again = DockerRuntime()
    try:
        found = {p.pod_id: p for p in again.list_pods({RUN_LABEL: RUN})}
        assert set(found) == {s.pod_id for s in ALL}
        assert {p.pod_id for p in again.list_pods({RUN_LABEL: RUN, "snowport.test-pod": "pair"})} == {PAIR.pod_id}
        ids = {c.name: c.container_id for c in found[PAIR.pod_id].containers}
        assert again.create_pod(PAIR).pod_id == PAIR.pod_id  # the same spec: nothing recreated
        assert {c.name: c.container_id for c in again.pod_status(PAIR.pod_id).containers} == ids
        with pytest.raises(PodConflict):
            again.create_pod(dataclasses.replace(PAIR, containers=PAIR.containers[:1]))
    finally:
        again.close()


def test_a_container_removed_behind_our_back_is_recreated(runtime) -> None:
    job = runtime.pod_status(JOB.pod_id).container("main")
    docker_cli("rm", "-f", job.container_id)
    gone = runtime.pod_status(JOB.pod_id).container("main")
    assert (gone.state, gone.reason) == (ContainerState.PENDING, Reason.MISSING)
    runtime.create_pod(JOB)
    back = wait_for(lambda: (c := runtime.pod_status(JOB.pod_id).container("main")).state == ContainerState.DONE
                    and c)
    assert back.container_id != job.container_id


def test_invalid_specs_are_refused(runtime) -> None:
    with pytest.raises(InvalidPodSpec, match="GPUs"):
        runtime.create_pod(pod("gpu", ContainerSpec("main", BASE_IMAGE, resources=Resources(gpus=1))))
    with pytest.raises(InvalidPodSpec):
        runtime.create_pod(PodSpec(pod_id="Bad_Id", containers=(ContainerSpec("main", BASE_IMAGE),)))
    with pytest.raises(InvalidPodSpec, match="unknown volume"):
        runtime.create_pod(pod("vol", ContainerSpec("main", BASE_IMAGE, mounts=(VolumeMount("nope", "/x"),))))
    assert not runtime.list_pods({RUN_LABEL: RUN, "snowport.test-pod": "gpu"})


def test_networks_of_ended_servers_are_pruned_and_scopes_do_not_see_each_other(runtime) -> None:
    """A server killed with nothing running leaves its network; the next server to start collects it
    (the engine has room for a few dozen bridge networks). Live servers' and busy networks stay."""
    import socket as _socket

    host = _socket.gethostname()
    dead, alive = f"snowport-test-dead-{RUN}", f"snowport-test-alive-{RUN}"
    for name, pid in ((dead, "999999999"), (alive, str(os.getpid()))):
        subprocess.run(["docker", "network", "create", "--label", "snowport.managed=other-scope", "--label",
                        f"snowport.host={host}", "--label", f"snowport.pid={pid}", name], check=True,
                       capture_output=True)
    try:
        other = DockerRuntime(scope="snowport-test-scope")
        removed = other.prune_networks()
        assert dead in removed and alive not in removed
        assert other.list_pods({RUN_LABEL: RUN}) == []  # another scope sees none of this runtime's pods
    finally:
        subprocess.run(["docker", "network", "rm", dead, alive], capture_output=True)


def test_no_engine_means_ping_false_and_typed_errors(tmp_path) -> None:
    down = DockerRuntime(base_url=f"unix://{tmp_path}/no-engine.sock", timeout=2)
    assert down.ping() is False
    with pytest.raises(RuntimeUnavailable):
        down.list_pods({})
    with pytest.raises(RuntimeUnavailable):
        down.events()
    with pytest.raises(RuntimeUnavailable):
        down.create_pod(JOB)


def test_delete_pod_stops_with_grace_and_leaves_nothing(runtime) -> None:
    statuses = {s.pod_id: s for s in runtime.list_pods({RUN_LABEL: RUN})}
    assert statuses[STUBBORN.pod_id].container("main").state == ContainerState.READY
    started = time.monotonic()
    runtime.delete_pod(STUBBORN.pod_id)  # ignores SIGTERM: killed after its 1 s grace
    assert time.monotonic() - started >= 1.0
    died = wait_for(lambda: [e for e in runtime.recorder.of(STUBBORN, EventKind.DIED) if e.container == "main"])
    assert died[0].exit_code == 137
    with ThreadPoolExecutor(max_workers=len(ALL)) as pool:
        list(pool.map(lambda s: runtime.delete_pod(s.pod_id, grace_seconds=0), ALL))
    runtime.delete_pod(JOB.pod_id)  # again: nothing to do
    with pytest.raises(PodNotFound):
        runtime.pod_status(PAIR.pod_id)
    assert runtime.list_pods({RUN_LABEL: RUN}) == []
    assert NETWORK in runtime.list_networks({RUN_LABEL: RUN})
    runtime.remove_network(NETWORK)
    runtime.remove_network(NETWORK)  # idempotent
    assert leftovers() == {"containers": [], "volumes": [], "networks": []}
    assert runtime.recorder.of(PAIR, EventKind.DESTROYED)
