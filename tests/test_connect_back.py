"""Code in a service container connects back to Snowport with the clients' defaults (HTTPS on port 443 at
SNOWFLAKE_HOST), as the tutorial's does: no port, no protocol, the token from /snowflake/session/token.

Unit tests of the CA and server certificate first; then end to end: images FROM a locally built
`python:3.11` with the real connector (5.x as pip picks it today, 4.7.5 as .venv has it) or Snowpark
installed from wheels downloaded on this machine, pushed with the docker CLI, run as services whose code
creates a table and inserts rows that the test then reads from outside."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import ssl
import stat
import subprocess
import time
from types import SimpleNamespace

import httpx
import pytest
from cryptography import x509
from cryptography.x509 import verification
from registry_helpers import docker, ensure_engine, ensure_pip_image, ensure_python_image
from snowflake.connector.errors import ProgrammingError

from snowport.cli import container_tls_listener
from snowport.security.tls import SERVER_DAYS, certificate_sans, ensure_tls

from conftest import ADMIN_PASSWORD, Server, start_server

# ---------------------------------------------------------------------------------------------- the CA

def _verify(tls, address: str) -> None:
    """Path validation as a strict (webpki-style) client does it: the bundle's CA, the leaf, the IP SAN."""
    store = verification.Store(x509.load_pem_x509_certificates(tls.ca_cert.read_bytes()))
    verifier = verification.PolicyBuilder().store(store).build_server_verifier(
        x509.IPAddress(ipaddress.ip_address(address)))
    verifier.verify(x509.load_pem_x509_certificate(tls.server_cert.read_bytes()), [])


def test_the_ca_and_server_certificate(tmp_path):
    system = tmp_path / "system.crt"
    system.write_text("-----BEGIN CERTIFICATE-----\nsystem roots\n-----END CERTIFICATE-----\n")
    tls = ensure_tls(tmp_path / "data", ["172.30.0.1"], system_bundle=system)
    assert tls.host == "172.30.0.1"
    assert certificate_sans(tls.server_cert) == (["172.30.0.1"], [])
    _verify(tls, "172.30.0.1")
    with pytest.raises(verification.VerificationError):
        _verify(tls, "172.30.0.2")
    ca = x509.load_pem_x509_certificate(tls.ca_cert.read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    # keys only for the owner, the directory containers mount holds public files only
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tls.ca_key, tls.server_key, tls.directory,
                                                              tls.bundle_dir, tls.bundle, tls.ca_cert)}
    assert modes == {"ca.key": 0o600, "server.key": 0o600, "tls": 0o700, "containers": 0o755,
                     "ca-bundle.pem": 0o644, "ca.pem": 0o644}
    assert sorted(os.listdir(tls.bundle_dir)) == ["ca-bundle.pem"]
    bundle = tls.bundle.read_text()
    assert bundle.startswith(tls.ca_cert.read_text()) and bundle.endswith(system.read_text())


def test_certificates_are_kept_across_restarts_and_reissued_when_the_gateway_changes(tmp_path):
    data = tmp_path / "data"
    first = ensure_tls(data, ["172.30.0.1"], system_bundle=None)
    files = {p: p.read_bytes() for p in (first.ca_cert, first.ca_key, first.server_cert, first.server_key)}
    again = ensure_tls(data, ["172.30.0.1"], system_bundle=None)  # a restart on the same network
    assert {p: p.read_bytes() for p in files} == files
    moved = ensure_tls(data, ["172.31.0.1"], system_bundle=None)  # the gateway changed
    assert moved.ca_cert.read_bytes() == files[first.ca_cert] and moved.ca_key.read_bytes() == files[first.ca_key]
    assert moved.server_cert.read_bytes() != files[first.server_cert]
    assert moved.server_key.read_bytes() != files[first.server_key]
    assert certificate_sans(moved.server_cert) == (["172.31.0.1"], [])
    _verify(moved, "172.31.0.1")
    assert again.bundle.read_bytes() == first.ca_cert.read_bytes()  # no system bundle asked for
    # a certificate close to its end is issued again under the same CA
    before = moved.server_cert.read_bytes()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=SERVER_DAYS - 10)
    ensure_tls(data, ["172.31.0.1"], system_bundle=None, now=later)
    assert moved.server_cert.read_bytes() != before and moved.ca_cert.read_bytes() == files[first.ca_cert]
    # a damaged server key is replaced; a damaged CA key means a new CA (and a new server certificate)
    moved.server_key.write_text("garbage")
    ensure_tls(data, ["172.31.0.1"], system_bundle=None)
    _verify(moved, "172.31.0.1")
    moved.ca_key.write_text("garbage")
    ensure_tls(data, ["172.31.0.1"], system_bundle=None)
    assert moved.ca_cert.read_bytes() != files[first.ca_cert]
    _verify(moved, "172.31.0.1")
    assert stat.S_IMODE(moved.ca_key.stat().st_mode) == 0o600


