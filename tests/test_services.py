"""Services on the Docker engine, end to end: an image pushed with the docker CLI, CREATE SERVICE from an
inline spec and from a staged spec file, status and logs through the system functions, suspend, resume
and drop, all through the real connector."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from registry_helpers import (
    ensure_base_image,
    ensure_engine,
    push_app_image,
    remove_test_images,
    runtime_scope,
)
from snowflake.connector.errors import ProgrammingError

from conftest import ADMIN_PASSWORD, start_server

SPEC = """
spec:
  containers:
  - name: main
    image: /svc_db/public/svc_repo/app:1
    command: ["sh", "-c", "echo hello from the service $SNOWFLAKE_SERVICE_NAME; sleep 3600"]
    env:
      GREETING: 42
"""


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    ensure_engine()
    ensure_base_image()
    server = start_server(tmp_path_factory.mktemp("services") / "data", SNOWPORT_SERVICE_TICK_SECONDS="0.5",
                          SNOWPORT_WAREHOUSE_TICK_SECONDS="0.2", SNOWPORT_AUTOSCALE_INTERVAL_SECONDS="1",
                          SNOWPORT_AUTOSCALE_WINDOW_SECONDS="3")
    SCOPE["svc"] = runtime_scope(server.data_dir)
    yield server
    server.stop()
    for cid in _containers_of_services():
        subprocess.run(["docker", "rm", "-f", cid], capture_output=True)
    remove_test_images()


@pytest.fixture(scope="module")
def cur(svc, tmp_path_factory):
    conn = svc.connect()
    cursor = conn.cursor()
    for sql in ("CREATE ROLE SVC_ROLE", "GRANT CREATE DATABASE ON ACCOUNT TO ROLE SVC_ROLE",
                "GRANT CREATE COMPUTE POOL ON ACCOUNT TO ROLE SVC_ROLE", "GRANT ROLE SVC_ROLE TO USER ADMIN",
                "USE ROLE SVC_ROLE", "CREATE DATABASE SVC_DB", "CREATE IMAGE REPOSITORY SVC_DB.PUBLIC.SVC_REPO",
                "CREATE STAGE SVC_DB.PUBLIC.SPECS",
                "CREATE COMPUTE POOL SVC_POOL MIN_NODES = 1 MAX_NODES = 4 INSTANCE_FAMILY = CPU_X64_XS"):
        cursor.execute(sql)
    push_app_image(svc.port, "svc_db/public/svc_repo/app:1", tmp_path_factory.mktemp("push"), ADMIN_PASSWORD)
    yield cursor
    conn.close()


SCOPE: dict[str, str] = {}  # this module's server's runtime scope: other servers share the engine


def _mine() -> list[str]:
    return ["--filter", "label=snowport.service", "--filter", f"label=snowport.managed={SCOPE['svc']}"]


def _containers_of_services() -> list[str]:
    out = subprocess.run(["docker", "ps", "-aq", *_mine()], capture_output=True, text=True).stdout
    return out.split()


def _status(cur, name: str) -> str:
    return cur.execute(f"SHOW SERVICES LIKE '{name}'").fetchone()[1]


def _wait(cur, name: str, status: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while _status(cur, name) != status:
        assert time.time() < deadline, (name, _status(cur, name), cur.execute(
            f"SHOW SERVICE CONTAINERS IN SERVICE {name}").fetchall())
        time.sleep(0.3)


def test_service_runs_reports_and_stops(cur):
    created = cur.execute(f"CREATE SERVICE SVC_DB.PUBLIC.ECHO IN COMPUTE POOL SVC_POOL FROM SPECIFICATION $${SPEC}$$ "
                          "MIN_INSTANCES = 1 COMMENT = 'first'").fetchall()
    assert created == [("Service ECHO successfully created.",)]
    cur.execute("USE SCHEMA SVC_DB.PUBLIC")
    _wait(cur, "ECHO", "RUNNING")
    values = cur.execute("SHOW SERVICES LIKE 'ECHO'").fetchone()
    row = dict(zip([d[0] for d in cur.description], values, strict=True))
    assert (row["compute_pool"], row["current_instances"], row["target_instances"], row["comment"]) == (
        "SVC_POOL", 1, 1, "first")
    assert row["dns_name"].startswith("echo.") and row["dns_name"].endswith(".svc.spcs.internal")
    cur.execute("ALTER SERVICE ECHO SET MAX_INSTANCES = 3 COMMENT = 'second'")
    cur.execute("ALTER SERVICE ECHO UNSET MAX_INSTANCES, COMMENT")
    values = cur.execute("SHOW SERVICES LIKE 'ECHO'").fetchone()
    row = dict(zip([d[0] for d in cur.description], values, strict=True))
    assert (row["max_instances"], row["comment"]) == (1, None)  # back to MIN_INSTANCES, and no comment
    status = json.loads(cur.execute("SELECT SYSTEM$GET_SERVICE_STATUS('ECHO')").fetchone()[0])
    assert [(s["status"], s["containerName"], s["instanceId"], s["serviceName"]) for s in status] == [
        ("READY", "main", "0", "ECHO")]
    deadline = time.time() + 20
    while "hello from the service ECHO" not in (logs := cur.execute(
            "SELECT SYSTEM$GET_SERVICE_LOGS('ECHO', 0, 'main')").fetchone()[0]):
        assert time.time() < deadline, logs
        time.sleep(0.3)
    containers = cur.execute("SHOW SERVICE CONTAINERS IN SERVICE ECHO").fetchall()
    assert [(c[4], c[6], c[7]) for c in containers] == [("0", "main", "READY")]
    assert containers[0][10].startswith("sha256:")  # pinned at CREATE
    values = cur.execute("DESCRIBE SERVICE ECHO").fetchone()
    described = dict(zip([d[0] for d in cur.description], values, strict=True))
    assert "hello from the service" in described["spec"]
    env = subprocess.run(["docker", "inspect", "-f", "{{json .Config.Env}}", _containers_of_services()[0]],
                         capture_output=True, text=True).stdout

    assert _containers_of_services(), "the service's pod runs on the engine"
    cur.execute("ALTER SERVICE ECHO SUSPEND")
    _wait(cur, "ECHO", "SUSPENDED")
    deadline = time.time() + 30
    while _containers_of_services():
        assert time.time() < deadline, "a suspended service keeps no container"
        time.sleep(0.3)
    cur.execute("ALTER SERVICE ECHO RESUME")
    _wait(cur, "ECHO", "RUNNING")
    assert cur.execute("DROP SERVICE ECHO").fetchall() == [("ECHO successfully dropped.",)]
    deadline = time.time() + 30
    while _containers_of_services():
        assert time.time() < deadline, "DROP leaves no container behind"
        time.sleep(0.3)
    assert "SNOWFLAKE_SERVICE_NAME=ECHO" in env and "GREETING=42" in env


def _web_spec(version: str) -> str:
    """An instance that serves `version` over HTTP once it has slept a little: its readiness probe passes late."""
    return f"""
