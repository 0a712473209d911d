"""Block volumes and their snapshots on one machine: a sparse ext4 image per volume, loop-mounted.

What a Kubernetes backend gets from a PersistentVolumeClaim (one per service instance and volume,
outliving its pods) and a VolumeSnapshot, the Docker runtime gets from here:

* a volume (a *claim*) is `<root>/volumes/<claim>/volume.img`, a sparse file of exactly the volume's
  size holding an ext4 file system, loop-mounted at `<root>/volumes/<claim>/mnt`; its `data` directory
  is bind-mounted into the pod's containers (it exists only while the file system is mounted). The
  image's size is the volume's size: a write past it fails with ENOSPC inside the container, as on a
  real disk;
* a snapshot is `<root>/snapshots/<name>.img`: a sparse copy of the image taken after `sync`
  (crash-consistent, which is what Snowflake promises too); a volume created from it starts as a copy
  (grown to the volume's size when that is larger);
* each claim has `meta.json` (its labels and size), so a restarted Snowport finds its volumes again by
  label, the way it adopts its containers; the kernel keeps the loop mounts across a restart of the
  process, and `mounted()` re-establishes one that is gone before any container needs it.

Everything runs as root (Snowport does); `mount`, `umount`, `mkfs.ext4`, `e2fsck`, `resize2fs` and
`cp --sparse=always` are the only tools used. One lock per claim keeps the controller and a command
(CREATE SNAPSHOT) from provisioning the same claim twice.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path

from snowport.runtime.base import EngineError

_CLAIM = re.compile(r"^[a-z0-9][a-z0-9.-]{0,120}$")
_TOOL_TIMEOUT = 600.0
DATA = "data"  # the directory of the file system containers see as the volume


class BlockVolumeError(EngineError):
    """A block volume or snapshot could not be made, mounted, copied or removed."""


def _run(*argv: str, ok: tuple[int, ...] = (0,)) -> None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=_TOOL_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BlockVolumeError(f"{argv[0]}: {e}") from e
    if done.returncode not in ok:
        raise BlockVolumeError(f"{' '.join(argv)}: {(done.stderr or done.stdout).strip()}")


def _mount_points() -> set[str]:
    """Mount points of this mount namespace (the one the engine shares: bind mounts see what is here)."""
    points = set()
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if len(fields) > 4:
                points.add(fields[4].encode().decode("unicode_escape"))
    return points


class LoopBlockStorage:
    """Block volumes (claims) and snapshots under `root`, one directory per claim."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    # ---- paths ---------------------------------------------------------------------------------
    def _dir(self, claim: str) -> Path:
        if not _CLAIM.match(claim):
            raise BlockVolumeError(f"invalid block volume claim {claim!r}")
        return self.root / "volumes" / claim

    def _snapshot(self, name: str) -> Path:
        if not _CLAIM.match(name):
            raise BlockVolumeError(f"invalid snapshot name {name!r}")
        return self.root / "snapshots" / f"{name}.img"

    def _lock(self, claim: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(claim, threading.Lock())

    # ---- volumes -------------------------------------------------------------------------------
    def exists(self, claim: str) -> bool:
        return (self._dir(claim) / "meta.json").exists()

    def ensure(self, claim: str, size_bytes: int, labels: Mapping[str, str],
               from_snapshot: str | None = None) -> bool:
        """Create the volume unless it exists: an empty ext4 file system of `size_bytes`, or a copy of
        `from_snapshot` grown to that size. Returns True when it was created now. All or nothing: a
        failure leaves no claim behind."""
        with self._lock(claim):
            where = self._dir(claim)
            if (where / "meta.json").exists():
                return False
            if where.exists():
                self._remove_dir(where)  # a half-made claim of an earlier attempt
            partial = where.with_name(f".{claim}.{uuid.uuid4().hex[:8]}")
            partial.mkdir(parents=True)
            try:
                image = partial / "volume.img"
                if from_snapshot is not None:
                    source = self._snapshot(from_snapshot)
                    if not source.exists():
                        raise BlockVolumeError(f"snapshot {from_snapshot} does not exist")
                    if source.stat().st_size > size_bytes:
                        raise BlockVolumeError(f"snapshot {from_snapshot} is larger than the volume ({size_bytes} "
                                               "bytes)")
                    _run("cp", "--sparse=always", str(source), str(image))
                    if image.stat().st_size < size_bytes:
                        os.truncate(image, size_bytes)
                        _run("e2fsck", "-f", "-y", str(image), ok=(0, 1))  # 1: corrected
                        _run("resize2fs", "-f", str(image))
                else:
                    with open(image, "wb") as f:
                        f.truncate(size_bytes)
                    template = partial / "template"
                    (template / DATA).mkdir(parents=True)
                    (template / DATA).chmod(0o755)
                    # -m 0: no blocks reserved for root, the whole size is the volume's; -d: with DATA in it
                    _run("mkfs.ext4", "-q", "-F", "-m", "0", "-E", "root_owner=0:0", "-d", str(template),
                         str(image))
                    shutil.rmtree(template)
                (partial / "mnt").mkdir()
                (partial / "meta.json").write_text(json.dumps({"labels": dict(labels), "size_bytes": size_bytes}))
                partial.rename(where)
            except BaseException:
                shutil.rmtree(partial, ignore_errors=True)
                raise
            return True

    def mounted(self, claim: str) -> str:
        """The host directory containers bind-mount: `DATA` inside the volume's file system, mounting it
        first if it is not. Only exists while mounted, so a container the engine starts on its own while
        the volume is not mounted (after a reboot) fails to start instead of writing to the host's disk."""
        with self._lock(claim):
            where = self._dir(claim)
            if not (where / "meta.json").exists():
                raise BlockVolumeError(f"block volume {claim} does not exist")
            mnt = where / "mnt"
            if str(mnt) not in _mount_points():
                _run("mount", "-o", "loop", str(where / "volume.img"), str(mnt))
            data = mnt / DATA
            if not data.exists():
                data.mkdir(mode=0o755)
            return str(data)

    def delete(self, claim: str) -> None:
        """Unmount and remove the volume (its data is gone). Removing one that is not there does nothing."""
        with self._lock(claim):
            where = self._dir(claim)
            if where.exists():
                self._remove_dir(where)
        with self._guard:
            self._locks.pop(claim, None)

    def _remove_dir(self, where: Path) -> None:
        self._unmount(where / "mnt")
        shutil.rmtree(where, ignore_errors=True)

    def _unmount(self, mnt: Path) -> None:
        if str(mnt) not in _mount_points():
            return
        try:
            _run("umount", str(mnt))
        except BlockVolumeError:
            # still open somewhere (a container being removed): detached now, freed when the last user goes
            _run("umount", "-l", str(mnt))

    def unmount(self, claim: str) -> None:
        """Unmount the volume, keeping its data (the next `mounted()` mounts it again)."""
        with self._lock(claim):
            self._unmount(self._dir(claim) / "mnt")

    def list(self, labels: Mapping[str, str] | None = None) -> dict[str, dict[str, str]]:
        """Claim -> labels of every volume whose labels include `labels`."""
        found: dict[str, dict[str, str]] = {}
        base = self.root / "volumes"
        if not base.exists():
            return found
        for meta in base.glob("*/meta.json"):
            try:
                have = json.loads(meta.read_text()).get("labels", {})
            except (OSError, ValueError):
                continue
            if all(have.get(k) == v for k, v in (labels or {}).items()):
                found[meta.parent.name] = have
        return found

    def size(self, claim: str) -> int:
        return int(json.loads((self._dir(claim) / "meta.json").read_text())["size_bytes"])

    # ---- snapshots -----------------------------------------------------------------------------
    def snapshot(self, claim: str, name: str) -> int:
        """A crash-consistent copy of the volume as `name`; returns the volume's size in bytes."""
        target = self._snapshot(name)
        with self._lock(claim):
            where = self._dir(claim)
            if not (where / "meta.json").exists():
                raise BlockVolumeError(f"block volume {claim} does not exist")
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{name}.partial")
            os.sync()  # what the containers wrote reaches the image first
            try:
                _run("cp", "--sparse=always", str(where / "volume.img"), str(partial))
                partial.rename(target)
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
            return self.size(claim)

    def snapshot_exists(self, name: str) -> bool:
        return self._snapshot(name).exists()

    def snapshot_size(self, name: str) -> int:
        return self._snapshot(name).stat().st_size

    def delete_snapshot(self, name: str) -> None:
        self._snapshot(name).unlink(missing_ok=True)

    def release_all(self) -> list[str]:
        """Unmount every volume (their images stay): for tests and tools that end a data dir's life."""
        base = self.root / "volumes"
        done = []
        for mnt in sorted(base.glob("*/mnt")) if base.exists() else []:
            if str(mnt) in _mount_points():
                self._unmount(mnt)
                done.append(mnt.parent.name)
        return done
