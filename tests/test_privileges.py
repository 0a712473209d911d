"""Refusals with Snowflake's codes and messages, then success once the privilege is granted."""

from __future__ import annotations

import pytest
from snowflake.connector.errors import DatabaseError, ProgrammingError

from conftest import ADMIN_PASSWORD, new_user_with_role


@pytest.fixture(scope="module")
def analyst(server, admin, tutorial):
    """A user whose only role, ANALYST, starts with no privileges at all."""
    new_user_with_role(admin, "ALICE", "ANALYST", "alice-pw")
    conn = server.connect(user="alice", password="alice-pw")
    yield conn
    conn.close()


def _err(cur, sql) -> ProgrammingError:
    with pytest.raises(ProgrammingError) as info:
        cur.execute(sql)
    return info.value


def test_create_database_needs_account_privilege(analyst, admin):
    cur = analyst.cursor()
    assert cur.execute("select current_role()").fetchone() == ("ANALYST",)
    e = _err(cur, "CREATE DATABASE ANALYST_DB")
    assert (e.errno, e.sqlstate) == (3001, "42501")
    assert "Insufficient privileges to operate on account 'SNOWPORT'" in e.msg
    admin.cursor().execute("GRANT CREATE DATABASE ON ACCOUNT TO ROLE ANALYST")
    cur.execute("CREATE DATABASE ANALYST_DB")
    assert cur.execute("SHOW DATABASES LIKE 'ANALYST_DB'").fetchone()[1] == "ANALYST_DB"
    admin.cursor().execute("REVOKE CREATE DATABASE ON ACCOUNT FROM ROLE ANALYST")
    e = _err(cur, "CREATE DATABASE ANALYST_DB2")
    assert e.errno == 3001


def test_using_a_warehouse_needs_usage(analyst, admin):
    cur = analyst.cursor()
    e = _err(cur, "USE WAREHOUSE CONTAINER_HOL_WH")
    assert (e.errno, e.sqlstate) == (2043, "02000")
    assert "Object does not exist, or operation cannot be performed." in e.msg
    admin.cursor().execute("USE ROLE CONTAINER_USER_ROLE")
    admin.cursor().execute("GRANT USAGE ON WAREHOUSE CONTAINER_HOL_WH TO ROLE ANALYST")
    cur.execute("USE WAREHOUSE CONTAINER_HOL_WH")
    assert cur.execute("select current_warehouse()").fetchone() == ("CONTAINER_HOL_WH",)
    admin.cursor().execute("REVOKE USAGE ON WAREHOUSE CONTAINER_HOL_WH FROM ROLE ANALYST")
    # The warehouse stays current but a query that needs compute is refused.
    cur.execute("USE DATABASE ANALYST_DB")
    cur.execute("CREATE TABLE T1 (A INT)")
    e = _err(cur, "SELECT * FROM T1")
    assert (e.errno, e.sqlstate) == (606, "57P03")
    assert "No active warehouse selected in the current session." in e.msg
    admin.cursor().execute("GRANT USAGE ON WAREHOUSE CONTAINER_HOL_WH TO ROLE ANALYST")
    assert cur.execute("SELECT count(*) FROM T1").fetchone() == (0,)


def test_reading_a_table_needs_select(analyst, admin):
    cur = analyst.cursor()
    admin_cur = admin.cursor()
    admin_cur.execute("USE ROLE CONTAINER_USER_ROLE")
    e = _err(cur, "SELECT * FROM CONTAINER_HOL_DB.PUBLIC.WEATHER")
    assert (e.errno, e.sqlstate) == (2003, "42S02")
    assert "Object 'CONTAINER_HOL_DB.PUBLIC.WEATHER' does not exist or not authorized." in e.msg
    # A table that really does not exist gives the same answer.
    e2 = _err(cur, "SELECT * FROM CONTAINER_HOL_DB.PUBLIC.NOPE")
    assert e2.errno == 2003
    admin_cur.execute("GRANT USAGE ON DATABASE CONTAINER_HOL_DB TO ROLE ANALYST")
    admin_cur.execute("GRANT USAGE ON SCHEMA CONTAINER_HOL_DB.PUBLIC TO ROLE ANALYST")
    e = _err(cur, "SELECT * FROM CONTAINER_HOL_DB.PUBLIC.WEATHER")
    assert e.errno == 2003
    e = _err(cur, "INSERT INTO CONTAINER_HOL_DB.PUBLIC.WEATHER (LOCATION) VALUES ('x')")
    assert e.errno == 2003
    admin_cur.execute("GRANT SELECT ON TABLE CONTAINER_HOL_DB.PUBLIC.WEATHER TO ROLE ANALYST")
    assert cur.execute("SELECT count(*) FROM CONTAINER_HOL_DB.PUBLIC.WEATHER").fetchone() == (10,)
    # SELECT alone does not allow writes; the table is visible now, so the refusal names it.
    e = _err(cur, "DELETE FROM CONTAINER_HOL_DB.PUBLIC.WEATHER")
    assert (e.errno, e.sqlstate) == (3001, "42501")
    assert "Insufficient privileges to operate on table 'CONTAINER_HOL_DB.PUBLIC.WEATHER'" in e.msg
    assert cur.execute("SHOW TABLES IN SCHEMA CONTAINER_HOL_DB.PUBLIC").fetchall()[0][1] == "WEATHER"