def test_a_taken_port_leaves_containers_on_plain_http(tmp_path, capsys):
    core = SimpleNamespace(settings=SimpleNamespace(data_dir=tmp_path), container_tls=None)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert container_tls_listener(core, object(), "127.0.0.1", port) is None
    assert core.container_tls is None
    assert f"cannot listen with TLS on 127.0.0.1:{port}" in capsys.readouterr().err
    free = container_tls_listener(core, object(), "127.0.0.1", port)  # now free: TLS is served
    assert free is not None and core.container_tls.host == "127.0.0.1"
    for sock in free.sockets:
        sock.close()


# ---------------------------------------------------------------------------------------------- end to end

# The tutorial's connection code, unchanged: no port, no protocol, the token file, authenticator oauth.
CONNECTOR_APP = '''
import os
import time
from importlib.metadata import version

import snowflake.connector


def get_login_token():
    with open('/snowflake/session/token', 'r') as f:
        return f.read()


print(" ".join(f"{k}={os.getenv(k)}" for k in ("SNOWFLAKE_HOST", "SNOWFLAKE_PORT", "SSL_CERT_FILE",
                                                "REQUESTS_CA_BUNDLE")), flush=True)
conn = snowflake.connector.connect(
    account=os.getenv('SNOWFLAKE_ACCOUNT'),
    host=os.getenv('SNOWFLAKE_HOST'),
    token=get_login_token(),
    authenticator='oauth',
    database=os.getenv('SNOWFLAKE_DATABASE'),
    schema=os.getenv('SNOWFLAKE_SCHEMA'),
    warehouse=os.getenv('SNOWFLAKE_WAREHOUSE'),
)
client = "connector " + version("snowflake-connector-python")
table = os.environ["TARGET_TABLE"]
cur = conn.cursor()
cur.execute(f"CREATE OR REPLACE TABLE {table} (ID NUMBER, CLIENT VARCHAR)")
cur.execute(f"INSERT INTO {table} (ID, CLIENT) VALUES (1, %s), (2, %s)", (client, client))
# stage transfers go to presigned URLs on the host the client reached: https on 443 too
cur.execute(f"CREATE STAGE IF NOT EXISTS {table}_FILES")
with open("/tmp/up.txt", "w") as f:
    f.write(f"file from {client}")
cur.execute(f"PUT file:///tmp/up.txt @{table}_FILES AUTO_COMPRESS=FALSE OVERWRITE=TRUE")
os.makedirs("/tmp/down", exist_ok=True)
cur.execute(f"GET @{table}_FILES/up.txt file:///tmp/down/")
print("downloaded:", open("/tmp/down/up.txt").read(), flush=True)
conn.close()
print("connect-back done", flush=True)
time.sleep(3600)
'''

SNOWPARK_APP = '''
import os
import time
from importlib.metadata import version

from snowflake.snowpark import Session


def get_login_token():
    with open('/snowflake/session/token', 'r') as f:
        return f.read()


connection_parameters = {
    "account": os.getenv('SNOWFLAKE_ACCOUNT'),
    "host": os.getenv('SNOWFLAKE_HOST'),
    "token": get_login_token(),
    "authenticator": "oauth",
    "database": os.getenv('SNOWFLAKE_DATABASE'),
    "schema": os.getenv('SNOWFLAKE_SCHEMA'),
    "warehouse": os.getenv('SNOWFLAKE_WAREHOUSE'),
}
session = Session.builder.configs(connection_parameters).create()
client = "snowpark " + version("snowflake-snowpark-python")
table = os.environ["TARGET_TABLE"]
session.sql(f"CREATE OR REPLACE TABLE {table} (ID NUMBER, CLIENT VARCHAR)").collect()
session.create_dataframe([[1, client], [2, client]], schema=["ID", "CLIENT"]).write.save_as_table(
    table, mode="append")
session.close()
print("connect-back done", flush=True)
time.sleep(3600)
'''

# image name -> (packages installed from wheels, the app, what its rows say the client is)
CLIENTS = {
    "connector5": (["snowflake-connector-python>=5,<6"], CONNECTOR_APP, "connector 5."),
    "connector4": (["snowflake-connector-python==4.7.5"], CONNECTOR_APP, "connector 4.7.5"),
    "snowpark": (["snowflake-snowpark-python>=1.53"], SNOWPARK_APP, "snowpark 1."),
}

