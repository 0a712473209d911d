"""Forwarding to a service instance: HTTP with bodies streamed in both directions, and WebSockets.

The request body is streamed from the ASGI receive channel to the instance and the response relayed piece by
piece (upstream.py), so nothing is buffered whole. A connection idle for 90 s (spcs-reference 6.7)
ends: for HTTP as a read timeout towards the instance, for WebSockets by watching both directions.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import websockets
from websockets.asyncio.client import connect as ws_connect

from snowport.ingress.headers import Headers
from snowport.ingress.upstream import Pool, UpstreamError

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


class HttpForwarder:
    def __init__(self) -> None:
        self.pool = Pool(CONNECT_TIMEOUT)

    async def close(self) -> None:
        self.pool.close()

    async def forward(self, scope: dict, receive: Receive, send: Send, host: str, port: int, headers: Headers,
                      rewrite: Callable[[int, Headers], tuple[int, Headers, bytes | None]]) -> None:
        """Send the request to the instance at host:port and relay the answer; `rewrite(status, headers)` gives
        the status and headers the client gets, with a body that replaces the app's when not None."""
        target = scope.get("raw_path") or scope["path"].encode()
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        method = scope["method"]
        chunked = any(n == b"transfer-encoding" for n, _ in scope["headers"])
        has_body = chunked or any(n == b"content-length" and v.strip() != b"0" for n, v in headers)
        headers = [(n, v) for n, v in headers if n != b"expect"]  # 100-continue is between ingress and client
        if chunked:
            headers.append((b"transfer-encoding", b"chunked"))
        response = await self.pool.request(host, port, method, target, headers,
                                           _body(receive) if has_body else None, chunked, IDLE_TIMEOUT)
        try:
            status, out_headers, replacement = rewrite(response.status, response.headers)
            await send({"type": "http.response.start", "status": status, "headers": out_headers})
            if replacement is not None:
                await send({"type": "http.response.body", "body": replacement})
                return
            ended = False
            try:
                async for chunk in response.body(IDLE_TIMEOUT):
                    # the piece that completes a Content-Length body ends the response (one send fewer)
                    ended = response.complete and response.framing == "length"
                    await send({"type": "http.response.body", "body": chunk, "more_body": not ended})
            except (UpstreamError, OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
                log.info("ingress: the instance ended a response early")
            if not ended:
                await send({"type": "http.response.body", "body": b""})
        finally:
            response.release()


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise UpstreamError("the client went away mid-request")
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


async def forward_websocket(scope: dict, receive: Receive, send: Send, host: str, port: int,
                            headers: Headers) -> None:
    """Open the WebSocket to the instance first (so its refusal becomes ours), then accept the client's and
    relay messages both ways until either side closes or nothing moves for the idle timeout."""
    path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
    url = f"ws://{host}:{port}{path}"
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
