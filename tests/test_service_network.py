"""Service-to-service networking and egress on a real engine (spcs-reference 5.4, 10; issue 12 items 4, 5).

Every service here runs one small Python app (PROBE_APP) that answers on 8080 (declared as endpoint
`api`) and on 9090 (declared nowhere), and that, asked `/?url=...` or `/?resolve=...`, makes that
request itself and says what happened. The test reaches each instance from the host (the host reaches
every container), so what a service can reach is asked of the service itself:
- DNS: the bare name within the schema (two schemas hold a service ECHO), `<svc>.<hash>.svc.spcs.internal`,
  the legacy `<svc>.<schema>.<db>.snowflakecomputing.internal` (a job calls all three), `instances.`;
- port rules: only endpoint ports, only for services of the same owner role;
- egress: a test HTTP server on the host's own outside address (not Snowport's network) is out of reach
  without an integration, reachable with one naming it, and cut again by ALTER SERVICE, live.
"""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import threading
import urllib.parse
import urllib.request

import pytest
from registry_helpers import ensure_python_image, push_local_image, runtime_scope
from service_helpers import engine_server, rows, until
from snowflake.connector.errors import ProgrammingError

from conftest import ADMIN_PASSWORD

PROBE_APP = r'''
import http.server, os, socket, threading, urllib.error, urllib.parse, urllib.request
NAME = os.environ["SNOWFLAKE_SERVICE_NAME"] + " " + os.environ["SNOWFLAKE_SCHEMA"]

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        try:
            if "url" in query:
                out = "ok " + urllib.request.urlopen(query["url"][0], timeout=3).read().decode()
            elif "resolve" in query:
                found = socket.getaddrinfo(query["resolve"][0], None, socket.AF_INET, socket.SOCK_STREAM)
                out = "ok " + " ".join(sorted({a[4][0] for a in found}))
            else:
                out = "hello " + NAME
        except urllib.error.HTTPError as e:  # connected, and the server answered
            out = f"status {e.code}"
        except Exception as e:
            out = "error " + repr(e)
        body = out.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

for port in (8080, 9090):
    server = http.server.ThreadingHTTPServer(("", port), Handler)
    threading.Thread(target=server.serve_forever).start()
'''

JOB_APP = r'''
import os, sys, urllib.request
failed = False
expected = sys.argv[1]
for url in sys.argv[2:]:
    try:
        body = urllib.request.urlopen(url, timeout=5).read().decode()
    except Exception as e:
        body = "error " + repr(e)
    print(url, "->", body, flush=True)
    failed = failed or not body.startswith(expected)
sys.exit(1 if failed else 0)
'''

IMAGE = "/net_db/public/repo/python:1"


def _spec(app: str = PROBE_APP, args: tuple[str, ...] = (), endpoint: bool = True) -> str:
    command = json.dumps(["python", "-u", "-c", app, *args])
    endpoints = "  endpoints:\n  - name: api\n    port: 8080\n" if endpoint else ""
    probe = "    readinessProbe: {port: 8080, path: /}\n" if endpoint else ""
    return (f"spec:\n  containers:\n  - name: main\n    image: {IMAGE}\n    command: {command}\n{probe}"
            f"    resources: {{requests: {{cpu: 0.1, memory: 64Mi}}}}\n{endpoints}")


