"""Public endpoints through ingress, end to end on the engine: SHOW ENDPOINTS, routing by host to a ready
instance, streaming both ways, WebSockets, the request and response headers of spcs-reference 6.4/6.5,
CORS (6.6), banned methods, token and cookie access, 403 without access, AUTO_RESUME on first request,
and a real Chromium logging in and using a WebSocket through the endpoint."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
import websockets
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from registry_helpers import ensure_pip_image, push_local_image
from service_helpers import engine_server, rows, until

from conftest import ADMIN_PASSWORD, new_user_with_role

APP = r'''
import asyncio, hashlib, os, socket, time
from aiohttp import web

MB = bytes(range(256)) * 4096

PAGE = """<!doctype html><html><head><title>ingress test app</title></head><body>
<h1 id="title">hello from the service</h1><div id="echo">waiting</div>
<script>
const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
ws.onopen = () => ws.send("ping through ingress");
ws.onmessage = (e) => { document.getElementById("echo").textContent = "echo: " + e.data; };
ws.onerror = () => { document.getElementById("echo").textContent = "websocket error"; };
</script></body></html>"""

async def page(request):
    return web.Response(text=PAGE, content_type="text/html")

async def headers(request):
    return web.json_response({k.lower(): v for k, v in request.headers.items()})

async def whoami(request):
    return web.Response(text=socket.gethostname())

async def digest(request):
    h, n = hashlib.sha256(), 0
    async for chunk in request.content.iter_any():
        h.update(chunk)
        n += len(chunk)
    return web.json_response({"sha256": h.hexdigest(), "length": n})

async def blob(request):
    response = web.StreamResponse()
    await response.prepare(request)
    for _ in range(int(request.query["mb"])):
        await response.write(MB)
    await response.write_eof()
    return response

async def arrival(request):
    times = []
    async for chunk in request.content.iter_any():
        times.append(time.monotonic())
    return web.json_response({"first": times[0], "last": times[-1], "chunks": len(times)})

async def stream(request):
    response = web.StreamResponse()
    await response.prepare(request)
    await response.write(b"first\n")
    await asyncio.sleep(2)
    await response.write(b"second\n")
    await response.write_eof()
    return response

async def exe(request):
    return web.Response(body=b"MZ", content_type="application/x-msdownload")

async def leaky(request):
    return web.Response(text="leaky", headers={
        "Server": "leaky/1.0", "X-Powered-By": "php", "X-XSS-Protection": "1", "Public-Key-Pins": "x",
        "X-Frame-Options": "SAMEORIGIN", "Access-Control-Allow-Origin": "*", "X-My-Header": "mine",
        "Content-Security-Policy": "img-src 'self'", "Content-Security-Policy-Report-Only": "default-src 'none'"})

async def ws(request):
    sock = web.WebSocketResponse()
    await sock.prepare(request)
    async for msg in sock:
        await sock.send_str(msg.data)
    return sock

app = web.Application(client_max_size=1024 ** 3)
app.add_routes([web.get("/", page), web.get("/headers", headers), web.post("/headers", headers),
                web.get("/whoami", whoami), web.post("/digest", digest), web.get("/blob", blob), web.post("/arrival", arrival),
                web.get("/stream", stream), web.get("/exe", exe), web.get("/leaky", leaky), web.get("/ws", ws),
                web.get("/healthz", lambda r: web.Response(text="ok"))])
web.run_app(app, port=8080, access_log=None)
'''

SPEC = """
spec:
  containers:
  - name: app
    image: /ing_db/public/ing_repo/app:1
    command: ["sh", "-c", "exec python3 -c \\"$APP\\""]
    env:
      APP: |
{app}
    readinessProbe:
      port: 8080
      path: /healthz
  endpoints:
  - name: web
    port: 8080
    public: true
  - name: api
    port: 8080
    public: true
    corsSettings:
      Access-Control-Allow-Origin: ["https://allowed.example"]
      Access-Control-Allow-Methods: [GET, POST]
      Access-Control-Allow-Headers: [Authorization, Content-Type]
      Access-Control-Expose-Headers: [X-My-Header]
  - name: internal
    port: 9000
