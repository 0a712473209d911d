"""POST /oauth/token: the key-pair JWT exchange programs use to get an OAuth token for ingress.

Form body: `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`, `assertion=<key-pair JWT>`,
`scope=[session:role:<ROLE> ]<ingress host>`. The answer is the access token as plain text (as
Snowflake answers it), usable as `Authorization: Snowflake Token="..."` at an endpoint and with the
connector's `authenticator="oauth"`. A refusal is HTTP 400 with RFC 6749's JSON error body.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from snowport.core import Snowport
from snowport.security.identity import OAuthError

MAX_FORM_BYTES = 64 * 1024  # a JWT and a scope; anything larger is not a token request


class OAuthToken:
    def __init__(self, core: Snowport) -> None:
        self.core = core

    def routes(self) -> list[Route]:
        return [Route("/oauth/token", self.token, methods=["POST"])]

    async def token(self, request: Request) -> Response:
        raw = await request.body()
        if len(raw) > MAX_FORM_BYTES:
            return _error(OAuthError("invalid_request", "The request body is too large."))
        form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
        try:
            token = await run_in_threadpool(self.core.identities.exchange, form.get("grant_type", ""),
                                            form.get("assertion", ""), form.get("scope", ""))
        except OAuthError as e:
            return _error(e)
        return PlainTextResponse(token, headers={"Cache-Control": "no-store"})


def _error(e: OAuthError) -> JSONResponse:
    return JSONResponse({"error": e.error, "error_description": e.description}, status_code=400,
                        headers={"Cache-Control": "no-store"})