def _outside_address() -> str:
    """The host's own address towards the outside (eth0's): not on any Snowport network."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("10.255.255.1", 53))  # no packet is sent: only the route is looked up
        return s.getsockname()[0]


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    from snowport.runtime import netfilter

    server = None
    for server in engine_server(tmp_path_factory, "network", SNOWPORT_SERVICE_TICK_SECONDS="1"):
        yield server
    # the server could not remove its network while pods were in their grace period; the fixture did
    # (docker network rm), and the chains go after it, as the next server to start would collect them
    netfilter.remove(runtime_scope(server.data_dir))
    assert not any(chain in subprocess.run(["iptables", "-w", "-S"], capture_output=True, text=True).stdout
                   for chain in netfilter.chains(runtime_scope(server.data_dir)))


@pytest.fixture(scope="module")
def outside():
    """A plain HTTP server on the host's outside address, as some host on the internet would be."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"outside-ok"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer((_outside_address(), 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"{server.server_address[0]}:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def cur(srv, tmp_path_factory):
    conn = srv.connect()
    cursor = conn.cursor()
    for sql in ("CREATE ROLE NET_ROLE", "CREATE ROLE STRANGER_ROLE", "GRANT ROLE NET_ROLE TO USER ADMIN",
                "GRANT ROLE STRANGER_ROLE TO USER ADMIN", "CREATE DATABASE NET_DB", "CREATE SCHEMA NET_DB.OTHER",
                "CREATE IMAGE REPOSITORY NET_DB.PUBLIC.REPO",
                "CREATE COMPUTE POOL NET_POOL MIN_NODES = 1 MAX_NODES = 2 INSTANCE_FAMILY = CPU_X64_XS"):
        cursor.execute(sql)
    for role in ("NET_ROLE", "STRANGER_ROLE"):
        for sql in ("GRANT USAGE ON DATABASE NET_DB TO ROLE {r}", "GRANT USAGE ON SCHEMA NET_DB.PUBLIC TO ROLE {r}",
                    "GRANT USAGE ON SCHEMA NET_DB.OTHER TO ROLE {r}",
                    "GRANT CREATE SERVICE ON SCHEMA NET_DB.PUBLIC TO ROLE {r}",
                    "GRANT CREATE SERVICE ON SCHEMA NET_DB.OTHER TO ROLE {r}",
                    "GRANT READ ON IMAGE REPOSITORY NET_DB.PUBLIC.REPO TO ROLE {r}",
                    "GRANT USAGE ON COMPUTE POOL NET_POOL TO ROLE {r}"):
            cursor.execute(sql.format(r=role))
    ensure_python_image()
    push_local_image(srv.port, "python:3.11", IMAGE.lstrip("/"), tmp_path_factory.mktemp("push"), ADMIN_PASSWORD)
    yield cursor
    conn.close()


def _create(cur, role: str, name: str, spec: str, extra: str = "") -> None:
    cur.execute(f"USE ROLE {role}")
    cur.execute(f"CREATE SERVICE {name} IN COMPUTE POOL NET_POOL FROM SPECIFICATION $${spec}$$ {extra}")


def _ips(cur, name: str) -> list[str]:
    """The service's ready instances' addresses once all are ready."""
    def ready():
        found = rows(cur, f"SHOW SERVICE INSTANCES IN SERVICE {name}")
        if found and all(r["status"] == "READY" and r["ip_address"] for r in found):
            return sorted(r["ip_address"] for r in found)
        return None
    return until(ready, 240, f"{name} never got ready")


def _ask(ip: str, **query: str) -> str:
    """Ask the probe app at `ip` (from the host) to make a request itself; its answer."""
    url = f"http://{ip}:8080/?{urllib.parse.urlencode(query)}" if query else f"http://{ip}:8080/"
    return urllib.request.urlopen(url, timeout=15).read().decode()


@pytest.fixture(scope="module")
def services(cur):
    """PUBLIC.ECHO (2 instances) and OTHER.ECHO and PUBLIC.CLIENT of NET_ROLE; PUBLIC.STRANGER of another
    role. Returns {name: [ip, ...]}."""
    _create(cur, "NET_ROLE", "NET_DB.PUBLIC.ECHO", _spec(), "MIN_INSTANCES = 2")
    _create(cur, "NET_ROLE", "NET_DB.OTHER.ECHO", _spec())
    _create(cur, "NET_ROLE", "NET_DB.PUBLIC.CLIENT", _spec())
    _create(cur, "STRANGER_ROLE", "NET_DB.PUBLIC.STRANGER", _spec())
    cur.execute("USE ROLE NET_ROLE")
    return {name: _ips(cur, f"NET_DB.{name}") for name in ("PUBLIC.ECHO", "OTHER.ECHO", "PUBLIC.CLIENT",
                                                           "PUBLIC.STRANGER")}


def _domain(cur, schema: str) -> str:
    return cur.execute(f"SELECT SYSTEM$GET_SERVICE_DNS_DOMAIN('NET_DB.{schema}')").fetchone()[0]


def test_dns_domain_and_names(cur, services):
    public, other = _domain(cur, "PUBLIC"), _domain(cur, "OTHER")
    assert public.endswith(".svc.spcs.internal") and other.endswith(".svc.spcs.internal") and public != other
    cur.execute("USE SCHEMA NET_DB.PUBLIC")
    assert cur.execute("SELECT SYSTEM$GET_SERVICE_DNS_DOMAIN('PUBLIC')").fetchone()[0] == public
    assert rows(cur, "CALL SYSTEM$GET_SERVICE_DNS_DOMAIN('net_db.other')") == [{"SYSTEM$GET_SERVICE_DNS_DOMAIN": other}]
    shown = rows(cur, "SHOW SERVICES LIKE 'ECHO' IN SCHEMA NET_DB.PUBLIC")
    assert shown[0]["dns_name"] == f"echo.{public}"
    with pytest.raises(ProgrammingError) as e:
        cur.execute("SELECT SYSTEM$GET_SERVICE_DNS_DOMAIN('NET_DB.NOPE')")
    assert e.value.errno == 2003