spec:
  containers:
  - name: web
    image: /svc_db/public/svc_repo/app:1
    command: ["sh", "-c", "mkdir -p /www; echo {version} > /www/index.html; sleep 1; exec busybox httpd -f -p 8080 -h /www"]
    resources:
      requests:
        cpu: 0.1
        memory: 64Mi
    readinessProbe:
      port: 8080
      path: /index.html
"""


def _instances(cur, name: str) -> list[dict]:
    rows = cur.execute(f"SHOW SERVICE INSTANCES IN SERVICE SVC_DB.PUBLIC.{name}").fetchall()
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in rows]


def test_a_rolling_upgrade_replaces_highest_first_and_keeps_min_ready(cur):
    """ALTER SERVICE ... FROM: one instance at a time, highest id first, never fewer than
    MIN_READY_INSTANCES ready (spcs-reference 3.3); per-instance spec_digest lags the service's."""
    _wait_until_no_service_containers()
    cur.execute(f"CREATE SERVICE SVC_DB.PUBLIC.ROLLING IN COMPUTE POOL SVC_POOL FROM SPECIFICATION $${_web_spec('v1')}$$ "
                "MIN_INSTANCES = 3 MAX_INSTANCES = 3 MIN_READY_INSTANCES = 2")
    _wait(cur, "ROLLING", "RUNNING", timeout=90)
    deadline = time.time() + 60
    while [i["status"] for i in _instances(cur, "ROLLING")] != ["READY"] * 3:
        assert time.time() < deadline, _instances(cur, "ROLLING")
        time.sleep(0.3)
    old = {i["spec_digest"] for i in _instances(cur, "ROLLING")}
    assert len(old) == 1 and all(i["ip_address"] and i["start_time"] for i in _instances(cur, "ROLLING"))
    assert cur.execute("ALTER SERVICE SVC_DB.PUBLIC.ROLLING FROM SPECIFICATION "
                       f"$${_web_spec('v2')}$$").fetchall() == [("Statement executed successfully.",)]
    new = cur.execute("SHOW SERVICES LIKE 'ROLLING'").fetchone()
    described = dict(zip([d[0] for d in cur.description], new, strict=True))
    assert described["spec_digest"] not in old  # the service's digest changes at once
    replaced_order: list[str] = []
    fewest_ready = 3
    saw_upgrading = False
    deadline = time.time() + 120
    while True:
        instances = _instances(cur, "ROLLING")
        fewest_ready = min(fewest_ready, sum(i["status"] == "READY" for i in instances))
        saw_upgrading = saw_upgrading or cur.execute("SHOW SERVICES LIKE 'ROLLING'").fetchone()[
            [d[0] for d in cur.description].index("is_upgrading")] == "true"
        for i in instances:
            if i["spec_digest"] == described["spec_digest"] and i["instance_id"] not in replaced_order:
                replaced_order.append(i["instance_id"])
        if len(replaced_order) == 3 and all(i["status"] == "READY" for i in instances):
            break
        assert time.time() < deadline, (instances, replaced_order)
        time.sleep(0.1)
    assert replaced_order == ["2", "1", "0"]
    assert fewest_ready >= 2, "readiness dropped below MIN_READY_INSTANCES during the upgrade"
    assert saw_upgrading
    deadline = time.time() + 20
    while cur.execute("SHOW SERVICES LIKE 'ROLLING'").fetchone()[[d[0] for d in cur.description].index(
            "is_upgrading")] != "false":
        assert time.time() < deadline
        time.sleep(0.3)
    assert len(_containers_of_services()) == 6  # three sandboxes and three web containers: old pods are gone
    cur.execute("DROP SERVICE SVC_DB.PUBLIC.ROLLING")


