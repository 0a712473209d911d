"""Listening sockets opened and closed at run time in the running uvicorn server, one per public endpoint's
loopback address (the default ingress, no DNS needed: commands/service_endpoints.py).

uvicorn has no API to add a listener once serving, so this is the one place that knows its internals: a
listener is `loop.create_server` with the same protocol factory uvicorn's own startup uses (its config,
server state and lifespan state), and it is appended to `server.servers`, so uvicorn's shutdown closes it
and drains its connections like any other. A server bound to 0.0.0.0 already accepts every loopback
address: then nothing is opened.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("snowport.ingress")

# how often the wanted addresses are compared with the open ones (a new service's endpoint answers within it)
INTERVAL = 0.25


class CoalescingTransport:
    """The writes one turn of the event loop makes go out as one send: uvicorn writes a response's head and
    its body separately, and each send to a loopback socket costs the packet's whole delivery (about 250 µs
    on the 2-core VM, bench/bench_ingress.py), so a small response costs one send instead of two."""

    def __init__(self, transport: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._scheduled = False

    def write(self, data: bytes) -> None:
        if not data:
            return
        self._pending.append(bytes(data))
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._flush)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def _flush(self) -> None:
        self._scheduled = False
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(len(p) for p in self._pending)

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class LoopbackListeners:
    def __init__(self, wanted: Callable[[], set[str]], interval: float = INTERVAL) -> None:
        self.wanted = wanted  # the addresses that should be listened on now
        self.interval = interval
        self.open: dict[str, asyncio.base_events.Server] = {}
        self._failed: set[str] = set()
        self._task: asyncio.Task | None = None
        self._server: Any = None

    def attach(self, server: Any) -> None:
        """Start keeping listeners in `server` (a started uvicorn.Server; called from its startup)."""
        config = server.config
        if config.host in ("0.0.0.0", "::") or config.fd is not None or config.uds is not None:
            return
        self._server = server
        self._task = asyncio.get_running_loop().create_task(self._run())

    def _protocol(self) -> Any:
        server = self._server
        config = server.config
        protocol = config.http_protocol_class(config=config, server_state=server.server_state,
                                              app_state=server.lifespan.state)
        made = protocol.connection_made
        loop = asyncio.get_running_loop()
        protocol.connection_made = lambda transport: made(CoalescingTransport(transport, loop))
        return protocol

    async def _run(self) -> None:
        while not self._server.should_exit:
            try:
                await self.sync()
            except Exception:  # noqa: BLE001 - a failed pass is retried; the server must keep serving
                log.exception("ingress listeners: sync failed")
            await asyncio.sleep(self.interval)

    async def sync(self) -> None:
        """Open a listener for each wanted address not yet open; close those no longer wanted."""
        wanted = self.wanted()
        port = self._server.config.port
        loop = asyncio.get_running_loop()
        for address in wanted - set(self.open):
            try:
                listener = await loop.create_server(self._protocol, host=address, port=port,
                                                    backlog=self._server.config.backlog, reuse_address=True)
            except OSError as e:
                if address not in self._failed:
                    log.warning("cannot listen on %s:%s for a public endpoint: %s", address, port, e)
                    self._failed.add(address)
                continue
            self._failed.discard(address)
            self.open[address] = listener
            self._server.servers.append(listener)
        for address in set(self.open) - wanted:
            listener = self.open.pop(address)
            listener.close()
            if listener in self._server.servers:
                self._server.servers.remove(listener)