capabilities:
  securityContext:
    executeAsCaller: true
""".replace("{app}", "\n".join("        " + line for line in APP.strip("\n").splitlines()))

OWNER = "ING_ROLE"
OTHER_PASSWORD = "other-user-pw-1"
ALLOWED = "https://allowed.example"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    yield from engine_server(tmp_path_factory, "ingress", SNOWPORT_SERVICE_TICK_SECONDS="0.5")


@pytest.fixture(scope="module")
def cur(srv, tmp_path_factory):
    conn = srv.connect()
    cursor = conn.cursor()
    for sql in (f"CREATE ROLE {OWNER}", f"GRANT CREATE DATABASE ON ACCOUNT TO ROLE {OWNER}",
                f"GRANT CREATE COMPUTE POOL ON ACCOUNT TO ROLE {OWNER}",
                f"GRANT BIND SERVICE ENDPOINT ON ACCOUNT TO ROLE {OWNER}", f"GRANT ROLE {OWNER} TO ROLE ACCOUNTADMIN",
                f"USE ROLE {OWNER}", "CREATE DATABASE ING_DB", "CREATE IMAGE REPOSITORY ING_DB.PUBLIC.ING_REPO",
                "CREATE COMPUTE POOL ING_POOL MIN_NODES = 1 MAX_NODES = 2 INSTANCE_FAMILY = CPU_X64_XS"):
        cursor.execute(sql)
    local, _ = ensure_pip_image("snowport-test/ingress-app", ["aiohttp"])
    push_local_image(srv.port, local, "ing_db/public/ing_repo/app:1", tmp_path_factory.mktemp("push"), ADMIN_PASSWORD)
    cursor.execute("USE SCHEMA ING_DB.PUBLIC")
    cursor.execute(f"CREATE SERVICE WEB_SVC IN COMPUTE POOL ING_POOL FROM SPECIFICATION $${SPEC}$$ MIN_INSTANCES = 2")
    until(lambda: rows(cursor, "SHOW SERVICES LIKE 'WEB_SVC'")[0]["status"] == "RUNNING", 120, "service running")
    yield cursor
    conn.close()


def _endpoints(cur) -> dict[str, dict]:
    return {r["name"]: r for r in rows(cur, "SHOW ENDPOINTS IN SERVICE WEB_SVC")}


@pytest.fixture(scope="module")
def urls(cur) -> dict[str, str]:
    return {name: "http://" + r["ingress_url"] for name, r in _endpoints(cur).items() if r["ingress_url"]}


@pytest.fixture(scope="module")
def token(srv, cur) -> str:
    """A session token from a connector login whose role is the service's owner role."""
    conn = srv.connect(role=OWNER)
    yield conn.rest.token
    conn.close()


@pytest.fixture(scope="module")
def other(cur) -> str:
    """A user whose default role has no access to the service (ADMIN's roles include the owner role)."""
    new_user_with_role(cur.connection, "ING_OTHER", "ING_OTHER_ROLE", OTHER_PASSWORD)
    cur.execute(f"USE ROLE {OWNER}")
    return "ING_OTHER"


def auth(token: str, quoted: bool = True) -> dict[str, str]:
    return {"Authorization": f'Snowflake Token="{token}"' if quoted else f"Snowflake Token={token}"}


def test_show_endpoints(cur, srv):
    cur.execute("SHOW ENDPOINTS IN SERVICE WEB_SVC")
    assert [d[0] for d in cur.description] == ["name", "port", "port_range", "protocol", "is_public", "ingress_url",
                                               "privatelink_ingress_url"]
    found = _endpoints(cur)
    assert set(found) == {"web", "api", "internal"}
    assert found["internal"]["is_public"] == "false" and found["internal"]["ingress_url"] is None
    assert found["web"]["protocol"] == "HTTP" and found["web"]["is_public"] == "true"
    assert int(found["web"]["port"]) == 8080 and found["web"]["port_range"] is None
    hosts = set()
    for name in ("web", "api"):
        host, port = found[name]["ingress_url"].rsplit(":", 1)
        assert int(port) == srv.port
        octets = [int(o) for o in host.split(".")]
        assert octets[0] == 127 and octets[1] != 0 and host != "127.0.0.1", host
        hosts.add(host)
    assert len(hosts) == 2  # each public endpoint has its own address


