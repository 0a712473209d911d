"""Job services end to end, through the real connector and a real Docker engine (spcs-reference 4):
EXECUTE JOB SERVICE synchronous and ASYNC, REPLICAS with SNOWFLAKE_JOB_INDEX / SNOWFLAKE_JOBS_COUNT, the
job status of 4.3, a failing job's error, SPCS_CANCEL_JOB and the cancel of a synchronous statement (the
connector's abort-request, STATEMENT_TIMEOUT_IN_SECONDS), GET_JOB_HISTORY, logs kept after the containers
are cleaned up, and bad input refused with nothing created."""

from __future__ import annotations

import json
import subprocess
import threading
import time

import pytest
from registry_helpers import docker, ensure_base_image, ensure_engine, ensure_pip_image, push_app_image, runtime_scope
from service_helpers import rows as _rows
from service_helpers import until as _until
from snowflake.connector.errors import ProgrammingError

from conftest import ADMIN_PASSWORD, start_server

CLEANUP_SECONDS = 4

CONNECTOR_APP = '''
import os
import snowflake.connector

conn = snowflake.connector.connect(
    account=os.getenv("SNOWFLAKE_ACCOUNT"), host=os.getenv("SNOWFLAKE_HOST"),
    token=open("/snowflake/session/token").read(), authenticator="oauth",
    database=os.getenv("SNOWFLAKE_DATABASE"), schema=os.getenv("SNOWFLAKE_SCHEMA"),
    warehouse=os.getenv("SNOWFLAKE_WAREHOUSE"),
)
cur = conn.cursor()
cur.execute("CREATE TABLE IF NOT EXISTS JOB_OUTPUT (JOB_INDEX NUMBER, JOBS_COUNT NUMBER, SERVICE VARCHAR)")
cur.execute("INSERT INTO JOB_OUTPUT VALUES (%s, %s, %s)", (int(os.environ["SNOWFLAKE_JOB_INDEX"]),
            int(os.environ["SNOWFLAKE_JOBS_COUNT"]), os.environ["SNOWFLAKE_SERVICE_NAME"]))
conn.close()
print("job wrote its row", flush=True)
'''


def _spec(command: str, image: str = "/jobs_db/public/jobs_repo/app:1") -> str:
    return f"""
spec:
  containers:
  - name: main
    image: {image}
    command: ["sh", "-c", {json.dumps(command)}]
"""


# ends on SIGTERM at once (a shell as PID 1 ignores it otherwise): a cancel does not wait out the grace period
LONG = "trap 'exit 143' TERM; echo started; sleep 600 & wait"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    ensure_engine()
    ensure_base_image()
    # in-progress answers after 2 s: synchronous jobs below also go through the client's polling
    server = start_server(tmp_path_factory.mktemp("jobs") / "data", SNOWPORT_SERVICE_TICK_SECONDS="1",
                          SNOWPORT_WAREHOUSE_TICK_SECONDS="0.2", SNOWPORT_JOB_CLEANUP_SECONDS=str(CLEANUP_SECONDS),
                          SNOWPORT_QUERY_PROGRESS_SECONDS="2")
    yield server
    scope = runtime_scope(server.data_dir)
    server.stop()
    ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=snowport.managed={scope}"],
                         capture_output=True, text=True).stdout.split()
    if ids:  # only this server's pods (other tests share the engine)
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)


