"""Sending a service function's rows to its endpoint: the external-function wire protocol (spcs-reference 7.3).

Rows go in batches of at most MAX_BATCH_ROWS, several at once, each a POST of `{"data": [[<row index>,
<arg>, ...], ...]}` with the sf-external-function-* headers; the answer must hold one `[<row index>,
<value>]` per row, matched by index. A 202 is polled with GET (same path, same headers and batch id) with a
growing delay; 404, 429 and 5xx (and a connection that fails) are resent with exponential backoff up to
MAX_BATCH_RETRIES; BATCH_TIMEOUT_SECS bounds a batch with its retries and polling. A batch that still
fails is ON_BATCH_FAILURE's: ABORT ends the statement with a Snowflake-form error naming the function and
the status and body, RETURN_NULL gives NULL for its rows.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from snowport.commands.endpoints import Address
from snowport.errors import SnowflakeError

RETRYABLE = frozenset({404, 429, 500, 502, 503, 504})
DEFAULT_BATCH_ROWS = 512  # when MAX_BATCH_ROWS is not set ("Snowflake decides")
CONCURRENCY = 8  # batches in flight per call of the function
SYNC_TIMEOUT = 30.0  # one synchronous request longer than this is retried (D-TRBL)
FIRST_BACKOFF = 0.05
MAX_BACKOFF = 2.0
FIRST_POLL = 0.02
MAX_POLL = 1.0
FAILED = 100351  # Snowflake's "Request failed for external function ..."

_pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="snowport-sf")
# One connection pool for every service-function call (keep-alive to each instance). Nothing on a batch's
# path takes a lock or reads the OS's random source: each releases the GIL, and with many batches in flight
# the threads then queue for it (measured: it cost more CPU than the JSON).
_HTTP = httpx.Client(limits=httpx.Limits(max_connections=256, max_keepalive_connections=64), timeout=SYNC_TIMEOUT)
_BATCH_NUMBERS = itertools.count()


@dataclass
class Target:
    """One function's calls within one statement: where its batches go and how they are sent."""

    name: str  # the function as errors name it (DB.S.F)
    path: str
    headers: dict[str, str]
    addresses: Callable[[], list[Address]]  # ready instances, waking the service when allowed
    max_batch_rows: int = DEFAULT_BATCH_ROWS
    max_retries: int = 3
    on_failure: str = "ABORT"
    timeout: float = 3600.0
    cancelled: Callable[[], bool] = lambda: False
    _turn: itertools.count = field(default_factory=itertools.count)
    _window: threading.BoundedSemaphore = field(default_factory=lambda: threading.BoundedSemaphore(CONCURRENCY))

    def call(self, columns: list[list[Any]], count: int) -> list[Any]:
        """The function's value for each of `count` rows, in order; `columns` holds each argument's values.
        The engine may call this from several threads at once (one chunk of rows each): their batches share
        one window of CONCURRENCY, so the endpoint has that many batches in flight while any chunk has one
        to send."""
        if count == 0:
            return []
        size = self.max_batch_rows
        batches = [(start, min(start + size, count)) for start in range(0, count, size)]
        futures = []
        for start, end in batches[:-1]:
            self._window.acquire()
            futures.append(_pool.submit(self._windowed, columns, start, end))
        self._window.acquire()
        last = self._windowed(columns, *batches[-1])  # the caller's own thread sends one batch itself
        return [v for f in futures for v in f.result()] + last

    def _windowed(self, columns: list[list[Any]], start: int, end: int) -> list[Any]:
        try:
            return self._batch(columns, start, end)
        finally:
            self._window.release()

    def _batch(self, columns: list[list[Any]], start: int, end: int) -> list[Any]:
        batch_id = f"{self.headers.get('sf-external-function-current-query-id', '')}:{next(_BATCH_NUMBERS)}"
        try:
            # the body is built here so the rows' lists die before the request: kept alive during it, they
            # survive into the collector's old generations and make its full collections frequent
            return self._send(_ENCODER.encode({"data": _rows(columns, start, end)}).encode(), end - start, batch_id)
        except BatchFailed as failure:
            if self.on_failure == "RETURN_NULL":
                return [None] * (end - start)
            raise failure.error(self.name, batch_id) from None

    def _send(self, body: bytes, count: int, batch_id: str) -> list[Any]:
        headers = {**self.headers, "sf-external-function-query-batch-id": batch_id,
                   "content-type": "application/json"}
        deadline = time.monotonic() + self.timeout
        retries = 0
        last: BatchFailed | None = None
        while True:
            if self.cancelled():
                raise SnowflakeError(604, "57014", "SQL execution canceled")
            url = self._url()
            try:
                response = _HTTP.post(url, content=body, headers=headers, timeout=self._left(deadline))
                if response.status_code == 202:
                    response = self._poll(url, headers, deadline)
            except httpx.TimeoutException:
                last = BatchFailed(None, "", retries, timed_out=time.monotonic() >= deadline, seconds=self.timeout)
            except httpx.HTTPError as e:
                last = BatchFailed(None, f"{type(e).__name__}: {e}", retries)
            else:
                if response.status_code == 200:
                    return _values(response, count, retries)
                last = BatchFailed(response.status_code, response.text, retries)
                if response.status_code not in RETRYABLE:
                    raise last
            if last.timed_out or retries >= self.max_retries:
                raise last
            pause = min(FIRST_BACKOFF * 2 ** retries, MAX_BACKOFF)
            if time.monotonic() + pause >= deadline:
                raise BatchFailed(last.status, last.body, retries, timed_out=True, seconds=self.timeout)
            time.sleep(pause)
            retries += 1

    def _poll(self, url: str, headers: dict[str, str], deadline: float) -> httpx.Response:
        """GET the same path (same headers and batch id, no body) until it stops answering 202."""
        delay = FIRST_POLL
        while True:
            if time.monotonic() + delay >= deadline:
                raise httpx.TimeoutException("batch timed out while polling")
            if self.cancelled():
                raise SnowflakeError(604, "57014", "SQL execution canceled")
            time.sleep(delay)
            delay = min(delay * 1.5, MAX_POLL)
            get_headers = {k: v for k, v in headers.items() if k != "content-type"}
            response = _HTTP.get(url, headers=get_headers, timeout=self._left(deadline))
            if response.status_code != 202:
                return response

    def _url(self) -> str:
        addresses = self.addresses()
        address = addresses[next(self._turn) % len(addresses)]
        return f"http://{address.host}:{address.port}{self.path}"

    @staticmethod
    def _left(deadline: float) -> float:
        return max(min(deadline - time.monotonic(), SYNC_TIMEOUT), 0.001)