def test_program_with_session_token(urls, token):
    for quoted in (True, False):
        response = httpx.get(urls["web"] + "/headers", headers={
            **auth(token, quoted), "X-SF-SPCS-Authorization": "secret", "Sf-Context-Current-User": "MALLORY",
            "X-Custom": "kept"}, timeout=30)
        assert response.status_code == 200, response.text
        seen = response.json()
        assert seen["sf-context-current-user"] == "ADMIN"
        assert "authorization" not in seen and "x-sf-spcs-authorization" not in seen
        assert seen["x-custom"] == "kept"
        assert seen["sf-context-current-user-token"]  # executeAsCaller
        assert seen["x-forwarded-for"] == "127.0.0.1"


def test_caller_token_logs_in_as_the_caller_only_behind_a_service_token(srv, urls, token):
    seen = httpx.get(urls["web"] + "/headers", headers=auth(token), timeout=30).json()
    caller = seen["sf-context-current-user-token"]
    with pytest.raises(Exception) as refused:  # alone it is no login (spcs-reference 5.3)
        srv.connect(authenticator="oauth", token=caller)
    assert "390303" in str(refused.value)
    # what the container holds in /snowflake/session/token: an OAuth token for the service's owner role
    service = subprocess.run([sys.executable, "-m", "snowport", "token", "--user", "admin", "--role", OWNER,
                              "--data-dir", str(srv.data_dir)], capture_output=True, text=True, env=srv.env,
                             check=True).stdout.strip()
    conn = srv.connect(authenticator="oauth", token=f"{service}.{caller}")
    try:
        assert conn.cursor().execute("SELECT CURRENT_USER()").fetchone()[0] == "ADMIN"
    finally:
        conn.close()


def test_oauth_token(srv, urls, cur):
    issued = subprocess.run([sys.executable, "-m", "snowport", "token", "--user", "admin", "--role", OWNER,
                             "--data-dir", str(srv.data_dir)], capture_output=True, text=True, env=srv.env, check=True)
    response = httpx.get(urls["web"] + "/headers", headers=auth(issued.stdout.strip()), timeout=30)
    assert response.status_code == 200 and response.json()["sf-context-current-user"] == "ADMIN"


def test_refusals(srv, urls, cur, other):
    # no token: a program gets 401, a browser is sent to the login page with where it was going
    assert httpx.get(urls["web"] + "/headers", timeout=30).status_code == 401
    browser = httpx.get(urls["web"] + "/a/page?x=1", headers={"Accept": "text/html"}, timeout=30)
    assert browser.status_code == 302
    assert browser.headers["location"] == "/sfc-endpoint/login?next=%2Fa%2Fpage%3Fx%3D1"
    # a wrong token
    assert httpx.get(urls["web"] + "/headers", headers=auth("ST-not-a-token"), timeout=30).status_code == 401
    # a user whose role has no access to the endpoint
    conn = srv.connect(user=other, password=OTHER_PASSWORD)
    try:
        refused = httpx.get(urls["web"] + "/headers", headers=auth(conn.rest.token), timeout=30)
        assert refused.status_code == 403 and "ING_OTHER" in refused.text
    finally:
        conn.close()
    # banned methods, and a host no endpoint has
    assert httpx.request("TRACE", urls["web"] + "/", headers=auth("x"), timeout=30).status_code == 405
    host = urls["web"].removeprefix("http://")
    # CONNECT: 405 from ingress; in its proxy form (an authority, not a path) the HTTP layer refuses it first
    for target, status in (("/", b"405"), ("example.com:443", b"400")):
        with socket.create_connection(("127.0.0.1", srv.port)) as s:
            s.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            assert s.recv(100).startswith(b"HTTP/1.1 " + status)
    unknown = httpx.get(f"http://127.0.0.1:{srv.port}/", headers={"Host": f"127.9.9.9:{srv.port}"}, timeout=30)
    assert unknown.status_code == 404 and unknown.text == "Endpoint does not exist"