@pytest.fixture(scope="module")
def cur(srv, tmp_path_factory):
    conn = srv.connect()
    cursor = conn.cursor()
    for sql in ("CREATE ROLE JOB_ROLE", "GRANT CREATE DATABASE ON ACCOUNT TO ROLE JOB_ROLE",
                "GRANT CREATE COMPUTE POOL ON ACCOUNT TO ROLE JOB_ROLE",
                "GRANT CREATE WAREHOUSE ON ACCOUNT TO ROLE JOB_ROLE", "GRANT ROLE JOB_ROLE TO USER ADMIN",
                "USE ROLE JOB_ROLE", "CREATE DATABASE JOBS_DB", "CREATE IMAGE REPOSITORY JOBS_DB.PUBLIC.JOBS_REPO",
                "CREATE WAREHOUSE JOBS_WH WAREHOUSE_SIZE = XSMALL",
                "CREATE COMPUTE POOL JOBS_POOL MIN_NODES = 1 MAX_NODES = 2 INSTANCE_FAMILY = CPU_X64_XS",
                "USE SCHEMA JOBS_DB.PUBLIC"):
        cursor.execute(sql)
    push_app_image(srv.port, "jobs_db/public/jobs_repo/app:1", tmp_path_factory.mktemp("push"), ADMIN_PASSWORD)
    yield cursor
    conn.close()


@pytest.fixture(scope="module")
def connector_image(srv, cur, tmp_path_factory):
    """The connect-back app on the image with the real connector (built once, cached by tag)."""
    base, _took = ensure_pip_image("snowport-cache/connector5", ["snowflake-connector-python>=5,<6"])
    work = tmp_path_factory.mktemp("job-app")
    (work / "app.py").write_text(CONNECTOR_APP)
    (work / "Dockerfile").write_text(f'FROM {base}\nWORKDIR /app\nCOPY app.py /app/\nCMD ["python", "-u", "app.py"]\n')
    config = tmp_path_factory.mktemp("docker-config")
    login = docker("login", f"127.0.0.1:{srv.port}", "-u", "admin", "--password-stdin", config=config,
                   input=ADMIN_PASSWORD, check=False)
    assert login.returncode == 0, login.stderr
    tag = f"127.0.0.1:{srv.port}/jobs_db/public/jobs_repo/connect_back:1"
    docker("build", "-q", "-t", tag, str(work), config=config)
    docker("push", tag, config=config)
    docker("rmi", tag, config=config, check=False)
    return "/jobs_db/public/jobs_repo/connect_back:1"


def _status(cur, name: str) -> str:
    return _rows(cur, f"DESCRIBE SERVICE {name}")[0]["status"]


def _job_containers(srv, name: str) -> list[str]:
    """This server's app containers of the job `name` (by the environment Snowport gives them)."""
    scope = runtime_scope(srv.data_dir)
    ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=snowport.managed={scope}",
                          "--filter", "label=snowport.service"], capture_output=True, text=True).stdout.split()
    mine = []
    for cid in ids:
        info = json.loads(subprocess.run(["docker", "inspect", cid], capture_output=True, text=True).stdout or "[]")
        env = info[0].get("Config", {}).get("Env") or [] if info else []
        if f"SNOWFLAKE_SERVICE_NAME={name}" in env:
            mine.append(cid)
    return mine


def _history(cur, name: str | None = None) -> list[dict]:
    rows = _rows(cur, "SELECT * FROM TABLE(SNOWFLAKE.SPCS.GET_JOB_HISTORY(CREATED_TIME_START => "
                      "DATEADD('hour', -1, CURRENT_TIMESTAMP()), RESULT_LIMIT => 1000))")
    return [r for r in rows if name is None or r["NAME"] == name]


