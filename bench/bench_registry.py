"""docker push / pull of a multi-layer image (>= 500 MB) to Snowport and to CNCF Distribution, in one run.

Why: users push and pull images with the plain docker CLI; Snowport's registry should cost no more
time than the reference registry (Debian's `docker-registry`, Distribution 2.8) on the same machine.
Target: Snowport's push and pull times at most 1.0x Distribution's.

    .venv/bin/python bench/bench_registry.py [--layers 5] [--layer-mb 110] [--repeats 2]

Both registries run locally; the image is built once from the tests' busybox base image. Each pull
starts with no layer of the image present locally. Prints the times, the ratios and `RESULT {json}`.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
os.environ["SNOWFLAKE_DISABLE_PLATFORM_DETECTION"] = "true"

import snowflake.connector  # noqa: E402
from _servers import free_port, start_snowport, timed, wait_for_port  # noqa: E402
from registry_helpers import BASE_IMAGE, ensure_base_image, ensure_engine  # noqa: E402

PASSWORD = "benchpw"


def docker(*args: str, env: dict) -> str:
    out = subprocess.run(["docker", *args], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)}: {out.stderr}")
    return out.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--layer-mb", type=int, default=110)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    ensure_engine()
    ensure_base_image()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = dict(os.environ, DOCKER_CONFIG=str(work / "docker"), DOCKER_BUILDKIT="0")
        build = work / "build"
        build.mkdir()
        runs = "".join(f"RUN head -c {args.layer_mb * 1000000} /dev/urandom > /layer{i}.bin\n"
                       for i in range(args.layers))
        (build / "Dockerfile").write_text(f"FROM {BASE_IMAGE}\n{runs}CMD [\"/bin/ls\", \"/\"]\n")
        source = "snowport-bench/big:1"
        docker("build", "-q", "-t", source, str(build), env=env)
        size_mb = args.layers * args.layer_mb

        dist_port = free_port()
        snowport, sp_port = start_snowport(work / "snowport", PASSWORD, env={"DOCKER_CONFIG": env["DOCKER_CONFIG"]})
        targets = {"snowport": f"127.0.0.1:{sp_port}/bench_db/public/bench_repo/big",
                   "distribution": f"127.0.0.1:{dist_port}/bench/big"}
        (work / "dist.yml").write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {work / 'dist'}\n"
                                       f"http:\n  addr: 127.0.0.1:{dist_port}\n")
        # Distribution logs every request; an unread pipe would fill and stall it, so log to a file.
        distribution = subprocess.Popen(["docker-registry", "serve", str(work / "dist.yml")],
                                        stdout=subprocess.DEVNULL, stderr=open(work / "dist.log", "wb"))
        try:
            wait_for_port(dist_port, distribution)
            conn = snowflake.connector.connect(account="snowport", user="admin", password=PASSWORD,
                                               host="127.0.0.1", port=sp_port, protocol="http")
            conn.cursor().execute("CREATE DATABASE BENCH_DB")
            conn.cursor().execute("CREATE IMAGE REPOSITORY BENCH_REPO")
            conn.close()
            subprocess.run(["docker", "login", f"127.0.0.1:{sp_port}", "-u", "admin", "--password-stdin"],
                           input=PASSWORD, env=env, check=True, capture_output=True, text=True)
            push: dict[str, list[float]] = {k: [] for k in targets}
            pull: dict[str, list[float]] = {k: [] for k in targets}
            for i in range(args.repeats):
                order = list(targets) if i % 2 == 0 else list(reversed(targets))
                for name in order:
                    ref = f"{targets[name]}:r{i}"
                    docker("tag", source, ref, env=env)
                    push[name].append(timed(lambda ref=ref: docker("push", ref, env=env)))
                    docker("rmi", ref, env=env)
                docker("rmi", source, env=env)  # no layer of the image is left locally
                for name in order:
                    ref = f"{targets[name]}:r{i}"
                    pull[name].append(timed(lambda ref=ref: docker("pull", ref, env=env)))
                    docker("rmi", ref, env=env)
                docker("build", "-q", "-t", source, str(build), env=env) if i + 1 < args.repeats else None
        finally:
            for proc in (snowport, distribution):
                proc.terminate()
                proc.wait(30)
            leftovers = [f"{t}:r{i}" for t in targets.values() for i in range(args.repeats)]
            subprocess.run(["docker", "rmi", "-f", source, *leftovers], capture_output=True)
            shutil.rmtree(work / "snowport", ignore_errors=True)

    med = {kind: {k: statistics.median(v) for k, v in d.items()} for kind, d in (("push", push), ("pull", pull))}
    print(f"image: {args.layers} layers x {args.layer_mb} MB = {size_mb} MB (incompressible)")
    print(f"{'':14}{'snowport s':>12}{'distribution s':>16}{'ratio':>8}")
    ratios = {}
    for kind in ("push", "pull"):
        ratios[kind] = med[kind]["snowport"] / med[kind]["distribution"]
        print(f"{kind:14}{med[kind]['snowport']:>12.2f}{med[kind]['distribution']:>16.2f}{ratios[kind]:>8.2f}")
    for kind in ("push", "pull"):
        verdict = "OK" if ratios[kind] <= 1.0 else "MISSED"
        print(f"{kind} time ratio snowport/distribution = {ratios[kind]:.2f} (target <= 1.0: {verdict})")
    print("RESULT " + json.dumps({"size_mb": size_mb, "push_s": push, "pull_s": pull, "ratios": ratios}))


if __name__ == "__main__":
    main()
