"""Job services: EXECUTE JOB SERVICE, <job>!SPCS_CANCEL_JOB() and SNOWFLAKE.SPCS.GET_JOB_HISTORY (spcs-reference 4).

A job is a SERVICE catalog object with `is_job` (SHOW SERVICES `is_job`), created through the same path as
CREATE SERVICE (commands/services.create_object: privileges, spec parsing, image pinning, the engine
check), so every service statement that reads a service (DESCRIBE, SHOW SERVICE CONTAINERS / INSTANCES,
SYSTEM$GET_SERVICE_STATUS, SPCS_GET_LOGS, DROP SERVICE) works on a job. The service controller runs it
(compute/jobs.py) and computes its status; a synchronous EXECUTE waits here for that status, as
SYSTEM$WAIT_FOR_SERVICES waits for a service's, and cancels the job when its statement is cancelled
(the client's abort-request) or reaches STATEMENT_TIMEOUT_IN_SECONDS.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from snowport import errors
from snowport.catalog.store import CatalogObject
from snowport.commands import lifecycle, properties, services
from snowport.commands.context import Ctx
from snowport.commands.kinds import SERVICE

JOB_TERMINAL = services.JOB_TERMINAL
OPTIONS = ("NAME", "ASYNC", "REPLICAS", *services.JOB_PROPERTIES)
DEFAULT_STATEMENT_TIMEOUT = 172800  # STATEMENT_TIMEOUT_IN_SECONDS' default: 2 days
MAX_STATEMENT_TIMEOUT = 604800  # what 0 (no limit) means: 7 days
MESSAGES = {
    "PENDING": "Job is pending.", "RUNNING": "Job is running.", "DONE": "Job completed successfully.",
    "FAILED": "Job failed.", "CANCELLING": "Job is being cancelled.", "CANCELLED": "Job was cancelled.",
}
CANCEL = "SPCS_CANCEL_JOB"
HISTORY = "GET_JOB_HISTORY"
HISTORY_ARGS = ("CREATED_TIME_START", "CREATED_TIME_END", "RESULT_LIMIT")


@dataclass
class JobOptions:
    """EXECUTE JOB SERVICE's options as written (in any order after the pool)."""

    name: list[str] | None = None
    values: dict[str, Any] = field(default_factory=dict)  # ASYNC, REPLICAS, QUERY_WAREHOUSE, COMMENT, ...


# ---- status, shared with the controller (compute/jobs.py) ---------------------------------------
def job_state(instances: list[dict[str, Any]]) -> str:
    """spcs-reference 4.3 from the instances' statuses: any failed → FAILED, all succeeded → DONE, any
    running → RUNNING, else PENDING."""
    states = [i.get("status") for i in instances]
    if "FAILED" in states:
        return "FAILED"
    if states and all(s == "SUCCEEDED" for s in states):
        return "DONE"
    if any(s in ("READY", "SUCCEEDED") for s in states):
        return "RUNNING"
    return "PENDING"


def instance_statuses(containers: list[dict[str, Any]], instances: list[dict[str, Any]]) -> dict[str, Any]:
    """GET_JOB_HISTORY's INSTANCE_STATUSES object (spcs-reference 4.5)."""
    counts = {"FAILED": 0, "PENDING": 0, "READY": 0, "SUCCEEDED": 0}
    for i in instances:
        state = i.get("status")
        counts[state if state in counts else "PENDING"] += 1
    by_instance: dict[str, list[dict[str, Any]]] = {}
    for c in containers:
        by_instance.setdefault(str(c.get("instanceId")), []).append({
            "containerName": c.get("containerName"), "image": c.get("image"), "imageSha256": c.get("imageDigest"),
            "lastExitCode": c.get("lastExitCode"), "message": c.get("message"),
            "restartCount": c.get("restartCount") or 0, "startTime": c.get("startTime") or "",
            "status": c.get("status"),
        })
    return {"failedInstances": counts["FAILED"], "pendingInstances": counts["PENDING"],
            "runningInstances": counts["READY"], "succeededInstances": counts["SUCCEEDED"],
            "totalInstances": len(instances),
            "instances": [{"instanceId": str(i.get("instanceId")),
                           "containers": by_instance.get(str(i.get("instanceId")), [])} for i in instances]}


# ---- EXECUTE JOB SERVICE ----------------------------------------------------------------------------
def _checked_options(options: JobOptions) -> tuple[bool, int, dict[str, Any]]:
    """(async, replicas, the service properties): every option checked before anything is looked up."""
    values = dict(options.values)
    for key in values:
        if key not in OPTIONS:
            raise errors.SnowflakeError(1003, "42000", errors.compilation(
                f"invalid option '{key}' for EXECUTE JOB SERVICE; expected one of {', '.join(OPTIONS)}."))
    asynchronous = properties.boolean(values.pop("ASYNC", False), "ASYNC")
    replicas = values.pop("REPLICAS", 1)
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
        raise errors.invalid_value(f"invalid value [{replicas}] for parameter 'REPLICAS': it must be a whole "
                                   "number of at least 1.")
    return asynchronous, replicas, values


