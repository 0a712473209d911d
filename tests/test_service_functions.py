"""Service functions end to end (spcs-reference 7): a real service on the Docker engine (the tutorial's
convert-api on the standard library, tests/function_service/app.py), functions created, described, altered
and dropped through the real connector, called from SELECT lists, WHERE, joins and UPDATE, and once from
Snowpark; retries, polling, failures, timeouts, batch sizes, headers and privileges as the service saw them."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest
from registry_helpers import ensure_python_image, push_local_image
from service_helpers import engine_server
from service_helpers import rows as _rows
from service_helpers import until as _until
from snowflake.connector.errors import ProgrammingError

from conftest import ADMIN_PASSWORD, new_user_with_role

APP = (Path(__file__).parent / "function_service" / "app.py").read_text()
IMAGE_PATH = "container_hol_db/public/image_repo/convert-api:dev"
SPEC = f"""
spec:
  containers:
  - name: convert-api
    image: /{IMAGE_PATH}
    command: ["python3", "-c", "import base64; exec(base64.b64decode('{base64.b64encode(APP.encode()).decode()}'))"]
    readinessProbe:
      port: 9090
      path: /ready
  endpoints:
  - name: convert-api
    port: 9090
    public: true
  - name: echoendpoint
    port: 9090
"""
WEATHER = [("2023-03-21", "London", 15), ("2023-07-13", "Manchester", 20), ("2023-05-09", "Liverpool", 17),
           ("2023-09-17", "Cambridge", 19), ("2023-11-02", "Oxford", 13), ("2023-01-25", "Birmingham", 11),
           ("2023-08-30", "Newcastle", 21), ("2023-06-15", "Bristol", 16), ("2023-04-07", "Leeds", 18),
           ("2023-10-23", "Southampton", 12)]


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    yield from engine_server(tmp_path_factory, "service-functions", SNOWPORT_SERVICE_TICK_SECONDS="0.5",
                             SNOWPORT_WAREHOUSE_TICK_SECONDS="0.2")


def _wait_running(cur, name: str, timeout: float = 120) -> None:
    _until(lambda: cur.execute(f"SHOW SERVICES LIKE '{name}'").fetchone()[1] == "RUNNING", timeout,
           f"{name} RUNNING")


@pytest.fixture(scope="module")
def cur(svc, tmp_path_factory):
    ensure_python_image()
    conn = svc.connect()
    cursor = conn.cursor()
    for sql in ("CREATE ROLE CONTAINER_USER_ROLE", "GRANT CREATE DATABASE ON ACCOUNT TO ROLE CONTAINER_USER_ROLE",
                "GRANT CREATE COMPUTE POOL ON ACCOUNT TO ROLE CONTAINER_USER_ROLE",
                "GRANT CREATE WAREHOUSE ON ACCOUNT TO ROLE CONTAINER_USER_ROLE",
                "GRANT BIND SERVICE ENDPOINT ON ACCOUNT TO ROLE CONTAINER_USER_ROLE",
                "GRANT ROLE CONTAINER_USER_ROLE TO USER ADMIN", "USE ROLE CONTAINER_USER_ROLE",
                "CREATE DATABASE CONTAINER_HOL_DB", "CREATE IMAGE REPOSITORY CONTAINER_HOL_DB.PUBLIC.IMAGE_REPO",
                "CREATE WAREHOUSE CONTAINER_HOL_WH WAREHOUSE_SIZE = XSMALL",
                "CREATE COMPUTE POOL CONTAINER_HOL_POOL MIN_NODES = 1 MAX_NODES = 2 INSTANCE_FAMILY = CPU_X64_XS",
                "USE SCHEMA CONTAINER_HOL_DB.PUBLIC", "USE WAREHOUSE CONTAINER_HOL_WH"):
        cursor.execute(sql)
    push_local_image(svc.port, "python:3.11", IMAGE_PATH, tmp_path_factory.mktemp("push"), ADMIN_PASSWORD)
    cursor.execute(f"CREATE SERVICE CONTAINER_HOL_DB.PUBLIC.CONVERT_API IN COMPUTE POOL CONTAINER_HOL_POOL "
                   f"FROM SPECIFICATION $${SPEC}$$")
    _wait_running(cursor, "CONVERT_API")
    cursor.execute("CREATE OR REPLACE FUNCTION sf_stats (x varchar) RETURNS variant SERVICE=CONVERT_API "
                   "ENDPOINT=echoendpoint AS '/stats'")
    yield cursor
    conn.close()


def _stats(cur) -> dict:
    return json.loads(cur.execute("SELECT sf_stats('x')").fetchone()[0])


def _fn(cur, name: str, path: str, extra: str = "", args: str = "input float", returns: str = "float") -> None:
    cur.execute(f"CREATE OR REPLACE FUNCTION {name} ({args}) RETURNS {returns} SERVICE=CONVERT_API "
                f"ENDPOINT='convert-api' {extra} AS '{path}'")


def test_the_tutorials_convert_api_flow(cur):
    created = cur.execute("""CREATE OR REPLACE FUNCTION convert_udf (input float)
