"""Service logs and platform events kept under the data dir, and observation driven by the engine's events,
end to end through the real connector and the docker CLI: `<svc>!SPCS_GET_LOGS` / `<svc>!SPCS_GET_EVENTS`
before and after DROP, a killed container seen within a second or two although the controller's resync
period is 30 s."""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import UTC, datetime

import pytest
from engine_proxy import EngineProxy
from registry_helpers import (
    BASE_IMAGE,
    ensure_base_image,
    ensure_engine,
    push_app_image,
)
from service_helpers import engine_server
from service_helpers import rows as _rows
from service_helpers import until as _until
from snowflake.connector.errors import ProgrammingError

from conftest import ADMIN_PASSWORD

SPEC = """
spec:
  containers:
  - name: main
    image: /slog_db/public/slog_repo/app:1
    command: ["sh", "-c", "echo run-start $SNOWFLAKE_SERVICE_NAME; echo on-stderr >&2; sleep 3600"]
"""


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    # the resync period as shipped (30 s): everything below must come from the engine's events
    yield from engine_server(tmp_path_factory, "service-logs", SNOWPORT_SERVICE_TICK_SECONDS="30",
                             SNOWPORT_WAREHOUSE_TICK_SECONDS="0.2")


@pytest.fixture(scope="module")
def cur(svc, tmp_path_factory):
    conn = svc.connect()
    cursor = conn.cursor()
    for sql in ("CREATE ROLE SLOG_ROLE", "GRANT CREATE DATABASE ON ACCOUNT TO ROLE SLOG_ROLE",
                "GRANT CREATE COMPUTE POOL ON ACCOUNT TO ROLE SLOG_ROLE", "GRANT ROLE SLOG_ROLE TO USER ADMIN",
                "USE ROLE SLOG_ROLE", "CREATE DATABASE SLOG_DB", "CREATE IMAGE REPOSITORY SLOG_DB.PUBLIC.SLOG_REPO",
                "CREATE COMPUTE POOL SLOG_POOL MIN_NODES = 1 MAX_NODES = 1 INSTANCE_FAMILY = CPU_X64_XS",
                "USE SCHEMA SLOG_DB.PUBLIC"):
        cursor.execute(sql)
    push_app_image(svc.port, "slog_db/public/slog_repo/app:1", tmp_path_factory.mktemp("push"), ADMIN_PASSWORD)
    yield cursor
    conn.close()


def _app_containers(svc, service: str) -> list[str]:
    """This server's app containers of `service` (found by the environment Snowport gives them)."""
    ids = subprocess.run(["docker", "ps", "-q", "--filter", "label=snowport.service"], capture_output=True,
                         text=True).stdout.split()
    mine = []
    for cid in ids:
        info = json.loads(subprocess.run(["docker", "inspect", cid], capture_output=True, text=True).stdout or "[{}]")
        if not info:
            continue
        env = info[0].get("Config", {}).get("Env") or []
        if "SNOWFLAKE_DATABASE=SLOG_DB" in env and f"SNOWFLAKE_SERVICE_NAME={service}" in env:
            mine.append(cid)
    return mine