def test_a_synchronous_job_connects_back_and_writes_a_table(srv, cur, connector_image):
    # the options after the spec, as the snow CLI writes them
    spec = f"""
spec:
  containers:
  - name: main
    image: {connector_image}
"""
    cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL JOBS_POOL FROM SPECIFICATION $${spec}$$ "
                "NAME = JOBS_DB.PUBLIC.CONNECT_BACK QUERY_WAREHOUSE = JOBS_WH COMMENT = 'writes a row'")
    assert cur.fetchall() == [("Job CONNECT_BACK completed successfully with status: DONE.",)]
    assert [d[0] for d in cur.description] == ["status"]
    assert cur.execute("SELECT JOB_INDEX, JOBS_COUNT, SERVICE FROM JOBS_DB.PUBLIC.JOB_OUTPUT").fetchall() == [
        (0, 1, "CONNECT_BACK")]
    described = _rows(cur, "DESCRIBE SERVICE CONNECT_BACK")[0]
    assert (described["status"], described["is_job"], described["is_async_job"], described["comment"]) == (
        "DONE", "true", "false", "writes a row")
    containers = _rows(cur, "SHOW SERVICE CONTAINERS IN SERVICE CONNECT_BACK")
    assert [(c["instance_id"], c["container_name"], c["status"], c["message"], c["last_exit_code"],
             c["restart_count"], c["service_status"], c["instance_status"]) for c in containers] == [
        ("0", "main", "DONE", "Completed successfully", 0, 0, "DONE", "SUCCEEDED")]
    status = json.loads(cur.execute("SELECT SYSTEM$GET_SERVICE_STATUS('CONNECT_BACK')").fetchone()[0])
    assert [(s["status"], s["message"]) for s in status] == [("DONE", "Completed successfully")]
    logs = {r["LOG"] for r in _rows(cur, "SELECT * FROM TABLE(CONNECT_BACK!SPCS_GET_LOGS())")}
    assert "job wrote its row" in logs


def test_a_failing_job_fails_its_statement_and_is_cleaned_up_with_its_logs_kept(srv, cur):
    with pytest.raises(ProgrammingError) as e:
        cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL JOBS_POOL NAME = FAILS "
                    f"FROM SPECIFICATION $${_spec('echo about to fail; exit 3')}$$")
    message = e.value.msg
    assert "FAILS" in message and "FAILED" in message, message
    assert "instance 0" in message and "container 'main'" in message and "exit code 3" in message, message
    assert _status(cur, "FAILS") == "FAILED"
    with pytest.raises(ProgrammingError) as e:  # at once: a failed job does not get DONE by waiting
        cur.execute("CALL FAILS!SPCS_WAIT_FOR('DONE', 600)")
    assert "its status is FAILED" in e.value.msg
    containers = _rows(cur, "SHOW SERVICE CONTAINERS IN SERVICE FAILS")
    assert [(c["status"], c["last_exit_code"], c["restart_count"]) for c in containers] == [("FAILED", 3, 0)]
    # never restarted; its containers go after the cleanup delay, what was observed and the logs stay
    assert _job_containers(srv, "FAILS")
    _until(lambda: not _job_containers(srv, "FAILS"), CLEANUP_SECONDS + 20, "the ended job's containers removed")
    assert _status(cur, "FAILS") == "FAILED"
    kept = _rows(cur, "SHOW SERVICE CONTAINERS IN SERVICE FAILS")
    assert [(c["status"], c["last_exit_code"], c["restart_count"]) for c in kept] == [("FAILED", 3, 0)]
    assert [r["status"] for r in _rows(cur, "SHOW SERVICE INSTANCES IN SERVICE FAILS")] == ["FAILED"]
    logs = [r["LOG"] for r in _rows(cur, "SELECT * FROM TABLE(FAILS!SPCS_GET_LOGS())")]
    assert logs == ["about to fail"]
    events = {(r["EVENT_NAME"], json.loads(r["EVENT_DETAILS"])["status"], json.loads(r["EVENT_DETAILS"])["message"])
              for r in _rows(cur, "SELECT * FROM TABLE(FAILS!SPCS_GET_EVENTS())")}
    assert ("SERVICE.STATUS_CHANGE", "FAILED", "Job has failed") in events, events
    history = _history(cur, "FAILS")
    assert [(h["STATUS"], json.loads(h["INSTANCE_STATUSES"])["failedInstances"]) for h in history] == [("FAILED", 1)]