def test_granting_a_role_it_does_not_own(analyst, admin):
    cur = analyst.cursor()
    e = _err(cur, "GRANT ROLE CONTAINER_USER_ROLE TO ROLE ANALYST")
    assert (e.errno, e.sqlstate) == (3102, "42501")
    assert "Grant not executed: Insufficient privileges." in e.msg
    e = _err(cur, "USE ROLE CONTAINER_USER_ROLE")
    assert (e.errno, e.sqlstate) == (3013, "42501")
    admin_cur = admin.cursor()
    admin_cur.execute("USE ROLE ACCOUNTADMIN")
    admin_cur.execute("GRANT OWNERSHIP ON ROLE CONTAINER_USER_ROLE TO ROLE ANALYST")
    cur.execute("GRANT ROLE CONTAINER_USER_ROLE TO USER ALICE")
    cur.execute("USE ROLE CONTAINER_USER_ROLE")
    assert cur.execute("select current_role()").fetchone() == ("CONTAINER_USER_ROLE",)
    cur.execute("USE ROLE ANALYST")
    admin_cur.execute("GRANT OWNERSHIP ON ROLE CONTAINER_USER_ROLE TO ROLE ACCOUNTADMIN")


def test_secondary_roles_widen_and_narrow(server, analyst, admin):
    cur = analyst.cursor()
    cur.execute("USE ROLE ANALYST")
    cur.execute("USE SECONDARY ROLES NONE")
    # Only CONTAINER_USER_ROLE (granted to ALICE above) owns this warehouse-free DDL target.
    e = _err(cur, "CREATE TABLE CONTAINER_HOL_DB.PUBLIC.SEC_T (A INT)")
    assert e.errno in (3001, 2003)
    cur.execute("USE SECONDARY ROLES ALL")
    cur.execute("CREATE TABLE CONTAINER_HOL_DB.PUBLIC.SEC_T (A INT)")
    cur.execute("USE SECONDARY ROLES NONE")


def test_show_hides_what_the_role_cannot_see(server, admin, tutorial):
    admin.cursor().execute("USE ROLE ACCOUNTADMIN")
    admin.cursor().execute("CREATE USER IF NOT EXISTS BOB PASSWORD = 'bob-pw'")
    conn = server.connect(user="bob", password="bob-pw")
    cur = conn.cursor()
    assert cur.execute("select current_role()").fetchone() == ("PUBLIC",)
    assert [r[1] for r in cur.execute("SHOW DATABASES").fetchall()] == []
    assert cur.execute("SHOW WAREHOUSES").fetchall() == []
    e = _err(cur, "USE DATABASE CONTAINER_HOL_DB")
    assert e.errno == 2043
    e = _err(cur, "SHOW USERS")
    assert e.errno == 3001
    conn.close()


def test_bad_password_and_wrong_role(server):
    with pytest.raises(DatabaseError) as info:
        server.connect(password="wrong")
    assert (info.value.errno, info.value.sqlstate) == (390100, "28000")
    assert "Incorrect username or password was specified." in str(info.value)
    with pytest.raises(DatabaseError) as info:
        server.connect(user="nobody", password=ADMIN_PASSWORD)
    assert info.value.errno == 390100
    with pytest.raises(DatabaseError) as info:
        server.connect(user="bob", password="bob-pw", role="ACCOUNTADMIN")
    assert info.value.errno == 390189
