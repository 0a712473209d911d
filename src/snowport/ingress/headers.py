"""Headers in both directions through the ingress proxy.

Requests (spcs-reference 6.4): hop-by-hop headers go, `X-SF-SPCS-Authorization` goes, `Authorization`
goes only when it carries a Snowflake token, the ingress session cookie is taken out of `Cookie`, any
`Sf-Context-*` a client sent is dropped (only ingress may say who the caller is), and ingress adds
`Sf-Context-Current-User` (and `Sf-Context-Current-User-Token` for executeAsCaller) and X-Forwarded-*.

Responses (6.5): `X-XSS-Protection`, `Server`, `X-Powered-By`, `Public-Key-Pins` and the app's
`Content-Security-Policy-Report-Only` are removed (Snowport has no CSP report collector), the isolation
headers are forced, a baseline CSP is added next to the app's own, and executable content types are
refused with 403.
"""

from __future__ import annotations

from snowport.ingress.auth import is_snowflake_authorization
from snowport.ingress.login import without_our_cookie

Headers = list[tuple[bytes, bytes]]

HOP_BY_HOP = {b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te", b"trailer",
              b"transfer-encoding", b"upgrade", b"proxy-connection"}
# what a WebSocket handshake library sets itself
WS_HANDSHAKE = {b"sec-websocket-key", b"sec-websocket-version", b"sec-websocket-extensions",
                b"sec-websocket-protocol", b"sec-websocket-accept", b"host"}

REMOVED_RESPONSE = {b"x-xss-protection", b"server", b"x-powered-by", b"public-key-pins",
                    b"content-security-policy-report-only"}
FORCED_RESPONSE: Headers = [
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
    (b"cross-origin-embedder-policy", b"credentialless"),
]
BASELINE_CSP = ("default-src 'self' 'unsafe-inline' 'unsafe-eval' blob: data:; object-src 'none'; "
                "connect-src 'self'; frame-ancestors 'self';")
EXECUTABLE_TYPES = frozenset({
    "application/x-msdownload", "application/exe", "application/x-exe", "application/dos-exe",
    "application/x-winexe", "application/msdos-windows", "application/x-msdos-program", "application/x-sh",
    "application/x-bsh", "application/x-csh", "application/x-tcsh", "application/batch",
})


def request_headers(raw: Headers, user: str, caller_token: str | None, client: str, host: str,
                    websocket: bool = False) -> Headers:
    """The headers the container receives for a request from `user`."""
    out: Headers = []
    skip = HOP_BY_HOP | (WS_HANDSHAKE if websocket else set())
    for name, value in raw:
        lower = name.lower()
        if lower in skip or lower == b"x-sf-spcs-authorization" or lower.startswith(b"sf-context-"):
            continue
        if lower.startswith(b"x-forwarded-"):
            continue
        if lower == b"authorization" and is_snowflake_authorization(value.decode("latin-1")):
            continue
        if lower == b"cookie":
            value = without_our_cookie(value.decode("latin-1")).encode("latin-1")
            if not value:
                continue
        out.append((lower, value))
    out.append((b"sf-context-current-user", user.encode()))
    if caller_token is not None:
        out.append((b"sf-context-current-user-token", caller_token.encode()))
    out += [(b"x-forwarded-for", client.encode()), (b"x-forwarded-proto", b"http"),
            (b"x-forwarded-host", host.encode("latin-1"))]
    return out


def content_type(headers: Headers) -> str:
    for name, value in headers:
        if name.lower() == b"content-type":
            return value.decode("latin-1").split(";")[0].strip().lower()
    return ""


def is_executable(headers: Headers) -> bool:
    return content_type(headers) in EXECUTABLE_TYPES


def is_cors_header(lower: bytes) -> bool:
    return lower.startswith(b"access-control-")


def response_headers(raw: Headers, cors: Headers) -> Headers:
    """The app's response headers as the client gets them; `cors`: the CORS headers ingress emits (the
    app's own Access-Control-* are always dropped, and `Vary: Origin` is merged into the app's Vary)."""
    out: Headers = []
    forced = {name for name, _ in FORCED_RESPONSE}
    vary_origin = any(name == b"vary" for name, _ in cors)
    for name, value in raw:
        lower = name.lower()
        if lower in HOP_BY_HOP or lower in REMOVED_RESPONSE or lower in forced or is_cors_header(lower):
            continue
        if lower == b"vary" and vary_origin:
            continue  # merged below
        out.append((lower, value))
    out += FORCED_RESPONSE
    out.append((b"content-security-policy", BASELINE_CSP.encode()))
    if vary_origin:
        app_vary = [v.decode("latin-1") for n, v in raw if n.lower() == b"vary"]
        values = [v.strip() for item in app_vary for v in item.split(",") if v.strip()]
        if not any(v.lower() == "origin" for v in values):
            values.append("Origin")
        cors = [(n, v) for n, v in cors if n != b"vary"] + [(b"vary", ", ".join(values).encode("latin-1"))]
    out += cors
    return out


def ingress_response(status_headers: Headers | None = None) -> Headers:
    """Headers for a response ingress makes itself (errors, login pages, preflight answers)."""
    return [*(status_headers or []), *FORCED_RESPONSE, (b"content-security-policy", BASELINE_CSP.encode())]