def test_service_role_pat_and_key_pair_tokens(srv, urls, cur, other):
    """ING_OTHER is let in by a service role, with each program token kind; a removed PAT is refused."""
    admin = srv.connect()
    acur = admin.cursor()
    try:
        secret = acur.execute("ALTER USER ING_OTHER ADD PAT INGRESS_PAT").fetchone()[1]
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        der = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        acur.execute(f"ALTER USER ING_OTHER SET RSA_PUBLIC_KEY = '{base64.b64encode(der).decode()}'")
        fingerprint = "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode()
        now = datetime.now(UTC)
        assertion = jwt.encode({"iss": f"SNOWPORT.ING_OTHER.{fingerprint}", "sub": "SNOWPORT.ING_OTHER", "iat": now,
                                "exp": now + timedelta(seconds=60)}, key, algorithm="RS256")
        host = urls["web"].removeprefix("http://")
        exchanged = httpx.post(f"{srv.url}/oauth/token", timeout=20, data={
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion, "scope": host})
        assert exchanged.status_code == 200, exchanged.text
        tokens = {"pat": secret, "oauth": exchanged.text}
        for kind, token in tokens.items():  # no service role yet
            assert httpx.get(urls["web"] + "/headers", headers=auth(token), timeout=30).status_code == 403, kind
        cur.execute("GRANT SERVICE ROLE WEB_SVC!ALL_ENDPOINTS_USAGE TO ROLE ING_OTHER_ROLE")
        for kind, token in tokens.items():
            answer = httpx.get(urls["web"] + "/headers", headers=auth(token), timeout=30)
            assert answer.status_code == 200, (kind, answer.text)
            assert answer.json()["sf-context-current-user"] == "ING_OTHER"
        acur.execute("ALTER USER ING_OTHER REMOVE PAT INGRESS_PAT")
        assert httpx.get(urls["web"] + "/headers", headers=auth(secret), timeout=30).status_code == 401
        cur.execute("REVOKE SERVICE ROLE WEB_SVC!ALL_ENDPOINTS_USAGE FROM ROLE ING_OTHER_ROLE")
        assert httpx.get(urls["web"] + "/headers", headers=auth(tokens["oauth"]), timeout=30).status_code == 403
    finally:
        admin.close()


def test_load_balanced_across_instances(urls, token):
    seen = {httpx.get(urls["web"] + "/whoami", headers=auth(token), timeout=30).text for _ in range(6)}
    assert len(seen) == 2


def test_streaming_both_ways(urls, token):
    # the response: the first chunk arrives before the app has written the second (2 s later)
    started = time.monotonic()
    with httpx.stream("GET", urls["web"] + "/stream", headers=auth(token), timeout=30) as response:
        chunks = response.iter_raw()
        assert next(chunks).startswith(b"first")
        first_after = time.monotonic() - started
        rest = b"".join(chunks)
    assert first_after < 1.5 and b"second" in rest

    # the request: the app sees the first chunk well before the last one is sent
    def slow_body():
        yield b"a" * 1000
        time.sleep(1.5)
        yield b"b" * 1000

    seen = httpx.post(urls["web"] + "/arrival", headers=auth(token), content=slow_body(), timeout=30).json()
    assert seen["last"] - seen["first"] > 1.0

    # large bodies, intact both ways
    blob = os.urandom(1024 * 1024) * 40
    sent = httpx.post(urls["web"] + "/digest", headers=auth(token), content=blob, timeout=120)
    assert sent.json() == {"sha256": hashlib.sha256(blob).hexdigest(), "length": len(blob)}
    got = httpx.get(urls["web"] + "/blob?mb=40", headers=auth(token), timeout=120)
    assert got.content == bytes(range(256)) * 4096 * 40


