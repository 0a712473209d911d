"""Bad input: documented errors for malformed SQL, unknown objects, wrong bindings and bodies;
a randomised barrage of malformed statements never gets a 5xx or a hang, and the server keeps serving."""

from __future__ import annotations

import gzip
import json
import time

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from snowflake.connector.errors import ProgrammingError


@pytest.fixture(scope="module")
def conn(server, tutorial):
    c = server.connect(role="CONTAINER_USER_ROLE", database="CONTAINER_HOL_DB", schema="PUBLIC",
                       warehouse="CONTAINER_HOL_WH", paramstyle="qmark")
    yield c
    c.close()


@pytest.mark.parametrize(
    ("sql", "errno", "sqlstate", "text"),
    [
        ("select * frm weather", 1003, "42000", "syntax error line 1 at position 13 unexpected 'weather'."),
        ("CREATE DATABASE", 1003, "42000", "syntax error line 1 at position 15 unexpected '<EOF>'."),
        ("select 'unterminated", 1003, "42000", "unexpected '<EOF>'."),
        ("select 1\nfrom", 1003, "42000", "syntax error line 2 at position 0 unexpected 'from'."),
        ("GRANT SELECT ON TABLE weather TO", 1003, "42000", "unexpected '<EOF>'."),
        ('create role ""', 1003, "42000", "syntax error line 1 at position 12"),
        ("select * from no_such_table", 2003, "42S02", "Object 'CONTAINER_HOL_DB.PUBLIC.NO_SUCH_TABLE' does not exist"),
        ("drop database no_such_db", 2003, "02000", "Database 'NO_SUCH_DB' does not exist or not authorized."),
        ("drop warehouse no_such_wh", 2003, "02000", "Warehouse 'NO_SUCH_WH' does not exist or not authorized."),
        ("grant select on table no_such to role public", 2003, "02000", "does not exist or not authorized."),
        ("grant role no_such_role to role public", 2003, "02000", "Role 'NO_SUCH_ROLE' does not exist"),
        ("use role no_such_role", 3013, "42501", "Requested role 'NO_SUCH_ROLE' is not assigned"),
        ("create table weather (a int)", 2002, "42710", "Object 'WEATHER' already exists."),
        ("select ?", 2049, "42601", "Bind variable ? not set."),
        ("select ?, ?", 2049, "42601", "Bind variable ? not set."),
        ("show things", 2, "0A000", "Unsupported feature 'SHOW THINGS'."),
        ("create warehouse bad_wh warehouse_size = enormous", 2025, "22023", "WAREHOUSE_SIZE"),
        ("DESCRIBE .", 1003, "42000", "syntax error"),  # sqlglot recursed without end on this (fuzzing found it)
    ],
)
def test_documented_errors(conn, sql, errno, sqlstate, text):
    cur = conn.cursor()
    with pytest.raises(ProgrammingError) as info:
        cur.execute(sql)
    assert (info.value.errno, info.value.sqlstate) == (errno, sqlstate), info.value.msg
    assert text in info.value.msg
    assert info.value.sfqid
    assert cur.execute("select 1").fetchone() == (1,)


def test_wrong_bindings(conn):
    cur = conn.cursor()
    with pytest.raises(ProgrammingError) as info:
        cur.execute("select ?, ?", (1,))
    assert info.value.errno == 2049
    with pytest.raises(ProgrammingError) as info:
        cur.execute("insert into weather (date) values (?)", ("not a date",))
    assert info.value.errno != 0
    assert cur.execute("select count(*) from weather").fetchone() == (10,)


def _raw(server, token, body: bytes, gz=True, path="/queries/v1/query-request"):
    headers = {"Content-Type": "application/json", "Accept": "application/snowflake",
               "Authorization": f'Snowflake Token="{token}"'}
    if gz:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    return httpx.post(server.url + path, content=body, headers=headers, timeout=30)


def test_malformed_request_bodies(server, conn):
    token = conn.rest.token
    for body, gz in [(b"not json", True), (b"\x1f\x8bgarbage", False), (b"[1,2]", True), (b"{}", True),
                     (json.dumps({"sqlText": 5}).encode(), True),
                     (json.dumps({"sqlText": "select ?", "bindings": {"1": {"type": "FIXED"}}}).encode(), True),
                     (json.dumps({"sqlText": "select ?", "bindings": {"1": {"type": "DATE", "value": "x"}}}).encode(),
                      True)]:
        r = _raw(server, token, body, gz)
        assert r.status_code == 200, (body, r.text)
        assert r.json()["success"] is False, (body, r.text)
    r = _raw(server, token, json.dumps({"sqlText": "  -- nothing\n"}).encode())
    assert (r.json()["code"], r.json()["message"]) == ("000900", "Empty SQL statement.")
    r = _raw(server, token, b"garbage", True, path="/session/v1/login-request")
    assert r.status_code == 200 and r.json()["success"] is False


SQL_WORDS = ["SELECT", "FROM", "WHERE", "CREATE", "DROP", "ALTER", "GRANT", "REVOKE", "USE", "SHOW", "TABLE",
             "DATABASE", "SCHEMA", "WAREHOUSE", "ROLE", "USER", "ON", "TO", "IN", "ACCOUNT", "LIKE", "OR", "REPLACE",
             "IF", "NOT", "EXISTS", "INSERT", "INTO", "VALUES", "UPDATE", "SET", "DELETE", "weather", "x", "1",
             "'s'", '"Q"', "(", ")", ",", ";", ".", "=", "*", "?", "::", "$$", "@~", "--", "/*", "NULL", "TRUE",
             "RESULT_SCAN", "TABLE(", "IDENTIFIER(", "OWNERSHIP", "USAGE", "SUSPEND", "RESUME", "DESCRIBE"]


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(
    st.lists(st.sampled_from(SQL_WORDS), min_size=1, max_size=12).map(" ".join),
    st.text(max_size=80),
))
def test_random_malformed_statements_never_5xx(server, conn, statement):
    started = time.time()
    r = _raw(server, conn.rest.token, json.dumps({"sqlText": statement, "sequenceId": 1}).encode())
    assert r.status_code == 200, r.text
    body = r.json()
    assert isinstance(body, dict) and "success" in body
    if not body["success"]:
        assert body["code"] and body["code"].isdigit() and len(body["code"]) == 6, body
        assert body["code"] != "000603", body  # an internal error is a Snowport bug
    assert time.time() - started < 10


def test_server_still_serves_after_fuzzing(conn):
    assert conn.cursor().execute("select count(*) from weather").fetchone() == (10,)


def test_reserved_and_unholdable_database_names(conn):
    cur = conn.cursor()
    with pytest.raises(ProgrammingError) as info:
        cur.execute("CREATE DATABASE CREATE")  # a reserved word must be quoted
    assert info.value.errno == 1003 and "unexpected 'CREATE'" in info.value.msg
    with pytest.raises(ProgrammingError) as info:
        cur.execute('CREATE DATABASE "SELECT"')
    assert info.value.errno == 2
    assert cur.execute("SHOW DATABASES LIKE 'SELECT'").fetchall() == []  # nothing half-created
    assert cur.execute("select current_database()").fetchone() == ("CONTAINER_HOL_DB",)
