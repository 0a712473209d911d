"""Snowport without its container engine, and Snowport killed under running services.

The server reaches Docker through a relay (tests/engine_proxy.py) that the test takes down and brings
back, as if the engine stopped and restarted, while the containers themselves keep running. Through the
real connector: commands keep answering, services say the engine is away, CREATE SERVICE is refused
with nothing half-created, and everything converges (the same containers, no restarts) when it returns.
Then `kill -9` of Snowport with three services running: the restarted server adopts every container.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from engine_proxy import EngineProxy
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
    image: /down_db/public/repo/app:1
    command: ["sleep", "3600"]
"""


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    ensure_engine()
    ensure_base_image()
    relay = EngineProxy(tmp_path_factory.mktemp("relay") / "engine.sock")
    relay.start()
    yield relay
    relay.stop()


@pytest.fixture(scope="module")
def env(proxy, tmp_path_factory):
    data = tmp_path_factory.mktemp("engine-down") / "data"
    overrides = {"DOCKER_HOST": f"unix://{proxy.path}", "SNOWPORT_SERVICE_TICK_SECONDS": "0.5"}
    server = start_server(data, **overrides)
    conn = server.connect()
    cur = conn.cursor()
    for sql in ("CREATE ROLE DOWN_ROLE", "GRANT CREATE DATABASE ON ACCOUNT TO ROLE DOWN_ROLE",
                "GRANT CREATE COMPUTE POOL ON ACCOUNT TO ROLE DOWN_ROLE", "GRANT ROLE DOWN_ROLE TO USER ADMIN",
                "USE ROLE DOWN_ROLE", "CREATE DATABASE DOWN_DB", "CREATE IMAGE REPOSITORY DOWN_DB.PUBLIC.REPO",
                "CREATE COMPUTE POOL DOWN_POOL MIN_NODES = 1 MAX_NODES = 2 INSTANCE_FAMILY = CPU_X64_XS",
                "USE SCHEMA DOWN_DB.PUBLIC"):
        cur.execute(sql)
    push_app_image(server.port, "down_db/public/repo/app:1", tmp_path_factory.mktemp("push"), ADMIN_PASSWORD)
    state = {"server": server, "cur": cur, "conn": conn, "data": data, "overrides": overrides}
    yield state
    state["conn"].close()
    state["server"].stop()
    for cid in _containers(data):
        subprocess.run(["docker", "rm", "-f", cid], capture_output=True)
    remove_test_images()


def _containers(data, name_filter: str | None = None) -> list[str]:
    scope = runtime_scope(data)
    extra = ["--filter", f"name={name_filter}"] if name_filter else []
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    return subprocess.run(["docker", "ps", "-q", "--filter", f"label=snowport.managed={scope}", *extra],
                          capture_output=True, text=True, env=env).stdout.split()


def _status(cur, name: str) -> str:
    return cur.execute(f"SHOW SERVICES LIKE '{name}' IN SCHEMA DOWN_DB.PUBLIC").fetchone()[1]


def _until(check, timeout: float, what) -> None:
    deadline = time.time() + timeout
    while not check():
        assert time.time() < deadline, what() if callable(what) else what
        time.sleep(0.3)


def test_without_the_engine_commands_answer_create_is_refused_and_everything_converges(env, proxy):
    cur = env["cur"]
    cur.execute(f"CREATE SERVICE STEADY IN COMPUTE POOL DOWN_POOL FROM SPECIFICATION $${SPEC}$$")
    _until(lambda: _status(cur, "STEADY") == "RUNNING", 60, lambda: _status(cur, "STEADY"))
    before = sorted(_containers(env["data"]))
    proxy.stop()  # the engine goes away; its containers keep running
    try:
        _until(lambda: (cur.execute("SHOW SERVICE CONTAINERS IN SERVICE STEADY").fetchone()[8] or "").startswith(
            "The container engine is not reachable"), 30,
            lambda: cur.execute("SHOW SERVICE CONTAINERS IN SERVICE STEADY").fetchall())
        assert _status(cur, "STEADY") == "PENDING"
        assert cur.execute("SHOW COMPUTE POOLS LIKE 'DOWN_POOL'").fetchall(), "commands still answer"
        with pytest.raises(ProgrammingError) as info:
            cur.execute(f"CREATE SERVICE LATE IN COMPUTE POOL DOWN_POOL FROM SPECIFICATION $${SPEC}$$")
        assert info.value.errno == 391001
        assert "the container engine behind compute pool DOWN_POOL does not answer" in info.value.msg
        assert cur.execute("SHOW SERVICES LIKE 'LATE' IN ACCOUNT").fetchall() == []
    finally:
        proxy.start()  # ... and comes back
    _until(lambda: _status(cur, "STEADY") == "RUNNING", 60, lambda: _status(cur, "STEADY"))
    rows = cur.execute("SHOW SERVICE CONTAINERS IN SERVICE STEADY").fetchall()
    assert rows[0][7] == "READY" and rows[0][11] == 0, rows
    assert sorted(_containers(env["data"])) == before, "the running pod was kept, not recreated"
    cur.execute("DROP SERVICE STEADY")
    _until(lambda: not _containers(env["data"]), 30, "DROP removes the pod")


def test_kill_9_with_three_services_running_then_every_container_is_adopted(env):
    cur = env["cur"]
    names = ("ONE", "TWO", "THREE")
    for name in names:
        cur.execute(f"CREATE SERVICE {name} IN COMPUTE POOL DOWN_POOL FROM SPECIFICATION $${SPEC}$$")
    for name in names:
        _until(lambda n=name: _status(cur, n) == "RUNNING", 60, lambda n=name: _status(cur, n))
    running = sorted(_containers(env["data"]))
    assert len(running) == 6  # a sandbox and an app container per service
    server = env["server"]
    server.proc.kill()
    server.proc.wait()
    env["conn"].close()
    restarted = start_server(env["data"], port=server.port, **env["overrides"])
    env["server"] = restarted
    env["conn"] = restarted.connect()
    cur = env["conn"].cursor()
    cur.execute("USE ROLE DOWN_ROLE")
    time.sleep(3)  # several resyncs: nothing may be recreated meanwhile
    for name in names:
        assert _status(cur, name) == "RUNNING"
        row = cur.execute(f"SHOW SERVICE CONTAINERS IN SERVICE DOWN_DB.PUBLIC.{name}").fetchone()
        assert row[7] == "READY" and row[11] == 0, row
    assert sorted(_containers(env["data"])) == running, "every container adopted, none recreated"
    for name in names:
        cur.execute(f"DROP SERVICE DOWN_DB.PUBLIC.{name}")
    _until(lambda: not _containers(env["data"]), 30, "DROP removes the adopted pods")