def test_an_async_job_with_replicas_sees_distinct_indexes(srv, cur):
    command = "echo index=$SNOWFLAKE_JOB_INDEX count=$SNOWFLAKE_JOBS_COUNT; sleep 1"
    started = time.monotonic()
    # the options before the spec, in another order
    cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL JOBS_POOL REPLICAS = 3 ASYNC = TRUE NAME = REPLICATED "
                f"FROM SPECIFICATION $${_spec(command)}$$")
    assert cur.fetchall() == [("Job REPLICATED successfully submitted.",)]
    assert time.monotonic() - started < 5
    shown = _rows(cur, "SHOW SERVICES LIKE 'REPLICATED'")[0]
    assert (shown["is_job"], shown["is_async_job"], shown["target_instances"]) == ("true", "true", 3)
    assert cur.execute("CALL REPLICATED!SPCS_WAIT_FOR('DONE', 60)").fetchall() == [
        ("Service REPLICATED reached status DONE.",)]
    # an ended job no longer keeps its pool busy (its metadata stays)
    _until(lambda: _rows(cur, "SHOW COMPUTE POOLS LIKE 'JOBS_POOL'")[0]["num_jobs"] == 0, 10, "num_jobs back to 0")
    # SHOW JOB SERVICES lists jobs only, without is_job; EXCLUDE JOBS leaves them out (spcs-reference 3.5)
    cur.execute("CREATE SERVICE A_SERVICE IN COMPUTE POOL JOBS_POOL FROM SPECIFICATION $$" + _spec(LONG) + "$$")
    try:
        jobs = _rows(cur, "SHOW JOB SERVICES LIKE '%E%'")
        assert "is_job" not in jobs[0] and "is_async_job" in jobs[0]
        assert "REPLICATED" in {j["name"] for j in jobs} and "A_SERVICE" not in {j["name"] for j in jobs}
        plain = _rows(cur, "SHOW SERVICES EXCLUDE JOBS LIKE '%E%'")
        assert [p["name"] for p in plain] == ["A_SERVICE"] and "is_async_job" not in plain[0]
        assert {r["name"]: r["is_job"] for r in _rows(cur, "SHOW SERVICES LIKE '%E%'")}["A_SERVICE"] == "false"
    finally:
        cur.execute("DROP SERVICE A_SERVICE")
    # a job runs as submitted: not suspended, resumed, upgraded or re-sized
    for alter in ("SUSPEND", "RESUME", "SET MIN_INSTANCES = 5", f"FROM SPECIFICATION $${_spec('true')}$$"):
        with pytest.raises(ProgrammingError) as e:
            cur.execute(f"ALTER SERVICE REPLICATED {alter}")
        assert "not supported for job service REPLICATED" in e.value.msg
    instances = _rows(cur, "SHOW SERVICE INSTANCES IN SERVICE REPLICATED")
    assert sorted((i["instance_id"], i["status"], i["service_status"]) for i in instances) == [
        ("0", "SUCCEEDED", "DONE"), ("1", "SUCCEEDED", "DONE"), ("2", "SUCCEEDED", "DONE")]
    logs = _rows(cur, "SELECT INSTANCE_ID, LOG FROM TABLE(REPLICATED!SPCS_GET_LOGS()) ORDER BY INSTANCE_ID")
    assert [(r["INSTANCE_ID"], r["LOG"]) for r in logs] == [(i, f"index={i} count=3") for i in range(3)]
    history = _history(cur, "REPLICATED")
    assert len(history) == 1
    statuses = json.loads(history[0]["INSTANCE_STATUSES"])
    assert (history[0]["STATUS"], statuses["succeededInstances"], statuses["totalInstances"]) == ("DONE", 3, 3)
    assert {c["status"] for i in statuses["instances"] for c in i["containers"]} == {"DONE"}
    assert json.loads(history[0]["PARAMETERS"]) == {"ASYNC": True, "REPLICAS": 3}
    assert history[0]["MESSAGE"] == "Job completed successfully."
    assert history[0]["COMPLETED_TIME"] is not None and history[0]["DELETED_TIME"] is None