RETURNS float
SERVICE=CONVERT_API      //Snowpark Container Service name
ENDPOINT='convert-api'   //The endpoint within the container
MAX_BATCH_ROWS=5         //limit the size of the batch
AS '/convert';           //The API endpoint""").fetchall()
    assert created == [("Function CONVERT_UDF successfully created.",)]
    assert _rows(cur, "SELECT convert_udf(12) as conversion_result") == [{"CONVERSION_RESULT": 53.6}]
    cur.execute("""CREATE OR REPLACE TABLE WEATHER (
    DATE DATE,
    LOCATION VARCHAR,
    TEMP_C NUMBER,
    TEMP_F NUMBER
)""")
    cur.execute("INSERT INTO weather (DATE, LOCATION, TEMP_C, TEMP_F) VALUES " + ", ".join(
        f"('{d}', '{loc}', {c}, NULL)" for d, loc, c in WEATHER))
    before = len(_stats(cur)["sizes"].get("convert", []))
    cur.execute("UPDATE WEATHER\nSET TEMP_F = convert_udf(TEMP_C);")
    assert cur.fetchall() == [(10, 0)]
    got = {r["LOCATION"]: (r["TEMP_C"], r["TEMP_F"]) for r in _rows(cur, "SELECT * FROM WEATHER")}
    assert got == {loc: (c, round(c * 9 / 5 + 32)) for _, loc, c in WEATHER}
    sizes = _stats(cur)["sizes"]["convert"][before:]
    assert sum(sizes) == 10 and max(sizes) <= 5  # MAX_BATCH_ROWS=5: never more rows in one request
    # anywhere a scalar function can stand: WHERE, a join, qualified names, an unaliased column
    warm = _rows(cur, "SELECT LOCATION FROM WEATHER WHERE convert_udf(TEMP_C) > 66 ORDER BY LOCATION")
    assert [r["LOCATION"] for r in warm] == ["Cambridge", "Manchester", "Newcastle"]
    joined = _rows(cur, "SELECT w.LOCATION, CONTAINER_HOL_DB.PUBLIC.convert_udf(x.C) AS F FROM WEATHER w "
                        "JOIN (SELECT 20 AS C) x ON public.convert_udf(w.TEMP_C) = convert_udf(x.C)")
    assert joined == [{"LOCATION": "Manchester", "F": 68.0}]
    cur.execute("SELECT convert_udf(TEMP_C) FROM WEATHER ORDER BY 1 LIMIT 1")
    assert cur.description[0][0] == "CONVERT_UDF(TEMP_C)" and cur.fetchone() == (51.8,)
    assert _rows(cur, "SELECT convert_udf(NULL) AS N") == [{"N": None}]  # CALLED ON NULL INPUT: sent, answered


def test_many_rows_are_batched_and_matched_by_row_index(cur):
    _fn(cur, "reversed_udf", "/reversed", "MAX_BATCH_ROWS = 7")
    before = len(_stats(cur)["sizes"].get("reversed", []))
    got = _rows(cur, "SELECT x, reversed_udf(x) AS F FROM (SELECT range::float AS x FROM range(5000)) ORDER BY x")
    assert [r["F"] for r in got] == [x * 9 / 5 + 32 for x in range(5000)]
    sizes = _stats(cur)["sizes"]["reversed"][before:]
    assert sum(sizes) == 5000 and max(sizes) <= 7


