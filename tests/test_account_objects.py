"""Lifecycle of account objects through the connector: CREATE/ALTER/DROP/SHOW/DESCRIBE and SHOW GRANTS."""

from __future__ import annotations

import pytest
from snowflake.connector.errors import ProgrammingError


def _rows(cur, sql):
    cur.execute(sql)
    names = [d.name for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


@pytest.fixture()
def cur(admin, tutorial):
    c = admin.cursor()
    c.execute("USE ROLE ACCOUNTADMIN")
    return c


def test_users(cur, server):
    cur.execute("CREATE OR REPLACE USER lifecycle_user PASSWORD = 'pw-1' DISPLAY_NAME = 'Life Cycle' "
                "EMAIL = 'lc@example.com' DEFAULT_ROLE = PUBLIC COMMENT = 'temp'")
    assert cur.execute("CREATE USER IF NOT EXISTS lifecycle_user").fetchone()[0].endswith("statement succeeded.")
    with pytest.raises(ProgrammingError) as info:
        cur.execute("CREATE USER lifecycle_user")
    assert info.value.errno == 2002
    row = _rows(cur, "SHOW USERS LIKE 'LIFECYCLE%'")[0]
    assert (row["name"], row["login_name"], row["display_name"], row["email"], row["comment"], row["has_password"],
            row["disabled"]) == ("LIFECYCLE_USER", "LIFECYCLE_USER", "Life Cycle", "lc@example.com", "temp", "true",
                                 "false")
    assert "password" not in str(row).lower().replace("has_password", "").replace("must_change_password", "")
    desc = {r["property"]: r["value"] for r in _rows(cur, "DESCRIBE USER lifecycle_user")}
    assert desc["EMAIL"] == "lc@example.com" and desc["PASSWORD"] == "********"
    cur.execute("ALTER USER lifecycle_user SET PASSWORD = 'pw-2' DISABLED = TRUE")
    with pytest.raises(Exception) as info:
        server.connect(user="lifecycle_user", password="pw-2")
    assert "disabled" in str(info.value).lower()
    cur.execute("ALTER USER lifecycle_user SET DISABLED = FALSE")
    server.connect(user="lifecycle_user", password="pw-2").close()
    cur.execute("ALTER USER lifecycle_user RENAME TO renamed_user")
    assert [r["name"] for r in _rows(cur, "SHOW USERS LIKE '%_USER'") if r["name"].startswith("RENAMED")] == [
        "RENAMED_USER"]
    cur.execute("DROP USER renamed_user")
    assert _rows(cur, "SHOW USERS LIKE 'RENAMED%'") == []
    assert "already dropped" in cur.execute("DROP USER IF EXISTS renamed_user").fetchone()[0]


def test_roles_and_grants(cur):
    cur.execute("CREATE OR REPLACE ROLE r_parent COMMENT = 'parent'")
    cur.execute("CREATE OR REPLACE ROLE r_child")
    cur.execute("GRANT ROLE r_child TO ROLE r_parent")
    cur.execute("GRANT ROLE r_parent TO ROLE SYSADMIN")
    with pytest.raises(ProgrammingError) as info:
        cur.execute("GRANT ROLE r_parent TO ROLE r_child")  # a cycle
    assert info.value.errno == 3010
    roles = {r["name"]: r for r in _rows(cur, "SHOW ROLES LIKE 'R\\_%'")}
    assert roles["R_PARENT"]["granted_roles"] == 1 and roles["R_PARENT"]["granted_to_roles"] == 1
    assert roles["R_PARENT"]["comment"] == "parent" and roles["R_PARENT"]["owner"] == "ACCOUNTADMIN"
    cur.execute("CREATE OR REPLACE DATABASE grants_db")
    cur.execute("GRANT USAGE, MONITOR ON DATABASE grants_db TO ROLE r_child")
    cur.execute("GRANT CREATE TABLE ON SCHEMA grants_db.public TO ROLE r_child WITH GRANT OPTION")
    on_db = {(g["privilege"], g["grantee_name"]) for g in _rows(cur, "SHOW GRANTS ON DATABASE grants_db")}
    assert {("OWNERSHIP", "ACCOUNTADMIN"), ("USAGE", "R_CHILD"), ("MONITOR", "R_CHILD")} <= on_db
    to_child = {(g["privilege"], g["granted_on"], g["name"], g["grant_option"])
                for g in _rows(cur, "SHOW GRANTS TO ROLE r_child")}
    assert ("CREATE TABLE", "SCHEMA", "GRANTS_DB.PUBLIC", "true") in to_child
    of_parent = [(g["granted_to"], g["grantee_name"]) for g in _rows(cur, "SHOW GRANTS OF ROLE r_parent")]
    assert of_parent == [("ROLE", "SYSADMIN")]
    cur.execute("REVOKE MONITOR ON DATABASE grants_db FROM ROLE r_child")
    assert ("MONITOR", "R_CHILD") not in {(g["privilege"], g["grantee_name"])
                                          for g in _rows(cur, "SHOW GRANTS ON DATABASE grants_db")}
    cur.execute("GRANT OWNERSHIP ON DATABASE grants_db TO ROLE r_parent")
    assert _rows(cur, "SHOW DATABASES LIKE 'GRANTS_DB'")[0]["owner"] == "R_PARENT"
    cur.execute("ALTER ROLE r_child RENAME TO r_kid")
    assert ("USAGE", "R_KID") in {(g["privilege"], g["grantee_name"])
                                  for g in _rows(cur, "SHOW GRANTS ON DATABASE grants_db")}
    user_grants = _rows(cur, "SHOW GRANTS TO USER admin")
    assert ("ACCOUNTADMIN", "USER", "ADMIN") in {(g["role"], g["granted_to"], g["grantee_name"]) for g in user_grants}
    cur.execute("DROP ROLE r_kid")
    cur.execute("DROP ROLE r_parent")  # what it owned passes to the dropping role
    assert _rows(cur, "SHOW DATABASES LIKE 'GRANTS_DB'")[0]["owner"] == "ACCOUNTADMIN"
    with pytest.raises(ProgrammingError) as info:
        cur.execute("DROP ROLE PUBLIC")
    assert info.value.errno == 3001
    cur.execute("DROP DATABASE grants_db")


def test_databases_and_schemas(cur):
    cur.execute("CREATE OR REPLACE DATABASE life_db COMMENT = 'first'")
    cur.execute("CREATE SCHEMA life_db.raw COMMENT = 'landing'")
    assert cur.execute("select current_database(), current_schema()").fetchone() == ("LIFE_DB", "RAW")
    cur.execute("CREATE TABLE life_db.raw.t (a INT)")
    kinds = {(r["name"], r["kind"]) for r in _rows(cur, "DESCRIBE SCHEMA life_db.raw")}
    assert kinds == {("T", "TABLE")}
    schemas = {r["name"]: r for r in _rows(cur, "SHOW SCHEMAS IN DATABASE life_db")}
    assert schemas["RAW"]["comment"] == "landing" and set(schemas) == {"INFORMATION_SCHEMA", "PUBLIC", "RAW"}
    assert {r["name"] for r in _rows(cur, "DESCRIBE DATABASE life_db")} == {"PUBLIC", "RAW"}
    cur.execute("ALTER DATABASE life_db SET COMMENT = 'second'")
    assert _rows(cur, "SHOW DATABASES LIKE 'LIFE_DB'")[0]["comment"] == "second"
    cur.execute("USE WAREHOUSE CONTAINER_HOL_WH")
    cur.execute("INSERT INTO life_db.raw.t VALUES (1), (2)")
    cur.execute("ALTER DATABASE life_db RENAME TO life_db2")
    assert cur.execute("select current_database()").fetchone() == ("LIFE_DB2",)
    assert cur.execute("SELECT count(*) FROM life_db2.raw.t").fetchone() == (2,)
    cur.execute("DROP SCHEMA life_db2.raw")
    with pytest.raises(ProgrammingError) as info:
        cur.execute("SELECT * FROM life_db2.raw.t")
    assert info.value.errno == 2003
    cur.execute("DROP DATABASE life_db2")
    with pytest.raises(ProgrammingError) as info:
        cur.execute("DROP DATABASE life_db2")
    assert info.value.errno == 2003
    cur.execute("DROP DATABASE IF EXISTS life_db2")
    with pytest.raises(ProgrammingError) as info:
        cur.execute("CREATE OR REPLACE DATABASE IF NOT EXISTS x")
    assert info.value.errno == 2


def test_warehouse_rename_and_describe(cur):
    cur.execute("CREATE OR REPLACE WAREHOUSE wh_life WITH WAREHOUSE_SIZE = MEDIUM COMMENT = 'x'")
    assert _rows(cur, "DESCRIBE WAREHOUSE wh_life")[0]["kind"] == "WAREHOUSE"
    cur.execute("ALTER WAREHOUSE wh_life RENAME TO wh_life2")
    assert cur.execute("select current_warehouse()").fetchone() == ("WH_LIFE2",)
    row = _rows(cur, "SHOW WAREHOUSES LIKE 'WH_LIFE2'")[0]
    assert (row["size"], row["comment"], row["is_current"]) == ("Medium", "x", "Y")
    cur.execute("DROP WAREHOUSE wh_life2")


def test_role_grants_are_idempotent_and_cycles_refused(cur):
    cur.execute("CREATE OR REPLACE ROLE r_idem")
    cur.execute("GRANT ROLE r_idem TO ROLE SYSADMIN")
    cur.execute("GRANT ROLE r_idem TO ROLE SYSADMIN")  # again: no error
    cur.execute("GRANT ROLE r_idem TO ROLE ACCOUNTADMIN")  # already inherited through SYSADMIN: still fine
    with pytest.raises(ProgrammingError):
        cur.execute("GRANT ROLE r_idem TO ROLE r_idem")
    with pytest.raises(ProgrammingError):
        cur.execute("GRANT ROLE SYSADMIN TO ROLE r_idem")
    cur.execute("DROP ROLE r_idem")


def test_alter_current_warehouse_without_a_name(cur):
    cur.execute("CREATE OR REPLACE WAREHOUSE suspend AUTO_RESUME = FALSE")  # a warehouse named like the action
    cur.execute("ALTER WAREHOUSE suspend SUSPEND")
    assert _rows(cur, "SHOW WAREHOUSES LIKE 'SUSPEND'")[0]["state"] == "SUSPENDED"
    cur.execute("ALTER WAREHOUSE RESUME")  # the current one
    assert _rows(cur, "SHOW WAREHOUSES LIKE 'SUSPEND'")[0]["state"] == "STARTED"
    cur.execute("ALTER WAREHOUSE SET COMMENT = 'now'")
    assert _rows(cur, "SHOW WAREHOUSES LIKE 'SUSPEND'")[0]["comment"] == "now"
    cur.execute("DROP WAREHOUSE suspend")