SETUP = [
    "CREATE ROLE CB_ROLE", "GRANT CREATE DATABASE ON ACCOUNT TO ROLE CB_ROLE",
    "GRANT CREATE COMPUTE POOL ON ACCOUNT TO ROLE CB_ROLE", "GRANT CREATE WAREHOUSE ON ACCOUNT TO ROLE CB_ROLE",
    "GRANT ROLE CB_ROLE TO USER ADMIN", "USE ROLE CB_ROLE", "CREATE DATABASE CB_DB",
    "CREATE IMAGE REPOSITORY CB_DB.PUBLIC.CB_REPO", "CREATE WAREHOUSE CB_WH WAREHOUSE_SIZE = XSMALL",
    "CREATE COMPUTE POOL CB_POOL MIN_NODES = 1 MAX_NODES = 1 INSTANCE_FAMILY = CPU_X64_XS",
]


@pytest.fixture(scope="module")
def images():
    """The base images, built once and cached by tag (python:3.11 from debootstrap, one per client)."""
    ensure_engine()
    took = {"python:3.11": ensure_python_image()}
    built = {}
    for name, (packages, _app, _client) in CLIENTS.items():
        built[name], took[name] = ensure_pip_image(f"snowport-cache/{name}", packages)
    print("image builds (s, 0 = cached):", {k: round(v, 1) for k, v in took.items()})
    return built


@pytest.fixture(scope="module")
def cb(tmp_path_factory):
    ensure_engine()
    holder = {"server": start_server(tmp_path_factory.mktemp("connect-back") / "data",
                                     SNOWPORT_SERVICE_TICK_SECONDS="0.5", SNOWPORT_WAREHOUSE_TICK_SECONDS="0.2")}
    yield holder
    server: Server = holder["server"]
    try:  # drop what the tests left running; the server removes the pods
        with server.connect() as conn:
            cur = conn.cursor()
            try:
                cur.execute("USE ROLE CB_ROLE")  # the services' owner
            except ProgrammingError:
                pass  # the setup never ran
            names = [row[0] for row in cur.execute("SHOW SERVICES IN ACCOUNT").fetchall()]
            for name in names:
                cur.execute(f"DROP SERVICE IF EXISTS CB_DB.PUBLIC.{name}")
        deadline = time.time() + 30
        while names and _pods(server) and time.time() < deadline:
            time.sleep(0.5)
    finally:
        server.stop()


def _pods(server: Server) -> list[str]:
    """This server's service containers (by the data dir's runtime scope, which names every container)."""
    scope = _scope(server)
    out = subprocess.run(["docker", "ps", "-a", "--format", "{{.Names}}", "--filter", f"label=snowport.managed={scope}"],
                         capture_output=True, text=True).stdout
    return out.split()


def _scope(server: Server) -> str:
    gateway = _gateway(server)
    for name in subprocess.run(["docker", "network", "ls", "--format", "{{.Name}}"], capture_output=True,
                               text=True).stdout.split():
        got = subprocess.run(["docker", "network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}",
                              name], capture_output=True, text=True).stdout.strip()
        if got == gateway:
            return name
    return "no-such-scope"


def _gateway(server: Server) -> str:
    for line in reversed(server.log().splitlines()):  # the latest start's
        if line.startswith("Containers reach Snowport at https://"):
            return line.split("https://", 1)[1].split(":", 1)[0]
    raise AssertionError(f"no TLS listener for containers:\n{server.log()}")


@pytest.fixture(scope="module")
def cur(cb, images, tmp_path_factory):
    server: Server = cb["server"]
    conn = server.connect()
    cursor = conn.cursor()
    for sql in SETUP:
        cursor.execute(sql)
    config = tmp_path_factory.mktemp("docker-config")
    login = docker("login", f"127.0.0.1:{server.port}", "-u", "admin", "--password-stdin", config=config,
                   input=ADMIN_PASSWORD, check=False)
    assert login.returncode == 0, login.stderr
    for name, (_packages, app, _client) in CLIENTS.items():
        work = tmp_path_factory.mktemp(f"app-{name}")
        (work / "app.py").write_text(app)
        (work / "Dockerfile").write_text(f'FROM {images[name]}\nWORKDIR /app\nCOPY app.py /app/\n'
                                         'CMD ["python", "-u", "app.py"]\n')
        tag = f"127.0.0.1:{server.port}/cb_db/public/cb_repo/{name}:1"
        docker("build", "-q", "-t", tag, str(work), config=config)
        started = time.monotonic()
        docker("push", tag, config=config)
        print(f"pushed {name} in {time.monotonic() - started:.1f} s")
        docker("rmi", tag, config=config, check=False)
    yield cursor
    conn.close()


def _spec(image: str, table: str) -> str:
    return f"""
spec:
  containers:
  - name: main
    image: /cb_db/public/cb_repo/{image}:1
    env:
      TARGET_TABLE: {table}
"""


