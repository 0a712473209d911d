"""Stage file storage: one directory per stage, atomic writes, an md5 index.

Layout: `<data>/stages/<key>/<path>` holds the files exactly as LIST shows them, so a later
issue can mount a stage path into a container as a plain directory: files a container writes
there appear in LIST (their md5 is computed on first sight and cached by size and mtime), and
files PUT writes appear in the container. Uploads stream into `<data>/stages/.uploads/` on the
same filesystem and are renamed into place only when complete, so an interrupted upload never
shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import hashlib
import os
import re
import shutil
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from sqlalchemy import BigInteger, Column, MetaData, String, Table, create_engine, delete, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from snowport import errors

_meta = MetaData()
_index = Table(
    "stage_files",
    _meta,
    Column("key", String(255), primary_key=True),
    Column("path", String(1024), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("mtime_ns", BigInteger, nullable=False),
    Column("md5", String(32), nullable=False),
)

CHUNK = 1 << 20
# Uploads are written in pieces of this size, off the event loop.
WRITE_BUFFER = 8 << 20


@dataclass
class StageFile:
    path: str  # relative to the stage root, '/'-separated
    size: int
    md5: str
    last_modified: datetime

    @property
    def last_modified_http(self) -> str:
        """LIST's format: `Tue, 24 Nov 2026 08:00:00 GMT`."""
        return self.last_modified.strftime("%a, %d %b %Y %H:%M:%S GMT")


def normalize_path(path: str) -> str:
    """A stage-relative path with `.`/`..`/empty parts resolved; escapes out of the stage refused."""
    if "\x00" in path or "\\" in path:
        raise errors.SnowflakeError(1003, "42000", f"SQL compilation error:\ninvalid stage path '{path}'.")
    parts: list[str] = []
    for part in PurePosixPath("/" + path).parts[1:]:
        if part == "..":
            raise errors.SnowflakeError(1003, "42000", f"SQL compilation error:\ninvalid stage path '{path}'.")
        if part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


class StageStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.uploads = root / ".uploads"
        shutil.rmtree(self.uploads, ignore_errors=True)  # leftovers of uploads cut off by a crash
        self.uploads.mkdir()
        self._engine = create_engine(f"sqlite:///{root / 'index.sqlite'}")
        _meta.create_all(self._engine)
        self._lock = threading.Lock()
        self._writer = ThreadPoolExecutor(max_workers=4, thread_name_prefix="stage-writer")
        # md5s of finished uploads and deletes of replaced files: work nobody should wait for
        self._background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stage-background")
        # directories bind-mounted into containers (stage volumes) -> the (uid, gid) their files belong to
        self._mounted: dict[Path, tuple[int, int] | None] = {}

    # ---- paths ------------------------------------------------------------------------------
    def stage_dir(self, key: str) -> Path:
        return self.root / key

    def file_path(self, key: str, rel: str) -> Path:
        rel = normalize_path(rel)
        if not rel:
            raise errors.SnowflakeError(1003, "42000", "SQL compilation error:\nmissing file name in stage path.")
        target = (self.stage_dir(key) / rel).resolve()
        base = self.stage_dir(key).resolve()
        if base not in target.parents:
            raise errors.SnowflakeError(1003, "42000", f"SQL compilation error:\ninvalid stage path '{rel}'.")
        return target

    def mount_dir(self, key: str, rel: str, uid: int | None = None, gid: int | None = None) -> Path:
        """The directory a stage volume bind-mounts, made if missing and kept while mounted.

        A REMOVE that empties it must not delete it: the container would keep a deleted directory, and
        what either side wrote afterwards would never meet. With uid/gid (spcs-reference 8.3) everything
        in it belongs to that user and group, as Snowflake's mount presents it, so a container running as
        that user can change the files a PUT brought (and files PUT later are given to it as well)."""
        rel = normalize_path(rel)
        base = self.stage_dir(key).resolve()
        path = (base / rel).resolve() if rel else base
        if path != base and base not in path.parents:
            raise errors.SnowflakeError(1003, "42000", f"SQL compilation error:\ninvalid stage path '{rel}'.")
        path.mkdir(parents=True, exist_ok=True)
        owner = None if uid is None and gid is None else (-1 if uid is None else uid, -1 if gid is None else gid)
        with self._lock:
            known = path in self._mounted
            self._mounted[path] = owner
        if owner is not None and not known:
            for dirpath, dirs, files in os.walk(path):
                for name in (".", *dirs, *files):
                    os.chown(os.path.join(dirpath, name), *owner, follow_symlinks=False)
        return path

    def _owner_in_mount(self, target: Path) -> tuple[int, int] | None:
        """The (uid, gid) a file written at `target` gets: that of the stage volume mounting it, if any."""
        for parent in target.parents:
            if parent in self._mounted:
                return self._mounted[parent]
        return None

    # ---- writing ----------------------------------------------------------------------------
    async def write_stream(self, key: str, rel: str, chunks: AsyncIterator[bytes], overwrite: bool) -> StageFile | None:
        """Stream bytes into the stage; visible only once complete. None when kept (OVERWRITE=FALSE).

        The event loop only gathers network chunks into large buffers that a worker thread writes, so
        receiving and writing overlap. The md5 LIST reports is computed after the upload, in the
        background (hashing is slower than the network here), and on demand if LIST comes first.
        """
        target = self.file_path(key, rel)
        tmp = self.uploads / uuid.uuid4().hex
        size = 0
        loop = asyncio.get_running_loop()
        pending: asyncio.Future[None] | None = None
        try:
            with open(tmp, "wb", buffering=0) as f:
                fd = f.fileno()
                batch: list[bytes] = []
                batched = 0
                async for chunk in chunks:
                    batch.append(chunk)
                    batched += len(chunk)
                    if batched >= WRITE_BUFFER:
                        if pending is not None:
                            await pending
                        size += batched
                        # writev takes the network chunks as they are: no copy into one buffer
                        pending = loop.run_in_executor(self._writer, _write_all, fd, batch)
                        batch, batched = [], 0
                if pending is not None:
                    await pending
                    pending = None
                if batch:
                    size += batched
                    await loop.run_in_executor(self._writer, _write_all, fd, batch)
            stored = await loop.run_in_executor(self._writer, self._commit, key, rel, tmp, target, size, "",
                                                overwrite)
            if stored is not None:
                self._background.submit(self._hash_in_background, key, stored.path, target)
            return stored
        finally:
            if pending is not None:
                with contextlib.suppress(Exception):
                    await pending
            if tmp.exists():
                tmp.unlink()

    def _hash_in_background(self, key: str, rel: str, path: Path) -> None:
        """Record the md5 of a finished upload unless the file changed meanwhile."""
        try:
            before = path.stat()
            md5 = _md5_of(path)
            after = path.stat()
        except FileNotFoundError:
            return
        if (before.st_size, before.st_mtime_ns) == (after.st_size, after.st_mtime_ns):
            self._remember(key, rel, after.st_size, after.st_mtime_ns, md5)

    def write_bytes(self, key: str, rel: str, data: bytes, overwrite: bool = True) -> StageFile | None:
        target = self.file_path(key, rel)
        tmp = self.uploads / uuid.uuid4().hex
        try:
            tmp.write_bytes(data)
            return self._commit(key, rel, tmp, target, len(data), hashlib.md5(data, usedforsecurity=False).hexdigest(),
                                overwrite)
        finally:
            if tmp.exists():
                tmp.unlink()

    def import_file(self, key: str, rel: str, source: Path) -> StageFile | None:
        """Move a finished file (e.g. a COPY INTO @stage output) into the stage atomically."""
        target = self.file_path(key, rel)
        tmp = self.uploads / uuid.uuid4().hex
        shutil.move(source, tmp)
        return self._commit(key, rel, tmp, target, tmp.stat().st_size, _md5_of(tmp), True)

    def _commit(self, key: str, rel: str, tmp: Path, target: Path, size: int, md5: str,
                overwrite: bool) -> StageFile | None:
        with self._lock:
            if target.exists() and not overwrite:
                return None
            target.parent.mkdir(parents=True, exist_ok=True)
            owner = self._owner_in_mount(target) if self._mounted else None
            if owner is not None:  # given to the container's user before it appears in the mount
                os.chown(tmp, *owner)
                for parent in target.parents:
                    if parent in self._mounted:
                        break
                    os.chown(parent, *owner)
            doomed = self._second_link(target)
            os.replace(tmp, target)
            if doomed is not None:
                self._background.submit(doomed.unlink, True)
            st = target.stat()
            self._remember(key, normalize_path(rel), st.st_size, st.st_mtime_ns, md5)
        return StageFile(normalize_path(rel), size, md5, datetime.fromtimestamp(st.st_mtime, UTC))

    def _second_link(self, target: Path) -> Path | None:
        """Hard-link a file about to be replaced into `.uploads/`, for the caller to delete in the background.

        Replacing a file frees its blocks inside the rename, which for a 1 GB file takes a few hundred
        milliseconds that the client would wait for. With a second link the rename frees nothing; the
        blocks go later, off the upload's path (or at the next start, which empties `.uploads/`).
        """
        if not target.is_file():
            return None
        doomed = self.uploads / f"{uuid.uuid4().hex}.replaced"
        try:
            os.link(target, doomed)
        except OSError:  # a filesystem without hard links: the rename frees the blocks itself
            return None
        return doomed

    def _remember(self, key: str, rel: str, size: int, mtime_ns: int, md5: str) -> None:
        with self._engine.begin() as conn:
            stmt = sqlite_insert(_index).values(key=key, path=rel, size=size, mtime_ns=mtime_ns, md5=md5)
            conn.execute(stmt.on_conflict_do_update(index_elements=["key", "path"],
                                                    set_={"size": size, "mtime_ns": mtime_ns, "md5": md5}))

    # ---- reading ----------------------------------------------------------------------------
    def walk(self, key: str, prefix: str = "") -> Iterator[tuple[str, Path]]:
        base = self.stage_dir(key)
        if not base.is_dir():
            return
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                full = Path(dirpath) / name
                rel = full.relative_to(base).as_posix()
                if rel.startswith(prefix):
                    yield rel, full

    def list(self, key: str, prefix: str = "", pattern: str | None = None, with_md5: bool = True) -> list[StageFile]:
        """Files under a path prefix (and matching a regex PATTERN), with cached md5.

        with_md5=False is for callers that only move or delete files (GET, REMOVE): a file whose md5 is
        not known yet gets "" rather than a full read, so a GET right after a 1 GB PUT does not wait for
        the hash.
        """
        prefix = normalize_path(prefix) + ("/" if prefix.endswith("/") and prefix.strip("/") else "")
        regex = _compile(pattern)
        with self._engine.begin() as conn:
            known = {r.path: r for r in conn.execute(select(_index).where(_index.c.key == key))}
        out = []
        for rel, full in sorted(self.walk(key, prefix)):
            if regex is not None and not regex.fullmatch(rel):
                continue
            st = full.stat()
            row = known.get(rel)
            if row is not None and row.size == st.st_size and row.mtime_ns == st.st_mtime_ns and row.md5:
                md5 = row.md5
            elif not with_md5:
                md5 = ""
            else:
                md5 = _md5_of(full)
                self._remember(key, rel, st.st_size, st.st_mtime_ns, md5)
            out.append(StageFile(rel, st.st_size, md5, datetime.fromtimestamp(st.st_mtime, UTC)))
        return out

    def remove(self, key: str, rel: str) -> None:
        target = self.file_path(key, rel)
        with self._lock:
            target.unlink(missing_ok=True)
            with self._engine.begin() as conn:
                conn.execute(delete(_index).where((_index.c.key == key) & (_index.c.path == normalize_path(rel))))
            parent = target.parent
            base = self.stage_dir(key).resolve()
            while parent != base and parent not in self._mounted and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent

    def drop(self, key: str) -> None:
        with self._lock:
            shutil.rmtree(self.stage_dir(key), ignore_errors=True)
            with self._engine.begin() as conn:
                conn.execute(delete(_index).where(_index.c.key == key))


def _compile(pattern: str | None) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error:
        return re.compile(fnmatch.translate(pattern))


def _write_all(fd: int, pieces: list[bytes]) -> None:
    """Write every piece, in order, with as few system calls as the kernel allows (writev may stop short)."""
    views = [memoryview(p) for p in pieces if p]
    while views:
        written = os.writev(fd, views[:1024])  # IOV_MAX
        while views and written >= len(views[0]):
            written -= len(views.pop(0))
        if written:
            views[0] = views[0][written:]


def _md5_of(path: Path) -> str:
    md5 = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            md5.update(chunk)
    return md5.hexdigest()
