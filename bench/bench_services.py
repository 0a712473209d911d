"""CREATE SERVICE to RUNNING vs a bare `docker run -d` of the same HTTP server, and the idle cost of 20 services.

Why: a service with a readiness probe should reach RUNNING about as fast as the same container started
with plain Docker and probed the same way, and services sitting idle should cost next to no CPU.
Targets: one service at most 1.2x the peer, 20 services at most 1.3x, and the server under 2% of one core
while 20 services sit idle and RUNNING.

    .venv/bin/python bench/bench_services.py [--repeats 5] [--batch 20] [--batch-repeats 2] [--idle-seconds 30]

The image is the tests' busybox base image plus /www/index.html; every container runs
`/bin/busybox httpd -f -p 8080 -h /www`. Snowport's spec has `readinessProbe: {port: 8080, path: /}`.
The peer is `docker run -d` of the same image and command, with the healthcheck Snowport gives its
container (`busybox wget -q -O /dev/null http://127.0.0.1:8080/`, interval 5 s, timeout 2 s, 3 retries,
start period 300 s), then polling http://<container ip>:8080/ from the host every 0.1 s until it answers
("peer url") and `docker inspect` until the engine calls it healthy ("peer healthy"). Snowport is polled
with SHOW SERVICES every 0.1 s. The 20-container peer starts its containers 4 at a time (Snowport's
controller has 4 workers; the client sends the 20 CREATE SERVICE statements one after the other).
`docker events` timestamps give the breakdown. Prints the tables, the ratios and `RESULT {json}`.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
os.environ["SNOWFLAKE_DISABLE_PLATFORM_DETECTION"] = "true"

import snowflake.connector  # noqa: E402
from _procstat import cpu_seconds, delta_by_name, pids_named, snapshot  # noqa: E402
from _servers import export_rev, start_snowport  # noqa: E402
from registry_helpers import BASE_IMAGE, ensure_base_image, ensure_engine  # noqa: E402

PASSWORD = "benchpw"
POLL = 0.1
COMMAND = ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
SPEC = f"""
spec:
  containers:
  - name: web
    image: /bench_db/public/bench_repo/web:1
    command: {json.dumps(COMMAND)}
    readinessProbe:
      port: 8080
      path: /
"""
# what Snowport's runtime gives a container with a readiness probe (src/snowport/runtime/docker.py)
PEER_HEALTH = ["--health-cmd", "/bin/busybox wget -q -O /dev/null http://127.0.0.1:8080/", "--health-interval", "5s",
               "--health-timeout", "2s", "--health-retries", "3", "--health-start-period", "300s"]
ENGINE = ("dockerd", "containerd", "containerd-shim")


def docker(*args: str, env: dict | None = None, check: bool = True) -> str:
    out = subprocess.run(["docker", *args], env=env, capture_output=True, text=True)
    if check and out.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)}: {out.stderr}")
    return out.stdout


class Events:
    """`docker events` of containers for the whole run, kept in memory with their times."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(["docker", "events", "--format", "{{json .}}", "--filter", "type=container"],
                                     stdout=subprocess.PIPE, text=True)
        self.items: list[dict] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        time.sleep(0.3)

    def _read(self) -> None:
        for line in self.proc.stdout:
            with contextlib.suppress(ValueError):
                ev = json.loads(line)
                with self.lock:
                    self.items.append(ev)

    def between(self, start: float, end: float) -> list[tuple[float, str, dict]]:
        """(time, action, labels+name) of the events in [start, end]."""
        with self.lock:
            items = list(self.items)
        out = []
        for ev in items:
            t = ev.get("timeNano", 0) / 1e9
            if start <= t <= end:
                out.append((t, ev.get("Action") or ev.get("status", ""), ev.get("Actor", {}).get("Attributes", {})))
        return sorted(out, key=lambda e: e[0])

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def first(events: list, pred) -> float | None:
    return next((t for t, action, attrs in events if pred(action, attrs)), None)


def last(events: list, pred) -> float | None:
    found = [t for t, action, attrs in events if pred(action, attrs)]
    return found[-1] if found else None


