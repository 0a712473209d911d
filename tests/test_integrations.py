"""Network rules, external access and security integrations through the real connector: the seed
tutorial's setup SQL verbatim, SHOW/DESCRIBE, validation, privileges, all or nothing."""

from __future__ import annotations

import pytest
from snowflake.connector.errors import ProgrammingError

from conftest import start_server

TUTORIAL_SETUP = """
USE ROLE ACCOUNTADMIN;
CREATE ROLE CONTAINER_USER_ROLE;
GRANT CREATE DATABASE ON ACCOUNT TO ROLE CONTAINER_USER_ROLE;
GRANT CREATE WAREHOUSE ON ACCOUNT TO ROLE CONTAINER_USER_ROLE;
GRANT CREATE COMPUTE POOL ON ACCOUNT TO ROLE CONTAINER_USER_ROLE;
GRANT CREATE INTEGRATION ON ACCOUNT TO ROLE CONTAINER_USER_ROLE;
GRANT MONITOR USAGE ON ACCOUNT TO  ROLE  CONTAINER_USER_ROLE;
GRANT BIND SERVICE ENDPOINT ON ACCOUNT TO ROLE CONTAINER_USER_ROLE;
GRANT IMPORTED PRIVILEGES ON DATABASE snowflake TO ROLE CONTAINER_USER_ROLE;
grant role CONTAINER_USER_ROLE to role ACCOUNTADMIN;
USE ROLE CONTAINER_USER_ROLE;
CREATE OR REPLACE DATABASE CONTAINER_HOL_DB;
CREATE OR REPLACE WAREHOUSE CONTAINER_HOL_WH
  WAREHOUSE_SIZE = XSMALL
  AUTO_SUSPEND = 120
  AUTO_RESUME = TRUE;
CREATE STAGE IF NOT EXISTS specs
ENCRYPTION = (TYPE='SNOWFLAKE_SSE');
CREATE STAGE IF NOT EXISTS volumes
ENCRYPTION = (TYPE='SNOWFLAKE_SSE')
DIRECTORY = (ENABLE = TRUE);
USE ROLE ACCOUNTADMIN;
CREATE OR REPLACE NETWORK RULE ALLOW_ALL_RULE
  TYPE = 'HOST_PORT'
  MODE = 'EGRESS'
  VALUE_LIST= ('0.0.0.0:443', '0.0.0.0:80');
CREATE EXTERNAL ACCESS INTEGRATION ALLOW_ALL_EAI
  ALLOWED_NETWORK_RULES = (ALLOW_ALL_RULE)
  ENABLED = true;
GRANT USAGE ON INTEGRATION ALLOW_ALL_EAI TO ROLE CONTAINER_USER_ROLE;
USE ROLE CONTAINER_USER_ROLE;
CREATE COMPUTE POOL IF NOT EXISTS CONTAINER_HOL_POOL
MIN_NODES = 1
MAX_NODES = 1
INSTANCE_FAMILY = CPU_X64_XS;
CREATE IMAGE REPOSITORY CONTAINER_HOL_DB.PUBLIC.IMAGE_REPO;
SHOW IMAGE REPOSITORIES IN SCHEMA CONTAINER_HOL_DB.PUBLIC
"""


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("integrations") / "data")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cur(srv):
    conn = srv.connect()
    cursor = conn.cursor()
    for statement in [s.strip() for s in TUTORIAL_SETUP.split(";") if s.strip()]:
        cursor.execute(statement)
    yield cursor
    conn.close()


def _err(cur, sql) -> ProgrammingError:
    with pytest.raises(ProgrammingError) as info:
        cur.execute(sql)
    return info.value


def _row(cur, sql: str) -> dict:
    rows = cur.execute(sql).fetchall()
    assert len(rows) == 1, rows
    return dict(zip([d[0] for d in cur.description], rows[0], strict=True))