def test_short_names_resolve_within_the_callers_schema(cur, services):
    client = services["PUBLIC.CLIENT"][0]
    other = _domain(cur, "OTHER").split(".")[0]
    assert _ask(client, url="http://echo:8080/") == "ok hello ECHO PUBLIC"
    assert _ask(client, url=f"http://echo.{other}:8080/") == "ok hello ECHO OTHER"
    # the same bare name from the other schema is that schema's service
    assert _ask(services["OTHER.ECHO"][0], url="http://echo:8080/") == "ok hello ECHO OTHER"


def test_instances_name_lists_every_instance(cur, services):
    answer = _ask(services["PUBLIC.CLIENT"][0], resolve=f"instances.echo.{_domain(cur, 'PUBLIC')}")
    assert answer.startswith("ok "), answer
    assert sorted(answer[3:].split()) == services["PUBLIC.ECHO"]
    assert len(services["PUBLIC.ECHO"]) == 2


def test_a_job_calls_a_service_by_all_three_names(cur, services):
    public = _domain(cur, "PUBLIC")
    urls = ("http://echo:8080/", f"http://echo.{public}:8080/",
            "http://echo.public.net-db.snowflakecomputing.internal:8080/")
    cur.execute("USE ROLE NET_ROLE")
    cur.execute("USE SCHEMA NET_DB.PUBLIC")
    try:
        cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL NET_POOL NAME = NET_DB.PUBLIC.DNS_JOB "
                    f"FROM SPECIFICATION $${_spec(JOB_APP, ('hello ECHO PUBLIC', *urls), endpoint=False)}$$")
    finally:
        logs = cur.execute("SELECT SYSTEM$GET_SERVICE_LOGS('NET_DB.PUBLIC.DNS_JOB', 0, 'main')").fetchone()[0]
        print(logs)
    for url in urls:
        assert f"{url} -> hello ECHO PUBLIC" in logs, logs


def test_only_declared_endpoint_ports_are_reachable(services):
    client, echo = services["PUBLIC.CLIENT"][0], services["PUBLIC.ECHO"][0]
    assert _ask(client, url=f"http://{echo}:8080/") == "ok hello ECHO PUBLIC"
    assert urllib.request.urlopen(f"http://{echo}:9090/", timeout=5).read() == b"hello ECHO PUBLIC"  # it listens
    assert _ask(client, url=f"http://{echo}:9090/").startswith("error ")
    assert _ask(client, url="http://echo:9090/").startswith("error ")


def test_a_service_of_another_owner_role_cannot_connect(services):
    stranger = services["PUBLIC.STRANGER"][0]
    answer = _ask(stranger, url="http://echo:8080/")
    assert answer.startswith("error "), answer
    assert _ask(stranger, resolve="echo").startswith("ok ")  # the name resolves; the connection is refused
    # and the other way round: NET_ROLE's client may not reach STRANGER_ROLE's service either
    assert _ask(services["PUBLIC.CLIENT"][0], url="http://stranger:8080/").startswith("error ")
    assert _ask(services["PUBLIC.ECHO"][0], url="http://client:8080/") == "ok hello CLIENT PUBLIC"


def test_grants_change_who_may_connect(cur, services):
    """The rules follow the role graph: once STRANGER_ROLE inherits NET_ROLE (the owner of ECHO) its
    service may connect; revoked, it may not."""
    stranger = services["PUBLIC.STRANGER"][0]
    cur.execute("USE ROLE ACCOUNTADMIN")
    cur.execute("GRANT ROLE NET_ROLE TO ROLE STRANGER_ROLE")
    try:
        until(lambda: _ask(stranger, url="http://echo:8080/") == "ok hello ECHO PUBLIC", 20,
              "the grant never opened ECHO to STRANGER")
        assert _ask(stranger, url="http://echo:9090/").startswith("error ")  # still endpoint ports only
    finally:
        cur.execute("REVOKE ROLE NET_ROLE FROM ROLE STRANGER_ROLE")
    until(lambda: _ask(stranger, url="http://echo:8080/").startswith("error "), 20,
          "the revoke never closed ECHO to STRANGER")
    cur.execute("USE ROLE NET_ROLE")