def test_describe_show_alter_rename_drop(cur):
    _fn(cur, "echo_fn", "/echo", "", args="inputtext varchar", returns="varchar")
    assert cur.execute("DESC FUNCTION echo_fn(VARCHAR)").fetchall() == [
        ("signature", "(INPUTTEXT VARCHAR)"), ("returns", "VARCHAR"), ("language", "NULL"),
        ("null handling", "CALLED ON NULL INPUT"), ("volatility", "VOLATILE"), ("body", "/echo"),
        ("headers", "null"), ("context_headers", "null"), ("max_batch_rows", "not set"), ("service", "CONVERT_API"),
        ("service_endpoint", "convert-api"), ("max_batch_retries", "3"), ("on_batch_failure", "ABORT"),
        ("batch_timeout_secs", "not set")]
    assert [d[0] for d in cur.description] == ["property", "value"]
    assert cur.execute("CREATE FUNCTION IF NOT EXISTS echo_fn (inputtext varchar) RETURNS varchar SERVICE=CONVERT_API "
                       "ENDPOINT='convert-api' AS '/other'").fetchall() == [("ECHO_FN already exists, statement succeeded.",)]
    assert _rows(cur, "SELECT echo_fn('hello') AS E") == [{"E": "hello"}]
    shown = _rows(cur, "SHOW USER FUNCTIONS LIKE 'ECHO_%' IN SCHEMA CONTAINER_HOL_DB.PUBLIC")
    assert [(r["name"], r["arguments"], r["description"], r["min_num_arguments"], r["catalog_name"])
            for r in shown] == [("ECHO_FN", "ECHO_FN(VARCHAR) RETURN VARCHAR", "user-defined function", 1,
                                 "CONTAINER_HOL_DB")]
    assert [r["name"] for r in _rows(cur, "SHOW FUNCTIONS LIKE 'echo_fn'")] == ["ECHO_FN"]
    cur.execute("ALTER FUNCTION echo_fn(STRING) SET MAX_BATCH_ROWS = 2 MAX_BATCH_RETRIES = 1 "
                "ON_BATCH_FAILURE = RETURN_NULL BATCH_TIMEOUT_SECS = 60 CONTEXT_HEADERS = (current_user) "
                "COMMENT = 'echoes'")
    described = dict(cur.execute("DESC FUNCTION echo_fn(VARCHAR)").fetchall())
    assert (described["max_batch_rows"], described["max_batch_retries"], described["on_batch_failure"],
            described["batch_timeout_secs"], described["context_headers"]) == (
        "2", "1", "RETURN_NULL", "60", "[CURRENT_USER]")
    cur.execute("ALTER FUNCTION echo_fn(VARCHAR) UNSET MAX_BATCH_ROWS, ON_BATCH_FAILURE, COMMENT")
    described = dict(cur.execute("DESC FUNCTION echo_fn(VARCHAR)").fetchall())
    assert (described["max_batch_rows"], described["on_batch_failure"]) == ("not set", "ABORT")
    # CREATE OR ALTER changes the endpoint and batch settings, never the return type
    cur.execute("CREATE OR ALTER FUNCTION echo_fn (inputtext varchar) RETURNS varchar SERVICE=CONVERT_API "
                "ENDPOINT=echoendpoint MAX_BATCH_ROWS=3 AS '/echo'")
    described = dict(cur.execute("DESC FUNCTION echo_fn(VARCHAR)").fetchall())
    assert (described["service_endpoint"], described["max_batch_rows"], described["max_batch_retries"]) == (
        "echoendpoint", "3", "3")
    with pytest.raises(ProgrammingError, match="cannot change the RETURNS"):
        cur.execute("CREATE OR ALTER FUNCTION echo_fn (inputtext varchar) RETURNS number SERVICE=CONVERT_API "
                    "ENDPOINT=echoendpoint AS '/echo'")
    # overloads are other functions: name and argument types are the identity
    _fn(cur, "echo_fn", "/echo", "", args="a varchar, b varchar", returns="variant")
    assert json.loads(cur.execute("SELECT echo_fn('a', 'b')").fetchone()[0]) == ["a", "b"]
    assert _rows(cur, "SELECT echo_fn('x') AS E") == [{"E": "x"}]
    cur.execute("ALTER FUNCTION echo_fn(VARCHAR) RENAME TO echo_renamed")
    assert _rows(cur, "SELECT echo_renamed('y') AS E") == [{"E": "y"}]
    with pytest.raises(ProgrammingError) as missing:
        cur.execute("DESC FUNCTION echo_fn(VARCHAR)")
    assert missing.value.errno == 2003 and "ECHO_FN(VARCHAR)" in missing.value.msg
    assert cur.execute("DROP FUNCTION echo_renamed(VARCHAR)").fetchall() == [("ECHO_RENAMED successfully dropped.",)]
    assert cur.execute("DROP FUNCTION IF EXISTS echo_renamed(VARCHAR)").fetchone()[0].startswith("Drop statement")
    cur.execute("DROP FUNCTION echo_fn(VARCHAR, VARCHAR)")
    assert _rows(cur, "SHOW USER FUNCTIONS LIKE 'ECHO_%'") == []