_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False, default=str)


def _rows(columns: list[list[Any]], start: int, end: int) -> list[list[Any]]:
    """`[[<row index in the batch>, <arg>, ...], ...]` for rows start..end of the argument columns."""
    if len(columns) == 1:
        return [[i, v] for i, v in enumerate(columns[0][start:end])]
    if not columns:
        return [[i] for i in range(end - start)]
    return [[i, *values] for i, values in enumerate(zip(*(c[start:end] for c in columns), strict=True))]


def _values(response: httpx.Response, count: int, retries: int) -> list[Any]:
    """The batch's values by row index, checked: one per row, Content-MD5 when the service sends it."""
    digest = response.headers.get("content-md5")
    if digest and base64.b64encode(hashlib.md5(response.content).digest()).decode() != digest:  # noqa: S324
        raise BatchFailed(200, "the response body does not match its Content-MD5 header", retries)
    try:
        data = json.loads(response.content)["data"]
        if len(data) == count and [row[0] for row in data] == list(range(count)):
            return [row[1] for row in data]  # in order, as services answer
        out: list[Any] = [None] * count
        seen = 0
        for row in data:
            index = row[0]
            if not isinstance(index, int) or not 0 <= index < count:
                raise ValueError(f"row index {index!r} is not one of the batch's")
            out[index] = row[1] if len(row) > 1 else None
            seen += 1
    except (ValueError, KeyError, TypeError, IndexError) as e:
        raise BatchFailed(200, f"the response is not {{\"data\": [[<row index>, <value>], ...]}}: {e}", retries,
                          bad_format=True) from None
    if seen != count:
        raise BatchFailed(200, f"the response has {seen} rows for a batch of {count}", retries, bad_format=True)
    return out


class BatchFailed(Exception):
    """A batch that failed for good (after its retries, or at once for a status that is not retried)."""

    def __init__(self, status: int | None, body: str, retries: int, timed_out: bool = False,
                 seconds: float = 0.0, bad_format: bool = False) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.retries = retries
        self.timed_out = timed_out
        self.seconds = seconds
        self.bad_format = bad_format

    def error(self, function: str, batch_id: str) -> SnowflakeError:
        tail = f"; requests batch-id: {batch_id}; request retries: {self.retries}"
        if self.timed_out:
            return SnowflakeError(FAILED, "P0000", f"Request failed for external function {function}: the batch "
                                  f"timed out after {self.seconds:g} seconds (BATCH_TIMEOUT_SECS){tail}")
        if self.bad_format:
            return SnowflakeError(FAILED, "P0000", f"Error parsing JSON response for external function {function}: "
                                  f"{self.body}{tail}")
        if self.status is None:
            return SnowflakeError(FAILED, "P0000", f"Request failed for external function {function}: the service "
                                  f"could not be reached ({self.body}){tail}")
        body = " ".join(self.body.split())[:500]
        return SnowflakeError(FAILED, "P0000", f"Request failed for external function {function} with remote "
                              f"service error: {self.status} '{body}'{tail}")