def test_legacy_allow_internet_egress_opens_nothing(cur, services, outside):
    """`networkPolicyConfig.allowInternetEgress` is accepted; egress still needs an integration."""
    spec = _spec() + "  networkPolicyConfig:\n    allowInternetEgress: true\n"
    _create(cur, "NET_ROLE", "NET_DB.PUBLIC.LEGACY", spec)
    ip = _ips(cur, "NET_DB.PUBLIC.LEGACY")[0]
    assert _ask(ip, url=f"http://{outside}/").startswith("error ")
    assert _ask(ip, url="http://echo:8080/") == "ok hello ECHO PUBLIC"  # it runs, and reaches its peers
    cur.execute("DROP SERVICE NET_DB.PUBLIC.LEGACY")


def test_egress_only_through_an_integration_applied_live(cur, services, outside):
    client = services["PUBLIC.CLIENT"][0]
    target = f"http://{outside}/"
    assert urllib.request.urlopen(target, timeout=5).read() == b"outside-ok"  # it is up
    assert _ask(client, url=target).startswith("error ")
    cur.execute("USE ROLE ACCOUNTADMIN")
    cur.execute(f"CREATE NETWORK RULE NET_DB.PUBLIC.OUTSIDE_RULE MODE = EGRESS TYPE = HOST_PORT "
                f"VALUE_LIST = ('{outside}')")
    cur.execute("CREATE EXTERNAL ACCESS INTEGRATION OUTSIDE_EAI ALLOWED_NETWORK_RULES = (NET_DB.PUBLIC.OUTSIDE_RULE) "
                "ENABLED = TRUE")
    cur.execute("USE ROLE NET_ROLE")
    with pytest.raises(ProgrammingError) as e:  # no USAGE on the integration yet
        cur.execute("ALTER SERVICE NET_DB.PUBLIC.CLIENT SET EXTERNAL_ACCESS_INTEGRATIONS = (OUTSIDE_EAI)")
    assert e.value.errno == 2003
    cur.execute("USE ROLE ACCOUNTADMIN")
    cur.execute("GRANT USAGE ON INTEGRATION OUTSIDE_EAI TO ROLE NET_ROLE")
    cur.execute("USE ROLE NET_ROLE")
    before = rows(cur, "SHOW SERVICE CONTAINERS IN SERVICE NET_DB.PUBLIC.CLIENT")
    cur.execute("ALTER SERVICE NET_DB.PUBLIC.CLIENT SET EXTERNAL_ACCESS_INTEGRATIONS = (OUTSIDE_EAI)")
    until(lambda: _ask(client, url=target) == "ok outside-ok", 15, "the integration never opened the host")
    # only that host and port: another port of the same host stays closed
    host, _, port = outside.partition(":")
    assert _ask(client, url=f"http://{host}:{int(port) + 1 if int(port) < 65535 else 1024}/").startswith("error ")
    # the other services did not gain it
    assert _ask(services["PUBLIC.ECHO"][0], url=target).startswith("error ")
    cur.execute("ALTER SERVICE NET_DB.PUBLIC.CLIENT UNSET EXTERNAL_ACCESS_INTEGRATIONS")
    until(lambda: _ask(client, url=target).startswith("error "), 15, "ALTER did not cut the host")
    after = rows(cur, "SHOW SERVICE CONTAINERS IN SERVICE NET_DB.PUBLIC.CLIENT")
    assert [(c["instance_id"], c["start_time"], c["restart_count"]) for c in after] == \
        [(c["instance_id"], c["start_time"], c["restart_count"]) for c in before]  # live: no restart


def test_a_job_with_an_integration_reaches_its_host(cur, services, outside):
    """EXECUTE JOB SERVICE ... EXTERNAL_ACCESS_INTEGRATIONS: the job's pod is let out to the host, at once."""
    cur.execute("USE ROLE NET_ROLE")
    spec = _spec(JOB_APP, ("outside-ok", f"http://{outside}/"), endpoint=False)
    try:
        cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL NET_POOL NAME = NET_DB.PUBLIC.EGRESS_JOB "
                    f"EXTERNAL_ACCESS_INTEGRATIONS = (OUTSIDE_EAI) FROM SPECIFICATION $${spec}$$")
    finally:
        logs = cur.execute("SELECT SYSTEM$GET_SERVICE_LOGS('NET_DB.PUBLIC.EGRESS_JOB', 0, 'main')").fetchone()[0]
    assert f"http://{outside}/ -> outside-ok" in logs, logs