def test_retries_and_polling_still_give_the_right_values(cur):
    for name, path in (("f429", "/flaky429"), ("f503", "/flaky503"), ("fasync", "/async")):
        _fn(cur, name, path, "MAX_BATCH_ROWS = 4")
        got = _rows(cur, f"SELECT x, {name}(x) AS F FROM (SELECT range::float AS x FROM range(10)) ORDER BY x")
        assert [r["F"] for r in got] == [x * 9 / 5 + 32 for x in range(10)], name
    attempts = _stats(cur)["attempts"]
    flaky = [n for key, n in attempts.items() if key.startswith("/flaky429|")]
    assert len(flaky) == 3 and set(flaky) == {3}  # each of the 3 batches: twice 429, then the same batch id again


def test_a_failing_service_aborts_or_gives_nulls(cur):
    _fn(cur, "fails", "/fail", "MAX_BATCH_RETRIES = 1")
    with pytest.raises(ProgrammingError) as failed:
        cur.execute("SELECT fails(1.0)")
    assert failed.value.errno == 100351
    assert "CONTAINER_HOL_DB.PUBLIC.FAILS" in failed.value.msg and "500" in failed.value.msg
    assert "boom: the service failed on purpose" in failed.value.msg
    # a failed UPDATE changes nothing
    cur.execute("CREATE OR REPLACE TABLE T_FAIL (C FLOAT, F FLOAT)")
    cur.execute("INSERT INTO T_FAIL VALUES (1, NULL), (2, NULL)")
    with pytest.raises(ProgrammingError, match="FAILS with remote service error: 500"):
        cur.execute("UPDATE T_FAIL SET F = fails(C)")
    assert _rows(cur, "SELECT F FROM T_FAIL") == [{"F": None}, {"F": None}]
    cur.execute("UPDATE T_FAIL SET F = 7")
    with pytest.raises(ProgrammingError):
        cur.execute("UPDATE T_FAIL SET F = fails(C)")
    assert [r["F"] for r in _rows(cur, "SELECT F FROM T_FAIL")] == [7.0, 7.0]
    cur.execute("ALTER FUNCTION fails(FLOAT) SET ON_BATCH_FAILURE = RETURN_NULL")
    assert _rows(cur, "SELECT fails(C) AS F FROM T_FAIL") == [{"F": None}, {"F": None}]


def test_batch_timeout(cur):
    _fn(cur, "slow", "/slow", "BATCH_TIMEOUT_SECS = 1 MAX_BATCH_RETRIES = 0")
    started = time.monotonic()
    with pytest.raises(ProgrammingError, match="timed out after 1 seconds"):
        cur.execute("SELECT slow(1.0)")
    assert time.monotonic() - started < 3


def test_headers_the_service_receives(cur):
    cur.execute("CREATE OR REPLACE FUNCTION hdrs (n number) RETURNS variant SERVICE=CONVERT_API "
                "ENDPOINT=echoendpoint CONTEXT_HEADERS = (CURRENT_USER, CURRENT_ROLE, CURRENT_DATABASE) AS '/headers'")
    seen = json.loads(cur.execute("SELECT hdrs(1)").fetchone()[0])
    query_id = cur.sfqid
    assert seen["sf-external-function-format"] == "json"
    assert seen["sf-external-function-format-version"] == "1.0"
    assert seen["sf-external-function-current-query-id"] == query_id
    assert seen["sf-external-function-query-batch-id"]
    assert seen["sf-external-function-name"] == "CONTAINER_HOL_DB.PUBLIC.HDRS"
    assert base64.b64decode(seen["sf-external-function-name-base64"]).decode() == "CONTAINER_HOL_DB.PUBLIC.HDRS"
    assert seen["sf-external-function-signature"] == "(N NUMBER(38,0))"
    assert seen["sf-external-function-return-type"] == "VARIANT"
    assert (seen["sf-context-current-user"], seen["sf-context-current-role"], seen["sf-context-current-database"]) \
        == ("ADMIN", "CONTAINER_USER_ROLE", "CONTAINER_HOL_DB")
    assert base64.b64decode(seen["sf-context-current-role-base64"]).decode() == "CONTAINER_USER_ROLE"
    assert seen["content-type"] == "application/json"


