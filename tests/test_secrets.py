"""Secrets end to end, through the real connector and the real Docker engine: CREATE / ALTER / DROP / SHOW /
DESCRIBE SECRET, a service that takes secrets as environment variables and as files, ALTER SECRET reaching
the files of a running container (and not its environment), READ required at CREATE SERVICE, bad
type/key combinations refused, and no value anywhere it must not be: SHOW, DESCRIBE, error messages,
query history, the server log, the data dir (catalog, engine files) and the engine's labels."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from registry_helpers import ensure_base_image, ensure_engine, push_app_image, runtime_scope
from service_helpers import rows as _rows
from snowflake.connector.errors import ProgrammingError

from conftest import ADMIN_PASSWORD, start_server

RUN = uuid.uuid4().hex[:8]  # values unique to this run, so a grep cannot match anything else by chance
PASSWORD_1 = f"pw-one-{RUN}-Zq9"
PASSWORD_2 = f"pw-two-{RUN}-Xk4"
API_KEY = f"api key {RUN} with spaces"
USERNAME = "svc_user"
TYPO_VALUE = f"typo-{RUN}-value"
WRONG_KEY_VALUE = f"wrong-key-{RUN}"
REFRESH_TOKEN = f"refresh-{RUN}-tok"
VALUES = (PASSWORD_1, PASSWORD_2, API_KEY, TYPO_VALUE, WRONG_KEY_VALUE, REFRESH_TOKEN)
SCOPE: dict[str, str] = {}
QUERY_IDS: list[str] = []  # statements that carried a value: their history must not

SPEC = """
spec:
  containers:
  - name: main
    image: /sec_db/public/repo/app:1
    command: ["sh", "-c", "echo env-sha $(echo -n \\"$DB_PASSWORD\\" | busybox sha256sum); exec sleep 3600"]
    secrets:
    - snowflakeSecret: db_cred
      secretKeyRef: password
      envVarName: DB_PASSWORD
    - snowflakeSecret:
        objectName: sec_db.public.db_cred
      secretKeyRef: username
      envVarName: DB_USER
    - snowflakeSecret: public.api_key
      secretKeyRef: secret_string
      envVarName: API_KEY
    - snowflakeSecret: db_cred
      directoryPath: /secrets/db
    - snowflakeSecret: sec_db.public.api_key
      directoryPath: /secrets/api