def execute(ctx: Ctx, pool_name: str, source: services.SpecSource, options: JobOptions) -> str:
    """EXECUTE JOB SERVICE: the job created (all or nothing, as CREATE SERVICE), then, unless ASYNC, its end
    awaited: `Job <NAME> completed successfully with status: DONE.` or an error naming what failed."""
    asynchronous, replicas, values = _checked_options(options)
    query_id = ctx.query.id if ctx.query is not None else str(uuid.uuid4())
    parts = options.name or [f"JOB_{query_id.replace('-', '_').upper()}"]
    job_props = {"is_job": True, "is_async_job": asynchronous, "replicas": replicas, "min_instances": replicas,
                 "max_instances": replicas, "min_ready_instances": replicas, "query_id": query_id}

    def remember(job: CatalogObject) -> None:
        ctx.core.job_history.create(job, query_id, {"ASYNC": asynchronous, "REPLICAS": replicas})

    job, message = services.create_object(ctx, parts, pool_name, source, values, job=job_props, created=remember)
    assert job is not None
    if asynchronous:
        return f"Job {job.name} successfully submitted."
    return _wait(ctx, job)


def _statement_timeout(ctx: Ctx) -> int:
    value = ctx.session.parameters.get("STATEMENT_TIMEOUT_IN_SECONDS", DEFAULT_STATEMENT_TIMEOUT)
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        seconds = DEFAULT_STATEMENT_TIMEOUT
    return seconds if seconds > 0 else MAX_STATEMENT_TIMEOUT


def _wait(ctx: Ctx, job: CatalogObject) -> str:
    timeout = _statement_timeout(ctx)
    deadline = time.monotonic() + timeout
    while True:
        current = ctx.catalog.by_id(job.id)
        if current is None:
            raise errors.SnowflakeError(2003, "02000", errors.compilation(
                f"Job {job.name} was dropped before it completed."), error_type="EXECUTION")
        state = services.job_status(ctx.core.observed, current)
        if state == "DONE":
            return f"Job {job.name} completed successfully with status: DONE."
        if state == "FAILED":
            raise _failure(ctx, current)
        if state in ("CANCELLING", "CANCELLED"):
            raise errors.SnowflakeError(604, "57014", f"Job {job.name} was cancelled with status: {state}.",
                                        error_type="EXECUTION")
        if ctx.cancelled():
            _request_cancel(ctx, current)
            raise errors.SnowflakeError(604, "57014", f"SQL execution canceled. Job {job.name} is being cancelled.",
                                        error_type="EXECUTION")
        if time.monotonic() >= deadline:
            _request_cancel(ctx, current)
            raise errors.SnowflakeError(
                630, "57014", f"Statement reached its statement or warehouse timeout of {timeout} second(s) and was "
                f"canceled. Job {job.name} is being cancelled.", error_type="EXECUTION")
        if ctx.query is not None:
            ctx.query.cancelled.wait(0.2)
        else:
            time.sleep(0.2)


def _failure(ctx: Ctx, job: CatalogObject) -> errors.SnowflakeError:
    """The error of a failed synchronous job: which instance and container failed, and how."""
    failed = [c for c in services.containers(ctx, job) if c.get("status") == "FAILED"]
    details = "; ".join(
        f"instance {c.get('instanceId')}, container '{c.get('containerName')}': {c.get('message')}"
        + (f" (exit code {c['lastExitCode']})" if c.get("lastExitCode") is not None else "")
        for c in failed) or "no container reported why"
    return errors.SnowflakeError(
        2143, "22000", f"Job {job.name} failed with status: FAILED. {details}. See the logs with "
        f"SELECT * FROM TABLE({job.name}!SPCS_GET_LOGS()).", error_type="EXECUTION")


def _request_cancel(ctx: Ctx, job: CatalogObject) -> None:
    """The job's cancel, asked for by its own statement (no privilege beyond having started it)."""
    with ctx.catalog.transaction():
        current = ctx.catalog.by_id(job.id)
        if current is None or current.props.get("cancel_requested"):
            return
        ctx.catalog.update(current.with_props(cancel_requested=True, cancelled_on=time.time()))
    services.notify(ctx, job)