def _wait_status(cur, name: str, status: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while cur.execute(f"SHOW SERVICES LIKE '{name}'").fetchone()[1] != status:
        assert time.time() < deadline, cur.execute(f"SHOW SERVICE CONTAINERS IN SERVICE {name}").fetchall()
        time.sleep(0.2)


def test_logs_and_events_are_kept_and_outlive_the_service(svc, cur):
    cur.execute(f"CREATE SERVICE KEPT IN COMPUTE POOL SLOG_POOL FROM SPECIFICATION $${SPEC}$$")
    _wait_status(cur, "KEPT", "RUNNING")

    def logged() -> list[dict]:
        rows = _rows(cur, "SELECT * FROM TABLE(KEPT!SPCS_GET_LOGS())")
        return rows if {r["LOG"] for r in rows} >= {"run-start KEPT", "on-stderr"} else []

    rows = _until(logged, 20, "the container's output in SPCS_GET_LOGS")
    assert [d[0] for d in cur.description] == ["TIMESTAMP", "INSTANCE_ID", "CONTAINER_NAME", "LOG",
                                               "RECORD_ATTRIBUTES"]
    by_line = {r["LOG"]: r for r in rows}
    assert (by_line["run-start KEPT"]["INSTANCE_ID"], by_line["run-start KEPT"]["CONTAINER_NAME"]) == (0, "main")
    assert json.loads(by_line["run-start KEPT"]["RECORD_ATTRIBUTES"]) == {"log.iostream": "stdout"}
    assert json.loads(by_line["on-stderr"]["RECORD_ATTRIBUTES"]) == {"log.iostream": "stderr"}
    # the window: nothing before START_TIME, and a qualified name with a projection works too
    later = cur.execute("SELECT COUNT(*) FROM TABLE(SLOG_DB.PUBLIC.KEPT!SPCS_GET_LOGS("
                        "START_TIME => DATEADD('hour', 1, CURRENT_TIMESTAMP())))").fetchone()[0]
    assert later == 0
    assert cur.execute("SELECT log FROM TABLE(kept!spcs_get_logs(START_TIME => DATEADD('minute', -10, "
                       "CURRENT_TIMESTAMP()), END_TIME => CURRENT_TIMESTAMP())) WHERE log LIKE 'run-start%'"
                       ).fetchall() == [("run-start KEPT",)]

    events = _rows(cur, "SELECT * FROM TABLE(KEPT!SPCS_GET_EVENTS())")
    assert [d[0] for d in cur.description] == ["TIMESTAMP", "SEVERITY", "EVENT_NAME", "EVENT_DETAILS", "INSTANCE_ID",
                                               "CONTAINER_NAME", "RECORD", "RECORD_ATTRIBUTES"]
    seen = {(e["EVENT_NAME"], json.loads(e["EVENT_DETAILS"])["status"]) for e in events}
    assert {("CONTAINER.STATUS_CHANGE", "PENDING"), ("CONTAINER.STATUS_CHANGE", "READY"),
            ("SERVICE_INSTANCE.STATUS_CHANGE", "READY"), ("SERVICE.STATUS_CHANGE", "RUNNING")} <= seen, events
    ready = next(e for e in events if e["EVENT_NAME"] == "SERVICE.STATUS_CHANGE" and "RUNNING" in e["EVENT_DETAILS"])
    assert json.loads(ready["EVENT_DETAILS"]) == {"message": "Service is ready", "status": "RUNNING"}
    assert json.loads(ready["RECORD"]) == {"name": "SERVICE.STATUS_CHANGE", "severity_text": "INFO"}

    assert _app_containers(svc, "KEPT")
    cur.execute("DROP SERVICE KEPT")
    # like Snowflake's event table, the logs and events stay readable after the service is gone: at once
    # (before the controller has removed its containers or marked it dropped) ...
    at_once = {r["LOG"] for r in _rows(cur, "SELECT * FROM TABLE(KEPT!SPCS_GET_LOGS())")}
    assert {"run-start KEPT", "on-stderr"} <= at_once
    # ... and once its containers are gone
    _until(lambda: not _app_containers(svc, "KEPT"), 30, "DROP removes the containers")
    after = {r["LOG"] for r in _rows(cur, "SELECT * FROM TABLE(KEPT!SPCS_GET_LOGS())")}
    assert {"run-start KEPT", "on-stderr"} <= after
    deleted = _until(lambda: [e for e in _rows(cur, "SELECT * FROM TABLE(KEPT!SPCS_GET_EVENTS())")
                              if json.loads(e["EVENT_DETAILS"])["status"] == "DELETED"], 10, "a DELETED event")
    assert json.loads(deleted[0]["EVENT_DETAILS"])["message"] == "Service has been deleted"
    # ... for its former owner only: another role gets Snowflake's 002003
    cur.execute("USE ROLE PUBLIC")
    cur.execute("USE SECONDARY ROLES NONE")
    try:
        with pytest.raises(ProgrammingError) as e:
            cur.execute("SELECT * FROM TABLE(SLOG_DB.PUBLIC.KEPT!SPCS_GET_LOGS())")
        assert e.value.errno == 2003
    finally:
        cur.execute("USE SECONDARY ROLES ALL")
        cur.execute("USE ROLE SLOG_ROLE")


def test_unknown_service_does_not_exist(cur):
    for function in ("SPCS_GET_LOGS", "SPCS_GET_EVENTS"):
        with pytest.raises(ProgrammingError) as e:
            cur.execute(f"SELECT * FROM TABLE(NO_SUCH_SVC!{function}())")
        assert (e.value.errno, e.value.sqlstate) == (2003, "02000")
        assert "Service 'SLOG_DB.PUBLIC.NO_SUCH_SVC' does not exist or not authorized." in e.value.msg


def test_a_killed_container_is_seen_at_once_and_its_logs_kept(svc, cur):
    """The resync period is 30 s: seeing the kill within ~2 s means the engine's events drove it."""
    cur.execute(f"CREATE SERVICE HARDY IN COMPUTE POOL SLOG_POOL FROM SPECIFICATION $${SPEC}$$")
    _wait_status(cur, "HARDY", "RUNNING")
    before = _until(lambda: _app_containers(svc, "HARDY"), 10, "the container")
    time.sleep(1)
    subprocess.run(["docker", "kill", before[0]], check=True, capture_output=True)
    killed = time.time()

    def restarted() -> bool:
        rows = cur.execute("SHOW SERVICE CONTAINERS IN SERVICE HARDY").fetchall()
        return bool(rows) and rows[0][7] == "READY" and (rows[0][11] or 0) >= 1

    _until(restarted, 10, "the restart shows in SHOW SERVICE CONTAINERS")
    reaction = time.time() - killed
    print(f"kill seen and restart reported after {reaction:.2f} s")
    assert reaction < 3.0, reaction

    events = _rows(cur, "SELECT * FROM TABLE(HARDY!SPCS_GET_EVENTS()) WHERE EVENT_NAME = 'CONTAINER.STATUS_CHANGE'")
    failed = [e for e in events if json.loads(e["EVENT_DETAILS"])["status"] == "FAILED"]
    assert failed and failed[0]["SEVERITY"] == "ERROR" and failed[0]["CONTAINER_NAME"] == "main", events
    assert json.loads(failed[0]["RECORD_ATTRIBUTES"]) == {"exitCode": 137}
    # both runs' output is kept; the previous run's also through SYSTEM$GET_SERVICE_LOGS
    _until(lambda: len([r for r in _rows(cur, "SELECT * FROM TABLE(HARDY!SPCS_GET_LOGS())")
                        if r["LOG"] == "run-start HARDY"]) == 2, 10, "both runs' lines")
    previous = cur.execute("SELECT SYSTEM$GET_SERVICE_LOGS('HARDY', 0, 'main', 100, TRUE)").fetchone()[0]
    assert "run-start HARDY" in previous
    cur.execute("DROP SERVICE HARDY")
    _until(lambda: not _app_containers(svc, "HARDY"), 30, "DROP removes the containers")


def _engine_cli(args: list[str], check: bool = False) -> subprocess.CompletedProcess:
    """The docker CLI on the engine itself (not through the test's relay, which DOCKER_HOST names)."""
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    return subprocess.run(args, capture_output=True, text=True, env=env, check=check)


def test_the_event_watcher_survives_the_engine_going_away(tmp_path, monkeypatch):
    """The watcher reconnects with backoff after the engine's stream breaks, and what happened meanwhile (a
    container killed while it was away) still reaches the platform events: it resubscribes from the last
    event's time."""
    from snowport.compute.engine_events import EngineEventWatcher
    from snowport.compute.service_logs import ServiceLogStore
    from snowport.compute.services import INSTANCE_LABEL, SERVICE_LABEL
    from snowport.config import Settings
    from snowport.core import Snowport
    from snowport.runtime import ContainerSpec, PodSpec, RestartPolicy

    ensure_engine()
    ensure_base_image()
    proxy = EngineProxy(tmp_path / "engine.sock")
    proxy.start()
    monkeypatch.setenv("DOCKER_HOST", f"unix://{proxy.path}")
    core = Snowport(Settings(data_dir=tmp_path / "data", admin_password="pw"))
    runtime = core.runtime
    store = ServiceLogStore(tmp_path / "data")
    watcher = EngineEventWatcher(core, store, max_backoff=1.0)
    spec = PodSpec(pod_id="svc-424242-0", containers=(ContainerSpec(
        name="main", image=BASE_IMAGE, command=("sh", "-c", "sleep 3600")),),
        labels={SERVICE_LABEL: "424242", INSTANCE_LABEL: "0"}, restart_policy=RestartPolicy.NEVER,
        network=runtime.scope, grace_seconds=1.0)
    everything = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))

    def statuses() -> list[str]:
        return [e["v"]["status"] for e in store.events(424242, *everything) if e["c"] == "main"]

    try:
        watcher.start()
        _until(lambda: watcher.connects == 1, 10, "the watcher subscribes")
        runtime.ensure_network(runtime.scope)
        runtime.create_pod(spec)
        _until(lambda: "READY" in statuses(), 10, f"the start recorded: {statuses()}")
        proxy.stop()  # the engine "goes away"
        time.sleep(1.5)  # the watcher notices and retries in vain
        app = _engine_cli(["docker", "ps", "-q", "--filter", f"label=snowport.managed={runtime.scope}",
                           "--filter", "name=-main$"]).stdout.split()
        _engine_cli(["docker", "kill", *app], check=True)
        assert "FAILED" not in statuses()
        proxy.start()  # ... and comes back
        _until(lambda: watcher.connects >= 2, 10, "the watcher reconnects")
        _until(lambda: "FAILED" in statuses(), 10, f"the kill while away recorded: {statuses()}")
        died = [e for e in store.events(424242, *everything) if e["v"]["status"] == "FAILED"]
        assert len(died) == 1 and died[0]["v"]["exitCode"] == 137 and died[0]["sev"] == "ERROR"
    finally:
        watcher.stop()
        ids = _engine_cli(["docker", "ps", "-aq", "--filter", f"label=snowport.managed={runtime.scope}"]).stdout.split()
        if ids:
            _engine_cli(["docker", "rm", "-f", *ids])
        _engine_cli(["docker", "network", "rm", runtime.scope])
        core.close()
        proxy.stop()
