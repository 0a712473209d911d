"""Shared helpers for registry tests: the Docker engine, a local base image, docker CLI calls."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
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


def _serving(ref: str) -> bool:
    """Whether the registry an image was tagged for still answers: then another test session on the same
    engine may be using it, and it stays."""
    port = ref.split("/", 1)[0].rsplit(":", 1)[-1]
    try:
        with socket.create_connection(("127.0.0.1", int(port)), timeout=0.2):
            return True
    except (OSError, ValueError):
        return False


def remove_test_images() -> None:
    """Drop what the tests tagged and built (everything but the cached base image)."""
    listing = subprocess.run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True,
                             text=True).stdout.split()
    doomed = [ref for ref in listing if (ref.startswith("127.0.0.1:") and not _serving(ref))
              or (ref.startswith("snowport-test/") and ref != BASE_IMAGE)]
    if doomed:
        subprocess.run(["docker", "rmi", "-f", *doomed], capture_output=True)
    # only dangling images older than a few minutes: a build running meanwhile (another test session on the
    # same engine) has young dangling intermediate images, and removing them fails that build
    subprocess.run(["docker", "image", "prune", "-f", "--filter", "until=5m"], capture_output=True)


# ---------------------------------------------------------------------------------------------- Python images

PYTHON_IMAGE = "python:3.11"  # the name the tutorial's Dockerfiles start FROM
DEFAULT_MIRROR = "http://deb.debian.org/debian"


def debian_mirror() -> str:
    """The Debian mirror this machine's apt uses (deb822 `.sources` or one-line `sources.list`)."""
    files = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in files:
        if not path.is_file() or path.suffix not in ("", ".list", ".sources"):
            continue
        text = path.read_text(errors="replace")
        for stanza in text.split("\n\n"):  # deb822: URIs/Suites fields in one stanza
            fields = dict(line.split(":", 1) for line in stanza.splitlines()
                          if ":" in line and not line.startswith(("#", " ")))
            uris = fields.get("URIs", "").split()
            suites = fields.get("Suites", "").split()
            if uris and any(s in ("bookworm", "stable") for s in suites) and "security" not in uris[0]:
                return uris[0].strip()
        for line in text.splitlines():  # one-line format: deb [options] URI suite components
            parts = [p for p in line.split() if not p.startswith("[") and not p.endswith("]")]
            if len(parts) >= 3 and parts[0] == "deb" and parts[2] in ("bookworm", "stable") \
                    and "security" not in parts[1]:
                return parts[1]
    return DEFAULT_MIRROR


def _has_image(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode == 0


def ensure_python_image(tag: str = PYTHON_IMAGE) -> float:
    """`python:3.11` built locally (no registry to pull from): a Debian bookworm rootfs from debootstrap
    (minbase with python3, pip and the CA certificates) imported with `docker import`; like the official
    image it has `python` and `pip` and lets pip install system-wide. Cached by tag. Returns the seconds
    the build took (0 when cached)."""
    if _has_image(tag):
        return 0.0
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="snowport-rootfs-") as work:
        rootfs = Path(work) / "rootfs"
        debootstrap = shutil.which("debootstrap") or "/usr/sbin/debootstrap"  # scripts/setup installs it
        done = subprocess.run([debootstrap, "--variant=minbase", "--include=python3,python3-pip,ca-certificates",
                               "bookworm", str(rootfs), debian_mirror()], capture_output=True, text=True,
                              timeout=900)
        if done.returncode != 0:
            raise RuntimeError(f"debootstrap failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        for marker in (rootfs / "usr/lib").glob("python3*/EXTERNALLY-MANAGED"):
            marker.unlink()  # the official image's pip installs system-wide
        for name, target in (("python", "python3"), ("pip", "pip3")):
            link = rootfs / "usr/bin" / name
            if not link.exists():
                link.symlink_to(target)
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            subprocess.run(["find", str(rootfs / cache), "-type", "f", "-delete"], check=True)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(["docker", "import", "-c", "ENV LANG=C.UTF-8", "-c", 'CMD ["python3"]', "-",
                                   tag], stdin=tar.stdout, capture_output=True, text=True, timeout=600)
        tar.stdout.close()
        tar.wait()
        if imported.returncode != 0 or tar.returncode != 0:
            raise RuntimeError(f"docker import failed: {imported.stderr}")
    return time.monotonic() - started


def ensure_pip_image(tag_base: str, packages: list[str], base: str = PYTHON_IMAGE) -> tuple[str, float]:
    """An image FROM `base` with `packages` installed from wheels downloaded on this machine (containers
    reach no index): `pip download` for CPython 3.11 on manylinux x86_64 into the build context, then
    `pip install --no-index --find-links`. Tagged by the package list, cached by tag. Returns (tag, seconds
    the build took, 0 when cached)."""
    key = hashlib.sha256(json.dumps([base, sorted(packages)]).encode()).hexdigest()[:12]
    tag = f"{tag_base}:{key}"
    if _has_image(tag):
        return tag, 0.0
    ensure_python_image(base)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="snowport-wheels-") as work:
        context = Path(work)
        wheels = context / "wheels"
        platforms = [arg for p in ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64",
                                   "manylinux_2_34_x86_64", "linux_x86_64", "any") for arg in ("--platform", p)]
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                               "--dest", str(wheels), "--only-binary=:all:", "--python-version", "3.11",
                               "--implementation", "cp", "--abi", "cp311", *platforms, *packages],
                              capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            raise RuntimeError(f"pip download {packages} failed:\n{done.stderr[-3000:]}")
        (context / "Dockerfile").write_text(
            f"FROM {base}\nCOPY wheels /tmp/wheels\n"
            "RUN pip install --no-cache-dir --break-system-packages --no-index --find-links /tmp/wheels "
            f"{' '.join(map(shlex.quote, packages))} && rm -rf /tmp/wheels\n")
        env = dict(os.environ, DOCKER_BUILDKIT="0")
        built = subprocess.run(["docker", "build", "-q", "--network", "none", "-t", tag, str(context)], env=env,
                               capture_output=True, text=True, timeout=900)
        if built.returncode != 0:
            raise RuntimeError(f"docker build {tag} failed:\n{built.stdout[-3000:]}\n{built.stderr[-3000:]}")
    return tag, time.monotonic() - started


