"""Job history: one record per job service, kept 30 days, whether the job still exists or not.

SNOWFLAKE.SPCS.GET_JOB_HISTORY answers for running, finished and deleted jobs (spcs-reference 4.5), so
its rows cannot live in the catalog object (a DROP removes that) nor in observed state (removed with
the object). Each job has a small JSON file `<data dir>/jobs/<id>.json`: EXECUTE JOB SERVICE writes it
when the job is created (query id, parameters), the service controller updates it as the job's status
changes and marks it deleted when the job is dropped or cleaned up. Records older than
HISTORY_SECONDS are removed when the history is read.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

HISTORY_SECONDS = 30 * 86400.0
ENDED = ("DONE", "FAILED", "CANCELLED", "INTERNAL_ERROR", "DELETED")


def ended_job(observed: Any, service: Any) -> bool:
    """A job that ended (or is being cancelled): it holds no room on its pool, does not keep the pool busy
    and does not stop a DROP COMPUTE POOL, though its metadata stays visible for 30 days."""
    return bool(service.props.get("is_job")) and bool(
        service.props.get("cancel_requested") or observed.value(service.id, "finished_on"))


class JobHistory:
    """Thread-safe store of job records (plain dicts, see `create` for the keys)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()

    def _path(self, job_id: int) -> Path:
        return self.root / f"{int(job_id)}.json"

    def get(self, job_id: int) -> dict[str, Any] | None:
        try:
            return json.loads(self._path(job_id).read_text())
        except (FileNotFoundError, ValueError):
            return None

    def _write(self, record: dict[str, Any]) -> None:
        path = self._path(record["id"])
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".new")
        partial.write_text(json.dumps(record))
        partial.replace(path)  # atomic: a reader never sees half a record

    def create(self, job: Any, query_id: str | None, parameters: dict[str, Any]) -> None:
        """The record of a job just created (`job`: its catalog object)."""
        with self._lock:
            self._write({
                "id": job.id, "query_id": query_id, "name": job.name, "database": job.database,
                "schema": job.schema, "created": time.time(), "completed": None, "deleted": None,
                "status": "PENDING", "message": "Job is pending.", "instance_statuses": None,
                "compute_pool": job.props.get("compute_pool"), "owner": job.owner, "owner_role_type": "ROLE",
                "parameters": parameters,
            })

    def update(self, job_id: int, **values: Any) -> None:
        """Merge values into the job's record (no record: nothing to update)."""
        with self._lock:
            record = self.get(job_id)
            if record is None:
                return
            merged = {**record, **values}
            if merged != record:
                self._write(merged)

    def deleted(self, job_id: int) -> None:
        """The job is gone from the catalog (DROP, or its metadata's retention ended); one dropped before it
        ended ends DELETED (spcs-reference 4.3)."""
        with self._lock:
            record = self.get(job_id)
            if record is None or record.get("deleted"):
                return
            now = time.time()
            ended = record.get("status") in ENDED
            self._write({**record, "deleted": now, **({} if ended else {
                "status": "DELETED", "message": "Job was deleted.", "completed": now})})

    def records(self, now: float | None = None) -> list[dict[str, Any]]:
        """Every record younger than HISTORY_SECONDS, newest first; older ones are removed."""
        now = time.time() if now is None else now
        out = []
        if not self.root.exists():
            return out
        for path in self.root.glob("*.json"):
            try:
                record = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if record.get("created", 0) + HISTORY_SECONDS < now:
                path.unlink(missing_ok=True)
                continue
            out.append(record)
        out.sort(key=lambda r: (r.get("created", 0), r["id"]), reverse=True)
        return out
