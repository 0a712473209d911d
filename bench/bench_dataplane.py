"""Stage PUT and GET over raw HTTP against nginx serving the same file from the same disk.

```
.venv/bin/python bench/bench_dataplane.py [--size-mb 1024] [--repeats 5]
```

The peer is nginx (Debian's package), started here with a configuration of its own: WebDAV PUT
(`dav_methods PUT`, which writes to a temporary file and renames it into place) and a static GET with
`sendfile on`. Snowport is driven on the presigned URLs of a PUT / GET statement. Both are driven by the same
lean client (`_raw_http.py`: sendfile(2) out, one reused buffer in), interleaved, each step after a `sync`; GETs are
read whole and thrown away (no write on the client's side), so the numbers are the servers' own cost.
Target (issue 12): Snowport/nginx throughput ratio at least 1.0 for both.
The last line is `RESULT {json}`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import _raw_http
import snowflake.connector
from _servers import random_file, start_nginx, start_snowport, timed

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-Passw0rd!"

NGINX_CONF = """
user root;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_max_body_size 0;
    client_body_temp_path {work}/nginx-body;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{
            dav_methods PUT;
            create_full_put_path on;
        }}
    }}
}}
"""


def sync() -> None:
    os.sync()
    time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    size = args.size_mb * 1024 * 1024
    times: dict[str, list[float]] = {}

    def measure(name: str, step) -> None:
        sync()
        times.setdefault(name, []).append(timed(step))

    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
        work = Path(tmp)
        src = random_file(work / "client" / "big.bin", size)
        nginx_root = work / "nginx-root"
        nginx_root.mkdir()
        (work / "nginx" / "nginx-body").mkdir(parents=True)
        nginx, nginx_port = start_nginx(work / "nginx", NGINX_CONF, root=nginx_root)
        proc, port = start_snowport(work / "server", PASSWORD)
        try:
            conn = snowflake.connector.connect(account="snowport", user="admin", password=PASSWORD,
                                               host="127.0.0.1", port=port, protocol="http", network_timeout=600)
            cur = conn.cursor()
            cur.execute("CREATE DATABASE BENCH_DB")
            cur.execute("CREATE STAGE bench")
            out = Path("/dev/null")  # the GET client reads every byte (and checks the count) but writes none
            for i in range(args.repeats):
                order = ["snowport", "nginx"] if i % 2 == 0 else ["nginx", "snowport"]
                for who in order:
                    if who == "nginx":
                        url = f"http://127.0.0.1:{nginx_port}/big.bin"
                        measure("PUT nginx", lambda url=url: _raw_http.put(url, src, ok=(200, 201, 204)))
                        measure("GET nginx", lambda url=url: _raw_http.get(url, out))
                    else:
                        put = cur._execute_helper(f"PUT file://{src} @bench AUTO_COMPRESS=FALSE OVERWRITE=TRUE")
                        url = put["data"]["stageInfo"]["presignedUrl"]
                        measure("PUT snowport", lambda url=url: _raw_http.put(url, src))
                        got = cur._execute_helper(f"GET @bench/{src.name} file:///tmp/")
                        url = got["data"]["presignedUrls"][0]
                        measure("GET snowport", lambda url=url: _raw_http.get(url, out))
            conn.close()
        finally:
            proc.terminate()
            proc.wait(30)
            nginx.terminate()
            nginx.wait(30)

    result: dict[str, object] = {"size_mb": args.size_mb, "repeats": times}
    print(f"{'step':<14}{'median s':>10}{'MB/s':>10}")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"{name:<14}{med:>10.3f}{args.size_mb / med:>10.0f}")
    for verb in ("PUT", "GET"):
        ratio = statistics.median(times[f"{verb} nginx"]) / statistics.median(times[f"{verb} snowport"])
        best = min(times[f"{verb} nginx"]) / min(times[f"{verb} snowport"])
        result[f"{verb.lower()}_ratio"] = round(ratio, 3)
        result[f"{verb.lower()}_best_ratio"] = round(best, 3)
        print(f"{verb} snowport/nginx throughput ratio: {ratio:.2f} of medians, {best:.2f} of bests (target >= 1.0)")
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
