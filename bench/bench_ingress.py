"""Requests/s and p99 latency through ingress vs the same client hitting the container directly, in one run.

Why: ingress sits on the path of every request to a public endpoint; it should cost little next to the
service itself. Target: ingress requests/s at least 0.7x direct.

    .venv/bin/python bench/bench_ingress.py [--seconds 10] [--rounds 3] [--connections 16] [--body-kb 0]

One service (one instance) runs a small aiohttp app (the tests' ingress image) answering GET /hello with a
short text. The client is a lean asyncio HTTP/1.1 keep-alive load generator (fixed request bytes, only the
status line and Content-Length are parsed) with `--connections` connections, each sending its next request
when the previous answer is read. Both targets get the same client: "direct" is http://<instance ip>:8080
(the container's bridge address), "ingress" is the endpoint's ingress_url with `Authorization: Snowflake
Token="<session token>"`. A calibration peer, "nginx-proxy", is Debian's nginx (one worker, upstream
keep-alive) proxying to the same container with no authentication: what any user-space proxy costs on this
machine, where each send(2) to a loopback or bridge socket pays for the packet's delivery. A third target,
"ingress-own", is ingress answering by itself (its login page, no hop to the instance): the ceiling of
the ASGI path on this machine, whatever the proxying costs. Rounds alternate the targets so that load from
elsewhere on the machine falls on all. Prints a table, the ratios of the medians and `RESULT {json}`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
os.environ["SNOWFLAKE_DISABLE_PLATFORM_DETECTION"] = "true"

import snowflake.connector  # noqa: E402
from _servers import nginx_binary, start_nginx, start_snowport  # noqa: E402
from registry_helpers import ensure_engine, ensure_pip_image, push_local_image, remove_server_pods  # noqa: E402

PASSWORD = "benchpw"
APP = r'''
from aiohttp import web
async def hello(request):
    return web.Response(text="hello from the service")
async def upload(request):
    n = 0
    async for chunk in request.content.iter_any():
        n += len(chunk)
    return web.Response(text=str(n))
app = web.Application(client_max_size=1 << 30)
app.add_routes([web.get("/hello", hello), web.post("/upload", upload), web.get("/healthz", hello)])
web.run_app(app, port=8080, access_log=None)
'''
SPEC = """
spec:
  containers:
  - name: app
    image: /bench_db/public/bench_repo/app:1
    command: ["sh", "-c", "exec python3 -c \\"$APP\\""]
    env:
      APP: |
{app}
    readinessProbe:
      port: 8080
      path: /healthz
  endpoints:
  - name: web
    port: 8080
    public: true