def test_strict_skips_null_rows(cur):
    _fn(cur, "strict_fn", "/convert", "", args="input float", returns="float RETURNS NULL ON NULL INPUT")
    before = sum(_stats(cur)["sizes"].get("convert", []))
    got = _rows(cur, "SELECT strict_fn(x) AS F FROM (VALUES (1.0), (NULL), (2.0)) v(x)")
    assert [r["F"] for r in got] == [33.8, None, 35.6]
    assert sum(_stats(cur)["sizes"]["convert"]) - before == 2  # the NULL row was never sent
    assert dict(cur.execute("DESC FUNCTION strict_fn(FLOAT)").fetchall())["null handling"] == \
        "RETURNS NULL ON NULL INPUT"


def test_bad_definitions_are_refused_and_nothing_is_created(cur):
    base = "CREATE FUNCTION bad_fn (x float) RETURNS float "
    cases = [
        (base + "SERVICE=NO_SUCH ENDPOINT='convert-api' AS '/convert'", "Service 'CONTAINER_HOL_DB.PUBLIC.NO_SUCH' "
         "does not exist"),
        (base + "SERVICE=CONVERT_API ENDPOINT='nope' AS '/convert'", "Endpoint 'nope' does not exist in service"),
        (base + "SERVICE=CONVERT_API ENDPOINT='convert-api' MAX_BATCH_ROWS = 0 AS '/convert'", "MAX_BATCH_ROWS"),
        (base + "SERVICE=CONVERT_API ENDPOINT='convert-api' BATCH_TIMEOUT_SECS = 604801 AS '/convert'",
         "BATCH_TIMEOUT_SECS"),
        (base + "SERVICE=CONVERT_API ENDPOINT='convert-api' ON_BATCH_FAILURE = RETRY AS '/convert'",
         "ON_BATCH_FAILURE"),
        (base + "SERVICE=CONVERT_API ENDPOINT='convert-api' CONTEXT_HEADERS = (CURRENT_MOOD) AS '/convert'",
         "CURRENT_MOOD"),
        (base + "SERVICE=CONVERT_API ENDPOINT='convert-api'", "AS '<http path>'"),
        (base + "SERVICE=CONVERT_API AS '/convert'", "ENDPOINT"),
        (base + "SERVICE=CONVERT_API ENDPOINT='convert-api' AS 'convert'", "starting with '/'"),
        (base + "SERVICE=CONVERT_API ENDPOINT='convert-api' FOO = 1 AS '/convert'", "FOO"),
    ]
    for sql, message in cases:
        with pytest.raises(ProgrammingError, match=message.replace("(", r"\(").replace("'", "'")):
            cur.execute(sql)
    assert _rows(cur, "SHOW USER FUNCTIONS LIKE 'BAD_FN'") == []
    cur.execute("EXECUTE JOB SERVICE IN COMPUTE POOL CONTAINER_HOL_POOL NAME = A_JOB ASYNC = TRUE FROM "
                "SPECIFICATION $$" + SPEC + "$$")
    with pytest.raises(ProgrammingError, match="is a job service"):
        cur.execute(base + "SERVICE=A_JOB ENDPOINT='convert-api' AS '/convert'")
    cur.execute("DROP SERVICE A_JOB")


