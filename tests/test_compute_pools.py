"""Compute pools through the real connector: the tutorial's statements, SHOW/DESCRIBE columns, states
driven by the controller, auto-suspend, validation and privileges."""

from __future__ import annotations

import time

import pytest
from snowflake.connector.errors import ProgrammingError

from conftest import start_server

SHOW_COLUMNS = ["name", "state", "min_nodes", "max_nodes", "instance_family", "num_services", "num_jobs",
                "auto_suspend_secs", "auto_resume", "active_nodes", "idle_nodes", "target_nodes", "created_on",
                "resumed_on", "updated_on", "owner", "comment", "is_exclusive", "application", "placement_group",
                "backup_instance_families"]


@pytest.fixture(scope="module")
def pools_server(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("pools") / "data", SNOWPORT_WAREHOUSE_TICK_SECONDS="0.2")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cur(pools_server):
    conn = pools_server.connect()
    yield conn.cursor()
    conn.close()


def _err(cur, sql) -> ProgrammingError:
    with pytest.raises(ProgrammingError) as info:
        cur.execute(sql)
    return info.value


def _pool(cur, name: str) -> dict:
    rows = cur.execute(f"SHOW COMPUTE POOLS LIKE '{name}'").fetchall()
    assert len(rows) == 1, rows
    return dict(zip([d[0] for d in cur.description], rows[0], strict=True))


def _wait_state(cur, name: str, state: str, timeout: float = 10.0) -> dict:
    deadline = time.time() + timeout
    while True:
        row = _pool(cur, name)
        if row["state"] == state or time.time() > deadline:
            assert row["state"] == state, row
            return row
        time.sleep(0.1)


def test_tutorial_pool_lifecycle(cur):
    cur.execute("USE ROLE ACCOUNTADMIN")
    cur.execute("CREATE ROLE IF NOT EXISTS CONTAINER_USER_ROLE")
    cur.execute("GRANT CREATE COMPUTE POOL ON ACCOUNT TO ROLE CONTAINER_USER_ROLE")
    cur.execute("GRANT ROLE CONTAINER_USER_ROLE TO USER ADMIN")
    cur.execute("USE ROLE CONTAINER_USER_ROLE")
    created = cur.execute("CREATE COMPUTE POOL IF NOT EXISTS CONTAINER_HOL_POOL MIN_NODES = 1 MAX_NODES = 1 "
                          "INSTANCE_FAMILY = standard_1").fetchall()
    assert created == [("Compute pool CONTAINER_HOL_POOL successfully created.",)]
    again = cur.execute("CREATE COMPUTE POOL IF NOT EXISTS CONTAINER_HOL_POOL MIN_NODES = 1 MAX_NODES = 1 "
                        "INSTANCE_FAMILY = standard_1").fetchall()
    assert again == [("CONTAINER_HOL_POOL already exists, statement succeeded.",)]
    assert [d[0] for d in cur.execute("SHOW COMPUTE POOLS").description] == SHOW_COLUMNS
    row = _wait_state(cur, "CONTAINER_HOL_POOL", "IDLE")
    assert (row["min_nodes"], row["max_nodes"], row["instance_family"], row["auto_suspend_secs"],
            row["auto_resume"], row["owner"]) == (1, 1, "CPU_X64_S", 3600, "true", "CONTAINER_USER_ROLE")
    assert (row["active_nodes"], row["idle_nodes"], row["target_nodes"]) == (0, 1, 1)
    nodes = cur.execute("SHOW NODES IN COMPUTE POOL CONTAINER_HOL_POOL").fetchall()
    assert len(nodes) == 1 and nodes[0][1] == "CPU_X64_S" and nodes[0][4] == 3

    assert cur.execute("ALTER COMPUTE POOL CONTAINER_HOL_POOL STOP ALL").fetchall() == [
        ("Statement executed successfully.",)]
    cur.execute("ALTER COMPUTE POOL CONTAINER_HOL_POOL SUSPEND")
    row = _wait_state(cur, "CONTAINER_HOL_POOL", "SUSPENDED")
    assert (row["active_nodes"], row["idle_nodes"], row["target_nodes"]) == (0, 0, 0)
    assert cur.execute("SHOW NODES IN COMPUTE POOL CONTAINER_HOL_POOL").fetchall() == []
    cur.execute("ALTER COMPUTE POOL CONTAINER_HOL_POOL RESUME")
    _wait_state(cur, "CONTAINER_HOL_POOL", "IDLE")
    cur.execute("ALTER COMPUTE POOL CONTAINER_HOL_POOL SET MAX_NODES = 3 COMMENT = 'bigger'")
    described = cur.execute("DESCRIBE COMPUTE POOL CONTAINER_HOL_POOL").fetchall()
    names = [d[0] for d in cur.description]
    assert names[-5:] == ["budget", "error_code", "status_message", "placement_group", "backup_instance_families"]
    assert dict(zip(names, described[0], strict=True))["comment"] == "bigger"
    cur.execute("ALTER COMPUTE POOL CONTAINER_HOL_POOL UNSET COMMENT")
    assert _pool(cur, "CONTAINER_HOL_POOL")["comment"] is None
    assert cur.execute("DROP COMPUTE POOL CONTAINER_HOL_POOL").fetchall() == [
        ("CONTAINER_HOL_POOL successfully dropped.",)]
    assert cur.execute("SHOW COMPUTE POOLS LIKE 'CONTAINER_HOL_POOL'").fetchall() == []
    cur.execute("USE ROLE ACCOUNTADMIN")


