"""Protocol features of connector 4.x: async, multi-statement, describe, renew, OAuth, raw errors."""

from __future__ import annotations

import gzip
import json
import subprocess
import time

import httpx
import pytest
from snowflake.connector import DictCursor
from snowflake.connector.errors import DatabaseError, ProgrammingError

from conftest import SNOWPORT, start_server


@pytest.fixture(scope="module")
def conn(server, tutorial):
    c = server.connect(role="CONTAINER_USER_ROLE", database="CONTAINER_HOL_DB", schema="PUBLIC",
                       warehouse="CONTAINER_HOL_WH")
    yield c
    c.close()


def test_login_session_info_and_parameters(conn):
    assert (conn.role, conn.database, conn.schema, conn.warehouse) == (
        "CONTAINER_USER_ROLE", "CONTAINER_HOL_DB", "PUBLIC", "CONTAINER_HOL_WH")
    assert isinstance(conn.session_id, int)
    assert conn._session_parameters["CLIENT_STAGE_ARRAY_BINDING_THRESHOLD"] == 0


def test_use_updates_connection_attributes(conn):
    cur = conn.cursor()
    cur.execute("USE SCHEMA INFORMATION_SCHEMA")
    assert conn.schema == "INFORMATION_SCHEMA"
    cur.execute("USE SCHEMA PUBLIC")
    cur.execute("USE ROLE ACCOUNTADMIN")
    assert conn.role == "ACCOUNTADMIN"
    cur.execute("USE ROLE CONTAINER_USER_ROLE")


def _wait(conn, qid: str) -> None:
    deadline = time.time() + 10
    while conn.is_still_running(conn.get_query_status(qid)) and time.time() < deadline:
        time.sleep(0.05)


def test_async_execution_and_result_scan(conn):
    cur = conn.cursor()
    cur.execute_async("SELECT LOCATION FROM WEATHER WHERE TEMP_C > 18 ORDER BY LOCATION")
    qid = cur.sfqid
    _wait(conn, qid)
    assert conn.get_query_status(qid).name == "SUCCESS"
    cur2 = conn.cursor()
    cur2.get_results_from_sfqid(qid)
    assert cur2.fetchall() == [("Cambridge",), ("Manchester",), ("Newcastle",)]
    # RESULT_SCAN works for Snowport's own results too (SHOW columns are lower case).
    cur.execute("SHOW WAREHOUSES")
    show_id = cur.sfqid
    cur.execute(f'SELECT "name", "state" FROM TABLE(RESULT_SCAN(\'{show_id}\'))')
    assert cur.fetchall() == [("CONTAINER_HOL_WH", "STARTED")]
    cur.execute("SELECT 42 AS X")
    cur.execute("SELECT X + 1 FROM TABLE(RESULT_SCAN(LAST_QUERY_ID()))")
    assert cur.fetchone() == (43,)


def test_async_failure_is_reported(conn):
    cur = conn.cursor()
    cur.execute_async("SELECT * FROM NO_SUCH_TABLE")
    qid = cur.sfqid
    _wait(conn, qid)
    with pytest.raises(ProgrammingError) as info:
        conn.get_query_status_throw_if_error(qid)
    assert info.value.errno == 2003


def test_multi_statement(conn):
    cur = conn.cursor()
    cur.execute("SELECT 1; SELECT 'two'", num_statements=2)
    assert cur.fetchall() == [(1,)]
    assert cur.nextset()
    assert cur.fetchall() == [("two",)]
    assert not cur.nextset()
    with pytest.raises(ProgrammingError) as info:
        cur.execute("SELECT 1; SELECT 2")
    assert info.value.errno == 8
    assert "did not match the desired statement count 1" in info.value.msg
    cur.execute("ALTER SESSION SET MULTI_STATEMENT_COUNT = 0")
    cur.execute("SELECT 1; SELECT 2; SELECT 3")
    assert cur.fetchall() == [(1,)]
    cur.execute("ALTER SESSION UNSET MULTI_STATEMENT_COUNT")


def test_execute_string_splits_client_side(conn):
    results = [c.fetchall() for c in conn.execute_string("select 1; select current_role();")]
    assert results == [[(1,)], [("CONTAINER_USER_ROLE",)]]