def test_response_rewriting(urls, token):
    response = httpx.get(urls["web"] + "/leaky", headers=auth(token), timeout=30)
    assert response.status_code == 200 and response.text == "leaky"
    h = response.headers
    for removed in ("server", "x-powered-by", "x-xss-protection", "public-key-pins",
                    "content-security-policy-report-only", "access-control-allow-origin"):
        assert removed not in h, removed
    assert h["x-frame-options"] == "DENY"
    assert h["cross-origin-opener-policy"] == "same-origin"
    assert h["cross-origin-resource-policy"] == "same-origin"
    assert h["x-content-type-options"] == "nosniff"
    assert h["cross-origin-embedder-policy"] == "credentialless"
    assert h.get_list("content-security-policy") == [
        "img-src 'self'", "default-src 'self' 'unsafe-inline' 'unsafe-eval' blob: data:; object-src 'none'; "
        "connect-src 'self'; frame-ancestors 'self';"]
    assert h["x-my-header"] == "mine"
    assert httpx.get(urls["web"] + "/exe", headers=auth(token), timeout=30).status_code == 403


def test_cors(urls, token):
    api = urls["api"]
    allowed = httpx.get(api + "/leaky", headers={**auth(token), "Origin": ALLOWED}, timeout=30).headers
    assert allowed["access-control-allow-origin"] == ALLOWED
    assert allowed["access-control-allow-methods"] == "GET, POST"
    assert allowed["access-control-allow-headers"] == "Authorization, Content-Type"
    assert allowed["access-control-expose-headers"] == (
        "X-My-Header, X-Frame-Options, Cross-Origin-Opener-Policy, Cross-Origin-Resource-Policy, "
        "X-Content-Type-Options, Cross-Origin-Embedder-Policy, Content-Security-Policy-Report-Only, "
        "Content-Security-Policy")
    assert allowed["access-control-max-age"] == "7200"
    assert allowed["access-control-allow-credentials"] == "true"
    assert allowed["vary"] == "Origin"
    other = httpx.get(api + "/leaky", headers={**auth(token), "Origin": "https://evil.example"}, timeout=30)
    assert other.status_code == 200
    assert not [k for k in other.headers if k.startswith("access-control-")]
    # the endpoint without corsSettings never says yes to another origin
    plain = httpx.get(urls["web"] + "/leaky", headers={**auth(token), "Origin": ALLOWED}, timeout=30)
    assert "access-control-allow-origin" not in plain.headers
    # preflight: answered by ingress when authenticated, 302 when not
    preflight = {"Origin": ALLOWED, "Access-Control-Request-Method": "POST"}
    answered = httpx.options(api + "/headers", headers={**auth(token), **preflight}, timeout=30)
    assert answered.status_code == 200 and answered.headers["access-control-allow-origin"] == ALLOWED
    assert answered.headers["access-control-max-age"] == "7200"
    assert httpx.options(api + "/headers", headers=preflight, timeout=30).status_code == 302