def test_a_job_from_a_template_file_on_a_stage(srv, cur, tmp_path):
    template = tmp_path / "job.yaml"
    template.write_text(_spec("echo {{ greeting }} from $SNOWFLAKE_SERVICE_NAME"))
    cur.execute("CREATE STAGE JOBS_DB.PUBLIC.SPECS")
    cur.execute(f"PUT file://{template} @JOBS_DB.PUBLIC.SPECS AUTO_COMPRESS = FALSE")
    cur.execute("EXECUTE JOB SERVICE IN COMPUTE POOL JOBS_POOL NAME = TEMPLATED FROM @JOBS_DB.PUBLIC.SPECS "
                "SPECIFICATION_TEMPLATE_FILE = 'job.yaml' USING (greeting => 'hello')")
    assert cur.fetchone()[0] == "Job TEMPLATED completed successfully with status: DONE."
    assert [r["LOG"] for r in _rows(cur, "SELECT * FROM TABLE(TEMPLATED!SPCS_GET_LOGS())")] == [
        "hello from TEMPLATED"]


def test_spcs_cancel_job_cancels_an_async_job(srv, cur):
    cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL JOBS_POOL FROM SPECIFICATION $${_spec(LONG)}$$ "
                "NAME = LONG_ASYNC ASYNC = TRUE")
    _until(lambda: _status(cur, "LONG_ASYNC") == "RUNNING", 60, "the long job runs")
    _until(lambda: "started" in {r["LOG"] for r in _rows(cur, "SELECT * FROM TABLE(LONG_ASYNC!SPCS_GET_LOGS())")},
           20, "the long job's first line")
    assert cur.execute("SELECT LONG_ASYNC!SPCS_CANCEL_JOB()").fetchall() == [("Job LONG_ASYNC successfully cancelled.",)]
    assert _status(cur, "LONG_ASYNC") in ("CANCELLING", "CANCELLED")
    _until(lambda: _status(cur, "LONG_ASYNC") == "CANCELLED", 30, "the job ends CANCELLED")
    assert not _job_containers(srv, "LONG_ASYNC")
    assert cur.execute("CALL LONG_ASYNC!SPCS_CANCEL_JOB()").fetchall() == [
        ("Job LONG_ASYNC has already completed with status: CANCELLED.",)]
    assert [h["STATUS"] for h in _history(cur, "LONG_ASYNC")] == ["CANCELLED"]
    assert "started" in {r["LOG"] for r in _rows(cur, "SELECT * FROM TABLE(LONG_ASYNC!SPCS_GET_LOGS())")}
    # not a job: refused
    cur.execute(f"CREATE SERVICE NOT_A_JOB IN COMPUTE POOL JOBS_POOL FROM SPECIFICATION $${_spec(LONG)}$$")
    try:
        with pytest.raises(ProgrammingError) as e:
            cur.execute("SELECT NOT_A_JOB!SPCS_CANCEL_JOB()")
        assert "not a job" in e.value.msg
    finally:
        cur.execute("DROP SERVICE NOT_A_JOB")


