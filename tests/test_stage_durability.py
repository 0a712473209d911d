"""Stage files survive restarts; an upload cut off (client gone, or server killed) leaves nothing listed."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import time
from urllib.parse import urlparse

from conftest import start_server


def _presigned_put(cur, local: str) -> str:
    """The URL the connector would upload to, obtained through the connector's own request path."""
    ret = cur._execute_helper(f"PUT file://{local} @durable AUTO_COMPRESS=FALSE OVERWRITE=TRUE")
    return ret["data"]["stageInfo"]["presignedUrl"]


def _start_partial_upload(url: str, total: int, sent: int) -> socket.socket:
    u = urlparse(url)
    sock = socket.create_connection((u.hostname, u.port), timeout=10)
    sock.sendall(f"PUT {u.path} HTTP/1.1\r\nHost: {u.netloc}\r\nContent-Length: {total}\r\n\r\n".encode())
    sock.sendall(os.urandom(sent))
    return sock


def _ls(cur) -> list[tuple]:
    return [(r[0], r[1], r[2]) for r in cur.execute("LS @durable").fetchall()]


def test_interrupted_uploads_and_restart(tmp_path):
    data_dir = tmp_path / "data"
    local = tmp_path / "payload.bin"
    payload = os.urandom(8 * 1024 * 1024)
    local.write_bytes(payload)
    server = start_server(data_dir)
    try:
        conn = server.connect()
        cur = conn.cursor()
        cur.execute("CREATE DATABASE DURABLE_DB")
        cur.execute("CREATE STAGE durable")
        # 1. The client goes away halfway: nothing becomes visible, the server keeps serving.
        sock = _start_partial_upload(_presigned_put(cur, str(local)), 50_000_000, 2_000_000)
        time.sleep(0.3)
        sock.close()
        time.sleep(0.3)
        assert _ls(cur) == []
        # 2. The server is killed mid-upload.
        sock = _start_partial_upload(_presigned_put(cur, str(local)), 50_000_000, 3_000_000)
        time.sleep(0.3)
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait()
        sock.close()
    finally:
        server.stop()
    leftovers = [p for p in (data_dir / "stages").rglob("*") if p.is_file() and "index.sqlite" not in p.name]
    assert leftovers == [] or all(".uploads" in p.parts for p in leftovers)

    server = start_server(data_dir, port=server.port)
    try:
        conn = server.connect(database="DURABLE_DB")
        cur = conn.cursor()
        assert _ls(cur) == []
        assert not any((data_dir / "stages" / ".uploads").iterdir())
        # The same upload succeeds after the restart.
        cur.execute(f"PUT file://{local} @durable AUTO_COMPRESS=FALSE")
        expected = [("durable/payload.bin", len(payload), hashlib.md5(payload).hexdigest())]
        assert _ls(cur) == expected
        conn.close()
    finally:
        server.stop()
    assert server.proc.returncode == 0

    # A clean restart keeps every file and its metadata.
    server = start_server(data_dir, port=server.port)
    try:
        conn = server.connect(database="DURABLE_DB")
        assert _ls(conn.cursor()) == expected
        conn.close()
    finally:
        server.stop()


def test_replacing_a_file_frees_the_old_one_in_the_background(tmp_path):
    """OVERWRITE=TRUE replaces atomically; a GET right after sees the new bytes (without waiting for the md5), and
    the replaced file's blocks are freed later, leaving nothing behind in `.uploads`."""
    data_dir = tmp_path / "data"
    local, out = tmp_path / "client" / "blob.bin", tmp_path / "out"
    local.parent.mkdir()
    out.mkdir()
    server = start_server(data_dir)
    try:
        conn = server.connect()
        cur = conn.cursor()
        cur.execute("CREATE DATABASE REPLACE_DB")
        cur.execute("CREATE STAGE durable")
        for generation in range(3):
            payload = os.urandom(4 * 1024 * 1024) + bytes([generation])
            local.write_bytes(payload)
            cur.execute(f"PUT file://{local} @durable AUTO_COMPRESS=FALSE OVERWRITE=TRUE")
            cur.execute(f"GET @durable/blob.bin file://{out}/")
            assert (out / "blob.bin").read_bytes() == payload
        uploads = data_dir / "stages" / ".uploads"
        deadline = time.monotonic() + 10
        while any(uploads.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(uploads.iterdir())
        assert _ls(cur) == [("durable/blob.bin", len(payload), hashlib.md5(payload).hexdigest())]
        conn.close()
    finally:
        server.stop()
