"""What the benchmarks share: free ports, waiting for a server, starting `snowport up` with its log in a file."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before accepting connections")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"server did not accept connections on port {port} within {timeout:.0f}s")


def start_snowport(data_dir: Path, password: str, port: int | None = None,
                   env: dict[str, str] | None = None) -> tuple[subprocess.Popen, int]:
    """`snowport up` on a free port; its output goes to a file beside the data dir (never an unread pipe,
    which fills and stalls the server)."""
    port = port or free_port()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    log = open(data_dir.parent / f"snowport-{port}.log", "wb")  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen([sys.executable, "-m", "snowport", "up", "--port", str(port), "--data-dir", str(data_dir)],
                            env={**os.environ, **(env or {}), "SNOWPORT_ADMIN_PASSWORD": password},
                            stdout=subprocess.DEVNULL, stderr=log)
    wait_for_port(port, proc)
    return proc, port


def nginx_binary() -> str | None:
    """Debian's nginx (the file-transfer and proxy benchmarks' peer), or None when it is not installed."""
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def start_nginx(work: Path, conf_template: str, **values: object) -> tuple[subprocess.Popen, int]:
    """nginx in the foreground on a free port, with `conf_template` formatted with `work`, `port` and `values`;
    its temporary files stay under `work`."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed (apt-get install -y nginx-light)")
    port = free_port()
    work.mkdir(parents=True, exist_ok=True)
    conf = work / "nginx.conf"
    conf.write_text(conf_template.format(work=work, port=port, **values))
    proc = subprocess.Popen([binary, "-c", str(conf), "-p", str(work), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, proc)
    return proc, port


def random_file(path: Path, size: int) -> Path:
    """An incompressible file of `size` bytes, written in 64 MB pieces (what the transfer benchmarks send)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        for start in range(0, size, 64 << 20):
            f.write(os.urandom(min(64 << 20, size - start)))
    return path


def timed(fn) -> float:
    """Seconds one call of `fn` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def export_rev(root: Path, rev: str, into: Path) -> dict[str, str]:
    """The environment that makes `snowport up` run the committed src/ of `rev` (exported under `into`), so
    uncommitted edits do not change the numbers; 'worktree' runs src/ as it is."""
    if rev == "worktree":
        return {}
    (into / "rev").mkdir(parents=True)
    subprocess.run(f"git -C {root} archive {rev} src | tar -x -C {into / 'rev'}", shell=True, check=True)
    return {"PYTHONPATH": str(into / "rev" / "src")}