def _small_spec(cpu: str) -> str:
    return f"""
spec:
  containers:
  - name: main
    image: /svc_db/public/svc_repo/app:1
    command: ["sleep", "3600"]
    resources:
      requests:
        cpu: {cpu}
        memory: 64Mi
"""


def test_instances_are_placed_by_their_requests(cur):
    """CPU_X64_XS nodes hold 1 vCPU: with MAX_NODES = 1 two 0.4-vCPU instances run and the third waits,
    PENDING with Snowflake's message, until room is freed; an instance bigger than a node is refused."""
    _wait_until_no_service_containers()
    cur.execute("CREATE COMPUTE POOL TINY_POOL MIN_NODES = 1 MAX_NODES = 1 INSTANCE_FAMILY = CPU_X64_XS")
    try:
        _place_on_tiny_pool(cur)
    finally:
        cur.execute("DROP SERVICE IF EXISTS SVC_DB.PUBLIC.PACKED")
        cur.execute("DROP COMPUTE POOL TINY_POOL")


def _place_on_tiny_pool(cur) -> None:
    with pytest.raises(ProgrammingError) as info:
        cur.execute(f"CREATE SERVICE SVC_DB.PUBLIC.HUGE IN COMPUTE POOL TINY_POOL FROM SPECIFICATION $${_small_spec('2')}$$")
    assert info.value.errno == 2025 and "exceed the capacity of a node of compute pool TINY_POOL" in info.value.msg
    assert cur.execute("SHOW SERVICES LIKE 'HUGE' IN ACCOUNT").fetchall() == []
    cur.execute(f"CREATE SERVICE SVC_DB.PUBLIC.PACKED IN COMPUTE POOL TINY_POOL FROM SPECIFICATION $${_small_spec('0.4')}$$ "
                "MIN_INSTANCES = 3 MAX_INSTANCES = 3 MIN_READY_INSTANCES = 2")
    _wait(cur, "PACKED", "RUNNING")
    deadline = time.time() + 30
    while True:
        instances = {i["instance_id"]: i["status"] for i in _instances(cur, "PACKED")}
        if instances == {"0": "READY", "1": "READY", "2": "PENDING"}:
            break
        assert time.time() < deadline, instances
        time.sleep(0.3)
    waiting = [r for r in cur.execute("SHOW SERVICE CONTAINERS IN SERVICE SVC_DB.PUBLIC.PACKED").fetchall()
               if r[4] == "2"]
    assert waiting[0][7:9] == ("PENDING", "Unschedulable due to insufficient resources")
    assert len(_containers_of_services()) == 4  # two pods: a sandbox and a container each
    cur.execute("ALTER COMPUTE POOL TINY_POOL SET MAX_NODES = 2")  # room on a second node
    deadline = time.time() + 30
    while [i["status"] for i in _instances(cur, "PACKED")] != ["READY"] * 3:
        assert time.time() < deadline, _instances(cur, "PACKED")
        time.sleep(0.3)
    nodes = cur.execute("SHOW NODES IN COMPUTE POOL TINY_POOL").fetchall()
    assert len(nodes) == 2