def _login(url: str, user: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    form = client.get("/sfc-endpoint/login?next=/headers")
    assert form.status_code == 200 and "<form" in form.text
    done = client.post("/sfc-endpoint/login?next=/headers", data={"user": user, "password": password})
    assert done.status_code == 302 and done.headers["location"] == "/headers"
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Domain" not in cookie
    return client


def test_cookie_session(urls, srv):
    client = _login(urls["web"], "admin", ADMIN_PASSWORD)
    client.cookies.set("app", "1")
    seen = client.get("/headers", headers={"Authorization": "Basic YWxhZGRpbjpvcGVu"}).json()
    assert seen["sf-context-current-user"] == "ADMIN"
    assert seen["authorization"] == "Basic YWxhZGRpbjpvcGVu"  # not a Snowflake token: passed through
    assert seen["cookie"] == "app=1"  # the ingress cookie never reaches the app, the app's own do
    # the cookie is bound to its endpoint's host: the other endpoint asks for a login
    api_cookie = {"Cookie": "sfc-endpoint-session=" + client.cookies["sfc-endpoint-session"]}
    assert httpx.get(urls["api"] + "/headers", headers=api_cookie, timeout=30).status_code == 401
    # cross-origin, not GET/HEAD, cookie and no Authorization: refused
    cross = client.post("/headers", headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    assert cross.text == "Rejecting a CORS request since cookie was present, and request does not have an auth header"
    assert client.get("/sfc-endpoint/logout").status_code == 200
    assert client.get("/headers").status_code == 401
    # a wrong password shows the form again
    again = httpx.post(urls["web"] + "/sfc-endpoint/login", data={"user": "admin", "password": "wrong"}, timeout=30)
    assert again.status_code == 200 and "Incorrect username or password" in again.text


def test_websocket(urls, token):
    async def talk() -> str:
        url = urls["web"].replace("http://", "ws://") + "/ws"
        async with websockets.connect(url, additional_headers=auth(token)) as ws:
            await ws.send("hello")
            return await ws.recv()

    assert asyncio.run(talk()) == "hello"

    async def refused() -> None:
        async with websockets.connect(urls["web"].replace("http://", "ws://") + "/ws"):
            pass

    with pytest.raises(websockets.InvalidStatus):
        asyncio.run(refused())


def test_auto_resume(cur, urls, token):
    ids_before = _endpoints(cur)
    cur.execute("ALTER SERVICE WEB_SVC SUSPEND")
    until(lambda: rows(cur, "SHOW SERVICES LIKE 'WEB_SVC'")[0]["status"] == "SUSPENDED", 60, "suspended")
    started = time.monotonic()
    response = httpx.get(urls["web"] + "/headers", headers=auth(token), timeout=200)
    assert response.status_code == 200, response.text
    # resumed (SHOW follows once the controller has observed the pods: a moment on a loaded machine)
    until(lambda: rows(cur, "SHOW SERVICES LIKE 'WEB_SVC'")[0]["status"] == "RUNNING", 30, "resumed")
    print(f"auto-resumed and answered in {time.monotonic() - started:.1f} s")
    assert _endpoints(cur) == ids_before  # the ingress URLs survive suspend and resume
    # upgrade keeps them too
    cur.execute(f"ALTER SERVICE WEB_SVC FROM SPECIFICATION $${SPEC}\n# v2\n$$")
    assert _endpoints(cur) == ids_before
    # without AUTO_RESUME a suspended service answers 503
    cur.execute("ALTER SERVICE WEB_SVC SET AUTO_RESUME = FALSE")
    cur.execute("ALTER SERVICE WEB_SVC SUSPEND")
    assert httpx.get(urls["web"] + "/headers", headers=auth(token), timeout=60).status_code == 503
    assert rows(cur, "SHOW SERVICES LIKE 'WEB_SVC'")[0]["status"] == "SUSPENDED"
    cur.execute("ALTER SERVICE WEB_SVC SET AUTO_RESUME = TRUE")
    cur.execute("ALTER SERVICE WEB_SVC RESUME")
    until(lambda: rows(cur, "SHOW SERVICES LIKE 'WEB_SVC'")[0]["status"] == "RUNNING", 120, "running again")


def test_dropped_service_stops_routing(cur, urls, token):
    cur.execute(f"CREATE SERVICE GONE_SVC IN COMPUTE POOL ING_POOL FROM SPECIFICATION $${SPEC}$$")
    gone = "http://" + rows(cur, "SHOW ENDPOINTS IN SERVICE GONE_SVC")[0]["ingress_url"]
    # listened on at once (before any instance is ready: the request waits, then 503 or 200)
    until(lambda: _answers(gone), 10, "new endpoint listened on")
    cur.execute("DROP SERVICE GONE_SVC")

    def refused() -> bool:
        try:
            return httpx.get(gone + "/headers", headers=auth(token), timeout=5).status_code == 404
        except httpx.ConnectError:
            return True

    until(refused, 10, "dropped endpoint no longer served")


def _answers(url: str) -> bool:
    try:
        httpx.get(url + "/sfc-endpoint/login", timeout=5)
        return True
    except httpx.ConnectError:
        return False


# ---- a real browser ------------------------------------------------------------------------------
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_browser_login_websocket_logout(urls, cur, other):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(urls["web"] + "/")
            assert "/sfc-endpoint/login" in page.url
            page.fill("#user", "admin")
            page.fill("#password", ADMIN_PASSWORD)
            page.click("#login")
            try:
                page.wait_for_selector("#title", timeout=15000)
            except Exception:
                raise AssertionError(f"after login: {page.url}\n{page.content()[:2000]}") from None
            assert page.url == urls["web"] + "/"
            page.wait_for_function("document.getElementById('echo').textContent.startsWith('echo:')",
                                   timeout=15000)
            assert page.text_content("#echo") == "echo: ping through ingress"
            page.goto(urls["web"] + "/sfc-endpoint/logout")
            assert "Signed out" in page.content()
            page.goto(urls["web"] + "/")
            assert "/sfc-endpoint/login" in page.url

            # a user whose default role is not the owner's: 403 after login
            second = browser.new_page()
            second.goto(urls["web"] + "/headers")
            second.fill("#user", other)
            second.fill("#password", OTHER_PASSWORD)
            with second.expect_navigation():
                second.click("#login")
            assert "may not use endpoint web" in second.content()
            response = second.goto(urls["web"] + "/headers")
            assert response is not None and response.status == 403
        finally:
            browser.close()


def test_show_endpoints_needs_usage(srv, cur, other):
    conn = srv.connect(user=other, password=OTHER_PASSWORD)
    try:
        with pytest.raises(Exception, match="does not exist or not authorized"):
            conn.cursor().execute("SHOW ENDPOINTS IN SERVICE ING_DB.PUBLIC.WEB_SVC")
    finally:
        conn.close()
    assert json.dumps(_endpoints(cur))  # the owner sees them


# ---- the parts that need no server -----------------------------------------------------------------
def test_token_header_forms():
    from snowport.ingress.auth import snowflake_token

    assert snowflake_token('Snowflake Token="abc.def"') == "abc.def"
    assert snowflake_token("Snowflake Token=abc.def") == "abc.def"
    assert snowflake_token('snowflake  token = "x"') == "x"
    assert snowflake_token("Bearer abc") is None and snowflake_token(None) is None


def test_endpoint_hosts():
    from snowport.commands.service_endpoints import ingress_url, is_ingress_loopback, loopback_address
    from snowport.config import Settings

    addresses = {loopback_address(f"id{i}") for i in range(5000)}
    assert all(is_ingress_loopback(a) and not a.startswith("127.0.") for a in addresses)
    assert not is_ingress_loopback("127.0.0.1") and not is_ingress_loopback("10.1.2.3")
    assert not is_ingress_loopback("abc.example.com")
    assert ingress_url(Settings(port=8080), "p6bye") == f"{loopback_address('p6bye')}:8080"
    assert ingress_url(Settings(port=8443, ingress_domain="apps.example.com"), "p6bye") == "p6bye.apps.example.com:8443"
    assert ingress_url(Settings(port=443, ingress_domain="apps.example.com."), "p6bye") == "p6bye.apps.example.com"


def test_login_redirect_stays_on_the_host():
    from snowport.ingress.login import safe_next, without_our_cookie

    assert safe_next("/a/b?c=1") == "/a/b?c=1"
    for bad in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "", None):
        assert safe_next(bad) == "/"
    assert without_our_cookie("a=1; sfc-endpoint-session=secret; b=2") == "a=1; b=2"
