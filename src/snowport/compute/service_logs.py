"""Service logs and platform events kept under the data dir, so they outlive containers and services.

Layout (per service, beside the `session/` directory the controller writes)::

    <data dir>/services/<id>/service.json         name, database, schema, owner; dropped_on once dropped
    <data dir>/services/<id>/logs/<inst>.<name>.jsonl[.1 .2]   one JSON record per output line
    <data dir>/services/<id>/logs/cursors.json    per container: the last copied line's time, its restart count
    <data dir>/services/<id>/events.jsonl[.1 .2]  platform events (SPCS_GET_EVENTS)

Everything is bounded: a log file rotates at LOG_FILE_BYTES and LOG_FILES are kept per container; events
rotate likewise; a record is cut at 16 KiB (Snowflake's maximum log record). A dropped service's directory
is kept for DROPPED_RETENTION_SECONDS (Snowflake keeps a dropped service's rows in the event table, which
SPCS_GET_LOGS reads after the service is gone), then removed by `purge`.

Collection is by copy, not by following: Docker already keeps each container's output in its bounded
json-file log, so `collect` reads what is new since the container's cursor and appends it here. It runs
on every reconcile of the service (a resync, a container event, a DROP or SUSPEND before its pods are
deleted) and before a logs query answers, so a line reaches the store before its container can go. No
thread or open stream per container: idle cost is nil (see docs/services.md, "Logs and events").
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from snowport.compute.services import INSTANCE_LABEL, SERVICE_LABEL
from snowport.runtime import EngineError, LogLine, NoPreviousRun, PodNotFound

log = logging.getLogger("snowport.compute.service_logs")

LOG_FILE_BYTES = 2 * 1024 * 1024
LOG_FILES = 3
EVENT_FILE_BYTES = 1024 * 1024
EVENT_FILES = 3
MAX_RECORD = 16 * 1024
DROPPED_RETENTION_SECONDS = 7 * 86400


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class RotatingJsonl:
    """An append-only JSON-lines file that rotates to `.1`, `.2`, ... and keeps `files` files in all."""

    def __init__(self, path: Path, max_bytes: int, files: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.files = files

    def _rotated(self, n: int) -> Path:
        return self.path if n == 0 else self.path.with_name(f"{self.path.name}.{n}")

    def append(self, records: Iterable[dict[str, Any]]) -> None:
        data = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records)
        if not data:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() and self.path.stat().st_size + len(data) > self.max_bytes:
            for n in range(self.files - 1, 0, -1):
                older = self._rotated(n - 1)
                if older.exists():
                    older.replace(self._rotated(n))
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(data)

    def read(self) -> Iterator[dict[str, Any]]:
        """Oldest first."""
        for n in range(self.files - 1, -1, -1):
            path = self._rotated(n)
            try:
                text = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                continue
            for line in text.splitlines():
                try:
                    yield json.loads(line)
                except ValueError:
                    continue  # a line cut by a crash


class ServiceLogStore:
    """Logs and platform events of every service of one data dir (thread-safe)."""

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / "services"
        self._lock = threading.RLock()
        self._collecting: dict[int, threading.Lock] = {}

    # ---- per-service metadata ---------------------------------------------------------------
    def _dir(self, service_id: int) -> Path:
        return self.root / str(int(service_id))

    def meta(self, service_id: int) -> dict[str, Any] | None:
        try:
            return json.loads((self._dir(service_id) / "service.json").read_text())
        except (FileNotFoundError, ValueError):
            return None

    def remember(self, service: Any) -> None:
        """Record the service's names and owner: what a query needs to find its logs after a DROP."""
        entry = {"id": service.id, "name": service.name, "database": service.database, "schema": service.schema,
                 "owner": service.owner, "dropped_on": None}
        with self._lock:
            if self.meta(service.id) == entry:
                return
            self._write_meta(service.id, entry)

    def mark_dropped(self, service_id: int) -> None:
        with self._lock:
            entry = self.meta(service_id)
            if entry is None or entry.get("dropped_on"):
                return
            self._write_meta(service_id, {**entry, "dropped_on": time.time()})

    def _write_meta(self, service_id: int, entry: dict[str, Any]) -> None:
        path = self._dir(service_id) / "service.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".new")
        partial.write_text(json.dumps(entry))
        partial.replace(path)

    def former(self, database: str, schema: str, name: str, exists: Any) -> dict[str, Any] | None:
        """The most recent service of that name that `exists(id)` says is gone and whose logs are kept.

        A service is gone as soon as its DROP commits, which may be before the controller has marked it
        dropped here: the catalog, not the mark, decides, so a query right after a DROP finds its logs."""
        found = []
        if not self.root.exists():
            return None
        for child in self.root.iterdir():
            if not child.name.isdigit():
                continue
            entry = self.meta(int(child.name))
            if entry and (entry["database"], entry["schema"], entry["name"]) == (database, schema, name) and (
                    entry.get("dropped_on") or not exists(int(entry["id"]))):
                found.append(entry)
        return max(found, key=lambda e: (e.get("dropped_on") or float("inf"), e["id"])) if found else None

    def purge(self, now: float | None = None) -> list[int]:
        """Remove what dropped services left once their retention has passed; returns their ids."""
        now = time.time() if now is None else now
        gone = []
        if not self.root.exists():
            return gone
        for child in self.root.iterdir():
            entry = self.meta(int(child.name)) if child.name.isdigit() else None
            if entry and entry.get("dropped_on") and entry["dropped_on"] + DROPPED_RETENTION_SECONDS < now:
                shutil.rmtree(child, ignore_errors=True)
                gone.append(int(child.name))
        return gone

    # ---- logs -------------------------------------------------------------------------------
    def _log_file(self, service_id: int, instance: int, container: str) -> RotatingJsonl:
        return RotatingJsonl(self._dir(service_id) / "logs" / f"{int(instance)}.{container}.jsonl",
                             LOG_FILE_BYTES, LOG_FILES)

    def _cursors(self, service_id: int) -> dict[str, Any]:
        try:
            return json.loads((self._dir(service_id) / "logs" / "cursors.json").read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def _save_cursors(self, service_id: int, cursors: dict[str, Any]) -> None:
        path = self._dir(service_id) / "logs" / "cursors.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".new")
        partial.write_text(json.dumps(cursors))
        partial.replace(path)

    def sync(self, runtime: Any, service_id: int) -> int:
        """Copy what is new in the service's running containers' output (before a query reads the store)."""
        try:
            pods = runtime.list_pods({SERVICE_LABEL: str(int(service_id))})
        except EngineError:
            return 0
        return self.collect(runtime, service_id, pods)

    def collect(self, runtime: Any, service_id: int, pods: Iterable[Any]) -> int:
        """Copy what is new in the pods' container logs (current run, and the previous one after a restart)
        into the store; returns the number of lines copied. Engine errors leave the cursor where it was."""
        with self._lock:
            lock = self._collecting.setdefault(int(service_id), threading.Lock())
        copied = 0
        with lock:  # a query and a reconcile collecting at once would copy the same lines twice
            cursors = self._cursors(service_id)
            for pod in pods:
                instance = int(pod.labels.get(INSTANCE_LABEL, "0") or 0)
                for c in pod.containers:
                    key = f"{instance}/{c.name}"
                    cursor = cursors.get(key, {})
                    since = parse_iso(cursor["t"]) if cursor.get("t") else None
                    try:
                        lines = self._new_lines(runtime, pod.pod_id, c, since, cursor.get("restarts"))
                    except EngineError as e:
                        log.debug("logs of %s/%s not collected: %s", pod.pod_id, c.name, e)
                        continue
                    if lines:
                        self._log_file(service_id, instance, c.name).append(
                            {"t": _iso(line.time), "i": instance, "c": c.name, "s": line.stream,
                             "l": line.text[:MAX_RECORD]} for line in lines)
                        copied += len(lines)
                        since = lines[-1].time
                    cursors[key] = {"t": _iso(since) if since else None, "restarts": c.restart_count}
            self._save_cursors(service_id, cursors)
        return copied

    @staticmethod
    def _new_lines(runtime: Any, pod_id: str, c: Any, since: datetime | None,
                   restarts: int | None) -> list[LogLine]:
        lines: list[LogLine] = []
        if c.restart_count and restarts != c.restart_count:
            try:  # the run that ended since the last copy (Docker restarted it in place, or Snowport did)
                lines += runtime.logs(pod_id, c.name, since=since, previous=True)
            except (NoPreviousRun, PodNotFound):
                pass
        lines += runtime.logs(pod_id, c.name, since=since)
        seen: set[tuple[datetime, str, str]] = set()
        out = []
        for line in sorted(lines, key=lambda x: x.time):
            mark = (line.time, line.stream, line.text)
            if (since is None or line.time > since) and mark not in seen:
                seen.add(mark)
                out.append(line)
        return out

    def logs(self, service_id: int, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Stored lines of every container of the service in [start, end], oldest first."""
        logs_dir = self._dir(service_id) / "logs"
        names = sorted({p.name.split(".jsonl")[0] for p in logs_dir.glob("*.jsonl*")}) if logs_dir.exists() else []
        out = []
        for name in names:
            instance, _, container = name.partition(".")
            for record in self._log_file(service_id, int(instance), container).read():
                when = parse_iso(record["t"])
                if start <= when <= end:
                    out.append({**record, "time": when})
        out.sort(key=lambda r: r["time"])
        return out

    # ---- platform events --------------------------------------------------------------------
    def _event_file(self, service_id: int) -> RotatingJsonl:
        return RotatingJsonl(self._dir(service_id) / "events.jsonl", EVENT_FILE_BYTES, EVENT_FILES)

    def record_event(self, service_id: int, when: datetime, name: str, severity: str, value: dict[str, Any],
                     instance: int | None = None, container: str | None = None) -> None:
        """One platform event (RECORD:name, severity_text, VALUE), as Snowflake writes it to the event table."""
        with self._lock:
            self._event_file(service_id).append([{"t": _iso(when), "n": name, "sev": severity, "v": value,
                                                  "i": instance, "c": container}])

    def events(self, service_id: int, start: datetime, end: datetime) -> list[dict[str, Any]]:
        out = []
        for record in self._event_file(service_id).read():
            when = parse_iso(record["t"])
            if start <= when <= end:
                out.append({**record, "time": when})
        out.sort(key=lambda r: r["time"])
        return out