def test_cancelling_the_statement_cancels_a_synchronous_job(srv, cur):
    # the connector's timeout sends abort-request with the statement's request id
    with pytest.raises(ProgrammingError) as e:
        cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL JOBS_POOL FROM SPECIFICATION $${_spec(LONG)}$$", timeout=6)
    assert "cancel" in e.value.msg.lower() and e.value.errno == 604, e.value.msg
    default = [r for r in _rows(cur, "SHOW SERVICES LIKE 'JOB_%'") if r["name"].startswith("JOB_")]
    assert len(default) == 1, default
    name = default[0]["name"]
    query_id = e.value.sfqid
    assert name == "JOB_" + query_id.replace("-", "_").upper()
    _until(lambda: _status(cur, name) == "CANCELLED", 30, "the default-named job ends CANCELLED")
    assert [(h["STATUS"], h["QUERY_ID"]) for h in _history(cur, name)] == [("CANCELLED", query_id)]
    # cursor.abort_query(<query id>) from another session of the user (the query id: its job's QUERY_ID)
    failures: list[BaseException] = []

    def run_job() -> None:
        with srv.connect() as other:
            other_cur = other.cursor()
            other_cur.execute("USE ROLE JOB_ROLE")
            try:
                other_cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL JOBS_POOL NAME = JOBS_DB.PUBLIC.ABORTED "
                                  f"FROM SPECIFICATION $${_spec(LONG)}$$")
            except ProgrammingError as err:
                failures.append(err)

    runner = threading.Thread(target=run_job)
    runner.start()
    try:
        aborted = _until(lambda: _history(cur, "ABORTED"), 60, "the job submitted")[0]
        _until(lambda: _status(cur, "ABORTED") == "RUNNING", 60, "the job runs")
        assert cur.abort_query(aborted["QUERY_ID"])
    finally:
        runner.join(60)
    assert len(failures) == 1 and failures[0].errno == 604, failures
    _until(lambda: _status(cur, "ABORTED") == "CANCELLED", 30, "the aborted job ends CANCELLED")
    # STATEMENT_TIMEOUT_IN_SECONDS cancels it too
    cur.execute("ALTER SESSION SET STATEMENT_TIMEOUT_IN_SECONDS = 4")
    try:
        with pytest.raises(ProgrammingError) as e:
            cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL JOBS_POOL NAME = TIMED_OUT "
                        f"FROM SPECIFICATION $${_spec(LONG)}$$")
        assert e.value.errno == 630 and "timeout of 4 second(s)" in e.value.msg, e.value.msg
    finally:
        cur.execute("ALTER SESSION UNSET STATEMENT_TIMEOUT_IN_SECONDS")
    _until(lambda: _status(cur, "TIMED_OUT") == "CANCELLED", 30, "the timed-out job ends CANCELLED")
    assert not _job_containers(srv, "TIMED_OUT")


def test_job_history_keeps_dropped_jobs_for_their_owner_only(srv, cur):
    started = time.monotonic()
    cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL JOBS_POOL NAME = SHORT FROM SPECIFICATION "
                f"$${_spec('sleep 4')}$$")
    assert cur.fetchone()[0] == "Job SHORT completed successfully with status: DONE."
    assert time.monotonic() - started > 4  # beyond the in-progress threshold (2 s): the client polled
    cur.execute("DROP SERVICE SHORT")
    with pytest.raises(ProgrammingError) as e:
        cur.execute("DESCRIBE SERVICE SHORT")
    assert e.value.errno == 2003
    history = _history(cur, "SHORT")
    assert len(history) == 1
    assert set(history[0]) == {"QUERY_ID", "ID", "NAME", "DATABASE_NAME", "SCHEMA_NAME", "CREATED_TIME",
                               "COMPLETED_TIME", "DELETED_TIME", "STATUS", "MESSAGE", "INSTANCE_STATUSES",
                               "COMPUTE_POOL_NAME", "OWNER", "OWNER_ROLE_TYPE", "PARAMETERS", "MANAGING_OBJECT"}
    assert (history[0]["STATUS"], history[0]["DATABASE_NAME"], history[0]["SCHEMA_NAME"], history[0]["OWNER"],
            history[0]["COMPUTE_POOL_NAME"]) == ("DONE", "JOBS_DB", "PUBLIC", "JOB_ROLE", "JOBS_POOL")
    _until(lambda: _history(cur, "SHORT")[0]["DELETED_TIME"] is not None, 10, "DELETED_TIME once dropped")
    names = [h["NAME"] for h in _history(cur)]
    assert names.index("SHORT") < names.index("FAILS") if "FAILS" in names else True  # newest first
    assert len(_rows(cur, "SELECT * FROM TABLE(SNOWFLAKE.SPCS.GET_JOB_HISTORY(RESULT_LIMIT => 1))")) == 1
    with pytest.raises(ProgrammingError) as e:
        cur.execute("SELECT * FROM TABLE(SNOWFLAKE.SPCS.GET_JOB_HISTORY(RESULT_LIMIT => 0))")
    assert "RESULT_LIMIT" in e.value.msg
    cur.execute("USE ROLE PUBLIC")
    try:
        assert _history(cur) == []  # only the current role's jobs
    finally:
        cur.execute("USE ROLE JOB_ROLE")