# ---- <job>!SPCS_CANCEL_JOB() ----------------------------------------------------------------------
def cancel(ctx: Ctx, parts: list[str]) -> str:
    """OPERATE on the job (spcs-reference 4.4): its replicas are stopped; CANCELLING, then CANCELLED."""
    target = lifecycle.resolve(ctx, SERVICE, parts, CANCEL)
    job = lifecycle.existing(ctx, SERVICE, target)
    ctx.require(CANCEL, job, target.shown)
    if not job.props.get("is_job"):
        raise errors.invalid_value(f"Service {target.shown} is not a job service: only jobs can be cancelled.")
    state = services.job_status(ctx.core.observed, job)
    if state in JOB_TERMINAL:
        return f"Job {job.name} has already completed with status: {state}."
    if state == "CANCELLING":
        return f"Job {job.name} is already being cancelled."

    def requested(obj: CatalogObject) -> CatalogObject:
        return obj.with_props(cancel_requested=True, cancelled_on=time.time())

    lifecycle.alter(ctx, SERVICE, target, CANCEL, requested)
    services.notify(ctx, job)
    return f"Job {job.name} successfully cancelled."


# ---- SNOWFLAKE.SPCS.GET_JOB_HISTORY ---------------------------------------------------------------
_TS = pa.timestamp("us", tz="UTC")  # TIMESTAMP_LTZ
_CONTAINER = pa.struct([("containerName", pa.string()), ("image", pa.string()), ("imageSha256", pa.string()),
                        ("lastExitCode", pa.int64()), ("message", pa.string()), ("restartCount", pa.int64()),
                        ("startTime", pa.string()), ("status", pa.string())])
_INSTANCES = pa.struct([
    ("failedInstances", pa.int64()), ("pendingInstances", pa.int64()), ("runningInstances", pa.int64()),
    ("succeededInstances", pa.int64()), ("totalInstances", pa.int64()),
    ("instances", pa.list_(pa.struct([("instanceId", pa.string()), ("containers", pa.list_(_CONTAINER))]))),
])
HISTORY_SCHEMA = pa.schema([
    ("QUERY_ID", pa.string()), ("ID", pa.int64()), ("NAME", pa.string()), ("DATABASE_NAME", pa.string()),
    ("SCHEMA_NAME", pa.string()), ("CREATED_TIME", _TS), ("COMPLETED_TIME", _TS), ("DELETED_TIME", _TS),
    ("STATUS", pa.string()), ("MESSAGE", pa.string()), ("INSTANCE_STATUSES", _INSTANCES),
    ("COMPUTE_POOL_NAME", pa.string()), ("OWNER", pa.string()), ("OWNER_ROLE_TYPE", pa.string()),
    ("PARAMETERS", pa.struct([("ASYNC", pa.bool_()), ("REPLICAS", pa.int64())])),
    ("MANAGING_OBJECT", pa.struct([("domain", pa.string()), ("name", pa.string())])),
])


def _utc(value: datetime | None, default: datetime) -> datetime:
    if value is None:
        return default
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _when(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch else None


def history(ctx: Ctx, start: datetime | None = None, end: datetime | None = None, limit: Any = None) -> pa.Table:
    """The current role's jobs created in [start, end] (default: the last 30 days), running, ended or
    deleted, newest first, at most `limit` (1..10000, default 100) (spcs-reference 4.5). Any role may call it."""
    ctx.require(HISTORY)
    now = datetime.now(UTC)
    hi = _utc(end, now)
    lo = _utc(start, hi - timedelta(days=30))
    if limit is None:
        limit = 100
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10000:
        raise errors.invalid_value(f"invalid value [{limit}] for argument 'RESULT_LIMIT': it must be between 1 "
                                   "and 10000.")
    rows = []
    for record in ctx.core.job_history.records():
        created = _when(record.get("created"))
        if record.get("owner") != ctx.role or created is None or not lo <= created <= hi:
            continue
        live = ctx.catalog.by_id(int(record["id"]))
        status, statuses = record.get("status"), record.get("instance_statuses")
        if live is not None and live.kind == "SERVICE" and live.props.get("is_job"):
            status = services.job_status(ctx.core.observed, live)
            statuses = instance_statuses(services.containers(ctx, live),
                                         ctx.core.observed.value(live.id, "instances", []))
        rows.append({
            "QUERY_ID": record.get("query_id"), "ID": record["id"], "NAME": record.get("name"),
            "DATABASE_NAME": record.get("database"), "SCHEMA_NAME": record.get("schema"), "CREATED_TIME": created,
            "COMPLETED_TIME": _when(record.get("completed")), "DELETED_TIME": _when(record.get("deleted")),
            "STATUS": status, "MESSAGE": MESSAGES.get(status or "", record.get("message")),
            "INSTANCE_STATUSES": statuses, "COMPUTE_POOL_NAME": record.get("compute_pool"),
            "OWNER": record.get("owner"), "OWNER_ROLE_TYPE": record.get("owner_role_type", "ROLE"),
            "PARAMETERS": record.get("parameters"), "MANAGING_OBJECT": None,
        })
        if len(rows) >= limit:
            break
    return pa.Table.from_pylist(rows, schema=HISTORY_SCHEMA)
