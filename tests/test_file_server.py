"""Presigned stage GETs on the sendfile listener (stages/file_server.py), through the real connector and raw HTTP."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from conftest import start_server


@pytest.fixture(scope="module")
def cursor(server):
    conn = server.connect()
    cur = conn.cursor()
    cur.execute("CREATE DATABASE IF NOT EXISTS FILE_SERVER_DB")
    cur.execute("CREATE OR REPLACE STAGE FILES")
    yield cur
    conn.close()


def _presigned_get(cur, name: str) -> str:
    answer = cur._execute_helper(f"GET @FILES/{name} file:///tmp/")
    assert answer["success"], answer
    return answer["data"]["presignedUrls"][0]


def test_connector_get_goes_through_the_sendfile_listener(cursor, server, tmp_path: Path):
    data = os.urandom(3 * 1024 * 1024 + 17)
    source = tmp_path / "blob.bin"
    source.write_bytes(data)
    cursor.execute(f"PUT file://{source} @FILES AUTO_COMPRESS=FALSE")
    url = _presigned_get(cursor, "blob.bin")
    port = urlsplit(url).port
    assert port is not None and port != server.port  # not the main listener

    out = tmp_path / "out"
    out.mkdir()
    cursor.execute(f"GET @FILES/blob.bin file://{out}")
    assert hashlib.md5((out / "blob.bin").read_bytes()).digest() == hashlib.md5(data).digest()

    answer = httpx.get(url)
    assert answer.status_code == 200 and answer.content == data
    assert answer.headers["content-length"] == str(len(data))
    head = httpx.head(url)
    assert head.status_code == 200 and head.headers["content-length"] == str(len(data)) and head.content == b""


def test_sendfile_listener_refuses_what_the_main_route_refuses(cursor, server, tmp_path: Path):
    source = tmp_path / "small.txt"
    source.write_text("hello")
    cursor.execute(f"PUT file://{source} @FILES AUTO_COMPRESS=FALSE")
    url = _presigned_get(cursor, "small.txt")
    base, token = url.rsplit("/", 1)
    assert httpx.get(f"{base}/{token[:-3]}xyz").status_code == 403  # forged signature
    assert httpx.get(f"{base}/not-a-token").status_code == 403
    assert httpx.put(url, content=b"x").status_code == 405  # GETs only: PUTs use the main listener
    assert httpx.get(url.replace("/stage-files/", "/elsewhere/")).status_code == 404
    cursor.execute("REMOVE @FILES/small.txt")
    assert httpx.get(url).status_code == 404
    # the main route answers the same for the same token
    main = f"http://127.0.0.1:{server.port}/stage-files/{token}"
    assert httpx.get(main).status_code == 404


def test_file_port_minus_one_keeps_gets_on_the_main_listener(tmp_path: Path):
    srv = start_server(tmp_path / "data", SNOWPORT_FILE_PORT="-1")
    try:
        cur = srv.connect().cursor()
        cur.execute("CREATE DATABASE MAIN_ONLY")
        cur.execute("CREATE STAGE FILES")
        source = tmp_path / "a.txt"
        source.write_text("main listener")
        cur.execute(f"PUT file://{source} @FILES AUTO_COMPRESS=FALSE")
        url = _presigned_get(cur, "a.txt")
        assert urlsplit(url).port == srv.port
        assert httpx.get(url).text == "main listener"
    finally:
        srv.stop()
