"""Forwarding to a service instance: HTTP with bodies streamed in both directions, and WebSockets.

The request body is handed to httpx as an async iterator over the ASGI receive channel and the response
is relayed chunk by chunk, so nothing is buffered whole. A connection idle for 90 s (spcs-reference 6.7)
ends: for HTTP as a read timeout towards the instance, for WebSockets by watching both directions.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import connect as ws_connect

from snowport.ingress.headers import Headers

log = logging.getLogger("snowport.ingress")

IDLE_TIMEOUT = 90.0
CONNECT_TIMEOUT = 10.0
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


class RoundRobin:
    """Spreads requests over an endpoint's ready instances in turn."""

    def __init__(self) -> None:
        self._counters: dict[tuple[int, str], itertools.count] = {}

    def pick(self, key: tuple[int, str], choices: list[Any]) -> Any:
        counter = self._counters.setdefault(key, itertools.count())
        return choices[next(counter) % len(choices)]


class UpstreamError(Exception):
    """The instance could not be reached (connection refused, reset before a response)."""


class HttpForwarder:
    def __init__(self) -> None:
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(IDLE_TIMEOUT, connect=CONNECT_TIMEOUT), follow_redirects=False,
            limits=httpx.Limits(max_connections=1000, max_keepalive_connections=200, keepalive_expiry=30),
            trust_env=False)
        for name in ("accept", "accept-encoding", "connection", "user-agent"):
            del self.client.headers[name]  # httpx's defaults: only what the client sent goes to the app

    async def close(self) -> None:
        await self.client.aclose()

    async def forward(self, scope: dict, receive: Receive, send: Send, base: str, headers: Headers,
                      rewrite: Callable[[int, Headers], tuple[int, Headers, bytes | None]]) -> None:
        """Send the request to `base` (http://ip:port) and relay the answer; `rewrite(status, headers)` gives
        the status and headers the client gets, with a body that replaces the app's when not None."""
        path = scope.get("raw_path") or scope["path"].encode()
        url = base + path.decode("latin-1")
        if scope.get("query_string"):
            url += "?" + scope["query_string"].decode("latin-1")
        method = scope["method"]
        has_body = any(n == b"content-length" and v != b"0" for n, v in headers) or any(
            n == b"transfer-encoding" for n, _ in scope["headers"])
        request = self.client.build_request(method, url, headers=headers,
                                            content=_body(receive) if has_body else None)
        try:
            response = await self.client.send(request, stream=True)
        except httpx.TimeoutException as e:
            raise UpstreamError("the instance did not answer in time") from e
        except httpx.TransportError as e:
            raise UpstreamError(str(e) or type(e).__name__) from e
        try:
            status, out_headers, replacement = rewrite(response.status_code, list(response.headers.raw))
            await send({"type": "http.response.start", "status": status, "headers": out_headers})
            if replacement is not None or method == "HEAD":
                await send({"type": "http.response.body", "body": replacement or b""})
                return
            try:
                async for chunk in response.aiter_raw():
                    if chunk:
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
            except httpx.TransportError:
                log.info("ingress: the instance ended a response early")
            await send({"type": "http.response.body", "body": b""})
        finally:
            await response.aclose()


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


async def forward_websocket(scope: dict, receive: Receive, send: Send, base: str, headers: Headers) -> None:
    """Open the WebSocket to the instance first (so its refusal becomes ours), then accept the client's and
    relay messages both ways until either side closes or nothing moves for the idle timeout."""
    path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
    url = "ws://" + base.removeprefix("http://") + path
    if scope.get("query_string"):
        url += "?" + scope["query_string"].decode("latin-1")
    subprotocols = scope.get("subprotocols") or None
    try:
        upstream = await ws_connect(
            url, additional_headers=[(n.decode("latin-1"), v.decode("latin-1")) for n, v in headers],
            subprotocols=subprotocols, open_timeout=CONNECT_TIMEOUT, ping_interval=None, max_size=None,
            compression=None, proxy=None)
    except (TimeoutError, OSError, websockets.InvalidHandshake) as e:
        log.info("ingress: WebSocket to the instance failed: %s", type(e).__name__)
        await send({"type": "websocket.close", "code": 1011})
        return
    async with upstream:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept", "subprotocol": upstream.subprotocol})
        activity = asyncio.Event()

        async def client_to_upstream() -> None:
            while True:
                message = await receive()
                activity.set()
                if message["type"] == "websocket.disconnect":
                    await upstream.close(message.get("code", 1000))
                    return
                if message.get("bytes") is not None:
                    await upstream.send(message["bytes"])
                elif message.get("text") is not None:
                    await upstream.send(message["text"])

        async def upstream_to_client() -> None:
            try:
                async for data in upstream:
                    activity.set()
                    if isinstance(data, bytes):
                        await send({"type": "websocket.send", "bytes": data})
                    else:
                        await send({"type": "websocket.send", "text": data})
            except websockets.ConnectionClosed:
                pass
            code = upstream.close_code or 1000
            await send({"type": "websocket.close", "code": code if code != 1005 else 1000})

        async def idle() -> None:
            while True:
                activity.clear()
                try:
                    await asyncio.wait_for(activity.wait(), IDLE_TIMEOUT)
                except TimeoutError:
                    await send({"type": "websocket.close", "code": 1001})
                    return

        tasks = [asyncio.create_task(t()) for t in (client_to_upstream, upstream_to_client, idle)]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