def test_drop_service_stops_a_running_job_and_its_history_says_deleted(srv, cur):
    cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL JOBS_POOL NAME = DROPPED_JOB ASYNC = TRUE "
                f"FROM SPECIFICATION $${_spec(LONG)}$$")
    _until(lambda: "started" in {r["LOG"] for r in _rows(cur, "SELECT * FROM TABLE(DROPPED_JOB!SPCS_GET_LOGS())")},
           60, "the job runs")
    assert cur.execute("DROP SERVICE DROPPED_JOB").fetchone()[0] == "DROPPED_JOB successfully dropped."
    _until(lambda: not _job_containers(srv, "DROPPED_JOB"), 30, "DROP removes the job's containers")
    history = _until(lambda: [h for h in _history(cur, "DROPPED_JOB") if h["DELETED_TIME"] is not None], 10,
                     "the history marks the job deleted")
    assert (history[0]["STATUS"], history[0]["MESSAGE"]) == ("DELETED", "Job was deleted.")
    assert "started" in {r["LOG"] for r in _rows(cur, "SELECT * FROM TABLE(DROPPED_JOB!SPCS_GET_LOGS())")}


BAD = [
    ("EXECUTE JOB SERVICE IN COMPUTE POOL JOBS_POOL NAME = BAD1 COLOUR = 'red' FROM SPECIFICATION $$" + _spec("true")
     + "$$", "COLOUR"),
    ("EXECUTE JOB SERVICE IN COMPUTE POOL JOBS_POOL NAME = BAD2 REPLICAS = 0 FROM SPECIFICATION $$" + _spec("true")
     + "$$", "REPLICAS"),
    ("EXECUTE JOB SERVICE IN COMPUTE POOL JOBS_POOL NAME = BAD3 REPLICAS = 'two' FROM SPECIFICATION $$" + _spec("true")
     + "$$", "REPLICAS"),
    ("EXECUTE JOB SERVICE IN COMPUTE POOL JOBS_POOL NAME = BAD4 ASYNC = MAYBE FROM SPECIFICATION $$" + _spec("true")
     + "$$", "ASYNC"),
    ("EXECUTE JOB SERVICE IN COMPUTE POOL JOBS_POOL NAME = BAD5 ASYNC = TRUE", "<EOF>"),
    ("EXECUTE JOB SERVICE IN COMPUTE POOL NO_SUCH_POOL NAME = BAD6 FROM SPECIFICATION $$" + _spec("true") + "$$",
     "NO_SUCH_POOL"),
    ("EXECUTE JOB SERVICE IN COMPUTE POOL JOBS_POOL NAME = BAD7 FROM SPECIFICATION $$spec: {containers: []}$$",
     "containers"),
    ("EXECUTE JOB SERVICE IN COMPUTE POOL JOBS_POOL NAME = BAD8 MIN_INSTANCES = 2 FROM SPECIFICATION $$"
     + _spec("true") + "$$", "MIN_INSTANCES"),
    ("EXECUTE JOB SERVICE IN COMPUTE POOL JOBS_POOL NAME = BAD9 FROM SPECIFICATION_TEMPLATE $$" + _spec("true")
     + "$$", "USING"),
]


