"""The fast path for presigned stage GETs: the file goes from the page cache to the socket with sendfile(2).

Measured (bench/bench_dataplane.py, docs/architecture.md "Data plane"): through uvicorn's ASGI body path a
1 GiB GET costs each chunk a read into Python memory and a copy into the transport, about 0.65x nginx's
static GET; nginx sends the file with sendfile(2). This listener does the same: a thread per connection
parses the request with h11, checks the presigned token exactly as the ASGI route does (wire/files.py), and
blocks in sendfile(2) until the kernel has taken the file. (asyncio's selector sendfile was tried first: it
waits for an epoll wake-up per socket-buffer of data and reached about half nginx's rate.)
Anything it cannot serve (a bad or expired token, a missing file) gets the status the ASGI route gives.
One request per connection: a presigned URL names one file, and the connectors open a connection per file anyway.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import struct
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

import h11

log = logging.getLogger("snowport.file_server")

PREFIX = "/stage-files/"
IDLE_SECONDS = 90  # a client that sends nothing, or reads nothing, for this long is dropped
# (status, path): the token's check and the file it names, decided by the caller (wire/files.py's rules)
Resolver = Callable[[str], tuple[int, Path | None]]


class FileServer:
    """A sendfile GET listener on its own socket: a thread per connection, each blocking in sendfile(2)."""

    def __init__(self, sock: socket.socket, resolve: Resolver) -> None:
        self.sock = sock
        self.address = sock.getsockname()[:2]
        self._server = _Listener(sock, resolve)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.5},
                                        name="stage-file-server", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


class _Listener(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, sock: socket.socket, resolve: Resolver) -> None:
        super().__init__(sock.getsockname()[:2], _Handler, bind_and_activate=False)
        self.socket.close()
        self.socket = sock  # already bound and listening (cli._listen), like the main listener's
        self.resolve = resolve


class _Handler(socketserver.BaseRequestHandler):
    server: _Listener

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(IDLE_SECONDS)
        try:
            self._serve_one(sock)
        except (OSError, h11.ProtocolError):
            pass
        except Exception:  # noqa: BLE001 - one bad request must not end the listener
            log.exception("stage file request failed")

    def _serve_one(self, sock: socket.socket) -> None:
        conn = h11.Connection(h11.SERVER)
        event = conn.next_event()
        while event is h11.NEED_DATA:
            data = sock.recv(65536)
            if not data:
                return
            conn.receive_data(data)
            event = conn.next_event()
        if not isinstance(event, h11.Request):
            return
        method = event.method.decode().upper()
        target = unquote(event.target.decode().split("?", 1)[0])
        if method not in ("GET", "HEAD") or not target.startswith(PREFIX):
            sock.sendall(_head(405 if target.startswith(PREFIX) else 404, 0))
            return
        status, path = self.server.resolve(target[len(PREFIX):])
        if status != 200 or path is None:
            sock.sendall(_head(status, 0))
            return
        try:
            f = open(path, "rb")  # noqa: SIM115 - closed by the with below
        except OSError:
            sock.sendall(_head(404, 0))
            return
        with f:
            size = path.stat().st_size
            sock.sendall(_head(200, size, "application/octet-stream"))
            if method == "GET" and size:
                # Blocking, without a Python-level timeout: socket.sendfile then makes one sendfile(2) call for
                # the whole file instead of a poll per socket buffer; the kernel's send timeout still ends a
                # client that stops reading.
                sock.settimeout(None)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", IDLE_SECONDS, 0))
                sock.sendfile(f, 0, size)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)


_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed"}


def _head(status: int, length: int, content_type: str | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}", f"Content-Length: {length}",
             "Connection: close"]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