def push_app_image(port: int, path: str, workdir: Path, password: str) -> str:
    """Build the tests' app image and push it to `127.0.0.1:<port>/<path>` (e.g. `svc_db/public/svc_repo/app:1`)
    as admin; returns the tag. Its own DOCKER_CONFIG under `workdir`."""
    config = workdir / "docker-config"
    config.mkdir(parents=True, exist_ok=True)
    tag = f"127.0.0.1:{port}/{path}"
    build_app_image(workdir / "image", tag, config)
    return push_local_image(port, tag, path, workdir, password)


def push_local_image(port: int, local: str, path: str, workdir: Path, password: str) -> str:
    """The tutorial's steps with an image built beforehand: `docker login` as admin, `docker tag` it as
    `127.0.0.1:<port>/<path>`, `docker push`; returns the tag."""
    config = workdir / "docker-config"
    config.mkdir(parents=True, exist_ok=True)
    login = docker("login", f"127.0.0.1:{port}", "-u", "admin", "--password-stdin", config=config, input=password,
                   check=False)
    assert login.returncode == 0, login.stderr
    tag = f"127.0.0.1:{port}/{path}"
    docker("tag", local, tag, config=config)
    docker("push", tag, config=config)
    return tag


def runtime_scope(data_dir: Path) -> str:
    """The runtime scope a Snowport data dir keeps in its catalog: `snowport.managed=<scope>` is on every
    container, volume and network of that server (others share the engine)."""
    import sqlite3

    with sqlite3.connect(data_dir / "catalog.sqlite") as db:
        return "snowport-" + db.execute("SELECT value FROM snowport_meta WHERE key = 'runtime_scope'").fetchone()[0]


def remove_server_pods(data_dir: Path) -> None:
    """Remove what a stopped test server left on the engine (pods still in their grace period, its network),
    and nothing else: other tests share the engine."""
    scope = runtime_scope(data_dir)
    leftovers = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=snowport.managed={scope}"],
                               capture_output=True, text=True).stdout.split()
    if leftovers:
        subprocess.run(["docker", "rm", "-f", *leftovers], capture_output=True)
    subprocess.run(["docker", "network", "rm", scope], capture_output=True)


TUTORIAL_DIR = Path(__file__).resolve().parent / "tutorial"
TUTORIAL_JUPYTER_IMAGE = "snowport-cache/python-jupyter-snowpark"


def ensure_tutorial_base(tag: str = "python:3.9") -> float:
    """The `FROM` of the tutorial's Dockerfiles (`python:3.9`): the local python image (Debian bookworm's
    Python 3.11; no registry to pull the real one from) plus this machine's CA bundle, so that the
    Dockerfile's own `apt-get` and `pip3 install` reach the package indexes through the machine's TLS
    proxy, if it has one. Cached by tag; returns the seconds the build took (0 when cached)."""
    if _has_image(tag):
        return 0.0
    ensure_python_image()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="snowport-base-") as work:
        context = Path(work)
        shutil.copy("/etc/ssl/certs/ca-certificates.crt", context / "host-ca.crt")
        (context / "Dockerfile").write_text(
            f"FROM {PYTHON_IMAGE}\nCOPY host-ca.crt /tmp/host-ca.crt\n"
            "RUN cat /tmp/host-ca.crt >> /etc/ssl/certs/ca-certificates.crt && rm /tmp/host-ca.crt\n")
        built = subprocess.run(["docker", "build", "-q", "-t", tag, str(context)], capture_output=True, text=True,
                               env=dict(os.environ, DOCKER_BUILDKIT="0"), timeout=300)
        if built.returncode != 0:
            raise RuntimeError(f"docker build {tag} failed:\n{built.stderr[-3000:]}")
    return time.monotonic() - started


def ensure_tutorial_jupyter_image() -> tuple[str, float]:
    """The seed tutorial's Jupyter image, built from its Dockerfile as written (tests/tutorial/jupyter-snowpark,
    copied verbatim from the tutorial): apt-get, then pip3 install of Jupyter, Snowpark and friends from
    PyPI (about 1.2 GB, 2 minutes here). Tagged by the Dockerfile's hash, cached by tag."""
    context = TUTORIAL_DIR / "jupyter-snowpark"
    key = hashlib.sha256((context / "Dockerfile").read_bytes()).hexdigest()[:12]
    tag = f"{TUTORIAL_JUPYTER_IMAGE}:{key}"
    if _has_image(tag):
        return tag, 0.0
    ensure_tutorial_base()
    started = time.monotonic()
    built = subprocess.run(["docker", "build", "-q", "-t", tag, str(context)], capture_output=True, text=True,
                           env=dict(os.environ, DOCKER_BUILDKIT="0"), timeout=1800)
    if built.returncode != 0:
        raise RuntimeError(f"docker build of the tutorial's Jupyter image failed:\n{built.stdout[-3000:]}\n"
                           f"{built.stderr[-3000:]}")
    return tag, time.monotonic() - started