def test_describe_only(conn):
    cur = conn.cursor()
    before = cur.execute("SELECT count(*) FROM WEATHER").fetchone()[0]
    described = cur.describe("SELECT LOCATION, TEMP_C FROM WEATHER")
    assert [(d.name, d.type_code) for d in described] == [("LOCATION", 2), ("TEMP_C", 0)]
    cur.describe("INSERT INTO WEATHER (LOCATION) VALUES ('nowhere')")
    assert cur.execute("SELECT count(*) FROM WEATHER").fetchone()[0] == before


def test_dict_cursor_and_client_version_info(conn):
    row = conn.cursor(DictCursor).execute("SELECT SYSTEM$CLIENT_VERSION_INFO() AS INFO").fetchone()
    info = json.loads(row["INFO"])
    assert {i["clientId"] for i in info} >= {"PyCore", "PythonConnector"}


def test_session_renew_on_expiry(tmp_path):
    server = start_server(tmp_path / "data", SNOWPORT_SESSION_VALIDITY_SECONDS="2")
    try:
        conn = server.connect()
        token = conn.rest.token
        assert conn.cursor().execute("select 1").fetchone() == (1,)
        time.sleep(2.5)
        # The expired token gets 390112; the connector renews with the master token and replays.
        assert conn.cursor().execute("select current_user()").fetchone() == ("ADMIN",)
        assert conn.rest.token != token
        conn.close()
    finally:
        server.stop()


def test_oauth_login(server, admin):
    token = subprocess.run([*SNOWPORT, "token", "--user", "admin", "--data-dir", str(server.data_dir)],
                           check=True, capture_output=True, text=True).stdout.strip()
    conn = server.connect(authenticator="oauth", token=token, password=None)
    assert conn.cursor().execute("select current_user(), current_role()").fetchone() == ("ADMIN", "ACCOUNTADMIN")
    conn.close()
    with pytest.raises(DatabaseError) as info:
        server.connect(authenticator="oauth", token=token + "x", password=None)
    assert info.value.errno == 390303
    expired = subprocess.run([*SNOWPORT, "token", "--user", "admin", "--ttl", "-10", "--data-dir",
                              str(server.data_dir)], check=True, capture_output=True, text=True).stdout.strip()
    with pytest.raises(DatabaseError) as info:
        server.connect(authenticator="oauth", token=expired, password=None)
    assert info.value.errno == 390318


def _post(server, path, body, token=None, gz=True):
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/snowflake"}
    if gz:
        raw = gzip.compress(raw)
        headers["Content-Encoding"] = "gzip"
    if token is not None:
        headers["Authorization"] = f'Snowflake Token="{token}"'
    return httpx.post(server.url + path, content=raw, headers=headers, timeout=10)


def test_missing_and_unknown_tokens(server):
    r = _post(server, "/queries/v1/query-request", {"sqlText": "select 1"})
    assert r.status_code == 200 and r.json()["success"] is False and r.json()["code"] == "390101"
    r = _post(server, "/queries/v1/query-request", {"sqlText": "select 1"}, token="ST-bogus")
    assert r.status_code == 200 and r.json()["code"] == "390112"
    r = _post(server, "/session/token-request", {"oldSessionToken": "x", "requestType": "RENEW"}, token="MT-bogus")
    assert r.json()["code"] == "390114"


def test_close_deletes_session(server):
    conn = server.connect()
    token = conn.rest.token
    conn.close()
    r = _post(server, "/queries/v1/query-request", {"sqlText": "select 1"}, token=token)
    assert r.json()["code"] == "390112"


def test_telemetry_and_heartbeat(server, conn):
    r = _post(server, "/telemetry/send", {"logs": []}, token=conn.rest.token)
    assert r.json()["success"] is True
    conn.rest._heartbeat()


def test_named_bindings_over_the_wire(server, conn):
    """Drivers other than Python's (Go, JDBC) send named bindings; the wire accepts them."""
    body = {"sqlText": "select :greeting || ', ' || :name", "sequenceId": 1,
            "bindings": {"greeting": {"type": "TEXT", "value": "hello"}, "name": {"type": "TEXT", "value": "x"}}}
    r = _post(server, "/queries/v1/query-request", body, token=conn.rest.token)
    assert r.json()["success"] is True, r.json()
    import base64

    import pyarrow as pa

    data = r.json()["data"]
    assert data["queryResultFormat"] == "arrow"
    table = pa.ipc.open_stream(base64.b64decode(data["rowsetBase64"])).read_all()
    assert table.column(0).to_pylist() == ["hello, x"]