def _run_and_read(cur, service: str, image: str, table: str, timeout: float = 120) -> tuple[list, str]:
    """Create the service, wait for the rows its code inserts, return them and the container's log."""
    cur.execute(f"CREATE SERVICE CB_DB.PUBLIC.{service} IN COMPUTE POOL CB_POOL FROM SPECIFICATION "
                f"$${_spec(image, table)}$$ QUERY_WAREHOUSE = CB_WH")
    deadline = time.time() + timeout
    rows: list = []
    logs = ""
    while time.time() < deadline:
        try:
            rows = cur.execute(f"SELECT ID, CLIENT FROM CB_DB.PUBLIC.{table} ORDER BY ID").fetchall()
        except ProgrammingError as e:
            rows = [e.msg]  # not created yet
        try:
            logs = cur.execute(f"SELECT SYSTEM$GET_SERVICE_LOGS('CB_DB.PUBLIC.{service}', 0, 'main')").fetchone()[0]
        except ProgrammingError as e:
            logs = e.msg  # no container yet
        if len(rows) == 2 and "connect-back done" in logs:
            break
        time.sleep(0.5)
    assert len(rows) == 2 and "connect-back done" in logs, (rows, logs, cur.execute(f"SHOW SERVICE CONTAINERS IN SERVICE CB_DB.PUBLIC.{service}")
                            .fetchall())
    return rows, logs


@pytest.mark.parametrize("client", list(CLIENTS))
def test_container_code_connects_back_with_the_clients_defaults(cb, cur, client):
    server: Server = cb["server"]
    table = f"FROM_{client.upper()}"
    rows, logs = _run_and_read(cur, f"CB_{client.upper()}", client, table)
    expected = CLIENTS[client][2]
    assert [r[0] for r in rows] == [1, 2] and all(r[1].startswith(expected) for r in rows), rows
    gateway = _gateway(server)
    if client.startswith("connector"):
        assert (f"SNOWFLAKE_HOST={gateway} SNOWFLAKE_PORT=443 SSL_CERT_FILE=/snowflake/tls/ca-bundle.pem "
                "REQUESTS_CA_BUNDLE=/snowflake/tls/ca-bundle.pem") in logs, logs
        assert f"downloaded: file from {rows[0][1]}" in logs, logs
    assert "connect-back done" in logs
    assert certificate_sans(server.data_dir / "tls" / "server.pem") == ([gateway], [])
    cur.execute(f"DROP SERVICE CB_DB.PUBLIC.CB_{client.upper()}")


def test_both_listeners_answer_alike(cb):
    """The plain listener (loopback and gateway) is what it was; the TLS one serves the same app."""
    server: Server = cb["server"]
    gateway = _gateway(server)
    ca = str(server.data_dir / "tls" / "ca.pem")
    plain = httpx.get(f"http://127.0.0.1:{server.port}/v2/")
    plain_gateway = httpx.get(f"http://{gateway}:{server.port}/v2/")
    tls = httpx.get(f"https://{gateway}/v2/", verify=ssl.create_default_context(cafile=ca))
    assert plain.status_code == plain_gateway.status_code == tls.status_code == 401
    assert plain.headers["www-authenticate"].startswith(f'Bearer realm="http://127.0.0.1:{server.port}/v2/token"')
    assert tls.headers["www-authenticate"].startswith(f'Bearer realm="https://{gateway}/v2/token"')
    with pytest.raises(httpx.ConnectError):  # a client without the CA refuses the certificate
        httpx.get(f"https://{gateway}/v2/", verify=True)


def test_a_restarted_server_keeps_its_ca(cb, cur):
    """A restart keeps the CA (containers' bundles stay valid) and covers the gateway it has now."""
    server: Server = cb["server"]
    ca_before = (server.data_dir / "tls" / "ca.pem").read_bytes()
    server.stop()
    assert server.proc.returncode == 0, server.log()  # Ctrl-C stops both listeners cleanly
    cb["server"] = server = start_server(server.data_dir, port=server.port, SNOWPORT_SERVICE_TICK_SECONDS="0.5",
                                         SNOWPORT_WAREHOUSE_TICK_SECONDS="0.2")
    assert (server.data_dir / "tls" / "ca.pem").read_bytes() == ca_before
    assert certificate_sans(server.data_dir / "tls" / "server.pem") == ([_gateway(server)], [])
    conn = server.connect()
    cursor = conn.cursor()
    cursor.execute("USE ROLE CB_ROLE")
    cursor.execute("USE WAREHOUSE CB_WH")
    rows, _logs = _run_and_read(cursor, "CB_AFTER_RESTART", "connector5", "AFTER_RESTART")
    assert [r[0] for r in rows] == [1, 2]
    cursor.execute("DROP SERVICE CB_DB.PUBLIC.CB_AFTER_RESTART")
    conn.close()