BUSY_SPEC = """
spec:
  containers:
  - name: busy
    image: /svc_db/public/svc_repo/app:1
    command: ["sh", "-c", "while [ ! -f /tmp/idle ]; do :; done; exec sleep 3600"]
    resources:
      requests:
        cpu: 0.1
        memory: 64Mi
"""


def _target(cur, name: str) -> int:
    row = cur.execute(f"SHOW SERVICES LIKE '{name}' IN SCHEMA SVC_DB.PUBLIC").fetchone()
    return row[[d[0] for d in cur.description].index("target_instances")]


def test_cpu_bound_services_scale_out_and_back_in(cur):
    """Above 80 % of its CPU requests the service gets another instance (up to MAX_INSTANCES); once idle it
    goes back to MIN_INSTANCES (spcs-reference 3.16; the window is 3 s here instead of 5 minutes)."""
    _wait_until_no_service_containers()
    cur.execute(f"CREATE SERVICE SVC_DB.PUBLIC.BUSY IN COMPUTE POOL SVC_POOL FROM SPECIFICATION $${BUSY_SPEC}$$ "
                "MIN_INSTANCES = 1 MAX_INSTANCES = 2")
    try:
        deadline = time.time() + 60
        while _target(cur, "BUSY") != 2 or [i["status"] for i in _instances(cur, "BUSY")] != ["READY"] * 2:
            assert time.time() < deadline, (_target(cur, "BUSY"), _instances(cur, "BUSY"))
            time.sleep(0.5)
        busy = subprocess.run(["docker", "ps", "-q", *_mine(), "--filter", "name=-busy$"], capture_output=True,
                              text=True).stdout.split()
        assert len(busy) == 2
        for container in busy:
            subprocess.run(["docker", "exec", container, "sh", "-c", ": > /tmp/idle"], check=True, capture_output=True)
        deadline = time.time() + 60
        while _target(cur, "BUSY") != 1 or len(_instances(cur, "BUSY")) != 1:
            assert time.time() < deadline, (_target(cur, "BUSY"), _instances(cur, "BUSY"))
            time.sleep(0.5)
        assert _instances(cur, "BUSY")[0]["instance_id"] == "0"  # scale-in removes the highest instance
    finally:
        cur.execute("DROP SERVICE SVC_DB.PUBLIC.BUSY")


