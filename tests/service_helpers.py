"""What the end-to-end service tests share: a server of their own on the engine, rows as dicts, waiting."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from registry_helpers import ensure_base_image, ensure_engine, remove_server_pods

from conftest import Server, start_server

T = TypeVar("T")


def engine_server(tmp_path_factory: Any, name: str, **env: str) -> Iterator[Server]:
    """A module's own server with the engine and the base image ready; what it leaves on the engine goes
    when it stops (only its own pods: other tests share the engine). Use as a generator fixture body."""
    ensure_engine()
    ensure_base_image()
    server = start_server(tmp_path_factory.mktemp(name) / "data", **env)
    yield server
    server.stop()
    remove_server_pods(server.data_dir)


def rows(cur: Any, sql: str) -> list[dict]:
    values = cur.execute(sql).fetchall()
    return [dict(zip([d[0] for d in cur.description], v, strict=True)) for v in values]


def until(fn: Callable[[], T], timeout: float, what: str) -> T:
    """fn()'s first truthy answer; fails with `what` after `timeout` seconds."""
    deadline = time.time() + timeout
    while not (result := fn()):
        assert time.time() < deadline, what
        time.sleep(0.2)
    return result
