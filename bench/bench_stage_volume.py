"""Stage-volume throughput: one container writes and reads a 1 GB file through a stage mount and through a
`local` volume, in the same run.

Why: a notebook or a job that keeps its files on a stage volume should not pay for it. The peer is the same
container, the same commands, on the pod's `local` volume (Docker's own volume, on the same disk).
Target: stage/local throughput at least 0.8x, for writing and for reading.

    .venv/bin/python bench/bench_stage_volume.py [--size-mb 1024] [--repeats 3] [--rev HEAD]

Each round writes with `busybox dd if=/dev/zero bs=1M conv=fsync` (so the bytes reach the disk, not just
the page cache), drops the host's page cache, then reads the file back with `dd of=/dev/null`; the order of
stage and local alternates from round to round. Timed from the host around `docker exec`, which costs the
same on both sides. After the last stage write, LIST of the stage shows the file with its md5 (computed on
first sight); its time is printed apart. Prints a table, the ratios and `RESULT {json}`.
"""

from __future__ import annotations

import argparse
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
from _servers import export_rev, start_snowport  # noqa: E402
from registry_helpers import BASE_IMAGE, ensure_base_image, ensure_engine  # noqa: E402

PASSWORD = "benchpw"
SPEC = """
spec:
  containers:
  - name: io
    image: /svb_db/public/svb_repo/io:1
    command: ["sh", "-c", "sleep 36000"]
    volumeMounts:
    - {name: staged, mountPath: /stage}
    - {name: scratch, mountPath: /local}
  volumes:
  - {name: staged, source: stage, stageConfig: {name: "@svb_db.public.vol/bench"}}
  - {name: scratch, source: local}
"""


def run(*args: str, env: dict | None = None, input: str | None = None) -> str:
    out = subprocess.run(list(args), env=env, input=input, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {out.stderr}")
    return out.stdout


def drop_page_cache() -> None:
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def timed_exec(cid: str, script: str) -> float:
    start = time.perf_counter()
    run("docker", "exec", cid, "sh", "-c", script)
    return time.perf_counter() - start


def container_of(scope_service: str) -> str:
    """The running container whose environment names the benchmark's service."""
    deadline = time.time() + 120
    while time.time() < deadline:
        for cid in run("docker", "ps", "-q", "--filter", "label=snowport.service").split():
            env = json.loads(run("docker", "inspect", "-f", "{{json .Config.Env}}", cid)) or []
            if f"SNOWFLAKE_SERVICE_NAME={scope_service}" in env and "SNOWFLAKE_DATABASE=SVB_DB" in env:
                return cid
        time.sleep(0.3)
    raise RuntimeError(f"no container for {scope_service}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rev", default="HEAD", help="git revision of src/ to run; 'worktree' runs src/ as is")
    args = parser.parse_args()
    ensure_engine()
    ensure_base_image()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = dict(os.environ, DOCKER_CONFIG=str(work / "docker"), DOCKER_BUILDKIT="0")
        server_env = {"DOCKER_CONFIG": env["DOCKER_CONFIG"], **export_rev(ROOT, args.rev, work)}
        server, port = start_snowport(work / "snowport", PASSWORD, env=server_env)
        cid = ""
        try:
            image = f"127.0.0.1:{port}/svb_db/public/svb_repo/io:1"
            (work / "build").mkdir()
            (work / "build" / "Dockerfile").write_text(f"FROM {BASE_IMAGE}\n")
            run("docker", "build", "-q", "-t", image, str(work / "build"), env=env)
            conn = snowflake.connector.connect(account="snowport", user="admin", password=PASSWORD,
                                               host="127.0.0.1", port=port, protocol="http")
            cur = conn.cursor()
            for sql in ("CREATE ROLE SVB_ROLE", "GRANT CREATE DATABASE ON ACCOUNT TO ROLE SVB_ROLE",
                        "GRANT CREATE COMPUTE POOL ON ACCOUNT TO ROLE SVB_ROLE", "GRANT ROLE SVB_ROLE TO USER ADMIN",
                        "USE ROLE SVB_ROLE", "CREATE DATABASE SVB_DB", "CREATE IMAGE REPOSITORY SVB_DB.PUBLIC.SVB_REPO",
                        "CREATE STAGE SVB_DB.PUBLIC.VOL", "USE SCHEMA SVB_DB.PUBLIC",
                        "CREATE COMPUTE POOL SVB_POOL MIN_NODES = 1 MAX_NODES = 1 INSTANCE_FAMILY = CPU_X64_S"):
                cur.execute(sql)
            run("docker", "login", f"127.0.0.1:{port}", "-u", "admin", "--password-stdin", env=env, input=PASSWORD)
            run("docker", "push", image, env=env)
            cur.execute(f"CREATE SERVICE SVB IN COMPUTE POOL SVB_POOL FROM SPECIFICATION $${SPEC}$$")
            cur.execute("CALL SVB!SPCS_WAIT_FOR('RUNNING', 120)")
            cid = container_of("SVB")
            results: dict[str, dict[str, list[float]]] = {d: {"write": [], "read": []} for d in ("stage", "local")}
            list_seconds = 0.0
            for i in range(args.repeats):
                for where in (("stage", "local") if i % 2 == 0 else ("local", "stage")):
                    path = f"/{where}/big.bin"
                    results[where]["write"].append(timed_exec(
                        cid, f"busybox dd if=/dev/zero of={path} bs=1M count={args.size_mb} conv=fsync 2>/dev/null"))
                    if where == "stage" and i == args.repeats - 1:
                        start = time.perf_counter()
                        listed = cur.execute("LIST @vol/bench").fetchall()
                        list_seconds = time.perf_counter() - start
                        assert listed and listed[0][1] == args.size_mb << 20, listed
                    drop_page_cache()
                    results[where]["read"].append(
                        timed_exec(cid, f"busybox dd if={path} of=/dev/null bs=1M 2>/dev/null"))
                    run("docker", "exec", cid, "busybox", "rm", "-f", path)
            cur.execute("DROP SERVICE SVB")
            conn.close()
        finally:
            if cid:
                subprocess.run(["docker", "rm", "-f", cid], capture_output=True)
            server.terminate()
            server.wait(30)
    report(args, results, list_seconds)


def report(args, results: dict[str, dict[str, list[float]]], list_seconds: float) -> None:
    mb = args.size_mb
    print(f"\n{mb} MB file, {args.repeats} rounds, median of each (MB/s):")
    print(f"{'':8}{'write (fsync)':>16}{'read (cold)':>16}")
    rate = {where: {op: mb / statistics.median(v) for op, v in ops.items()} for where, ops in results.items()}
    for where in ("stage", "local"):
        print(f"{where:8}{rate[where]['write']:>16.0f}{rate[where]['read']:>16.0f}")
    ratio = {op: rate["stage"][op] / rate["local"][op] for op in ("write", "read")}
    print(f"{'ratio':8}{ratio['write']:>15.2f}x{ratio['read']:>15.2f}x   (target: at least 0.8x)")
    print(f"LIST of the stage after the 1 GB write (md5 on first sight): {list_seconds:.2f} s")
    print("RESULT " + json.dumps({"mb_per_s": rate, "ratio": ratio, "list_seconds": list_seconds,
                                  "raw_seconds": results}))


if __name__ == "__main__":
    main()