def test_a_service_created_with_an_integration_reaches_its_host(cur, services, outside):
    """CREATE SERVICE ... EXTERNAL_ACCESS_INTEGRATIONS: open from the first connection."""
    cur.execute("USE ROLE NET_ROLE")
    _create(cur, "NET_ROLE", "NET_DB.PUBLIC.EGRESS", _spec(), "EXTERNAL_ACCESS_INTEGRATIONS = (OUTSIDE_EAI)")
    ip = _ips(cur, "NET_DB.PUBLIC.EGRESS")[0]
    assert _ask(ip, url=f"http://{outside}/") == "ok outside-ok"


@pytest.mark.parametrize("entry, message", [
    ("example.com:25", "only use ports 22, 80, 443 and 1024 or higher"),
    ("0.0.0.0:8443", "0.0.0.0 (any host) is allowed only with port 80 or 443"),
    ("*.example.com:443", "full host names, not wildcards"),
])
def test_rules_breaking_the_egress_port_rules_are_refused(cur, services, entry, message):
    cur.execute("USE ROLE ACCOUNTADMIN")
    cur.execute(f"CREATE OR REPLACE NETWORK RULE NET_DB.PUBLIC.BAD_RULE MODE = EGRESS TYPE = HOST_PORT "
                f"VALUE_LIST = ('{entry}')")
    cur.execute("CREATE OR REPLACE EXTERNAL ACCESS INTEGRATION BAD_EAI ALLOWED_NETWORK_RULES = (NET_DB.PUBLIC.BAD_RULE) "
                "ENABLED = TRUE")
    cur.execute("GRANT USAGE ON INTEGRATION BAD_EAI TO ROLE NET_ROLE")
    cur.execute("USE ROLE NET_ROLE")
    with pytest.raises(ProgrammingError) as e:
        _create(cur, "NET_ROLE", "NET_DB.PUBLIC.BAD", _spec(), "EXTERNAL_ACCESS_INTEGRATIONS = (BAD_EAI)")
    assert message in e.value.msg and "BAD_RULE" in e.value.msg and entry.split(":")[0] in e.value.msg
    assert rows(cur, "SHOW SERVICES LIKE 'BAD' IN SCHEMA NET_DB.PUBLIC") == []
    with pytest.raises(ProgrammingError):
        cur.execute("ALTER SERVICE NET_DB.PUBLIC.CLIENT SET EXTERNAL_ACCESS_INTEGRATIONS = (BAD_EAI)")
    assert rows(cur, "DESCRIBE SERVICE NET_DB.PUBLIC.CLIENT")[0]["external_access_integrations"] is None


def test_rules_are_recomputed_when_a_service_goes(srv, cur, services):
    """A dropped service's address leaves the rules (its pods are gone, and its policy with them)."""
    scope = runtime_scope(srv.data_dir)
    egress = _ips(cur, "NET_DB.PUBLIC.EGRESS")[0] + "/32"  # made by the integration test above
    assert any(egress in line for line in _chain(scope)), _chain(scope)
    cur.execute("USE ROLE NET_ROLE")
    cur.execute("DROP SERVICE NET_DB.PUBLIC.EGRESS")
    until(lambda: not any(egress in line for line in _chain(scope)), 60,
          "the dropped service's address is still in the rules")


def _chain(scope: str) -> list[str]:
    """The rules of the server's FORWARD chain, as iptables lists them."""
    from snowport.runtime import netfilter

    forward, _inbound = netfilter.chains(scope)
    return subprocess.run(["iptables", "-w", "-S", forward], capture_output=True, text=True).stdout.splitlines()


def test_snowport_itself_stays_reachable_without_any_integration(srv, services):
    """The gateway address (SQL, registry) is always open: the registry answers 401 to a bare /v2/."""
    network = json.loads(subprocess.run(["docker", "network", "inspect", runtime_scope(srv.data_dir)],
                                        capture_output=True, text=True).stdout)[0]
    gateway = network["IPAM"]["Config"][0]["Gateway"]
    assert _ask(services["PUBLIC.ECHO"][0], url=f"http://{gateway}:{srv.port}/v2/") == "status 401"


