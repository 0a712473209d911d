"""`corsSettings` of a public endpoint, applied by the proxy (spcs-reference 6.6).

Only when the request's Origin is one of the allowed origins does ingress emit CORS headers: the Origin
itself as Access-Control-Allow-Origin, the configured methods and headers, the configured exposed headers
plus the security headers ingress sets, Max-Age 7200, Allow-Credentials true, and `Vary: Origin`.
"""

from __future__ import annotations

from dataclasses import dataclass

from snowport.spec.models import Endpoint

MAX_AGE = b"7200"
ALWAYS_EXPOSED = ("X-Frame-Options", "Cross-Origin-Opener-Policy", "Cross-Origin-Resource-Policy",
                  "X-Content-Type-Options", "Cross-Origin-Embedder-Policy", "Content-Security-Policy-Report-Only",
                  "Content-Security-Policy")
COOKIE_WITHOUT_AUTH = b"Rejecting a CORS request since cookie was present, and request does not have an auth header"


@dataclass(frozen=True)
class Cors:
    origins: frozenset[str]
    methods: tuple[str, ...]
    headers: tuple[str, ...]
    expose: tuple[str, ...]

    @classmethod
    def of(cls, endpoint: Endpoint) -> Cors | None:
        settings = endpoint.cors_settings
        if settings is None:
            return None
        return cls(frozenset(o.rstrip("/").lower() for o in settings.allow_origin), tuple(settings.allow_methods or ()),
                   tuple(settings.allow_headers or ()), tuple(settings.expose_headers or ()))

    def allows(self, origin: str | None) -> bool:
        return origin is not None and origin.rstrip("/").lower() in self.origins

    def headers_for(self, origin: str | None) -> list[tuple[bytes, bytes]]:
        """The CORS headers of a response to a request from `origin` (none for an origin not allowed)."""
        if origin is None or not self.allows(origin):
            return []
        exposed = list(self.expose) + [h for h in ALWAYS_EXPOSED if h.lower() not in {e.lower() for e in self.expose}]
        out = [(b"access-control-allow-origin", origin.encode("latin-1"))]
        if self.methods:
            out.append((b"access-control-allow-methods", ", ".join(self.methods).encode()))
        if self.headers:
            out.append((b"access-control-allow-headers", ", ".join(self.headers).encode()))
        out += [(b"access-control-expose-headers", ", ".join(exposed).encode()),
                (b"access-control-max-age", MAX_AGE), (b"access-control-allow-credentials", b"true"),
                (b"vary", b"Origin")]
        return out


def is_preflight(method: str, headers: dict[str, str]) -> bool:
    return method == "OPTIONS" and "origin" in headers and "access-control-request-method" in headers