@pytest.mark.parametrize(("sql", "named"), BAD, ids=[f"bad{i + 1}" for i in range(len(BAD))])
def test_bad_input_is_refused_and_creates_nothing(srv, cur, sql, named):
    before = len(_history(cur))
    with pytest.raises(ProgrammingError) as e:
        cur.execute(sql)
    assert named in e.value.msg, e.value.msg
    assert e.value.sqlstate and e.value.errno, e.value
    assert _rows(cur, "SHOW SERVICES LIKE 'BAD%'") == []
    assert len(_history(cur)) == before


def test_a_restarted_server_follows_its_jobs_and_deletes_them_after_their_retention(tmp_path):
    """Jobs outlive a restart of Snowport (pods adopted, a replica never run twice); an ended job's
    metadata goes after SNOWPORT_JOB_RETENTION_SECONDS while its history stays."""
    settings = dict(SNOWPORT_SERVICE_TICK_SECONDS="1", SNOWPORT_WAREHOUSE_TICK_SECONDS="0.2",
                    SNOWPORT_JOB_CLEANUP_SECONDS="1", SNOWPORT_JOB_RETENTION_SECONDS="8")
    data = tmp_path / "data"
    server = start_server(data, **settings)
    scope = runtime_scope(data)
    try:
        conn = server.connect()
        c = conn.cursor()
        for sql in ("CREATE ROLE R_ROLE", "GRANT CREATE DATABASE ON ACCOUNT TO ROLE R_ROLE",
                    "GRANT CREATE COMPUTE POOL ON ACCOUNT TO ROLE R_ROLE", "GRANT ROLE R_ROLE TO USER ADMIN",
                    "USE ROLE R_ROLE", "CREATE DATABASE JOBS_DB", "CREATE IMAGE REPOSITORY JOBS_DB.PUBLIC.JOBS_REPO",
                    "CREATE COMPUTE POOL R_POOL MIN_NODES = 1 MAX_NODES = 1 INSTANCE_FAMILY = CPU_X64_XS",
                    "USE SCHEMA JOBS_DB.PUBLIC"):
            c.execute(sql)
        push_app_image(server.port, "jobs_db/public/jobs_repo/app:1", tmp_path / "push", ADMIN_PASSWORD)
        # each run appends a line to a file it keeps: a replica run twice would show two lines
        c.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL R_POOL NAME = SURVIVOR ASYNC = TRUE FROM SPECIFICATION "
                  f"$${_spec('echo run >> /tmp/runs; sleep 6; cat /tmp/runs')}$$")
        _until(lambda: _status(c, "SURVIVOR") == "RUNNING", 60, "the job runs")
        conn.close()
        server.stop()
        server = start_server(data, port=server.port, **settings)
        conn = server.connect()
        c = conn.cursor()
        c.execute("USE ROLE R_ROLE")
        c.execute("USE SCHEMA JOBS_DB.PUBLIC")
        assert c.execute("CALL SURVIVOR!SPCS_WAIT_FOR('DONE', 60)").fetchone()[0] == \
            "Service SURVIVOR reached status DONE."
        assert [r["LOG"] for r in _rows(c, "SELECT * FROM TABLE(SURVIVOR!SPCS_GET_LOGS())")] == ["run"]
        # retention: the ended job leaves the catalog (002003), its history stays with DELETED_TIME
        _until(lambda: not _rows(c, "SHOW SERVICES LIKE 'SURVIVOR'"), 30, "the job deleted after its retention")
        with pytest.raises(ProgrammingError) as e:
            c.execute("DESCRIBE SERVICE SURVIVOR")
        assert e.value.errno == 2003
        history = _history(c, "SURVIVOR")
        assert [(h["STATUS"], h["DELETED_TIME"] is not None) for h in history] == [("DONE", True)]
        assert [r["LOG"] for r in _rows(c, "SELECT * FROM TABLE(SURVIVOR!SPCS_GET_LOGS())")] == ["run"]
        conn.close()
    finally:
        server.stop()
        ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=snowport.managed={scope}"],
                             capture_output=True, text=True).stdout.split()
        if ids:
            subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)