""".replace("{app}", "\n".join("        " + line for line in APP.strip("\n").splitlines()))


async def _one_connection(host: str, port: int, request: bytes, until: float, latencies: list[float]) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    done = 0
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = head[9:12]
            if status != b"200":
                raise RuntimeError(f"status {status!r}: {head[:300]!r}")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            done += 1
    finally:
        writer.close()
    return done


async def load(url_host: str, port: int, path: str, headers: dict[str, str], seconds: float, connections: int,
               body: bytes) -> dict:
    method = "POST" if body else "GET"
    lines = [f"{method} {path} HTTP/1.1", f"Host: {url_host}:{port}"] + [f"{k}: {v}" for k, v in headers.items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    latencies: list[float] = []
    until = time.perf_counter() + seconds
    started = time.perf_counter()
    counts = await asyncio.gather(*(_one_connection(url_host, port, request, until, latencies)
                                    for _ in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {"requests": sum(counts), "rps": sum(counts) / elapsed,
            "p50_ms": latencies[len(latencies) // 2] * 1000,
            "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000}


NGINX_CONF = """
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {work}/body; proxy_temp_path {work}/proxy;
  fastcgi_temp_path {work}/fastcgi; uwsgi_temp_path {work}/uwsgi; scgi_temp_path {work}/scgi;
  keepalive_requests 10000000;
  upstream app {{ server {ip}:8080; keepalive 64; keepalive_requests 10000000; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{ proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }}
  }}
}}
"""


def start_proxy(work: Path, ip: str) -> tuple[subprocess.Popen, int] | None:
    """nginx proxying 127.0.0.1:<port> to the container, or None when nginx is not installed."""
    return start_nginx(work, NGINX_CONF, ip=ip) if nginx_binary() else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--body-kb", type=int, default=0, help="POST a body of this size instead of GET")
    args = parser.parse_args()

    ensure_engine()
    image, _ = ensure_pip_image("snowport-test/ingress-app", ["aiohttp"])
    with tempfile.TemporaryDirectory(prefix="bench-ingress-") as tmp:
        work = Path(tmp)
        data_dir = work / "data"
        proc, port = start_snowport(data_dir, PASSWORD)
        try:
            conn = snowflake.connector.connect(account="snowport", user="admin", password=PASSWORD,
                                               host="127.0.0.1", port=port, protocol="http")
            cur = conn.cursor()
            for sql in ("CREATE ROLE BENCH_ROLE", "GRANT CREATE DATABASE ON ACCOUNT TO ROLE BENCH_ROLE",
                        "GRANT CREATE COMPUTE POOL ON ACCOUNT TO ROLE BENCH_ROLE",
                        "GRANT BIND SERVICE ENDPOINT ON ACCOUNT TO ROLE BENCH_ROLE",
                        "GRANT ROLE BENCH_ROLE TO USER ADMIN", "USE ROLE BENCH_ROLE", "CREATE DATABASE BENCH_DB",
                        "CREATE IMAGE REPOSITORY BENCH_DB.PUBLIC.BENCH_REPO",
                        "CREATE COMPUTE POOL BENCH_POOL MIN_NODES = 1 MAX_NODES = 1 INSTANCE_FAMILY = CPU_X64_S"):
                cur.execute(sql)
            push_local_image(port, image, "bench_db/public/bench_repo/app:1", work, PASSWORD)
            cur.execute("USE SCHEMA BENCH_DB.PUBLIC")
            cur.execute(f"CREATE SERVICE BENCH_SVC IN COMPUTE POOL BENCH_POOL FROM SPECIFICATION $${SPEC}$$")
            deadline = time.time() + 180
            while cur.execute("SHOW SERVICES LIKE 'BENCH_SVC'").fetchone()[1] != "RUNNING":
                if time.time() > deadline:
                    raise RuntimeError("service did not start")
                time.sleep(0.5)
            cur.execute("SHOW ENDPOINTS IN SERVICE BENCH_SVC")
            ingress_url = cur.fetchone()[5]
            cur.execute("SHOW SERVICE INSTANCES IN SERVICE BENCH_SVC")
            ip = cur.fetchone()[9]
            token = conn.rest.token
            ingress_host, ingress_port = ingress_url.rsplit(":", 1)
            body = os.urandom(args.body_kb * 1024) if args.body_kb else b""
            path = "/upload" if body else "/hello"
            targets = {"direct": (ip, 8080, path, {}),
                       "ingress": (ingress_host, int(ingress_port), path,
                                   {"Authorization": f'Snowflake Token="{token}"'}),
                       "ingress-own": (ingress_host, int(ingress_port), "/sfc-endpoint/login", {})}
            nginx = start_proxy(work, ip)
            if nginx is not None:
                targets["nginx-proxy"] = ("127.0.0.1", nginx[1], path, {})
            for host, tport, tpath, headers in targets.values():  # warm-up, and a check that all answer
                asyncio.run(load(host, tport, tpath, headers, 1.0, 2, b"" if tpath.startswith("/sfc") else body))
            runs: dict[str, list[dict]] = {name: [] for name in targets}
            for _ in range(args.rounds):
                for name, (host, tport, tpath, headers) in targets.items():
                    runs[name].append(asyncio.run(load(host, tport, tpath, headers, args.seconds, args.connections,
                                                       b"" if tpath.startswith("/sfc") else body)))
            conn.close()
            if nginx is not None:
                nginx[0].terminate()
                nginx[0].wait(10)
        finally:
            proc.send_signal(2)
            proc.wait(30)
            remove_server_pods(data_dir)

    what = f"POST {args.body_kb} KB" if body else "GET /hello"
    print(f"\n{what}, {args.connections} connections, {args.rounds} rounds of {args.seconds:g} s, alternating")
    print(f"{'target':<10}{'req/s (median)':>16}{'p50 ms':>10}{'p99 ms':>10}   rounds req/s")
    summary = {}
    for name, results in runs.items():
        rps = statistics.median(r["rps"] for r in results)
        p50 = statistics.median(r["p50_ms"] for r in results)
        p99 = statistics.median(r["p99_ms"] for r in results)
        summary[name] = {"rps": rps, "p50_ms": p50, "p99_ms": p99, "rounds": results}
        print(f"{name:<10}{rps:>16.0f}{p50:>10.2f}{p99:>10.2f}   " + " ".join(f"{r['rps']:.0f}" for r in results))
    ratio = summary["ingress"]["rps"] / summary["direct"]["rps"]
    ceiling = summary["ingress-own"]["rps"] / summary["direct"]["rps"]
    nginx_ratio = summary["nginx-proxy"]["rps"] / summary["direct"]["rps"] if "nginx-proxy" in summary else None
    print(f"ratio ingress/direct requests/s: {ratio:.2f}x (target >= 0.7x); "
          f"ingress answering by itself: {ceiling:.2f}x"
          + (f"; nginx proxying: {nginx_ratio:.2f}x" if nginx_ratio is not None else ""))
    print("RESULT " + json.dumps({"what": what, "connections": args.connections, "ratio": ratio, "ceiling": ceiling,
                                  "nginx_ratio": nginx_ratio, **summary}))


if __name__ == "__main__":
    main()