def test_initially_suspended_and_auto_suspend(cur):
    cur.execute("CREATE COMPUTE POOL SLEEPY MIN_NODES = 1 MAX_NODES = 2 INSTANCE_FAMILY = CPU_X64_XS "
                "INITIALLY_SUSPENDED = TRUE")
    assert _wait_state(cur, "SLEEPY", "SUSPENDED")["target_nodes"] == 0
    cur.execute("CREATE COMPUTE POOL NAPPER MIN_NODES = 2 MAX_NODES = 2 INSTANCE_FAMILY = cpu_x64_xs "
                "AUTO_SUSPEND_SECS = 1")
    assert _wait_state(cur, "NAPPER", "IDLE")["idle_nodes"] == 2
    _wait_state(cur, "NAPPER", "SUSPENDED", timeout=10)
    cur.execute("ALTER COMPUTE POOL NAPPER SET AUTO_SUSPEND_SECS = 0")
    cur.execute("ALTER COMPUTE POOL NAPPER RESUME")
    _wait_state(cur, "NAPPER", "IDLE")


def test_gpu_family_without_gpus_reports_capacity_error(cur):
    cur.execute("CREATE COMPUTE POOL GPU_POOL MIN_NODES = 1 MAX_NODES = 1 INSTANCE_FAMILY = GPU_NV_S")
    time.sleep(0.6)
    cur.execute("DESCRIBE COMPUTE POOL GPU_POOL")
    row = dict(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))
    assert (row["state"], row["error_code"]) == ("STARTING", "392507")
    assert "CAPACITY_ERROR" in row["status_message"]


@pytest.mark.parametrize(("sql", "errno", "text"), [
    ("CREATE COMPUTE POOL BAD MIN_NODES = 1 MAX_NODES = 1 INSTANCE_FAMILY = STANDARD_9", 2025,
     "Invalid instance family STANDARD_9. Please refer to Snowflake documentation for supported instance families."),
    ("CREATE COMPUTE POOL BAD MIN_NODES = 2 MAX_NODES = 1 INSTANCE_FAMILY = CPU_X64_XS", 2025,
     "MAX_NODES (1) must be greater than or equal to MIN_NODES (2)."),
    ("CREATE COMPUTE POOL BAD MIN_NODES = 0 MAX_NODES = 1 INSTANCE_FAMILY = CPU_X64_XS", 2025,
     "invalid value [0] for parameter 'MIN_NODES'"),
    ("CREATE COMPUTE POOL BAD MIN_NODES = 1 INSTANCE_FAMILY = CPU_X64_XS", 1003, "Missing option(s): [MAX_NODES]"),
    ("CREATE COMPUTE POOL BAD MIN_NODES = 1 MAX_NODES = 1 INSTANCE_FAMILY = CPU_X64_XS BOGUS = 1", 2025,
     "invalid property 'BOGUS' for 'COMPUTE POOL'"),
    ("CREATE OR REPLACE COMPUTE POOL BAD MIN_NODES = 1 MAX_NODES = 1 INSTANCE_FAMILY = CPU_X64_XS", 1003,
     "syntax error"),
])
def test_invalid_pools_are_refused_and_leave_nothing(cur, sql, errno, text):
    e = _err(cur, sql)
    assert e.errno == errno
    assert text in e.msg
    assert cur.execute("SHOW COMPUTE POOLS LIKE 'BAD'").fetchall() == []


