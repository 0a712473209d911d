"""Warehouse state: suspend/resume, auto-resume on use, auto-suspend after the idle time."""

from __future__ import annotations

import time

import pytest
from snowflake.connector.errors import ProgrammingError

from conftest import new_user_with_role


def _state(cur, name):
    cur.execute(f"SHOW WAREHOUSES LIKE '{name}'")
    names = [d.name for d in cur.description]
    return dict(zip(names, cur.fetchone(), strict=True))


def test_suspend_resume_and_auto_resume(admin, tutorial):
    cur = admin.cursor()
    cur.execute("USE ROLE SYSADMIN")
    cur.execute("CREATE OR REPLACE WAREHOUSE WH_A WAREHOUSE_SIZE = 'SMALL' AUTO_SUSPEND = 600 "
                "INITIALLY_SUSPENDED = TRUE")
    assert _state(cur, "WH_A")["state"] == "SUSPENDED"
    assert _state(cur, "WH_A")["size"] == "Small"
    cur.execute("ALTER WAREHOUSE WH_A RESUME")
    assert _state(cur, "WH_A")["state"] == "STARTED"
    with pytest.raises(ProgrammingError) as info:
        cur.execute("ALTER WAREHOUSE WH_A RESUME")
    assert info.value.errno == 90063
    cur.execute("ALTER WAREHOUSE WH_A RESUME IF SUSPENDED")
    cur.execute("ALTER WAREHOUSE WH_A SUSPEND")
    assert _state(cur, "WH_A")["state"] == "SUSPENDED"
    # A query that needs compute resumes it (AUTO_RESUME defaults to TRUE).
    cur.execute("CREATE OR REPLACE DATABASE WH_DB")
    cur.execute("CREATE TABLE T (A INT)")
    cur.execute("USE WAREHOUSE WH_A")
    cur.execute("SELECT * FROM T")
    assert _state(cur, "WH_A")["state"] == "STARTED"
    cur.execute("ALTER WAREHOUSE WH_A SET AUTO_RESUME = FALSE WAREHOUSE_SIZE = LARGE")
    cur.execute("ALTER WAREHOUSE WH_A SUSPEND")
    with pytest.raises(ProgrammingError) as info:
        cur.execute("SELECT * FROM T")
    assert info.value.errno == 606 and "WH_A" in info.value.msg
    row = _state(cur, "WH_A")
    assert (row["state"], row["auto_resume"], row["size"]) == ("SUSPENDED", "false", "Large")
    # Queries that need no compute run without a running warehouse.
    assert cur.execute("SELECT 1 + 1").fetchone() == (2,)
    cur.execute("DROP WAREHOUSE WH_A")
    assert cur.execute("SELECT current_warehouse()").fetchone() == (None,)
    cur.execute("DROP DATABASE WH_DB")
    cur.execute("USE ROLE ACCOUNTADMIN")


def test_auto_suspend_after_idle_time(admin, tutorial):
    cur = admin.cursor()
    cur.execute("USE ROLE SYSADMIN")
    cur.execute("CREATE OR REPLACE WAREHOUSE WH_IDLE AUTO_SUSPEND = 1")
    assert _state(cur, "WH_IDLE")["state"] == "STARTED"
    deadline = time.time() + 10
    while _state(cur, "WH_IDLE")["state"] != "SUSPENDED" and time.time() < deadline:
        time.sleep(0.2)
    assert _state(cur, "WH_IDLE")["state"] == "SUSPENDED"
    cur.execute("ALTER WAREHOUSE WH_IDLE SET AUTO_SUSPEND = 0")
    cur.execute("ALTER WAREHOUSE WH_IDLE RESUME")
    time.sleep(2.5)
    assert _state(cur, "WH_IDLE")["state"] == "STARTED"  # 0 means never
    cur.execute("DROP WAREHOUSE WH_IDLE")
    cur.execute("USE ROLE ACCOUNTADMIN")


def test_operate_privilege_needed_to_suspend(server, admin, tutorial):
    new_user_with_role(admin, "CAROL", "WH_USER", "carol-pw")
    cur = admin.cursor()
    cur.execute("USE ROLE CONTAINER_USER_ROLE")
    cur.execute("GRANT USAGE ON WAREHOUSE CONTAINER_HOL_WH TO ROLE WH_USER")
    conn = server.connect(user="carol", password="carol-pw", warehouse="CONTAINER_HOL_WH")
    assert conn.warehouse == "CONTAINER_HOL_WH"
    with pytest.raises(ProgrammingError) as info:
        conn.cursor().execute("ALTER WAREHOUSE CONTAINER_HOL_WH SUSPEND")
    assert info.value.errno == 3001
    assert "Insufficient privileges to operate on warehouse 'CONTAINER_HOL_WH'" in info.value.msg
    cur.execute("GRANT OPERATE ON WAREHOUSE CONTAINER_HOL_WH TO ROLE WH_USER")
    conn.cursor().execute("ALTER WAREHOUSE CONTAINER_HOL_WH SUSPEND")
    conn.cursor().execute("ALTER WAREHOUSE CONTAINER_HOL_WH RESUME")
    conn.close()
    cur.execute("USE ROLE ACCOUNTADMIN")
