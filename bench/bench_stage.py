"""PUT and GET throughput of one large file through Snowport, against a plain file copy on the same disk.

Why: stages carry specs, volumes and datasets; moving bytes through a stage should cost at most about twice a
local copy (target: ratio >= 0.5). The copy is measured in the same run, on the same disk, interleaved with the
transfers, so the ratio does not depend on the machine.

What is timed, in each repeat, each step starting from a clean page cache state (`sync` first, so one step's
dirty pages are not written back during the next):
- `copy`: `shutil.copyfile` of the file (the kernel copies page to page; no user-space buffer);
- `PUT`/`GET` through snowflake-connector-python 4.x and, when `.venv-c5` exists, 5.x (its Rust core), each
  logged in once beforehand (`_transfer_client.py`);
- the same presigned URLs driven by `_raw_http.py` (sendfile out, one reused buffer in): the server's own cost,
  without any connector's client-side work. (curl is no use here: its 64 KB upload reads are its own limit.)
Each step is also timed "to disk": the step plus the `sync` after it, i.e. until the bytes are on the disk.

    .venv/bin/python bench/bench_stage.py [--size-mb 1024] [--repeats 5]

Prints a table of medians, the ratios to the copy, and a last line `RESULT {json}`.
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
import time
from collections.abc import Callable
from pathlib import Path

os.environ["SNOWFLAKE_DISABLE_PLATFORM_DETECTION"] = "true"
import snowflake.connector  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _raw_http  # noqa: E402
from _servers import random_file, start_snowport  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "benchpw"
TARGET = 0.5


class TransferClient:
    """One `_transfer_client.py` process: a logged-in connector of a given version."""

    def __init__(self, python: Path, port: int, file_name: str) -> None:
        self.proc = subprocess.Popen([str(python), str(ROOT / "bench" / "_transfer_client.py"), str(port), PASSWORD,
                                      "bench"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env={**os.environ, "BENCH_FILE": file_name})
        self.version = self._answer()["version"]

    def _answer(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"transfer client exited with code {self.proc.wait()}")
        return json.loads(line)

    def run(self, verb: str, arg: Path, expect: str) -> float:
        self.proc.stdin.write(f"{verb} {arg}\n")
        self.proc.stdin.flush()
        answer = self._answer()
        if answer["status"] != expect:
            raise RuntimeError(f"{verb} answered {answer['status']}, expected {expect}")
        return answer["s"]

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(30)


class Timings:
    """Per step: the step's own seconds, and seconds until its bytes are on the disk (step + sync)."""

    def __init__(self) -> None:
        self.steps: dict[str, list[float]] = {}
        self.to_disk: dict[str, list[float]] = {}

    def measure(self, name: str, step: Callable[[], float | None]) -> None:
        os.sync()  # start clean: no write-back of the previous step's pages during this one
        start = time.perf_counter()
        reported = step()  # a float is the client's own timing (it excludes process start-up), if it has one
        elapsed = time.perf_counter() - start
        seconds = reported if isinstance(reported, float) else elapsed
        sync_start = time.perf_counter()
        os.sync()
        self.steps.setdefault(name, []).append(seconds)
        self.to_disk.setdefault(name, []).append(seconds + time.perf_counter() - sync_start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    size = args.size_mb * 1024 * 1024
    python5 = ROOT / ".venv-c5" / "bin" / "python"

    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
        work = Path(tmp)
        src = random_file(work / "client" / "big.bin", size)
        proc, port = start_snowport(work / "server", PASSWORD)
        clients: dict[str, TransferClient] = {}
        timings = Timings()
        try:
            conn = snowflake.connector.connect(account="snowport", user="admin", password=PASSWORD,
                                               host="127.0.0.1", port=port, protocol="http", network_timeout=600)
            cur = conn.cursor()
            cur.execute("CREATE DATABASE BENCH_DB")
            cur.execute("CREATE STAGE bench")
            clients["connector " + snowflake.connector.__version__] = TransferClient(Path(sys.executable), port,
                                                                                      src.name)
            if python5.exists():
                client = TransferClient(python5, port, src.name)
                clients[f"connector {client.version}"] = client
            for i in range(args.repeats):
                copy = work / f"copy-{i}.bin"
                timings.measure("copy", lambda copy=copy: shutil.copyfile(src, copy))
                copy.unlink()
                for name, client in clients.items():
                    timings.measure(f"PUT {name}", lambda c=client: c.run("put", src, "UPLOADED"))
                    out = work / f"get-{i}"
                    out.mkdir()
                    timings.measure(f"GET {name}", lambda c=client, out=out: c.run("get", out, "DOWNLOADED"))
                    if (out / src.name).stat().st_size != size:
                        raise RuntimeError(f"GET through {name} returned a file of the wrong size")
                    shutil.rmtree(out)
                # the same presigned URLs from the leanest client: the server's own cost
                put = cur._execute_helper(f"PUT file://{src} @bench AUTO_COMPRESS=FALSE OVERWRITE=TRUE")
                url = put["data"]["stageInfo"]["presignedUrl"]
                timings.measure("PUT raw HTTP", lambda url=url: _raw_http.put(url, src))
                got = cur._execute_helper(f"GET @bench/{src.name} file:///tmp/")
                url = got["data"]["presignedUrls"][0]
                raw = work / "raw.bin"
                timings.measure("GET raw HTTP", lambda url=url, raw=raw: _raw_http.get(url, raw))
                if raw.stat().st_size != size:
                    raise RuntimeError("raw GET returned a file of the wrong size")
                raw.unlink()
            conn.close()
        finally:
            for client in clients.values():
                client.close()
            proc.terminate()
            proc.wait(30)

    report(args.size_mb, timings)


def report(size_mb: int, timings: Timings) -> None:
    def median(values: list[float]) -> float:
        return statistics.median(values)

    copy, copy_to_disk = median(timings.steps["copy"]), median(timings.to_disk["copy"])
    print(f"{size_mb} MB, {len(timings.steps['copy'])} repeats, medians")
    print(f"{'':28}{'step s':>9}{'MB/s':>8}{'ratio':>8}   {'to disk s':>9}{'MB/s':>8}{'ratio':>8}")
    ratios: dict[str, dict[str, float]] = {}
    for name, values in timings.steps.items():
        step, to_disk = median(values), median(timings.to_disk[name])
        ratios[name] = {"step": copy / step, "to_disk": copy_to_disk / to_disk}
        print(f"{name:28}{step:>9.2f}{size_mb / step:>8.0f}{copy / step:>8.2f}   "
              f"{to_disk:>9.2f}{size_mb / to_disk:>8.0f}{copy_to_disk / to_disk:>8.2f}")
    print(f"\nratio = copy seconds / step seconds (throughput relative to the copy); target >= {TARGET}")
    for name, ratio in ratios.items():
        if name != "copy":
            verdict = "OK" if ratio["step"] >= TARGET else "MISSED"
            print(f"  {name:26} {ratio['step']:.2f} {verdict:7} (to disk {ratio['to_disk']:.2f})")
    print("RESULT " + json.dumps({"size_mb": size_mb, "steps": timings.steps, "to_disk": timings.to_disk,
                                  "ratios": ratios}))


if __name__ == "__main__":
    main()