def test_tutorial_setup_objects(cur):
    cur.execute("USE ROLE ACCOUNTADMIN")
    rule = _row(cur, "SHOW NETWORK RULES LIKE 'ALLOW_ALL_RULE' IN SCHEMA CONTAINER_HOL_DB.PUBLIC")
    assert (rule["database_name"], rule["schema_name"], rule["type"], rule["mode"], rule["entries_in_valuelist"],
            rule["owner"]) == ("CONTAINER_HOL_DB", "PUBLIC", "HOST_PORT", "EGRESS", 2, "ACCOUNTADMIN")
    described = _row(cur, "DESCRIBE NETWORK RULE CONTAINER_HOL_DB.PUBLIC.ALLOW_ALL_RULE")
    assert described["value_list"] == "0.0.0.0:443,0.0.0.0:80"
    eai = _row(cur, "SHOW INTEGRATIONS LIKE 'ALLOW_ALL_EAI'")
    assert (eai["name"], eai["type"], eai["category"], eai["enabled"]) == (
        "ALLOW_ALL_EAI", "EXTERNAL_ACCESS", "SECURITY", "true")
    props = {r[0]: r[2] for r in cur.execute("DESCRIBE INTEGRATION ALLOW_ALL_EAI").fetchall()}
    assert props["ALLOWED_NETWORK_RULES"] == "[CONTAINER_HOL_DB.PUBLIC.ALLOW_ALL_RULE]"
    assert props["ENABLED"] == "true"
    cur.execute("USE ROLE CONTAINER_USER_ROLE")
    assert [r[0] for r in cur.execute("SHOW EXTERNAL ACCESS INTEGRATIONS").fetchall()] == ["ALLOW_ALL_EAI"]
    assert ("USAGE", "INTEGRATION", "ALLOW_ALL_EAI") in [
        (r[1], r[2], r[3]) for r in cur.execute("SHOW GRANTS TO ROLE CONTAINER_USER_ROLE").fetchall()]


def test_security_integration_for_ingress_oauth(cur):
    cur.execute("USE ROLE ACCOUNTADMIN")
    created = cur.execute("CREATE SECURITY INTEGRATION IF NOT EXISTS snowservices_ingress_oauth "
                          "TYPE=oauth OAUTH_CLIENT=snowservices_ingress ENABLED=true").fetchall()
    assert created == [("Integration SNOWSERVICES_INGRESS_OAUTH successfully created.",)]
    row = _row(cur, "SHOW SECURITY INTEGRATIONS LIKE 'SNOWSERVICES%'")
    assert (row["type"], row["enabled"]) == ("OAUTH - SNOWSERVICES_INGRESS", "true")
    assert cur.execute("SHOW EXTERNAL ACCESS INTEGRATIONS LIKE 'SNOWSERVICES%'").fetchall() == []
    e = _err(cur, "DROP EXTERNAL ACCESS INTEGRATION snowservices_ingress_oauth")
    assert e.errno == 2003
    cur.execute("ALTER SECURITY INTEGRATION snowservices_ingress_oauth SET ENABLED = FALSE")
    assert _row(cur, "SHOW INTEGRATIONS LIKE 'SNOWSERVICES%'")["enabled"] == "false"
    assert cur.execute("DROP INTEGRATION snowservices_ingress_oauth").fetchall() == [
        ("SNOWSERVICES_INGRESS_OAUTH successfully dropped.",)]


