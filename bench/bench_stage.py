"""PUT and GET throughput of one large file through Snowport, against a plain file copy on the same disk.

Why: stages carry specs, volumes and datasets; moving bytes through a stage should cost at most about twice a
local copy (target: ratio >= 0.5). The copy (shutil.copyfile, page cache warm) is measured in the same run, on
the same disk, so the ratio is independent of the machine.

    .venv/bin/python bench/bench_stage.py [--size-mb 1024] [--repeats 3]

Prints a table, the two ratios, and a last line `RESULT {json}`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ["SNOWFLAKE_DISABLE_PLATFORM_DETECTION"] = "true"
import snowflake.connector  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _servers import start_snowport, timed  # noqa: E402

PASSWORD = "benchpw"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    size = args.size_mb * 1024 * 1024

    with tempfile.TemporaryDirectory(dir=Path(__file__).resolve().parent.parent) as tmp:
        work = Path(tmp)
        src = work / "client" / "big.bin"
        src.parent.mkdir()
        with open(src, "wb") as f:  # incompressible data, written in 64 MB pieces
            for _ in range(0, size, 64 << 20):
                f.write(os.urandom(min(64 << 20, size)))
        proc, port = start_snowport(work / "server", PASSWORD)
        try:
            conn = snowflake.connector.connect(account="snowport", user="admin", password=PASSWORD,
                                               host="127.0.0.1", port=port, protocol="http", network_timeout=600)
            cur = conn.cursor()
            cur.execute("CREATE DATABASE BENCH_DB")
            cur.execute("CREATE STAGE bench")
            copy_times, put_times, get_times, raw_put_times, raw_get_times = [], [], [], [], []
            curl = shutil.which("curl")
            for i in range(args.repeats):
                dst = work / f"copy-{i}.bin"
                copy_times.append(timed(lambda dst=dst: shutil.copyfile(src, dst)))
                dst.unlink()
                put_times.append(timed(lambda: cur.execute(
                    f"PUT file://{src} @bench AUTO_COMPRESS=FALSE OVERWRITE=TRUE").fetchall()))
                out = work / f"get-{i}"
                out.mkdir()
                get_times.append(timed(lambda out=out: cur.execute(f"GET @bench/big.bin file://{out}/").fetchall()))
                assert (out / "big.bin").stat().st_size == size
                shutil.rmtree(out)
                if curl:  # the same presigned URLs without the connector's client-side work (sha256, buffering)
                    put = cur._execute_helper(f"PUT file://{src} @bench AUTO_COMPRESS=FALSE OVERWRITE=TRUE")
                    url = put["data"]["stageInfo"]["presignedUrl"]
                    raw_put_times.append(timed(lambda url=url: subprocess.run(
                        [curl, "-sf", "-T", str(src), "-o", "/dev/null", url], check=True)))
                    got = cur._execute_helper("GET @bench/big.bin file:///tmp/")
                    url = got["data"]["presignedUrls"][0]
                    raw_get_times.append(timed(lambda url=url: subprocess.run(
                        [curl, "-sf", "-o", str(work / "raw.bin"), url], check=True)))
                    (work / "raw.bin").unlink()
            conn.close()
        finally:
            proc.terminate()
            proc.wait(30)

    def mbps(seconds: list[float]) -> float:
        return args.size_mb / statistics.median(seconds)

    copy_rate, put_rate, get_rate = mbps(copy_times), mbps(put_times), mbps(get_times)
    print(f"{'':24}{'median s':>10}{'MB/s':>10}")
    rows = [("plain copy", copy_times), ("PUT (connector)", put_times), ("GET (connector)", get_times)]
    if raw_put_times:
        rows += [("PUT (curl, raw HTTP)", raw_put_times), ("GET (curl, raw HTTP)", raw_get_times)]
    for name, times in rows:
        print(f"{name:24}{statistics.median(times):>10.2f}{mbps(times):>10.0f}")
    put_ratio, get_ratio = put_rate / copy_rate, get_rate / copy_rate
    if raw_put_times:
        print(f"\nraw HTTP PUT/copy = {mbps(raw_put_times) / copy_rate:.2f}, "
              f"raw HTTP GET/copy = {mbps(raw_get_times) / copy_rate:.2f}  (the server's share of the cost)")
    print(f"\nPUT/copy throughput ratio = {put_ratio:.2f}  (target >= 0.5: {'OK' if put_ratio >= 0.5 else 'MISSED'})")
    print(f"GET/copy throughput ratio = {get_ratio:.2f}  (target >= 0.5: {'OK' if get_ratio >= 0.5 else 'MISSED'})")
    print("RESULT " + json.dumps({"size_mb": args.size_mb, "copy_s": copy_times, "put_s": put_times,
                                  "get_s": get_times, "raw_put_s": raw_put_times, "raw_get_s": raw_get_times,
                                  "put_ratio": put_ratio, "get_ratio": get_ratio}))


if __name__ == "__main__":
    main()