VOLUME_SPEC = """
spec:
  containers:
  - name: writer
    image: /svc_db/public/svc_repo/app:1
    command: ["sh", "-c", "echo shared-by-the-pod > /data/msg; echo in-memory > /cache/msg; exec sleep 3600"]
    volumeMounts:
    - name: data
      mountPath: /data
    - name: cache
      mountPath: /cache
  - name: reader
    image: /svc_db/public/svc_repo/app:1
    command: ["sh", "-c", "while ! cat /data/msg /cache/msg; do sleep 0.2; done; exec sleep 3600"]
    volumeMounts:
    - name: data
      mountPath: /data
    - name: cache
      mountPath: /cache
  volumes:
  - name: data
    source: local
  - name: cache
    source: memory
    size: 16Mi
"""


def test_local_and_memory_volumes_are_shared_by_an_instances_containers(cur):
    cur.execute(f"CREATE SERVICE SVC_DB.PUBLIC.VOLUMES IN COMPUTE POOL SVC_POOL FROM SPECIFICATION $${VOLUME_SPEC}$$")
    try:
        _wait(cur, "VOLUMES", "RUNNING")
        deadline = time.time() + 30
        while "in-memory" not in (logs := cur.execute(
                "SELECT SYSTEM$GET_SERVICE_LOGS('SVC_DB.PUBLIC.VOLUMES', 0, 'reader')").fetchone()[0]):
            assert time.time() < deadline, logs
            time.sleep(0.3)
        assert "shared-by-the-pod" in logs
    finally:
        cur.execute("DROP SERVICE SVC_DB.PUBLIC.VOLUMES")


def test_service_from_a_staged_spec_file(cur, tmp_path):
    spec_file = tmp_path / "echo.yaml"
    spec_file.write_text(SPEC)
    cur.execute(f"PUT file://{spec_file} @SVC_DB.PUBLIC.SPECS AUTO_COMPRESS=FALSE OVERWRITE=TRUE")
    cur.execute("CREATE SERVICE SVC_DB.PUBLIC.FROM_STAGE IN COMPUTE POOL SVC_POOL "
                "FROM @SVC_DB.PUBLIC.SPECS SPECIFICATION_FILE='echo.yaml'")
    # the waits a setup script uses instead of polling
    assert cur.execute("SELECT SYSTEM$WAIT_FOR_SERVICES(60, 'SVC_DB.PUBLIC.FROM_STAGE')").fetchone() == ("OK",)
    assert cur.execute("CALL SVC_DB.PUBLIC.FROM_STAGE!SPCS_WAIT_FOR('RUNNING', 30)").fetchone() == (
        "Service FROM_STAGE reached status RUNNING.",)
    assert cur.execute("SELECT SVC_DB.PUBLIC.FROM_STAGE!SPCS_WAIT_FOR('RUNNING', 30)").fetchone() == (
        "Service FROM_STAGE reached status RUNNING.",)  # the SELECT form too
    assert _status(cur, "FROM_STAGE") == "RUNNING"
    cur.execute("ALTER SERVICE SVC_DB.PUBLIC.FROM_STAGE SUSPEND")
    started = time.time()
    with pytest.raises(ProgrammingError) as info:
        cur.execute("CALL SVC_DB.PUBLIC.FROM_STAGE!SPCS_WAIT_FOR('RUNNING', 30)")
    assert info.value.errno == 2143 and "its status is SUSPENDED" in info.value.msg
    with pytest.raises(ProgrammingError) as info:
        cur.execute("SELECT FROM_STAGE!SPCS_WAIT_FOR('RUNNING', 30)")
    assert info.value.errno == 2143 and "its status is SUSPENDED" in info.value.msg
    assert time.time() - started < 5, "a status that cannot come fails at once"
    cur.execute("DROP SERVICE SVC_DB.PUBLIC.FROM_STAGE")