def test_failed_alter_changes_nothing(cur):
    cur.execute("CREATE COMPUTE POOL STEADY MIN_NODES = 1 MAX_NODES = 2 INSTANCE_FAMILY = CPU_X64_XS")
    e = _err(cur, "ALTER COMPUTE POOL STEADY SET MAX_NODES = 5 MIN_NODES = 9")
    assert e.errno == 2025
    e = _err(cur, "ALTER COMPUTE POOL STEADY SET INSTANCE_FAMILY = CPU_X64_S")  # only while suspended
    assert "unless it is suspended" in e.msg
    row = _pool(cur, "STEADY")
    assert (row["min_nodes"], row["max_nodes"], row["instance_family"]) == (1, 2, "CPU_X64_XS")


def test_instance_families_and_privileges(pools_server, cur):
    families = cur.execute("SHOW COMPUTE POOL INSTANCE FAMILIES").fetchall()
    assert [d[0] for d in cur.description] == ["name", "description", "vcpu", "memory_gib", "storage_gib", "gpu",
                                               "gpu_count", "gpu_memory_gib", "current_node_usage", "message"]
    assert ("CPU_X64_XS", 1, 6) in [(f[0], f[2], f[3]) for f in families]
    cur.execute("CREATE COMPUTE POOL PRIVATE_POOL MIN_NODES = 1 MAX_NODES = 1 INSTANCE_FAMILY = CPU_X64_XS")
    cur.execute("CREATE USER POOL_USER PASSWORD = 'pool-pw'")
    other = pools_server.connect(user="pool_user", password="pool-pw").cursor()
    assert other.execute("SHOW COMPUTE POOLS").fetchall() == []
    e = _err(other, "DESCRIBE COMPUTE POOL PRIVATE_POOL")
    assert (e.errno, e.sqlstate) == (2003, "02000")
    assert "Compute pool 'PRIVATE_POOL' does not exist or not authorized." in e.msg
    e = _err(other, "CREATE COMPUTE POOL MINE MIN_NODES = 1 MAX_NODES = 1 INSTANCE_FAMILY = CPU_X64_XS")
    assert (e.errno, e.sqlstate) == (3001, "42501")
    cur.execute("GRANT USAGE ON COMPUTE POOL PRIVATE_POOL TO ROLE PUBLIC")
    assert [r[0] for r in other.execute("SHOW COMPUTE POOLS").fetchall()] == ["PRIVATE_POOL"]
    e = _err(other, "ALTER COMPUTE POOL PRIVATE_POOL SUSPEND")
    assert (e.errno, e.sqlstate) == (3001, "42501")
    assert "Insufficient privileges to operate on compute pool 'PRIVATE_POOL'" in e.msg


def test_pools_survive_a_restart(tmp_path):
    server = start_server(tmp_path / "data", SNOWPORT_WAREHOUSE_TICK_SECONDS="0.2")
    try:
        cur = server.connect().cursor()
        cur.execute("CREATE COMPUTE POOL KEEP MIN_NODES = 1 MAX_NODES = 2 INSTANCE_FAMILY = CPU_X64_XS")
        cur.execute("CREATE COMPUTE POOL PAUSED MIN_NODES = 1 MAX_NODES = 1 INSTANCE_FAMILY = CPU_X64_XS")
        _wait_state(cur, "KEEP", "IDLE")
        cur.execute("ALTER COMPUTE POOL PAUSED SUSPEND")
        _wait_state(cur, "PAUSED", "SUSPENDED")
        server.stop()
        server = start_server(server.data_dir, port=server.port, SNOWPORT_WAREHOUSE_TICK_SECONDS="0.2")
        cur = server.connect().cursor()
        assert _wait_state(cur, "KEEP", "IDLE")["idle_nodes"] == 1
        _wait_state(cur, "PAUSED", "SUSPENDED")
    finally:
        server.stop()
