"""Service-function rows/s: `SELECT f(x) FROM t` over 1,000,000 rows vs a plain batched HTTP client, in one run.

Why: a service function should cost little more than sending the same batches to the service yourself.
Snowport turns each chunk of rows DuckDB hands the function into external-function JSON batches, sends
them to the service's ready instance several at a time and matches the answers by row index.
Target: Snowport's rows/s at least 0.8x the plain client's.

    .venv/bin/python bench/bench_service_functions.py [--rows 1000000] [--repeats 3] [--batch-rows 512]

One service (the tests' convert-api on the standard library, tests/function_service/app.py, Python's
ThreadingHTTPServer in the container) serves both. The plain client is httpx with a thread pool: the same
batch size and the same number of batches in flight as Snowport (functions/client.py CONCURRENCY), the
same JSON body (`{"data": [[i, x], ...]}`), each answer parsed and its values put in row order, sent
straight to the container's bridge IP. Snowport's side is the whole statement through the real connector:
`SELECT f(X) FROM T` with the result fetched as Arrow (and, apart, `SELECT SUM(f(X)) FROM T`, which ships no
rows back). Runs alternate. Prints the table, the ratio and `RESULT {json}`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))
os.environ["SNOWFLAKE_DISABLE_PLATFORM_DETECTION"] = "true"

import httpx  # noqa: E402
import snowflake.connector  # noqa: E402
from _servers import start_snowport  # noqa: E402
from registry_helpers import ensure_engine, ensure_python_image, push_local_image, remove_server_pods  # noqa: E402

from snowport.functions.client import CONCURRENCY  # noqa: E402

PASSWORD = "benchpw"
APP = (ROOT / "tests" / "function_service" / "app.py").read_text()
IMAGE_PATH = "bench_db/public/bench_repo/convert-api:1"


def spec() -> str:
    import base64

    code = base64.b64encode(APP.encode()).decode()
    return f"""
spec:
  containers:
  - name: convert-api
    image: /{IMAGE_PATH}
    command: ["python3", "-c", "import base64; exec(base64.b64decode('{code}'))"]
    readinessProbe:
      port: 9090
      path: /ready
  endpoints:
  - name: api
    port: 9090