@pytest.mark.parametrize(("spec", "errno", "text"), [
    ("spec:\n  containers:\n  - name: main\n    image: /svc_db/public/svc_repo/app:1\n    bogus: 1\n", 2025,
     "spec.containers[0].bogus"),
    ("spec:\n  containers:\n  - name: main\n    image: /svc_db/public/no_repo/app:1\n", 2003,
     "Image Repository 'SVC_DB.PUBLIC.NO_REPO' does not exist or not authorized."),
])
def test_invalid_services_are_refused_and_leave_nothing(cur, spec, errno, text):
    with pytest.raises(ProgrammingError) as info:
        cur.execute(f"CREATE SERVICE SVC_DB.PUBLIC.BROKEN IN COMPUTE POOL SVC_POOL FROM SPECIFICATION $${spec}$$")
    assert info.value.errno == errno
    assert text in info.value.msg
    assert cur.execute("SHOW SERVICES LIKE 'BROKEN' IN ACCOUNT").fetchall() == []


def test_a_missing_image_leaves_the_container_pending(cur):
    spec = SPEC.replace("app:1", "app:no-such-tag")
    cur.execute(f"CREATE SERVICE SVC_DB.PUBLIC.NO_IMAGE IN COMPUTE POOL SVC_POOL FROM SPECIFICATION $${spec}$$")
    deadline = time.time() + 40
    while True:
        rows = cur.execute("SHOW SERVICE CONTAINERS IN SERVICE SVC_DB.PUBLIC.NO_IMAGE").fetchall()
        if rows and rows[0][8] == "Failed to pull image":
            break
        assert time.time() < deadline, rows
        time.sleep(0.5)
    assert rows[0][7] == "PENDING"
    assert _status(cur, "NO_IMAGE") == "PENDING"
    cur.execute("DROP SERVICE SVC_DB.PUBLIC.NO_IMAGE")


CONNECT_BACK_SPEC = """
spec:
  containers:
  - name: main
    image: /svc_db/public/svc_repo/app:1
    command: ["sh", "-c", "echo token=$(cat /snowflake/session/token); wget -q -O- http://$SNOWFLAKE_HOST:$SNOWFLAKE_PORT/v2/ 2>&1 | head -c 300; echo; sleep 3600"]
"""


def test_a_container_reaches_snowport_with_its_session_token(svc, cur):
    """The token file and SNOWFLAKE_HOST/PORT lead back to Snowport, and the token opens a session
    with the service's owner role (what the tutorial's notebook code does with the connector)."""
    cur.execute("CREATE SERVICE SVC_DB.PUBLIC.CALLER IN COMPUTE POOL SVC_POOL FROM SPECIFICATION "
                f"$${CONNECT_BACK_SPEC.replace('$SNOWFLAKE_PORT', str(svc.port))}$$")  # the plain listener
    _wait(cur, "CALLER", "RUNNING")
    deadline = time.time() + 30
    while True:
        logs = cur.execute("SELECT SYSTEM$GET_SERVICE_LOGS('SVC_DB.PUBLIC.CALLER', 0, 'main')").fetchone()[0]
        if "token=" in logs and ("401" in logs or "UNAUTHORIZED" in logs):
            break
        assert time.time() < deadline, logs
        time.sleep(0.5)
    token = logs.split("token=", 1)[1].split()[0]
    conn = svc.connect(user="admin", password=None, authenticator="oauth", token=token)
    assert conn.cursor().execute("SELECT CURRENT_ROLE()").fetchone() == ("SVC_ROLE",)
    conn.close()
    cur.execute("DROP SERVICE SVC_DB.PUBLIC.CALLER")


