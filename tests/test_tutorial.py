"""The SQL tutorial's setup blocks, step by step through the real connector, then a restart."""

from __future__ import annotations

import datetime

from conftest import TUTORIAL_REGISTRY_SETUP, TUTORIAL_SETUP, WEATHER_ROWS, WEATHER_SQL, start_server


def _one(cur, sql):
    cur.execute(sql)
    return cur.fetchone()


def _show(cur, sql):
    cur.execute(sql)
    names = [d.name for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def test_tutorial_setup_and_restart(tmp_path):
    server = start_server(tmp_path / "data")
    try:
        conn = server.connect()
        cur = conn.cursor()
        assert _one(cur, "select current_role()") == ("ACCOUNTADMIN",)
        for sql in TUTORIAL_SETUP:
            cur.execute(sql)
            if sql.startswith("CREATE ROLE"):
                roles = {r["name"] for r in _show(cur, "SHOW ROLES LIKE 'CONTAINER%'")}
                assert roles == {"CONTAINER_USER_ROLE"}
            if sql.startswith("USE ROLE"):
                assert _one(cur, "select current_role()")[0] == sql.split()[-1]

        grants = _show(cur, "SHOW GRANTS TO ROLE CONTAINER_USER_ROLE")
        account_privs = {g["privilege"] for g in grants if g["granted_on"] == "ACCOUNT"}
        assert {"CREATE DATABASE", "CREATE WAREHOUSE", "CREATE COMPUTE POOL", "CREATE INTEGRATION",
                "MONITOR USAGE", "BIND SERVICE ENDPOINT"} <= account_privs
        assert {(g["privilege"], g["name"]) for g in grants if g["granted_on"] == "DATABASE"} >= {
            ("IMPORTED PRIVILEGES", "SNOWFLAKE"), ("OWNERSHIP", "CONTAINER_HOL_DB")}
        of_role = _show(cur, "SHOW GRANTS OF ROLE CONTAINER_USER_ROLE")
        assert [(g["granted_to"], g["grantee_name"]) for g in of_role] == [("ROLE", "ACCOUNTADMIN")]

        # The role created the database and warehouse; both became current and it owns them.
        assert _one(cur, "select current_role(), current_database(), current_schema(), current_warehouse()") == (
            "CONTAINER_USER_ROLE", "CONTAINER_HOL_DB", "PUBLIC", "CONTAINER_HOL_WH")
        dbs = _show(cur, "SHOW DATABASES LIKE 'container_hol%'")
        assert [(d["name"], d["owner"], d["is_current"]) for d in dbs] == [
            ("CONTAINER_HOL_DB", "CONTAINER_USER_ROLE", "Y")]
        whs = _show(cur, "SHOW WAREHOUSES")
        assert [(w["name"], w["state"], w["size"], w["auto_suspend"], w["auto_resume"], w["owner"]) for w in whs] == [
            ("CONTAINER_HOL_WH", "STARTED", "X-Small", "120", "true", "CONTAINER_USER_ROLE")]
        schemas = {s["name"] for s in _show(cur, "SHOW SCHEMAS IN DATABASE CONTAINER_HOL_DB")}
        assert schemas == {"PUBLIC", "INFORMATION_SCHEMA"}
        stages = {s["name"]: s for s in _show(cur, "SHOW STAGES IN SCHEMA CONTAINER_HOL_DB.PUBLIC")}
        assert set(stages) == {"SPECS", "VOLUMES"}
        assert (stages["VOLUMES"]["directory_enabled"], stages["SPECS"]["owner"]) == ("Y", "CONTAINER_USER_ROLE")

        for sql in TUTORIAL_REGISTRY_SETUP:
            cur.execute(sql)
        repos = [(r["name"], r["repository_url"]) for r in _show(cur, "SHOW IMAGE REPOSITORIES IN SCHEMA "
                                                                     "CONTAINER_HOL_DB.PUBLIC")]
        assert repos == [("IMAGE_REPO", f"127.0.0.1:{server.port}/container_hol_db/public/image_repo")]

        for sql in WEATHER_SQL:
            cur.execute(sql)
        assert cur.rowcount == 10
        assert _one(cur, "select current_role(), current_database(), current_schema(), current_warehouse()") == (
            "CONTAINER_USER_ROLE", "CONTAINER_HOL_DB", "PUBLIC", "CONTAINER_HOL_WH")
        tables = _show(cur, "SHOW TABLES")
        assert [(t["name"], t["database_name"], t["schema_name"], t["owner"], t["rows"]) for t in tables] == [
            ("WEATHER", "CONTAINER_HOL_DB", "PUBLIC", "CONTAINER_USER_ROLE", 10)]
        cur.execute("SELECT * FROM WEATHER ORDER BY DATE")
        rows = cur.fetchall()
        assert [d.name for d in cur.description] == ["DATE", "LOCATION", "TEMP_C", "TEMP_F"]
        expected = sorted((datetime.date.fromisoformat(d), loc, t, None) for d, loc, t in WEATHER_ROWS)
        assert rows == expected
        cur.execute("DESCRIBE TABLE weather")
        assert [r[0] for r in cur.fetchall()] == ["DATE", "LOCATION", "TEMP_C", "TEMP_F"]
        conn.close()
    finally:
        server.stop()
    assert server.proc.returncode == 0, server.log()

    # A restart keeps every object, grant and row.
    server = start_server(tmp_path / "data", port=server.port)
    try:
        conn = server.connect(role="CONTAINER_USER_ROLE", database="CONTAINER_HOL_DB", schema="PUBLIC",
                              warehouse="CONTAINER_HOL_WH")
        cur = conn.cursor()
        assert _one(cur, "select count(*), min(location) from weather") == (10, "Birmingham")
        grants = _show(cur, "SHOW GRANTS TO ROLE CONTAINER_USER_ROLE")
        assert ("CREATE DATABASE", "ACCOUNT") in {(g["privilege"], g["granted_on"]) for g in grants}
        assert [w["name"] for w in _show(cur, "SHOW WAREHOUSES")] == ["CONTAINER_HOL_WH"]
        conn.close()
    finally:
        server.stop()