"""


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    ensure_engine()
    ensure_base_image()
    server = start_server(tmp_path_factory.mktemp("secrets") / "data", SNOWPORT_SERVICE_TICK_SECONDS="5")
    SCOPE["scope"] = runtime_scope(server.data_dir)
    yield server
    server.stop()
    for cid in _containers():
        subprocess.run(["docker", "rm", "-f", cid], capture_output=True)
    subprocess.run(["docker", "rmi", "-f", f"127.0.0.1:{server.port}/sec_db/public/repo/app:1"], capture_output=True)


@pytest.fixture(scope="module")
def conn(srv, tmp_path_factory):
    connection = srv.connect()
    cur = connection.cursor()
    for sql in ("CREATE ROLE SEC_ROLE", "GRANT CREATE DATABASE ON ACCOUNT TO ROLE SEC_ROLE",
                "GRANT CREATE COMPUTE POOL ON ACCOUNT TO ROLE SEC_ROLE", "GRANT ROLE SEC_ROLE TO USER ADMIN",
                "USE ROLE SEC_ROLE", "CREATE DATABASE SEC_DB", "CREATE IMAGE REPOSITORY SEC_DB.PUBLIC.REPO",
                "CREATE COMPUTE POOL SEC_POOL MIN_NODES = 1 MAX_NODES = 2 INSTANCE_FAMILY = CPU_X64_XS",
                "USE SCHEMA SEC_DB.PUBLIC"):
        cur.execute(sql)
    _carrying(cur, f"CREATE SECRET DB_CRED TYPE = PASSWORD USERNAME = '{USERNAME}' PASSWORD = '{PASSWORD_1}' "
                   "COMMENT = 'database login'")
    _carrying(cur, f"CREATE SECRET API_KEY TYPE = GENERIC_STRING SECRET_STRING = $${API_KEY}$$")
    push_app_image(srv.port, "sec_db/public/repo/app:1", tmp_path_factory.mktemp("push"), ADMIN_PASSWORD)
    yield connection
    connection.close()


def _carrying(cur, sql: str):
    """Run a statement that carries a secret value and remember its query id."""
    cur.execute(sql)
    QUERY_IDS.append(cur.sfqid)
    return cur.fetchall()


def _containers(container: str = "") -> list[str]:
    filters = ["--filter", f"label=snowport.managed={SCOPE['scope']}", "--filter", "label=snowport.service"]
    if container:
        filters += ["--filter", f"label=snowport.container={container}"]
    return subprocess.run(["docker", "ps", "-aq", *filters], capture_output=True, text=True).stdout.split()


def _exec(cid: str, script: str) -> str:
    done = subprocess.run(["docker", "exec", cid, "sh", "-c", script], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _exec_or_none(cid: str, script: str) -> str | None:
    """What `script` prints in the container; None while it is not running (created, not yet started)."""
    done = subprocess.run(["docker", "exec", cid, "sh", "-c", script], capture_output=True, text=True, timeout=30)
    return done.stdout if done.returncode == 0 else None


def _wait_running(cur, name: str, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while (status := cur.execute(f"SHOW SERVICES LIKE '{name}'").fetchone()[1]) != "RUNNING":
        assert time.time() < deadline, (status, cur.execute(f"SHOW SERVICE CONTAINERS IN SERVICE {name}").fetchall())
        time.sleep(0.3)


def test_show_and_describe_give_metadata_never_values(conn):
    cur = conn.cursor()
    shown = _rows(cur, "SHOW SECRETS IN SCHEMA SEC_DB.PUBLIC")
    assert [d[0] for d in cur.description] == ["created_on", "name", "schema_name", "database_name", "owner",
                                               "comment", "secret_type", "oauth_scopes", "owner_role_type"]
    assert [(r["name"], r["secret_type"], r["owner"], r["comment"]) for r in shown] == [
        ("API_KEY", "GENERIC_STRING", "SEC_ROLE", None), ("DB_CRED", "PASSWORD", "SEC_ROLE", "database login")]
    described = _rows(cur, "DESCRIBE SECRET DB_CRED")
    assert [d[0] for d in cur.description] == [
        "created_on", "name", "schema_name", "database_name", "owner", "comment", "secret_type", "username",
        "oauth_access_token_expiry_time", "oauth_refresh_token_expiry_time", "oauth_scopes", "integration_name"]
    assert (described[0]["username"], described[0]["secret_type"]) == (USERNAME, "PASSWORD")
    assert not any(v in repr(shown) + repr(described) for v in VALUES)
    # ALTER ... SET COMMENT / UNSET COMMENT / RENAME TO, and DROP
    cur.execute("CREATE SECRET SEC_DB.PUBLIC.TEMP TYPE = GENERIC_STRING SECRET_STRING = 'temporary' COMMENT = 'a'")
    cur.execute("ALTER SECRET TEMP SET COMMENT = 'b'")
    assert _rows(cur, "SHOW SECRETS LIKE 'TEMP'")[0]["comment"] == "b"
    cur.execute("ALTER SECRET TEMP UNSET COMMENT")
    cur.execute("ALTER SECRET TEMP RENAME TO TEMP2")
    assert [(r["name"], r["comment"]) for r in _rows(cur, "SHOW SECRETS LIKE 'TEMP%'")] == [("TEMP2", None)]
    assert cur.execute("DROP SECRET TEMP2").fetchall() == [("TEMP2 successfully dropped.",)]
    assert cur.execute("SHOW SECRETS LIKE 'TEMP%'").fetchall() == []
    with pytest.raises(ProgrammingError) as info:
        cur.execute("DESCRIBE SECRET TEMP2")
    assert info.value.errno == 2003 and "Secret 'SEC_DB.PUBLIC.TEMP2' does not exist" in info.value.msg


def test_other_types_are_stored_and_listed(conn):
    cur = conn.cursor()
    cur.execute("USE ROLE ACCOUNTADMIN")
    cur.execute("CREATE SECURITY INTEGRATION SEC_API TYPE = API_AUTHENTICATION ENABLED = TRUE")
    cur.execute("GRANT USAGE ON INTEGRATION SEC_API TO ROLE SEC_ROLE")
    cur.execute("USE ROLE SEC_ROLE")
    cur.execute("CREATE SECRET OAUTH_CC TYPE = OAUTH2 API_AUTHENTICATION = SEC_API OAUTH_SCOPES = ('read', 'write')")
    _carrying(cur, f"CREATE SECRET OAUTH_AC TYPE = OAUTH2 API_AUTHENTICATION = SEC_API OAUTH_REFRESH_TOKEN = "
                   f"'{REFRESH_TOKEN}' OAUTH_REFRESH_TOKEN_EXPIRY_TIME = '2030-01-01 00:00:00'")
    cur.execute("CREATE SECRET SYM TYPE = SYMMETRIC_KEY ALGORITHM = GENERIC")
    cur.execute("CREATE SECRET CLOUD TYPE = CLOUD_PROVIDER_TOKEN API_AUTHENTICATION = 'aws_iam' ENABLED = TRUE")
    cur.execute("CREATE SECRET WIF TYPE = WORKLOAD_IDENTITY_FEDERATION")
    shown = {r["name"]: r for r in _rows(cur, "SHOW SECRETS IN SCHEMA SEC_DB.PUBLIC")}
    assert {n: r["secret_type"] for n, r in shown.items() if n in ("OAUTH_CC", "SYM", "CLOUD", "WIF")} == {
        "OAUTH_CC": "OAUTH2", "SYM": "SYMMETRIC_KEY", "CLOUD": "CLOUD_PROVIDER_TOKEN",
        "WIF": "WORKLOAD_IDENTITY_FEDERATION"}
    assert shown["OAUTH_CC"]["oauth_scopes"] == "read,write"
    described = _rows(cur, "DESCRIBE SECRET OAUTH_AC")[0]
    assert (described["integration_name"], described["oauth_refresh_token_expiry_time"]) == (
        "SEC_API", "2030-01-01 00:00:00")
    cur.execute("CREATE OR REPLACE SECRET SYM TYPE = SYMMETRIC_KEY ALGORITHM = GENERIC COMMENT = 'again'")
    assert cur.execute("CREATE SECRET IF NOT EXISTS SYM TYPE = GENERIC_STRING SECRET_STRING = 'x'").fetchall() == [
        ("SYM already exists, statement succeeded.",)]
    assert _rows(cur, "SHOW SECRETS LIKE 'SYM'")[0]["comment"] == "again"
    with pytest.raises(ProgrammingError) as info:  # OAUTH2 names an integration the role may use
        cur.execute("CREATE SECRET OAUTH_X TYPE = OAUTH2 API_AUTHENTICATION = NO_SUCH_INTEGRATION")
    assert info.value.errno == 2003


@pytest.mark.parametrize("sql, errno, text", [
    (f"CREATE SECRET BAD TYPE = PASSWORD USERNAME = 'u' SECRET_STRING = '{WRONG_KEY_VALUE}'", 2025,
     "invalid property 'SECRET_STRING' for 'SECRET' of TYPE = PASSWORD"),
    (f"CREATE SECRET BAD TYPE = GENERIC_STRING SECRET_STRING = 'x' PASSWORD = '{WRONG_KEY_VALUE}'", 2025,
     "invalid property 'PASSWORD' for 'SECRET' of TYPE = GENERIC_STRING"),
    (f"CREATE SECRET BAD TYPE = OAUTH2 API_AUTHENTICATION = SEC_API SECRET_STRING = '{WRONG_KEY_VALUE}'", 2025,
     "invalid property 'SECRET_STRING' for 'SECRET' of TYPE = OAUTH2"),
    (f"CREATE SECRET BAD TYPE = PASSWORD USERNAME = 'u' PASSWORD {TYPO_VALUE!r}", 1003, "syntax error"),
    ("CREATE SECRET BAD TYPE = PASSWORD USERNAME = 'u'", 1003, "Missing option(s): [PASSWORD]"),
    ("CREATE SECRET BAD SECRET_STRING = 'x'", 1003, "Missing option(s): [TYPE]"),
    ("CREATE SECRET BAD TYPE = TELEPATHY", 2025, "invalid value 'TELEPATHY' for property 'TYPE'"),
])
def test_a_key_that_does_not_match_the_type_is_refused_and_nothing_created(conn, sql, errno, text):
    cur = conn.cursor()
    cur.execute("USE ROLE SEC_ROLE")
    with pytest.raises(ProgrammingError) as info:
        cur.execute(sql)
    if any(v in sql for v in VALUES):
        QUERY_IDS.append(info.value.sfqid)
    assert info.value.errno == errno and text in info.value.msg, info.value.msg
    assert not any(v in str(info.value) for v in VALUES), str(info.value)  # the connector's message echoes no value
    assert cur.execute("SHOW SECRETS LIKE 'BAD'").fetchall() == []


def test_alter_with_a_key_of_another_type_changes_nothing(conn):
    cur = conn.cursor()
    cur.execute("USE ROLE SEC_ROLE")
    before = _rows(cur, "DESCRIBE SECRET DB_CRED")
    with pytest.raises(ProgrammingError) as info:
        cur.execute(f"ALTER SECRET DB_CRED SET SECRET_STRING = '{WRONG_KEY_VALUE}' COMMENT = 'changed'")
    QUERY_IDS.append(info.value.sfqid)
    assert info.value.errno == 2025 and "invalid property 'SECRET_STRING'" in info.value.msg
    assert _rows(cur, "DESCRIBE SECRET DB_CRED") == before


def test_env_and_directory_secrets_reach_the_container_and_files_follow_alter(conn):
    cur = conn.cursor()
    cur.execute("USE ROLE SEC_ROLE")
    cur.execute("USE SCHEMA SEC_DB.PUBLIC")
    cur.execute(f"CREATE SERVICE SECRETIVE IN COMPUTE POOL SEC_POOL FROM SPECIFICATION $${SPEC}$$")
    _wait_running(cur, "SECRETIVE")
    [cid] = _containers("main")
    assert _exec(cid, 'echo -n "$DB_PASSWORD|$DB_USER|$API_KEY"') == f"{PASSWORD_1}|{USERNAME}|{API_KEY}"
    assert _exec(cid, "cat /secrets/db/username; echo; cat /secrets/db/password; echo; ls /secrets/api; "
                      "cat /secrets/api/secret_string") == f"{USERNAME}\n{PASSWORD_1}\nsecret_string\n{API_KEY}"
    nobody = subprocess.run(["docker", "exec", "-u", "65534", cid, "cat", "/secrets/api/secret_string"],
                            capture_output=True, text=True, timeout=30)
    assert nobody.stdout == API_KEY, nobody.stderr  # readable whatever user the container runs as
    # through Snowport: the container's log holds a hash of the env value it was given
    digest = hashlib.sha256(PASSWORD_1.encode()).hexdigest()
    deadline = time.time() + 20
    while f"env-sha {digest}" not in (logs := cur.execute(
            "SELECT SYSTEM$GET_SERVICE_LOGS('SECRETIVE', 0, 'main')").fetchone()[0]):
        assert time.time() < deadline, logs
        time.sleep(0.3)
    sandbox_digest = _sandbox_digest()

    _carrying(cur, f"ALTER SECRET DB_CRED SET PASSWORD = '{PASSWORD_2}'")
    deadline = time.time() + 5
    while (seen := _exec(cid, "cat /secrets/db/password")) != PASSWORD_2:
        assert time.time() < deadline, f"the file secret still holds {seen!r} after ALTER SECRET"
        time.sleep(0.2)
    # the environment keeps the value of CREATE SERVICE, and nothing was restarted or replaced
    assert _exec(cid, 'echo -n "$DB_PASSWORD"') == PASSWORD_1
    assert _containers("main") == [cid] and _sandbox_digest() == sandbox_digest
    assert _rows(cur, "SHOW SERVICE CONTAINERS IN SERVICE SECRETIVE")[0]["restart_count"] == 0

    labels = subprocess.run(["docker", "inspect", "-f", "{{json .Config.Labels}}", *_containers()],
                            capture_output=True, text=True).stdout
    assert not any(v in labels for v in VALUES)  # labels (and the spec digest) carry no value


def _sandbox_digest() -> str:
    deadline = time.time() + 30  # a pod of a service dropped just before may still be going away
    while len(out := subprocess.run(["docker", "ps", "-q", "--filter", f"label=snowport.managed={SCOPE['scope']}",
                                     "--filter", "label=snowport.role=sandbox", "--filter", "label=snowport.service"],
                                    capture_output=True, text=True).stdout.split()) != 1:
        assert time.time() < deadline, out
        time.sleep(0.3)
    return subprocess.run(["docker", "inspect", "-f", '{{index .Config.Labels "snowport.spec-digest"}}', out[0]],
                          capture_output=True, text=True).stdout.strip()


def test_create_service_without_read_on_a_secret_is_refused_and_nothing_created(conn, srv):
    admin = conn.cursor()
    admin.execute("USE ROLE ACCOUNTADMIN")
    for sql in ("CREATE ROLE SEC_NOREAD", "GRANT ROLE SEC_NOREAD TO USER ADMIN",
                "GRANT USAGE ON DATABASE SEC_DB TO ROLE SEC_NOREAD",
                "GRANT USAGE ON SCHEMA SEC_DB.PUBLIC TO ROLE SEC_NOREAD",
                "GRANT CREATE SERVICE ON SCHEMA SEC_DB.PUBLIC TO ROLE SEC_NOREAD",
                "GRANT USAGE ON COMPUTE POOL SEC_POOL TO ROLE SEC_NOREAD",
                "GRANT READ ON IMAGE REPOSITORY SEC_DB.PUBLIC.REPO TO ROLE SEC_NOREAD",
                "GRANT USAGE ON SECRET SEC_DB.PUBLIC.DB_CRED TO ROLE SEC_NOREAD",
                "GRANT READ ON SECRET SEC_DB.PUBLIC.API_KEY TO ROLE SEC_NOREAD"):
        admin.execute(sql)
    cur = srv.connect(role="SEC_NOREAD", database="SEC_DB", schema="PUBLIC").cursor()
    cur.execute("USE SECONDARY ROLES NONE")  # SEC_ROLE (the secrets' owner) is granted to the same user
    with pytest.raises(ProgrammingError) as info:
        cur.execute(f"CREATE SERVICE NOREAD IN COMPUTE POOL SEC_POOL FROM SPECIFICATION $${SPEC}$$")
    assert info.value.errno == 3001 and \
        "Insufficient privileges to operate on secret 'SEC_DB.PUBLIC.DB_CRED'" in info.value.msg
    admin.execute("USE ROLE SEC_ROLE")
    assert admin.execute("SHOW SERVICES LIKE 'NOREAD' IN SCHEMA SEC_DB.PUBLIC").fetchall() == []
    # a secret the role cannot see at all does not exist for it
    missing = SPEC.replace("snowflakeSecret: db_cred\n      secretKeyRef: password", "snowflakeSecret: nothing_here\n"
                           "      secretKeyRef: password")
    with pytest.raises(ProgrammingError) as info:
        cur.execute(f"CREATE SERVICE NOREAD IN COMPUTE POOL SEC_POOL FROM SPECIFICATION $${missing}$$")
    assert info.value.errno == 2003 and "Secret 'SEC_DB.PUBLIC.NOTHING_HERE' does not exist" in info.value.msg
    assert admin.execute("SHOW SERVICES LIKE 'NOREAD' IN SCHEMA SEC_DB.PUBLIC").fetchall() == []


ENV_ONE = """
spec:
  containers:
  - name: main
    image: /sec_db/public/repo/app:1
    secrets:
    - snowflakeSecret: {secret}
      {key}
      envVarName: VALUE