def test_two_servers_on_one_engine_leave_each_others_pods_alone(svc, cur, tmp_path):
    """Each data dir has its own runtime scope: another Snowport on the same engine (a second project, a
    test server) neither adopts nor stops this one's pods, although its service ids overlap."""
    _wait_until_no_service_containers()
    cur.execute(f"CREATE SERVICE SVC_DB.PUBLIC.MINE IN COMPUTE POOL SVC_POOL FROM SPECIFICATION $${SPEC}$$")
    _wait(cur, "MINE", "RUNNING")
    mine = subprocess.run(["docker", "ps", "-q", "--no-trunc", *_mine()],
                          capture_output=True, text=True).stdout.split()
    since = str(int(time.time()) - 1)
    other = start_server(tmp_path / "other", SNOWPORT_SERVICE_TICK_SECONDS="0.3")
    try:
        time.sleep(3)  # ten resyncs of the other server's service controller
        events = subprocess.run(["docker", "events", "--since", since, "--until", str(int(time.time())),
                                 "--filter", "event=kill", "--filter", "event=stop", "--filter", "event=destroy",
                                 "--format", "{{.Actor.ID}}"], capture_output=True, text=True).stdout.split()
        assert not set(events) & set(mine), other.log()
    finally:
        other.stop()
    assert _status(cur, "MINE") == "RUNNING"
    cur.execute("DROP SERVICE SVC_DB.PUBLIC.MINE")


def _wait_until_no_service_containers() -> None:
    deadline = time.time() + 30
    while _containers_of_services():  # earlier tests' services are being removed
        assert time.time() < deadline, _containers_of_services()
        time.sleep(0.3)


def test_killed_containers_come_back_and_a_restarted_server_adopts_its_pods(svc, cur):
    _wait_until_no_service_containers()
    cur.execute(f"CREATE SERVICE SVC_DB.PUBLIC.HARDY IN COMPUTE POOL SVC_POOL FROM SPECIFICATION $${SPEC}$$")
    _wait(cur, "HARDY", "RUNNING")
    app = [c for c in _containers_of_services() if _label(c, "snowport.service")]

    def app_container() -> str:
        out = subprocess.run(["docker", "ps", "-q", *_mine(), "--filter",
                              "name=-main$"], capture_output=True, text=True).stdout.split()
        assert len(out) == 1, out
        return out[0]

    before = app_container()
    subprocess.run(["docker", "kill", before], check=True, capture_output=True)
    deadline = time.time() + 60
    while True:
        rows = cur.execute("SHOW SERVICE CONTAINERS IN SERVICE SVC_DB.PUBLIC.HARDY").fetchall()
        if rows and rows[0][7] == "READY" and (rows[0][11] or 0) >= 1:
            break
        assert time.time() < deadline, f"{[list(r) for r in rows]}\nserver log:\n{svc.log()[-6000:]}"
        time.sleep(0.3)
    assert app, "the pod's containers carry the service label"

    # removed behind Snowport's back: the pod is completed with a new container
    removed = app_container()
    subprocess.run(["docker", "rm", "-f", removed], check=True, capture_output=True)
    deadline = time.time() + 30
    while True:
        out = subprocess.run(["docker", "ps", "-q", *_mine(), "--filter", "name=-main$"], capture_output=True,
                             text=True).stdout.split()
        rows = cur.execute("SHOW SERVICE CONTAINERS IN SERVICE SVC_DB.PUBLIC.HARDY").fetchall()
        if len(out) == 1 and out[0] != removed and rows and rows[0][7] == "READY":
            break
        assert time.time() < deadline, (out, rows)
        time.sleep(0.3)

    # kill -9 of Snowport itself: the restarted server adopts the running pod (no new container)
    running = app_container()
    svc.proc.kill()
    svc.proc.wait()
    restarted = start_server(svc.data_dir, port=svc.port, SNOWPORT_SERVICE_TICK_SECONDS="0.5")
    try:
        again = restarted.connect().cursor()
        again.execute("USE ROLE SVC_ROLE")
        time.sleep(3)
        assert _status(again, "HARDY") == "RUNNING"
        assert app_container() == running
        again.execute("DROP SERVICE SVC_DB.PUBLIC.HARDY")
        # while the server runs: its stop does not wait out a pod's 10 s stop grace (a loaded machine races it)
        deadline = time.time() + 45
        while _containers_of_services():
            assert time.time() < deadline, "DROP after the restart removes the adopted pod"
            time.sleep(0.3)
    finally:
        restarted.stop()


def _label(container: str, label: str) -> str:
    return subprocess.run(["docker", "inspect", "-f", f'{{{{index .Config.Labels "{label}"}}}}', container],
                          capture_output=True, text=True).stdout.strip()

