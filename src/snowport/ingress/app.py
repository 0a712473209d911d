"""The ingress entry point: an ASGI layer in front of every other route that takes the requests whose Host is
a public endpoint's and answers them (spcs-reference 6.2-6.7). Order of checks for such a request:

1. the host names an existing endpoint (else 404 `Endpoint does not exist`); TRACE / CONNECT: 405;
2. `/sfc-endpoint/login` and `/sfc-endpoint/logout` are ingress's own pages;
3. the caller: `Authorization: Snowflake Token=...` (auth.identify), else the session cookie; none: a
   browser (Accept: text/html) and a CORS preflight get 302 to the login page, a program 401;
4. a cross-origin non-GET/HEAD request with a cookie and no Authorization header: 403 (6.6);
5. `endpoint_allowed` for the caller's role closure, else 403;
6. a preflight of an endpoint with corsSettings is answered by ingress;
7. a suspended service with AUTO_RESUME is resumed and the request waits for a ready instance (503 when
   none comes), then it is proxied with the headers of 6.4 and the response rewritten per 6.5 / 6.6.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import parse_qs

from snowport.catalog.store import CatalogObject
from snowport.commands.auto_resume import resume_for_use
from snowport.commands.endpoints import Address, endpoint_allowed, ready_addresses
from snowport.ingress import login
from snowport.ingress.auth import Caller, active_user, default_role, identify, roles_of, snowflake_token
from snowport.ingress.cors import COOKIE_WITHOUT_AUTH, Cors, is_preflight
from snowport.ingress.headers import Headers, ingress_response, is_executable, request_headers, response_headers
from snowport.ingress.hosts import EndpointHosts, hostname
from snowport.ingress.listeners import LoopbackListeners
from snowport.ingress.proxy import HttpForwarder, Receive, RoundRobin, Send, forward_websocket
from snowport.ingress.upstream import ConnectFailed, UpstreamError
from snowport.spec import ServiceSpec, parse_stored_spec
from snowport.spec.models import Endpoint

BANNED_METHODS = ("TRACE", "CONNECT")
# how long a request waits for a ready instance: a running service briefly below MIN_READY_INSTANCES, and
# a service that this request (or another) has just resumed and whose containers are starting
READY_WAIT = 10.0
RESUME_WAIT = 180.0
# spcs-reference 5.3: SERVICE_CALLER_TOKEN_VALIDITY_SECS defaults to 120


class Ingress:
    def __init__(self, core: Any) -> None:
        self.core = core
        self.hosts = EndpointHosts(core)
        self.listeners = LoopbackListeners(self.hosts.loopback_addresses)
        self.browser = login.BrowserSessions()
        self.http = HttpForwarder()
        self.balance = RoundRobin()
        self._specs: dict[tuple[int, str], ServiceSpec] = {}

    async def close(self) -> None:
        await self.http.close()

    def middleware(self, app: Any) -> IngressMiddleware:
        return IngressMiddleware(app, self)

    def _spec(self, service: CatalogObject) -> ServiceSpec:
        key = (service.id, str(service.props.get("spec_digest")))
        spec = self._specs.get(key)
        if spec is None:
            if len(self._specs) > 1000:
                self._specs.clear()
            spec = self._specs[key] = parse_stored_spec(service.props["spec_text"], service.props.get("using"))
        return spec

    # ---- the request ------------------------------------------------------------------------
    async def handle(self, scope: dict, receive: Receive, send: Send, host: str) -> None:
        websocket = scope["type"] == "websocket"
        found = self.hosts.find(host)
        endpoint = None
        if found is not None:
            service, name = found
            endpoint = next((e for e in self._spec(service).spec.endpoints if e.name == name and e.public), None)
        if found is None or endpoint is None:
            return await _respond(send, websocket, 404, b"Endpoint does not exist")
        method = "GET" if websocket else scope["method"]
        if method in BANNED_METHODS:
            return await _respond(send, websocket, 405, b"Method Not Allowed", [(b"allow", b"GET, HEAD, POST, PUT, "
                                                                              b"PATCH, DELETE, OPTIONS")])
        headers = {n.decode("latin-1").lower(): v.decode("latin-1") for n, v in scope["headers"]}
        if not websocket and scope["path"] == login.LOGIN_PATH:
            return await self._login(scope, receive, send, host)
        if not websocket and scope["path"] == login.LOGOUT_PATH:
            return await self._logout(send, headers)
        token = snowflake_token(headers.get("authorization"))
        caller = identify(self.core, token) if token is not None else self._cookie_caller(headers, host)
        preflight = not websocket and is_preflight(method, headers)
        if caller is None:
            if preflight or (token is None and "text/html" in headers.get("accept", "")):
                target = scope["path"] + ("?" + scope["query_string"].decode("latin-1") if scope.get("query_string")
                                          else "")
                return await _respond(send, websocket, 302, b"", [(b"location", login.login_redirect(target)
                                                                   .encode("latin-1"))])
            return await _respond(send, websocket, 401, b"Authentication required: sign in at "
                                  + login.LOGIN_PATH.encode() + b' or send Authorization: Snowflake Token="<token>"',
                                  [(b"www-authenticate", b'Snowflake Token=""')])
        cors = Cors.of(endpoint)
        origin = headers.get("origin")
        # same origin: the Origin's host[:port] is the Host (the scheme is left aside: a TLS proxy may front us)
        cross_origin = origin is not None and origin.rstrip("/").lower().partition("://")[2] != headers.get(
            "host", "").lower()
        unsafe = (method not in ("GET", "HEAD")) if not websocket else not (cors and cors.allows(origin))
        if cross_origin and token is None and "cookie" in headers and unsafe:
            return await _respond(send, websocket, 403, COOKIE_WITHOUT_AUTH)
        if not endpoint_allowed(self.core, roles_of(self.core, caller), service, endpoint.name):
            return await _respond(send, websocket, 403, f"User {caller.user} (role {caller.role}) may not use "
                                  f"endpoint {endpoint.name} of service {service.name}.".encode())
        cors_headers = cors.headers_for(origin) if cors is not None else []
        if preflight and cors is not None:
            return await _respond(send, False, 200, b"", cors_headers)
        caller_token = self._caller_token(service, caller)
        client = (scope.get("client") or ("", 0))[0]
        upstream_headers = request_headers(scope["headers"], caller.user, caller_token, client,
                                           headers.get("host", host), websocket)

        def rewrite(status: int, app_headers: Headers) -> tuple[int, Headers, bytes | None]:
            if is_executable(app_headers):
                body = b"Forbidden: executable content is not served through ingress."
                return 403, _plain_headers(body), body
            return status, response_headers(app_headers, cors_headers), None

        deadline = await self._wake(service)
        while True:
            address = await self._ready_address(service, endpoint, deadline)
            if address is None:
                return await _respond(send, websocket, 503, f"Service {service.name} has no ready instance for "
                                      f"endpoint {endpoint.name}; retry later.".encode(), [(b"retry-after", b"5")])
            try:
                if websocket:
                    return await forward_websocket(scope, receive, send, address.host, address.port,
                                                   upstream_headers)
                return await self.http.forward(scope, receive, send, address.host, address.port, upstream_headers,
                                               rewrite)
            except ConnectFailed:
                # an instance listed ready that does not accept yet (its state lags a resume or a restart):
                # nothing was sent either way, so another try within the wait is safe
                if time.monotonic() >= deadline:
                    return await _respond(send, websocket, 503, f"Service {service.name} did not accept the "
                                          f"connection; retry later.".encode(), [(b"retry-after", b"5")])
                await asyncio.sleep(0.2)
            except UpstreamError as e:
                return await _respond(send, False, 503, f"Service {service.name} did not answer: {e}".encode())

    def _cookie_caller(self, headers: dict[str, str], host: str) -> Caller | None:
        user = self.browser.user(login.cookie_value(headers), host)
        if user is None or not active_user(self.core, user):
            return None
        return Caller(user, default_role(self.core, user))  # the browser flow checks the default role

    def _caller_token(self, service: CatalogObject, caller: Caller) -> str | None:
        """executeAsCaller: a short-lived OAuth token for the caller (spcs-reference 5.3)."""
        if not self._spec(service).execute_as_caller:
            return None
        return self.core.identities.caller_token(caller.user, caller.role)

    async def _wake(self, service: CatalogObject) -> float:
        """Resume a suspended service whose AUTO_RESUME allows it; the deadline for a ready instance."""
        if service.props.get("suspended") and await asyncio.to_thread(resume_for_use, self.core, service):
            return time.monotonic() + RESUME_WAIT
        return time.monotonic() + READY_WAIT

    async def _ready_address(self, service: CatalogObject, endpoint: Endpoint, deadline: float) -> Address | None:
        """A ready instance (round-robin), waiting until `deadline` for one (None for a suspended service)."""
        while True:
            current = self.core.catalog.by_id(service.id)
            if current is None or current.props.get("suspended"):
                return None
            addresses = ready_addresses(self.core, current, endpoint)
            if addresses:
                return self.balance.pick((service.id, endpoint.name), addresses)
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(0.1)

    # ---- login pages --------------------------------------------------------------------------
    async def _login(self, scope: dict, receive: Receive, send: Send, host: str) -> None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        next_path = login.safe_next((query.get("next") or ["/"])[0])
        if scope["method"] != "POST":
            return await _respond(send, False, 200, login.login_page(self.core.account_name, next_path),
                                  content_type=b"text/html; charset=utf-8")
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > login.MAX_FORM_BYTES:
                return await _respond(send, False, 413, b"Login form too large")
            if not message.get("more_body"):
                break
        user, error = await login.check_form(self.core, body)
        if user is None:
            return await _respond(send, False, 200, login.login_page(self.core.account_name, next_path, error),
                                  content_type=b"text/html; charset=utf-8")
        cookie = self.browser.open(user, host)
        await _respond(send, False, 302, b"", [(b"location", next_path.encode("latin-1")),
                                               (b"set-cookie", login.session_cookie(cookie).encode())])

    async def _logout(self, send: Send, headers: dict[str, str]) -> None:
        self.browser.close(login.cookie_value(headers))
        await _respond(send, False, 200, login.LOGGED_OUT, [(b"set-cookie", login.expired_cookie().encode())],
                       content_type=b"text/html; charset=utf-8")


def _plain_headers(body: bytes, content_type: bytes = b"text/plain; charset=utf-8") -> Headers:
    return ingress_response([(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
                             (b"cache-control", b"no-store")])


async def _respond(send: Send, websocket: bool, status: int, body: bytes, extra: Headers | None = None,
                   content_type: bytes = b"text/plain; charset=utf-8") -> None:
    """A response ingress makes itself; for a WebSocket handshake, a refusal (the server answers 403)."""
    if websocket:
        await send({"type": "websocket.close", "code": 1008})
        return
    await send({"type": "http.response.start", "status": status,
                "headers": [*_plain_headers(body, content_type), *(extra or [])]})
    await send({"type": "http.response.body", "body": body})


class IngressMiddleware:
    """Routes requests whose Host is of the ingress form to ingress, everything else to the app."""

    def __init__(self, app: Any, ingress: Ingress) -> None:
        self.app = app
        self.ingress = ingress

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = next((v for n, v in scope["headers"] if n == b"host"), b"").decode("latin-1")
            name = hostname(host)
            if name and self.ingress.hosts.is_ingress_host(name):
                await self.ingress.handle(scope, receive, send, name)
                return
        await self.app(scope, receive, send)