@pytest.mark.parametrize(("sql", "errno", "text"), [
    ("CREATE NETWORK RULE CONTAINER_HOL_DB.PUBLIC.BAD TYPE = 'HOST_PORT' MODE = 'SIDEWAYS' VALUE_LIST = ('a.com')",
     2025, "invalid value 'SIDEWAYS' for property 'MODE'"),
    ("CREATE NETWORK RULE CONTAINER_HOL_DB.PUBLIC.BAD TYPE = 'HOST_PORT' MODE = 'EGRESS'", 1003,
     "Missing option(s): [VALUE_LIST]"),
    ("CREATE NETWORK RULE CONTAINER_HOL_DB.PUBLIC.BAD TYPE = 'HOST_PORT' MODE = 'EGRESS' VALUE_LIST = ('a.com:99999')",
     2025, "Invalid value 'a.com:99999' in VALUE_LIST"),
    ("CREATE EXTERNAL ACCESS INTEGRATION BAD ALLOWED_NETWORK_RULES = (NO_SUCH_RULE) ENABLED = TRUE", 2003,
     "Network rule 'CONTAINER_HOL_DB.PUBLIC.NO_SUCH_RULE' does not exist or not authorized."),
    ("CREATE EXTERNAL ACCESS INTEGRATION BAD ALLOWED_NETWORK_RULES = (ALLOW_ALL_RULE) ENABLED = maybe", 2025,
     "invalid value [MAYBE] for parameter 'ENABLED'"),
    ("CREATE SECURITY INTEGRATION BAD OAUTH_CLIENT = x", 1003, "Missing option(s): [TYPE]"),
])
def test_invalid_definitions_are_refused_and_leave_nothing(cur, sql, errno, text):
    cur.execute("USE ROLE ACCOUNTADMIN")
    cur.execute("USE SCHEMA CONTAINER_HOL_DB.PUBLIC")
    e = _err(cur, sql)
    assert e.errno == errno
    assert text in e.msg
    assert cur.execute("SHOW INTEGRATIONS LIKE 'BAD'").fetchall() == []
    assert cur.execute("SHOW NETWORK RULES LIKE 'BAD' IN ACCOUNT").fetchall() == []


def test_replacing_a_rule_needs_ownership_and_integrations_need_usage(srv, cur):
    cur.execute("USE ROLE ACCOUNTADMIN")
    cur.execute("CREATE USER NET_USER PASSWORD = 'net-pw' DEFAULT_ROLE = CONTAINER_USER_ROLE")
    cur.execute("GRANT ROLE CONTAINER_USER_ROLE TO USER NET_USER")
    other = srv.connect(user="net_user", password="net-pw").cursor()
    other.execute("USE SECONDARY ROLES NONE")
    e = _err(other, "CREATE OR REPLACE NETWORK RULE CONTAINER_HOL_DB.PUBLIC.ALLOW_ALL_RULE TYPE = 'HOST_PORT' "
                    "MODE = 'EGRESS' VALUE_LIST = ('evil.example.com:443')")
    assert e.errno in (2003, 3001)
    assert _row(cur, "DESCRIBE NETWORK RULE CONTAINER_HOL_DB.PUBLIC.ALLOW_ALL_RULE")["value_list"] == \
        "0.0.0.0:443,0.0.0.0:80"
    e = _err(other, "ALTER INTEGRATION ALLOW_ALL_EAI SET ENABLED = FALSE")
    assert (e.errno, e.sqlstate) == (3001, "42501")
    assert "Insufficient privileges to operate on integration 'ALLOW_ALL_EAI'" in e.msg
    assert _row(cur, "SHOW INTEGRATIONS LIKE 'ALLOW_ALL_EAI'")["enabled"] == "true"


def test_integrations_survive_a_restart(tmp_path):
    server = start_server(tmp_path / "data")
    try:
        cur = server.connect().cursor()
        cur.execute("CREATE DATABASE NETDB")
        cur.execute("CREATE NETWORK RULE R1 MODE = EGRESS TYPE = HOST_PORT VALUE_LIST = ('pypi.org')")
        cur.execute("CREATE EXTERNAL ACCESS INTEGRATION PYPI ALLOWED_NETWORK_RULES = (R1) ENABLED = TRUE "
                    "COMMENT = 'pip'")
        server.stop()
        server = start_server(server.data_dir, port=server.port)
        cur = server.connect().cursor()
        assert _row(cur, "SHOW INTEGRATIONS LIKE 'PYPI'")["comment"] == "pip"
        assert _row(cur, "SHOW NETWORK RULES IN ACCOUNT")["name"] == "R1"
    finally:
        server.stop()