def url_answers(ip: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{ip}:8080/", timeout=0.5) as r:
            return r.status == 200
    except OSError:
        return False


class Bench:
    def __init__(self, work: Path, image: str, env: dict, events: Events) -> None:
        self.work, self.image, self.env, self.events = work, image, env, events
        self.run = uuid.uuid4().hex[:8]
        self.peer_label = f"bench.peer={self.run}"
        self.scope: str | None = None
        self.server = None
        self.cur = None
        self.port = 0
        self.created: list[str] = []
        # other engineers' test clean-ups remove every local `127.0.0.1:*` image: the peer runs its own tag
        self.peer_image = f"snowport-bench/web:{self.run}"
        self.digest_ref = ""
        self.restored = 0

    def ensure_images(self) -> None:
        """Both runs start from a local image (no pull is timed): restore what someone else removed."""
        if subprocess.run(["docker", "image", "inspect", self.digest_ref], capture_output=True).returncode != 0:
            docker("pull", self.image, env=self.env)
            self.restored += 1
        if subprocess.run(["docker", "image", "inspect", self.peer_image], capture_output=True).returncode != 0:
            docker("tag", self.image, self.peer_image)

    # ---- snowport ------------------------------------------------------------------------------
    def statuses(self, prefix: str) -> dict[str, str]:
        rows = self.cur.execute(f"SHOW SERVICES LIKE '{prefix}%' IN SCHEMA BENCH_DB.PUBLIC").fetchall()
        cols = [d[0] for d in self.cur.description]
        return {r[cols.index("name")]: r[cols.index("status")] for r in rows}

    def create_services(self, names: list[str]) -> dict:
        """Send CREATE SERVICE for each name, poll SHOW SERVICES until all are RUNNING; wall-clock times."""
        t0 = time.time()
        for name in names:
            self.created.append(name)
            self.cur.execute(f"CREATE SERVICE BENCH_DB.PUBLIC.{name} IN COMPUTE POOL BENCH_POOL "
                             f"FROM SPECIFICATION $${SPEC}$$")
        sent = time.time()
        prefix = os.path.commonprefix(names)
        deadline = t0 + 300
        while True:
            seen = self.statuses(prefix)
            if all(seen.get(n) == "RUNNING" for n in names):
                return {"t0": t0, "created": sent, "running": time.time()}
            if time.time() > deadline:
                raise RuntimeError(f"services not RUNNING after 300 s: {seen}")
            time.sleep(POLL)

    def find_scope(self, service: str) -> str:
        """The runtime scope of this run's server: the label of the container of its (uniquely named) service."""
        for cid in docker("ps", "-q", "--filter", "label=snowport.role=container").split():
            info = json.loads(docker("inspect", cid, check=False) or "[{}]")[0]
            env = info.get("Config", {}).get("Env") or []
            if f"SNOWFLAKE_SERVICE_NAME={service}" in env and "SNOWFLAKE_DATABASE=BENCH_DB" in env:
                return info["Config"]["Labels"]["snowport.managed"]
        raise RuntimeError("cannot find the runtime scope of the bench's Snowport")

    def ours(self) -> list[str]:
        if not self.scope:
            return []
        return docker("ps", "-aq", "--filter", f"label=snowport.managed={self.scope}").split()

    def drop_all(self, timeout: float = 180) -> None:
        for name in self.created:
            self.cur.execute(f"DROP SERVICE IF EXISTS BENCH_DB.PUBLIC.{name}")
        self.created.clear()
        deadline = time.time() + timeout
        while self.ours():
            if time.time() > deadline:
                raise RuntimeError(f"Snowport left containers after DROP SERVICE: {self.ours()}")
            time.sleep(0.5)

    # ---- peer ----------------------------------------------------------------------------------
    def peer_start(self, name: str) -> str:
        cid = docker("run", "-d", "--name", name, "--label", self.peer_label, *PEER_HEALTH, "--entrypoint",
                     COMMAND[0], self.peer_image, *COMMAND[1:]).strip()
        return docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", cid).strip()

    def pod_peer_start(self, name: str) -> str:
        """What one Snowport instance is on the engine: a sleeping sandbox holding the network namespace, and
        the app started inside it (`--network container:`), as a Kubernetes pod is. The like-for-like peer."""
        docker("run", "-d", "--name", f"{name}-sandbox", "--label", self.peer_label, "--entrypoint", "/bin/busybox",
               self.peer_image, "sleep", "2147483647")
        docker("run", "-d", "--name", name, "--label", self.peer_label, "--network", f"container:{name}-sandbox",
               *PEER_HEALTH, "--entrypoint", COMMAND[0], self.peer_image, *COMMAND[1:])
        return docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", f"{name}-sandbox").strip()

    def run_pod_peers(self, names: list[str], parallel: int) -> dict:
        """Sandbox + app per name, until every URL answers (the engine-healthy end is the same as run_peers')."""
        return self.run_peers(names, parallel, start=self.pod_peer_start, wait_healthy=False)

    def run_peers(self, names: list[str], parallel: int, start=None, wait_healthy: bool = True) -> dict:
        t0 = time.time()
        with ThreadPoolExecutor(parallel) as pool:
            ips = list(pool.map(start or self.peer_start, names))
        started = time.time()
        pending = set(ips)
        while pending:
            pending = {ip for ip in pending if not url_answers(ip)}
            if pending:
                time.sleep(POLL)
        answered = time.time()
        if not wait_healthy:
            return {"t0": t0, "created": started, "url": answered}
        pending = set(names)
        while pending:
            if time.time() - t0 > 300:
                raise RuntimeError(f"peers not healthy after 300 s: {pending}")
            out = docker("inspect", "-f", "{{.Name}} {{.State.Health.Status}}", *pending)
            pending -= {line.split()[0].lstrip("/") for line in out.splitlines() if line.endswith(" healthy")}
            if pending:
                time.sleep(POLL)
        return {"t0": t0, "created": started, "url": answered, "healthy": time.time()}

    def rm_peers(self) -> None:
        ids = docker("ps", "-aq", "--filter", f"label={self.peer_label}").split()
        if ids:
            docker("rm", "-f", *ids, check=False)


def breakdown(b: Bench, t: dict, end: float, snowport: bool) -> dict:
    """Seconds from t0 to each step, from `docker events` (the last of each kind: for a batch, the slowest)."""
    evs = b.events.between(t["t0"] - 0.01, end + 1)
    if snowport:
        evs = [e for e in evs if e[2].get("snowport.managed") == b.scope]
        app = lambda attrs: attrs.get("snowport.role") == "container"  # noqa: E731
        sandbox = lambda attrs: attrs.get("snowport.role") == "sandbox"  # noqa: E731
    else:
        evs = [e for e in evs if e[2].get("bench.peer") == b.run]
        app = lambda attrs: True  # noqa: E731
        sandbox = lambda attrs: False  # noqa: E731
    steps = {
        "sandbox create (first)": first(evs, lambda a, x: a == "create" and sandbox(x)),
        "sandbox start (first)": first(evs, lambda a, x: a == "start" and sandbox(x)),
        "app create (first)": first(evs, lambda a, x: a == "create" and app(x)),
        "app start (first)": first(evs, lambda a, x: a == "start" and app(x)),
        "app start (last)": last(evs, lambda a, x: a == "start" and app(x)),
        "first probe exec": first(evs, lambda a, x: a.startswith("exec_start") and app(x)),
        "healthy (first)": first(evs, lambda a, x: a == "health_status: healthy" and app(x)),
        "healthy (last)": last(evs, lambda a, x: a == "health_status: healthy" and app(x)),
    }
    return {k: (v - t["t0"] if v else None) for k, v in steps.items()}


def med(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v: float | None, width: int = 10) -> str:
    return f"{v:>{width}.2f}" if v is not None else f"{'-':>{width}}"


def server_cpu(pid: int) -> float:
    """The server process and its descendants."""
    total = cpu_seconds(pid)
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                with contextlib.suppress(OSError):
                    total += server_cpu(int(child))
    return total


def idle_window(b: Bench, seconds: float) -> dict:
    engine = pids_named(*ENGINE)
    before, s0, w0 = snapshot(engine), server_cpu(b.server.pid), time.monotonic()
    time.sleep(seconds)
    after, s1, w1 = snapshot(engine), server_cpu(b.server.pid), time.monotonic()
    wall = w1 - w0
    per = delta_by_name(before, after)
    return {"wall_s": wall, "server_pct": 100 * (s1 - s0) / wall,
            **{f"{k}_pct": 100 * per.get(k, 0.0) / wall for k in ENGINE}}


def profile(pid: int, seconds: int, out: Path) -> list[tuple[str, int]] | None:
    """py-spy (if installed) for `seconds`: samples per innermost Snowport frame (else the leaf)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not os.path.exists(spy):
        return None
    res = subprocess.run([spy, "record", "--nonblocking", "-r", "200", "-d", str(seconds), "-f", "raw", "-o",
                          str(out), "-p", str(pid)], capture_output=True, text=True)
    if res.returncode != 0 or not out.exists():
        print(f"py-spy failed: {res.stderr[-500:]}")
        return None
    counts: collections.Counter = collections.Counter()
    for line in out.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        frames = stack.split(";")
        name = lambda f: f.split(" (")[0]  # noqa: E731
        caller = [name(f) for f in frames if "snowport/compute/" in f and "runner.py" not in f]
        runtime = [name(f) for f in frames if "snowport/runtime/" in f and not f.startswith("DockerRuntime._call")]
        api = [name(f) for f in frames if "docker/api/" in f]
        own = [name(f) for f in frames if "snowport" in f]
        key = " > ".join(x for x in (caller[-1] if caller else (own[-1] if own else name(frames[0])),
                                     runtime[-1] if runtime else "", api[0] if api else "") if x)
        counts[key] += int(n)
    return counts.most_common(12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--batch-repeats", type=int, default=2)
    parser.add_argument("--idle-seconds", type=float, default=30)
    parser.add_argument("--profile-seconds", type=int, default=20)
    parser.add_argument("--tick", type=float, help="SNOWPORT_SERVICE_TICK_SECONDS (default: the revision's default)")
    parser.add_argument("--rev", default="HEAD", help="git revision of src/ to run (default HEAD, exported to a "
                        "temporary dir so that uncommitted edits do not change the numbers); 'worktree' runs src/")
    args = parser.parse_args()
    ensure_engine()
    ensure_base_image()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = dict(os.environ, DOCKER_CONFIG=str(work / "docker"), DOCKER_BUILDKIT="0")
        build = work / "build"
        (build / "www").mkdir(parents=True)
        (build / "www" / "index.html").write_text("ok\n")
        (build / "Dockerfile").write_text(f"FROM {BASE_IMAGE}\nCOPY www /www\nCMD {json.dumps(COMMAND)}\n")
        server_env = {"DOCKER_CONFIG": env["DOCKER_CONFIG"]}
        if args.tick is not None:
            server_env["SNOWPORT_SERVICE_TICK_SECONDS"] = str(args.tick)
        server_env.update(export_rev(ROOT, args.rev, work))
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD" if args.rev == "worktree"
                              else args.rev], capture_output=True, text=True).stdout.strip()
        print(f"snowport: {args.rev} ({rev}{' + uncommitted edits' if args.rev == 'worktree' else ''}), service tick "
              f"{args.tick if args.tick is not None else 'default'}", flush=True)
        events = Events()
        server, port = start_snowport(work / "snowport", PASSWORD, env=server_env)
        image = f"127.0.0.1:{port}/bench_db/public/bench_repo/web:1"
        b = Bench(work, image, env, events)
        b.server, b.port = server, port
        single: dict[str, list] = {"snowport": [], "peer": [], "pod peer": []}
        batch: dict[str, list] = {"snowport": [], "peer": [], "pod peer": []}
        idle: dict[str, dict] = {}
        top = None
        try:
            docker("build", "-q", "-t", image, str(build), env=env)
            conn = snowflake.connector.connect(account="snowport", user="admin", password=PASSWORD,
                                               host="127.0.0.1", port=port, protocol="http")
            b.cur = conn.cursor()
            for sql in ("CREATE ROLE BENCH_ROLE", "GRANT CREATE DATABASE ON ACCOUNT TO ROLE BENCH_ROLE",
                        "GRANT CREATE COMPUTE POOL ON ACCOUNT TO ROLE BENCH_ROLE",
                        "GRANT ROLE BENCH_ROLE TO USER ADMIN",
                        "USE ROLE BENCH_ROLE", "CREATE DATABASE BENCH_DB",
                        "CREATE IMAGE REPOSITORY BENCH_DB.PUBLIC.BENCH_REPO",
                        "CREATE COMPUTE POOL BENCH_POOL MIN_NODES = 1 MAX_NODES = 5 INSTANCE_FAMILY = CPU_X64_S"):
                b.cur.execute(sql)
            subprocess.run(["docker", "login", f"127.0.0.1:{port}", "-u", "admin", "--password-stdin"],
                           input=PASSWORD, env=env, check=True, capture_output=True, text=True)
            docker("push", image, env=env)
            docker("tag", image, b.peer_image)
            digests = json.loads(docker("image", "inspect", "-f", "{{json .RepoDigests}}", image))
            b.digest_ref = next(d for d in digests if d.startswith(f"127.0.0.1:{port}/"))

            # warm-up, not timed: the pod sandbox image, the network, the first pull; and one peer
            b.create_services([f"WARMUP_{b.run.upper()}"])
            b.scope = b.find_scope(f"WARMUP_{b.run.upper()}")
            b.drop_all()
            b.run_peers([f"bench-peer-{b.run}-warmup"], 1)
            b.rm_peers()

            for i in range(args.repeats):
                for who in (("snowport", "peer") if i % 2 == 0 else ("peer", "snowport")):
                    b.ensure_images()
                    if who == "snowport":
                        t = b.create_services([f"ONE_{i}"])
                        t["steps"] = breakdown(b, t, t["running"], True)
                        b.drop_all()
                    else:
                        t = b.run_peers([f"bench-peer-{b.run}-one-{i}"], 1)
                        t["steps"] = breakdown(b, t, t["healthy"], False)
                        b.rm_peers()
                        single["pod peer"].append(b.run_pod_peers([f"bench-pod-{b.run}-one-{i}"], 1))
                        b.rm_peers()
                    single[who].append(t)
                    print(f"single #{i} {who}: " + ", ".join(
                        f"{k} {v - t['t0']:.2f}" for k, v in t.items() if k not in ("t0", "steps")), flush=True)

            for i in range(args.batch_repeats):
                for who in (("snowport", "peer") if i % 2 == 0 else ("peer", "snowport")):
                    b.ensure_images()
                    if who == "snowport":
                        t = b.create_services([f"MANY{i}_{j:02d}" for j in range(args.batch)])
                        t["steps"] = breakdown(b, t, t["running"], True)
                        b.drop_all()
                    else:
                        t = b.run_peers([f"bench-peer-{b.run}-many{i}-{j:02d}" for j in range(args.batch)], 4)
                        t["steps"] = breakdown(b, t, t["healthy"], False)
                        b.rm_peers()
                        batch["pod peer"].append(b.run_pod_peers(
                            [f"bench-pod-{b.run}-many{i}-{j:02d}" for j in range(args.batch)], 4))
                        b.rm_peers()
                    batch[who].append(t)
                    print(f"batch #{i} {who}: " + ", ".join(
                        f"{k} {v - t['t0']:.2f}" for k, v in t.items() if k not in ("t0", "steps")), flush=True)

            # idle cost: nothing of ours, then 20 peer containers, then 20 services (server at the default tick)
            idle["baseline"] = idle_window(b, args.idle_seconds)
            b.run_peers([f"bench-peer-{b.run}-idle-{j:02d}" for j in range(args.batch)], 4)
            time.sleep(2)
            idle["peer"] = idle_window(b, args.idle_seconds)
            b.rm_peers()
            b.create_services([f"IDLE_{j:02d}" for j in range(args.batch)])
            time.sleep(5)
            idle["snowport"] = idle_window(b, args.idle_seconds)
            top = profile(server.pid, args.profile_seconds, work / "pyspy.txt")
            b.drop_all()
            conn.close()
        finally:
            with contextlib.suppress(Exception):
                b.rm_peers()
            with contextlib.suppress(Exception):
                if b.cur is not None and b.created:
                    b.drop_all(60)
            server.terminate()
            server.wait(30)
            events.close()
            if b.scope:  # whatever the server did not remove (only this run's scope)
                left = docker("ps", "-aq", "--filter", f"label=snowport.managed={b.scope}", check=False).split()
                if left:
                    docker("rm", "-f", *left, check=False)
                vols = docker("volume", "ls", "-q", "--filter", f"label=snowport.managed={b.scope}",
                              check=False).split()
                if vols:
                    docker("volume", "rm", *vols, check=False)
                docker("network", "rm", b.scope, check=False)
            docker("rmi", "-f", image, b.peer_image, check=False)
            print(f"images restored after someone else removed them: {b.restored}")
            log = work / f"snowport-{port}.log"
            if log.exists():
                shutil.copy(log, ROOT / "bench" / ".last-services-server.log") if os.environ.get(
                    "BENCH_KEEP_LOG") else None

    report(args, single, batch, idle, top)


def report(args, single: dict, batch: dict, idle: dict, top) -> None:
    def rel(runs: list, key: str) -> float | None:
        return med([r[key] - r["t0"] for r in runs])

    print()
    results = {}
    for title, runs, target in ((f"one service, median of {args.repeats}", single, 1.2),
                                (f"{args.batch} services, median of {args.batch_repeats}", batch, 1.3)):
        sp = rel(runs["snowport"], "running")
        url, healthy = rel(runs["peer"], "url"), rel(runs["peer"], "healthy")
        print(f"== {title}: seconds from the first statement / docker run ==")
        print(f"{'':30}{'snowport':>10}{'peer':>10}")
        print(f"{'statements / docker runs done':30}{fmt(rel(runs['snowport'], 'created'))}"
              f"{fmt(rel(runs['peer'], 'created'))}")
        for step in runs["snowport"][0]["steps"]:
            print(f"{step:30}{fmt(med([r['steps'][step] for r in runs['snowport']]))}"
                  f"{fmt(med([r['steps'][step] for r in runs['peer']]))}")
        print(f"{'peer: URL answers':30}{fmt(None)}{fmt(url)}")
        print(f"{'RUNNING seen / peer healthy':30}{fmt(sp)}{fmt(healthy)}")
        r_url, r_healthy = sp / url, sp / healthy
        print(f"ratio snowport RUNNING / peer URL answers = {r_url:.2f} (target <= {target}: "
              f"{'OK' if r_url <= target else 'MISSED'})")
        print(f"ratio snowport RUNNING / peer engine-healthy = {r_healthy:.2f} (target <= {target}: "
              f"{'OK' if r_healthy <= target else 'MISSED'})")
        pod = rel(runs["pod peer"], "url")
        r_pod = sp / pod if pod else None
        if r_pod is not None:
            print(f"ratio snowport RUNNING / pod peer (sandbox + app, URL answers, {pod:.2f} s) = {r_pod:.2f} "
                  f"(target <= {target}: {'OK' if r_pod <= target else 'MISSED'})")
        print()
        results[title] = {"snowport_s": sp, "peer_url_s": url, "peer_healthy_s": healthy, "ratio_url": r_url,
                          "ratio_healthy": r_healthy, "pod_peer_url_s": pod, "ratio_pod_peer": r_pod, "runs": runs}
    print(f"== idle, {args.idle_seconds:.0f} s windows, % of one core ==")
    print(f"{'':24}{'server':>10}{'dockerd':>10}{'containerd':>12}{'shims':>10}")
    for k in ("baseline", "peer", "snowport"):
        w = idle[k]
        label = {"baseline": "nothing of ours", "peer": f"{args.batch} peer containers",
                 "snowport": f"{args.batch} services RUNNING"}[k]
        print(f"{label:24}{fmt(w['server_pct'])}{fmt(w['dockerd_pct'])}{fmt(w['containerd_pct'], 12)}"
              f"{fmt(w['containerd-shim_pct'])}")
    sp = idle["snowport"]["server_pct"]
    engine_extra = idle["snowport"]["dockerd_pct"] - idle["peer"]["dockerd_pct"]
    print(f"server CPU with {args.batch} idle services = {sp:.2f}% of one core (target < 2%: "
          f"{'OK' if sp < 2 else 'MISSED'}); dockerd beyond the peer's = {engine_extra:.2f}%")
    if top:
        total = sum(n for _, n in top)
        print(f"py-spy, the server's busiest frames (of the top {total} samples):")
        for frame, n in top:
            print(f"  {n:6} {frame}")
    results["idle"] = idle
    results["profile"] = top
    print("RESULT " + json.dumps(results, default=str))


if __name__ == "__main__":
    main()
