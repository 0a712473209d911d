"""The leanest HTTP/1.1 client for one big PUT or GET: what a server costs when the client costs next to nothing.

curl is no good for this on PUT: it sends the body in 64 KB reads and is itself the limit (about 600 MB/s here
against a server that discards). PUT sends the file with sendfile(2) (page cache to socket, no user-space copy);
GET receives into one reused buffer and writes it out, the fewest copies a user-space client can make.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

BUFFER = 8 << 20


def _connect(url: str) -> tuple[socket.socket, str, str]:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port or 80))
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    return sock, target, parts.netloc


def _read_head(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-cased names) and whatever body bytes came with the head."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed before the response head")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, rest


def put(url: str, path: Path, ok: tuple[int, ...] = (200,)) -> None:
    sock, target, host = _connect(url)
    with sock, open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        sock.sendall(f"PUT {target} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {size}\r\n\r\n".encode())
        sock.sendfile(f)
        status, _, _ = _read_head(sock)
    if status not in ok:
        raise RuntimeError(f"PUT answered {status}")


def get(url: str, path: Path) -> None:
    sock, target, host = _connect(url)
    with sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        status, headers, rest = _read_head(sock)
        if status != 200:
            raise RuntimeError(f"GET answered {status}")
        remaining = int(headers["content-length"]) - len(rest)
        buffer = memoryview(bytearray(BUFFER))
        with open(path, "wb") as out:
            out.write(rest)
            while remaining > 0:
                n = sock.recv_into(buffer, min(BUFFER, remaining))
                if n == 0:
                    raise ConnectionError(f"connection closed with {remaining} bytes still to come")
                out.write(buffer[:n])
                remaining -= n