def test_rules_render_one_scope_only():
    """The rendered chains touch only their own bridge, open exactly the policy's ports and addresses, and
    end every path out of the bridge with a drop (no engine needed)."""
    from snowport.runtime import EgressAllow, NetworkPolicy, PeerAccess, PortRange, netfilter

    members = [netfilter.Member("10.9.0.2", {"snowport.service": "1"}),
               netfilter.Member("10.9.0.3", {"snowport.service": "2"})]
    policies = (NetworkPolicy("service-1", {"snowport.service": "1"},
                              ingress=(PeerAccess({"snowport.service": "2"}, (PortRange(8080, 8080),
                                                                              PortRange(9000, 9010))),)),
                NetworkPolicy("service-2", {"snowport.service": "2"},
                              egress=(EgressAllow("203.0.113.7/32", PortRange(443, 443)),)))
    text = netfilter.render("snowport-abc123", netfilter.Bridge("br-x", "10.9.0.1"), members, policies, ["10.0.0.53"])
    lines = text.splitlines()
    assert lines[:3] == ["*filter", ":SNOWPORT-abc123 - [0:0]", ":SNOWPORT-abc123-IN - [0:0]"] and lines[-1] == "COMMIT"
    assert lines[3] == "-A SNOWPORT-abc123 ! -i br-x ! -o br-x -j RETURN"
    assert "-A SNOWPORT-abc123 -i br-x -o br-x -s 10.9.0.3/32 -d 10.9.0.2/32 -p tcp --dport 8080 -j RETURN" in lines
    assert "-A SNOWPORT-abc123 -i br-x -o br-x -s 10.9.0.3/32 -d 10.9.0.2/32 -p tcp --dport 9000:9010 -j RETURN" in lines
    assert not any("-s 10.9.0.2/32 -d 10.9.0.3/32" in line for line in lines)  # service 2 opened nothing
    assert "-A SNOWPORT-abc123 -i br-x -s 10.9.0.3/32 -d 203.0.113.7/32 -p tcp --dport 443 -j RETURN" in lines
    assert "-A SNOWPORT-abc123-IN -s 10.9.0.3/32 -d 203.0.113.7/32 -p tcp --dport 443 -j RETURN" in lines
    assert not any("-s 10.9.0.2/32 -d 203.0.113.7/32" in line for line in lines)
    assert "-A SNOWPORT-abc123-IN -d 10.9.0.1/32 -j RETURN" in lines
    for last in ("-A SNOWPORT-abc123 -i br-x -o br-x -j DROP", "-A SNOWPORT-abc123 -i br-x -j DROP",
                 "-A SNOWPORT-abc123-IN -j DROP"):
        assert last in lines
    assert netfilter.chains("some scope!")[0].startswith("SNOWPORT-") and len(netfilter.chains("x" * 80)[1]) <= 28


def _has_chain(chain: str) -> bool:
    return f"-N {chain}" in subprocess.run(["iptables", "-w", "-S"], capture_output=True, text=True).stdout.splitlines()


def test_chains_go_with_the_network_and_orphans_are_collected():
    """A runtime's chains exist once it has policies, go when it removes its network, and chains whose
    network was removed behind the server's back are collected by the next prune."""
    import uuid

    from snowport.runtime import NetworkPolicy, netfilter
    from snowport.runtime.docker import DockerRuntime

    for _ in range(2):
        scope = f"snowport-{uuid.uuid4().hex[:8]}"
        runtime = DockerRuntime(scope=scope)
        forward, inbound = netfilter.chains(scope)
        try:
            runtime.ensure_network(scope)
            runtime.set_network_policies(scope, (NetworkPolicy("p", {"snowport.service": "1"}),))
            assert _has_chain(forward) and _has_chain(inbound)
            assert f"-A DOCKER-USER -j {forward}" in subprocess.run(
                ["iptables", "-w", "-S", "DOCKER-USER"], capture_output=True, text=True).stdout.splitlines()
            if _ == 0:
                runtime.remove_network(scope)
            else:  # removed behind its back: another server's prune finds the chains without a network
                subprocess.run(["docker", "network", "rm", scope], capture_output=True, check=True)
                assert _has_chain(forward)
                DockerRuntime(scope=f"snowport-{uuid.uuid4().hex[:8]}").prune_networks()
            assert not _has_chain(forward) and not _has_chain(inbound)
            assert forward not in subprocess.run(["iptables", "-w", "-S", "DOCKER-USER"], capture_output=True,
                                                 text=True).stdout
        finally:
            subprocess.run(["docker", "network", "rm", scope], capture_output=True)
            netfilter.remove(scope)
            runtime.close()
