"""Shared helpers for registry tests: the Docker engine, a local base image, docker CLI calls."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASE_IMAGE = "snowport-test/busybox:1"


def ensure_engine() -> None:
    """Start (or find) the Docker engine, as the project's scripts do."""
    subprocess.run([str(ROOT / "scripts" / "docker-engine")], check=True, timeout=120)


def ensure_base_image() -> None:
    """A tiny base image built locally from Debian's busybox (no registry can be pulled from); cached by tag."""
    if subprocess.run(["docker", "image", "inspect", BASE_IMAGE], capture_output=True).returncode == 0:
        return
    busybox = "/bin/busybox" if os.path.exists("/bin/busybox") else "/usr/bin/busybox"
    script = (f"set -e; d=$(mktemp -d); mkdir -p $d/bin $d/tmp; cp {busybox} $d/bin/busybox; "
              "for c in sh echo cat ls head tail sleep true; do ln -s busybox $d/bin/$c; done; "
              f"tar -C $d -c . | docker import - {BASE_IMAGE}; rm -rf $d")
    subprocess.run(["bash", "-c", script], check=True, capture_output=True, timeout=120)


def docker(*args: str, config: Path, input: str | None = None, check: bool = True,
           timeout: int = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, DOCKER_CONFIG=str(config), DOCKER_BUILDKIT="0")
    result = subprocess.run(["docker", *args], env=env, input=input, capture_output=True, text=True,
                            timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def build_app_image(workdir: Path, tag: str, config: Path, big_mb: int = 0) -> str:
    """A multi-layer image on the local base image; returns the unique content `cat` prints."""
    token = uuid.uuid4().hex
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "app.txt").write_text(f"hello from {token}\n")
    (workdir / "extra.txt").write_text(f"second layer {token}\n")
    big = f"RUN head -c {big_mb * 1000000} /dev/urandom > /big.bin\n" if big_mb else ""
    (workdir / "Dockerfile").write_text(
        f"FROM {BASE_IMAGE}\nRUN echo {token} > /layer1.txt\n{big}COPY app.txt /app.txt\nCOPY extra.txt /extra.txt\n"
        'CMD ["/bin/cat", "/app.txt"]\n'
    )
    docker("build", "-q", "-t", tag, str(workdir), config=config)
    return f"hello from {token}"


def remove_test_images() -> None:
    """Drop what the tests tagged and built (everything but the cached base image)."""
    listing = subprocess.run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True,
                             text=True).stdout.split()
    doomed = [ref for ref in listing if ref.startswith("127.0.0.1:")
              or (ref.startswith("snowport-test/") and ref != BASE_IMAGE)]
    if doomed:
        subprocess.run(["docker", "rmi", "-f", *doomed], capture_output=True)
    subprocess.run(["docker", "image", "prune", "-f"], capture_output=True)
