"""Wire-level benchmark: Snowport versus fakesnow, both driven by the real Snowflake Python connector.

What it measures
----------------
Both servers speak the Snowflake HTTP protocol, so the same client (``snowflake-connector-python``) and the same SQL
are used against each, one server after the other, in one run:

1. ``SELECT 1`` round-trip latency. After 50 warm-up executions, ``cursor.execute("SELECT 1"); cursor.fetchall()`` is
   timed ``--iterations`` times (default 500); the median and p95 are reported in milliseconds. This is the fixed
   per-statement cost: HTTP request, auth/session lookup, parsing/translation, execution and result encoding.
2. Fetching 100,000 rows. A table ``T (ID NUMBER, NAME VARCHAR, AMOUNT FLOAT, D DATE)`` is built with
   ``TABLE(GENERATOR(ROWCOUNT => n))`` and ``SEQ4()`` (accepted by both servers), then
   ``cursor.execute("SELECT * FROM T"); cursor.fetchall()`` is timed ``--repeats`` times (default 5) after one
   warm-up; the row count is checked each time. Best and median seconds and rows/second are reported. This is the
   bulk path: result serialisation on the server (JSON or Arrow, inline or chunked) and decoding in the client.

Why
---
fakesnow is the usual local stand-in for Snowflake in tests, so it is the yardstick: Snowport should not be slower
per statement (latency ratio ``snowport_median / fakesnow_median <= 1.0``) and should move rows at least as fast
(throughput ratio ``snowport_rows_per_s / fakesnow_rows_per_s >= 1.0``).

Each server is started as a subprocess on a free port with a temporary data directory, measured, and stopped before
the next one starts, so the two never compete for CPU. The last line of output is ``RESULT {json}`` with every number.

Run from the repository root::

    .venv/bin/python bench/bench_wire.py [--iterations N] [--repeats R] [--rows ROWS]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Must be set before the connector is imported/used, else every login probes cloud metadata endpoints.
os.environ["SNOWFLAKE_DISABLE_PLATFORM_DETECTION"] = "true"

import snowflake.connector  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _servers import free_port, wait_for_port  # noqa: E402

BIN = Path(sys.executable).parent
ADMIN_PASSWORD = "benchpw"
WARMUP_SELECT1 = 50
STARTUP_TIMEOUT_S = 60.0


def table_sql(rows: int) -> str:
    """The same CREATE TABLE ... AS statement is sent to both servers."""
    return (
        "CREATE OR REPLACE TABLE T AS SELECT "
        "SEQ4() AS ID, "
        "'name_' || SEQ4() AS NAME, "
        "SEQ4() * 1.5::FLOAT AS AMOUNT, "
        "DATEADD(day, SEQ4() % 1000, '2020-01-01'::DATE) AS D "
        f"FROM TABLE(GENERATOR(ROWCOUNT => {rows}))"
    )


@dataclass
class Server:
    name: str
    cmd: list[str]
    env: dict[str, str]
    connect: Callable[[int], Any]  # port -> connection
    setup: list[str] = field(default_factory=list)  # statements run once after login


@contextlib.contextmanager
def running(server: Server, port: int, workdir: Path) -> Iterator[None]:
    """Start the server subprocess, wait for its port, and always stop it (showing stderr if it failed)."""
    out_path, err_path = workdir / f"{server.name}.stdout", workdir / f"{server.name}.stderr"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(server.cmd, env={**os.environ, **server.env}, stdout=out, stderr=err, cwd=workdir)
    failed = False
    try:
        wait_for_port(port, proc, STARTUP_TIMEOUT_S)
        yield
    except BaseException:
        failed = True
        raise
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if failed:
            stderr = err_path.read_text(errors="replace").strip()
            print(f"--- {server.name} stderr (exit code {proc.returncode}) ---\n{stderr or '<empty>'}", file=sys.stderr)


def percentile(values: list[float], pct: float) -> float:
    """Linear-interpolated percentile (same as numpy's default)."""
    ordered = sorted(values)
    k = (len(ordered) - 1) * pct / 100.0
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def run_statement(cur: Any, server: str, sql: str) -> list:
    try:
        cur.execute(sql)
        return cur.fetchall()
    except Exception as exc:
        raise RuntimeError(f"{server}: statement failed: {sql!r}: {type(exc).__name__}: {exc}") from exc


def measure(server: Server, port: int, iterations: int, repeats: int, rows: int) -> dict[str, Any]:
    result: dict[str, Any] = {}
    t0 = time.perf_counter()
    conn = server.connect(port)
    result["connect_s"] = time.perf_counter() - t0
    try:
        cur = conn.cursor()
        for sql in server.setup:
            run_statement(cur, server.name, sql)

        # 1. SELECT 1 latency
        for _ in range(WARMUP_SELECT1):
            run_statement(cur, server.name, "SELECT 1")
        lat_ms = []
        for _ in range(iterations):
            t = time.perf_counter()
            cur.execute("SELECT 1")
            cur.fetchall()
            lat_ms.append((time.perf_counter() - t) * 1000.0)
        result["select1_median_ms"] = statistics.median(lat_ms)
        result["select1_p95_ms"] = percentile(lat_ms, 95)
        result["select1_min_ms"] = min(lat_ms)
        result["select1_iterations"] = iterations

        # 2. bulk fetch
        t = time.perf_counter()
        run_statement(cur, server.name, table_sql(rows))
        result["create_table_s"] = time.perf_counter() - t
        fetch_s = []
        for i in range(repeats + 1):  # first one is the warm-up
            t = time.perf_counter()
            cur.execute("SELECT * FROM T")
            got = cur.fetchall()
            elapsed = time.perf_counter() - t
            if len(got) != rows:
                raise RuntimeError(f"{server.name}: SELECT * FROM T returned {len(got)} rows, expected {rows}")
            if i == 0:
                result["fetch_warmup_s"] = elapsed
                result["sample_row"] = [str(v) for v in got[0]]
            else:
                fetch_s.append(elapsed)
            del got
        result["fetch_rows"] = rows
        result["fetch_repeats"] = repeats
        result["fetch_best_s"] = min(fetch_s)
        result["fetch_median_s"] = statistics.median(fetch_s)
        result["fetch_rows_per_s_best"] = rows / result["fetch_best_s"]
        result["fetch_rows_per_s_median"] = rows / result["fetch_median_s"]
    finally:
        conn.close()
    return result


def servers(data_dir: Path) -> dict[str, tuple[Server, int]]:
    sp_port, fs_port = free_port(), free_port()
    while fs_port == sp_port:
        fs_port = free_port()
    snowport = Server(
        name="snowport",
        cmd=[str(BIN / "snowport"), "up", "--port", str(sp_port), "--data-dir", str(data_dir)],
        env={"SNOWPORT_ADMIN_PASSWORD": ADMIN_PASSWORD},
        connect=lambda port: snowflake.connector.connect(
            account="snowport", user="admin", password=ADMIN_PASSWORD, host="127.0.0.1", port=port, protocol="http"
        ),
        setup=[
            "CREATE DATABASE BENCH_DB",
            "CREATE WAREHOUSE BENCH_WH",
            "USE DATABASE BENCH_DB",
            "USE SCHEMA PUBLIC",
            "USE WAREHOUSE BENCH_WH",  # a query that reads a table needs a current warehouse on Snowport
        ],
    )
    fakesnow = Server(
        name="fakesnow",
        cmd=[str(BIN / "fakesnow"), "-s", "-p", str(fs_port)],
        env={},
        connect=lambda port: snowflake.connector.connect(
            account="fakesnow",
            user="fake",
            password="snow",
            host="127.0.0.1",
            port=port,
            protocol="http",
            database="BENCH_DB",
            schema="PUBLIC",
        ),
    )
    return {"snowport": (snowport, sp_port), "fakesnow": (fakesnow, fs_port)}


def print_report(res: dict[str, dict[str, Any]], ratios: dict[str, float]) -> None:
    names = list(res)
    rows = [
        ("login (s)", "connect_s", "{:.3f}"),
        ("SELECT 1 median (ms)", "select1_median_ms", "{:.2f}"),
        ("SELECT 1 p95 (ms)", "select1_p95_ms", "{:.2f}"),
        ("SELECT 1 min (ms)", "select1_min_ms", "{:.2f}"),
        ("CREATE TABLE T (s)", "create_table_s", "{:.3f}"),
        ("fetch warm-up (s)", "fetch_warmup_s", "{:.3f}"),
        ("fetch best (s)", "fetch_best_s", "{:.3f}"),
        ("fetch median (s)", "fetch_median_s", "{:.3f}"),
        ("rows/s (best)", "fetch_rows_per_s_best", "{:,.0f}"),
        ("rows/s (median)", "fetch_rows_per_s_median", "{:,.0f}"),
    ]
    width = max(len(label) for label, _, _ in rows) + 2
    print()
    print("".ljust(width) + "".join(n.rjust(14) for n in names))
    for label, key, fmt in rows:
        print(label.ljust(width) + "".join(fmt.format(res[n][key]).rjust(14) for n in names))
    print()
    lat, thr = ratios["latency_ratio"], ratios["throughput_ratio"]
    lat_ok, thr_ok = "OK" if lat <= 1 else "MISS", "OK" if thr >= 1 else "MISS"
    print(f"latency ratio    snowport/fakesnow median SELECT 1 = {lat:.3f}  (target <= 1.0: {lat_ok})")
    print(f"throughput ratio snowport/fakesnow rows/s (median) = {thr:.3f}  (target >= 1.0: {thr_ok})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--iterations", type=int, default=500, help="timed SELECT 1 executions (default 500)")
    ap.add_argument("--repeats", type=int, default=5, help="timed SELECT * FROM T fetches (default 5)")
    ap.add_argument("--rows", type=int, default=100_000, help="rows in the fetched table (default 100000)")
    args = ap.parse_args()
    if args.iterations < 1 or args.repeats < 1 or args.rows < 1:
        ap.error("--iterations, --repeats and --rows must be >= 1")

    res: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="snowport-bench-") as tmp:
        workdir = Path(tmp)
        data_dir = workdir / "snowport-data"
        data_dir.mkdir()
        for name, (server, port) in servers(data_dir).items():
            print(f"[{name}] starting on port {port} ...", flush=True)
            with running(server, port, workdir):
                res[name] = measure(server, port, args.iterations, args.repeats, args.rows)
            r = res[name]
            print(
                f"[{name}] SELECT 1 median {r['select1_median_ms']:.2f} ms, p95 {r['select1_p95_ms']:.2f} ms; "
                f"fetch {args.rows} rows median {r['fetch_median_s']:.3f} s",
                flush=True,
            )

    sp, fs = res["snowport"], res["fakesnow"]
    ratios = {
        "latency_ratio": sp["select1_median_ms"] / fs["select1_median_ms"],
        "throughput_ratio": sp["fetch_rows_per_s_median"] / fs["fetch_rows_per_s_median"],
        "throughput_ratio_best": sp["fetch_rows_per_s_best"] / fs["fetch_rows_per_s_best"],
    }
    print_report(res, ratios)
    print("RESULT " + json.dumps({**ratios, "iterations": args.iterations, "servers": res}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