"""


def plain_client(address: str, values: list[float], batch_rows: int) -> list[float]:
    """The same batches, the same concurrency, straight to the container: the baseline."""
    url = f"http://{address}/convert"
    http = httpx.Client(limits=httpx.Limits(max_connections=CONCURRENCY * 2, max_keepalive_connections=CONCURRENCY))
    chunks = [values[i:i + batch_rows] for i in range(0, len(values), batch_rows)]

    def send(chunk: list[float]) -> list[float]:
        body = json.dumps({"data": [[i, v] for i, v in enumerate(chunk)]}, separators=(",", ":")).encode()
        response = http.post(url, content=body, headers={"content-type": "application/json",
                                                          "sf-external-function-format": "json"})
        response.raise_for_status()
        out: list[float] = [0.0] * len(chunk)
        for index, value in json.loads(response.content)["data"]:
            out[index] = value
        return out

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        results = [v for part in pool.map(send, chunks) for v in part]
    http.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-rows", type=int, default=512)
    args = parser.parse_args()
    ensure_engine()
    ensure_python_image()
    work = Path(tempfile.mkdtemp(prefix="bench-sf-"))
    proc, port = start_snowport(work / "data", PASSWORD, env={"SNOWPORT_SERVICE_TICK_SECONDS": "0.5"})
    try:
        conn = snowflake.connector.connect(account="snowport", user="admin", password=PASSWORD, host="127.0.0.1",
                                           port=port, protocol="http", network_timeout=600)
        cur = conn.cursor()
        for sql in ("GRANT CREATE COMPUTE POOL ON ACCOUNT TO ROLE SYSADMIN", "USE ROLE SYSADMIN",
                    "CREATE DATABASE BENCH_DB", "CREATE IMAGE REPOSITORY BENCH_DB.PUBLIC.BENCH_REPO",
                    "CREATE WAREHOUSE BENCH_WH", "CREATE COMPUTE POOL BENCH_POOL MIN_NODES = 1 MAX_NODES = 1 "
                    "INSTANCE_FAMILY = CPU_X64_XS", "USE SCHEMA BENCH_DB.PUBLIC", "USE WAREHOUSE BENCH_WH"):
            cur.execute(sql)
        push_local_image(port, "python:3.11", IMAGE_PATH, work / "push", PASSWORD)
        cur.execute(f"CREATE SERVICE SF IN COMPUTE POOL BENCH_POOL FROM SPECIFICATION $${spec()}$$")
        deadline = time.time() + 300
        while cur.execute("SHOW SERVICES LIKE 'SF'").fetchone()[1] != "RUNNING":
            assert time.time() < deadline, "service not RUNNING"
            time.sleep(0.5)
        instance = cur.execute("SHOW SERVICE INSTANCES IN SERVICE SF").fetchone()
        columns = [d[0] for d in cur.description]
        address = f"{dict(zip(columns, instance, strict=True))['ip_address']}:9090"
        cur.execute(f"CREATE FUNCTION F (X FLOAT) RETURNS FLOAT SERVICE = SF ENDPOINT = api "
                    f"MAX_BATCH_ROWS = {args.batch_rows} AS '/convert'")
        cur.execute(f"CREATE TABLE T AS SELECT SEQ4()::FLOAT AS X FROM TABLE(GENERATOR(ROWCOUNT => {args.rows}))")
        values = [float(i) for i in range(args.rows)]
        expected_sum = sum(v * 9.0 / 5 + 32 for v in values)

        def snowport_select() -> float:
            started = time.perf_counter()
            table = cur.execute("SELECT F(X) FROM T").fetch_arrow_all()
            elapsed = time.perf_counter() - started
            assert table.num_rows == args.rows, table.num_rows
            return elapsed

        def snowport_sum() -> float:
            started = time.perf_counter()
            got = cur.execute("SELECT SUM(F(X)) FROM T").fetchone()[0]
            elapsed = time.perf_counter() - started
            assert abs(got - expected_sum) < 1e-6 * expected_sum, got
            return elapsed

        def plain() -> float:
            started = time.perf_counter()
            got = plain_client(address, values, args.batch_rows)
            elapsed = time.perf_counter() - started
            assert len(got) == args.rows
            return elapsed

        snowport_sum()  # warm-up: connections, the service's first requests
        plain()
        times: dict[str, list[float]] = {"plain client": [], "SELECT F(X) FROM T": [], "SELECT SUM(F(X)) FROM T": []}
        for _ in range(args.repeats):
            times["plain client"].append(plain())
            times["SELECT F(X) FROM T"].append(snowport_select())
            times["SELECT SUM(F(X)) FROM T"].append(snowport_sum())
        rates = {k: args.rows / statistics.median(v) for k, v in times.items()}
        print(f"{args.rows} rows, batches of {args.batch_rows} rows, {CONCURRENCY} in flight, {args.repeats} runs")
        print(f"{'':28} {'median s':>9} {'best s':>8} {'rows/s':>10} {'ratio':>6}")
        for k, v in times.items():
            print(f"{k:28} {statistics.median(v):9.2f} {min(v):8.2f} {rates[k]:10.0f} "
                  f"{rates[k] / rates['plain client']:6.2f}")
        ratio = rates["SELECT F(X) FROM T"] / rates["plain client"]
        print(f"ratio (SELECT F(X) FROM T rows/s / plain client rows/s): {ratio:.2f} (target >= 0.8)")
        print("RESULT " + json.dumps({"rows": args.rows, "batch_rows": args.batch_rows, "concurrency": CONCURRENCY,
                                      "times": times, "rows_per_s": rates, "ratio": ratio}))
        cur.execute("DROP SERVICE SF")
        conn.close()
    finally:
        proc.send_signal(2)
        proc.wait(30)
        remove_server_pods(work / "data")


if __name__ == "__main__":
    main()