"""


@pytest.mark.parametrize("secret, key, text", [
    ("api_key", "secretKeyRef: password", "secretKeyRef 'password' does not match secret SEC_DB.PUBLIC.API_KEY of "
                                          "TYPE = GENERIC_STRING; it has secret_string"),
    ("db_cred", "secretKeyRef: secret_string", "secretKeyRef 'secret_string' does not match secret "
                                               "SEC_DB.PUBLIC.DB_CRED of TYPE = PASSWORD; it has username, password"),
    ("db_cred", "", "envVarName needs secretKeyRef"),
    ("sym", "secretKeyRef: secret_string", "secret SEC_DB.PUBLIC.SYM is of TYPE = SYMMETRIC_KEY"),
    ("oauth_cc", "secretKeyRef: access_token", "OAUTH2 secret SEC_DB.PUBLIC.OAUTH_CC must be in "
                                               "ALLOWED_AUTHENTICATION_SECRETS"),
])
def test_a_spec_key_that_does_not_match_the_secret_type_is_refused(conn, secret, key, text):
    cur = conn.cursor()
    cur.execute("USE ROLE SEC_ROLE")
    spec = ENV_ONE.format(secret=secret, key=key)
    with pytest.raises(ProgrammingError) as info:
        cur.execute(f"CREATE SERVICE SEC_DB.PUBLIC.MISMATCH IN COMPUTE POOL SEC_POOL FROM SPECIFICATION $${spec}$$")
    assert info.value.errno == 2025 and "spec.containers[0].secrets[0]" in info.value.msg, info.value.msg
    assert text in info.value.msg, info.value.msg
    assert cur.execute("SHOW SERVICES LIKE 'MISMATCH' IN SCHEMA SEC_DB.PUBLIC").fetchall() == []


def test_an_oauth2_secret_allowed_by_an_attached_integration_is_accepted(conn):
    cur = conn.cursor()
    cur.execute("USE ROLE SEC_ROLE")
    cur.execute("CREATE NETWORK RULE SEC_DB.PUBLIC.PROVIDER TYPE = HOST_PORT MODE = EGRESS "
                "VALUE_LIST = ('oauth.example.com:443')")
    cur.execute("USE ROLE ACCOUNTADMIN")
    cur.execute("CREATE EXTERNAL ACCESS INTEGRATION SEC_EAI ALLOWED_NETWORK_RULES = (SEC_DB.PUBLIC.PROVIDER) "
                "ALLOWED_AUTHENTICATION_SECRETS = (SEC_DB.PUBLIC.OAUTH_AC) ENABLED = TRUE")
    cur.execute("GRANT USAGE ON INTEGRATION SEC_EAI TO ROLE SEC_ROLE")
    cur.execute("USE ROLE SEC_ROLE")
    spec = ENV_ONE.format(secret="oauth_ac", key="secretKeyRef: access_token")
    create = (f"CREATE SERVICE SEC_DB.PUBLIC.OAUTHY IN COMPUTE POOL SEC_POOL FROM SPECIFICATION $${spec}$$ "
              "MIN_INSTANCES = 1")
    with pytest.raises(ProgrammingError) as info:  # the secret is allowed by an integration the service lacks
        cur.execute(create)
    assert info.value.errno == 2025 and "ALLOWED_AUTHENTICATION_SECRETS" in info.value.msg
    cur.execute(create + " EXTERNAL_ACCESS_INTEGRATIONS = (SEC_EAI)")
    try:
        assert [r["name"] for r in _rows(cur, "SHOW SERVICES LIKE 'OAUTHY' IN SCHEMA SEC_DB.PUBLIC")] == ["OAUTHY"]
    finally:
        cur.execute("DROP SERVICE SEC_DB.PUBLIC.OAUTHY")


def test_no_value_in_history_logs_catalog_or_data_dir(conn, srv):
    """Runs last: every value this module used is looked for everywhere Snowport keeps or prints text."""
    assert len(QUERY_IDS) >= 5
    for query_id in QUERY_IDS:
        status = conn.rest.request(f"/monitoring/queries/{query_id}", method="get", client="rest")
        [entry] = status["data"]["queries"]
        assert "'****'" in entry["sqlText"], entry
        assert not any(v in json.dumps(status) for v in VALUES), status
    log = srv.log()
    assert "Snowport" in log and not any(v in log for v in VALUES)
    key = srv.data_dir / "secrets.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    secret_files = srv.data_dir / "secret-files"
    assert stat.S_IMODE(secret_files.stat().st_mode) == 0o700
    searched = 0
    for root, _dirs, files in os.walk(srv.data_dir):
        if Path(root).is_relative_to(secret_files):
            continue  # the files mounted into containers: the value is their content, by design
        for name in files:
            path = Path(root) / name
            if path == key or not path.is_file():
                continue
            data = path.read_bytes()
            searched += 1
            assert not any(v.encode() in data for v in VALUES), path
    assert searched > 3
    # the grep means something: the sealed values are in the catalog files it read
    catalog = b"".join(p.read_bytes() for p in srv.data_dir.glob("catalog.sqlite*"))
    assert b'"sealed": "gAAAA' in catalog


def test_a_restarted_server_adopts_the_pod_and_an_upgrade_takes_the_current_value(conn, srv):
    """The pod built from the same service again (after a restart of Snowport) is the same pod: secrets add
    nothing that changes between builds. ALTER SERVICE ... FROM binds the secrets again, with their values
    of now. Then DROP SERVICE removes the pod and the service's secret files."""
    deadline = time.time() + 30  # the pod of the service the test before dropped may still be going away
    while len(found := _containers("main")) != 1:
        assert time.time() < deadline, found
        time.sleep(0.3)
    [cid] = found
    digest = _sandbox_digest()
    srv.proc.kill()
    srv.proc.wait()
    restarted = start_server(srv.data_dir, port=srv.port, SNOWPORT_SERVICE_TICK_SECONDS="0.5")
    try:
        cur = restarted.connect(role="SEC_ROLE", database="SEC_DB", schema="PUBLIC").cursor()
        time.sleep(3)  # several resyncs
        _wait_running(cur, "SECRETIVE")
        assert _containers("main") == [cid] and _sandbox_digest() == digest
        assert _exec(cid, "cat /secrets/db/password") == PASSWORD_2

        cur.execute(f"ALTER SERVICE SECRETIVE FROM SPECIFICATION $${SPEC}$$")
        deadline = time.time() + 60
        while (now := _containers("main")) in ([cid], []) or len(now) != 1 or \
                _exec_or_none(now[0], 'echo -n "$DB_PASSWORD"') != PASSWORD_2:
            assert time.time() < deadline, now
            time.sleep(0.5)

        cur.execute("DROP SERVICE SEC_DB.PUBLIC.SECRETIVE")
        deadline = time.time() + 40
        while any((srv.data_dir / "secret-files").iterdir()) or _containers():
            assert time.time() < deadline, list((srv.data_dir / "secret-files").iterdir())
            time.sleep(0.3)
        log = restarted.log()
        assert not any(v in log for v in VALUES)
    finally:
        restarted.stop()