def test_privileges_usage_and_endpoint(svc, cur):
    new_user_with_role(cur.connection, "SF_USER", "SF_CALLER", "sf-user-pw")
    for sql in ("GRANT USAGE ON DATABASE CONTAINER_HOL_DB TO ROLE SF_CALLER",
                "GRANT USAGE ON SCHEMA CONTAINER_HOL_DB.PUBLIC TO ROLE SF_CALLER",
                "GRANT CREATE FUNCTION ON SCHEMA CONTAINER_HOL_DB.PUBLIC TO ROLE SF_CALLER",
                "GRANT USAGE ON SERVICE CONTAINER_HOL_DB.PUBLIC.CONVERT_API TO ROLE SF_CALLER",
                "USE ROLE CONTAINER_USER_ROLE"):
        cur.execute(sql)
    _fn(cur, "priv_udf", "/convert")
    caller_conn = svc.connect(user="SF_USER", password="sf-user-pw", database="CONTAINER_HOL_DB", schema="PUBLIC")
    caller = caller_conn.cursor()
    try:
        with pytest.raises(ProgrammingError) as refused:
            caller.execute("SELECT priv_udf(1.0)")
        assert refused.value.errno == 2003 and "PRIV_UDF(FLOAT)" in refused.value.msg
        # the creating role must be allowed the endpoint: USAGE on the service is not enough
        with pytest.raises(ProgrammingError) as no_endpoint:
            _fn(caller, "mine_udf", "/convert")
        assert no_endpoint.value.errno == 3001 and "CONVERT_API!convert-api" in no_endpoint.value.msg
        cur.execute("GRANT USAGE ON FUNCTION priv_udf(FLOAT) TO ROLE SF_CALLER")
        assert _rows(caller, "SELECT priv_udf(10.0) AS F") == [{"F": 50.0}]  # the owner's roles reach the endpoint
        assert [r["name"] for r in _rows(caller, "SHOW USER FUNCTIONS LIKE 'PRIV_UDF'")] == ["PRIV_UDF"]
        assert _rows(caller, "DESC FUNCTION priv_udf(FLOAT)")[0] == {"property": "signature", "value": "(INPUT FLOAT)"}
        with pytest.raises(ProgrammingError) as not_owner:
            caller.execute("DROP FUNCTION priv_udf(FLOAT)")
        assert not_owner.value.errno == 3001
        # the function OWNER's roles must still be allowed the endpoint when it is called
        cur.execute("GRANT OWNERSHIP ON FUNCTION priv_udf(FLOAT) TO ROLE SF_CALLER COPY CURRENT GRANTS")
        with pytest.raises(ProgrammingError) as owner_lost:
            caller.execute("SELECT priv_udf(10.0)")
        assert owner_lost.value.errno == 3001 and "CONVERT_API!convert-api" in owner_lost.value.msg
    finally:
        caller_conn.close()


def test_snowpark_call_function(svc, cur):
    from snowflake.snowpark import Session
    from snowflake.snowpark import functions as F

    _fn(cur, "convert_udf", "/convert", "MAX_BATCH_ROWS=5")
    session = Session.builder.configs({
        "account": "snowport", "user": "admin", "password": ADMIN_PASSWORD, "host": "127.0.0.1",
        "port": svc.port, "protocol": "http", "role": "CONTAINER_USER_ROLE", "database": "CONTAINER_HOL_DB",
        "schema": "PUBLIC", "warehouse": "CONTAINER_HOL_WH"}).create()
    try:
        df = session.create_dataframe([[15], [20]], schema=["TEMP_C"])
        df = df.with_column("TEMP_F_SNOWPARK", F.call_function("convert_udf", df["TEMP_C"]))
        assert sorted((r["TEMP_C"], r["TEMP_F_SNOWPARK"]) for r in df.collect()) == [(15, 59.0), (20, 68.0)]
    finally:
        session.close()


def test_a_suspended_service_resumes_on_a_call(cur):
    _fn(cur, "resume_udf", "/convert")
    cur.execute("ALTER SERVICE CONVERT_API SUSPEND")
    _until(lambda: cur.execute("SHOW SERVICES LIKE 'CONVERT_API'").fetchone()[1] == "SUSPENDED", 60, "suspended")
    cur.execute("ALTER SERVICE CONVERT_API SET AUTO_RESUME = FALSE")
    with pytest.raises(ProgrammingError, match="AUTO_RESUME is FALSE"):
        cur.execute("SELECT resume_udf(0.0)")
    cur.execute("ALTER SERVICE CONVERT_API SET AUTO_RESUME = TRUE")
    assert _rows(cur, "SELECT resume_udf(100.0) AS F") == [{"F": 212.0}]  # resumed, waited until ready
    assert cur.execute("SHOW SERVICES LIKE 'CONVERT_API'").fetchone()[1] == "RUNNING"
