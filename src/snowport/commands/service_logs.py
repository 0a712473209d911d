"""`<service>!SPCS_GET_LOGS(...)` and `<service>!SPCS_GET_EVENTS(...)`: a service's kept logs and platform
events as tables (spcs-reference 3.13, 3.14).

They read what the service controller keeps under the data dir (compute/service_logs.py, reached as
`core.service_logs`), so they answer for containers that are gone and, like Snowflake's event table, for a
service that was dropped (for as long as its logs are kept). Before answering, the lines its containers
(running, or not yet removed after a DROP) wrote since the last copy are copied, so a query sees output at
once rather than with Snowflake's minutes of latency.

MONITOR on the service (privilege matrix rows SPCS_GET_LOGS / SPCS_GET_EVENTS). A dropped service has no
grants left; its former owner role (or a role that inherits it) may still read what it left.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from snowport import errors
from snowport.commands import lifecycle
from snowport.commands.context import Ctx
from snowport.commands.kinds import SERVICE

LOGS = "SPCS_GET_LOGS"
EVENTS = "SPCS_GET_EVENTS"
FUNCTIONS = (LOGS, EVENTS)
DEFAULT_WINDOW = timedelta(days=1)

_TS = pa.timestamp("us")  # TIMESTAMP_NTZ, in UTC
LOG_SCHEMA = pa.schema([
    ("TIMESTAMP", _TS), ("INSTANCE_ID", pa.int64()), ("CONTAINER_NAME", pa.string()), ("LOG", pa.string()),
    ("RECORD_ATTRIBUTES", pa.struct([("log.iostream", pa.string())])),
])
EVENT_SCHEMA = pa.schema([
    ("TIMESTAMP", _TS), ("SEVERITY", pa.string()), ("EVENT_NAME", pa.string()),
    ("EVENT_DETAILS", pa.struct([("message", pa.string()), ("status", pa.string())])),
    ("INSTANCE_ID", pa.int64()), ("CONTAINER_NAME", pa.string()),
    ("RECORD", pa.struct([("name", pa.string()), ("severity_text", pa.string())])),
    ("RECORD_ATTRIBUTES", pa.struct([("exitCode", pa.int64())])),
])


def _store(ctx: Ctx) -> Any:
    store = getattr(ctx.core, "service_logs", None)
    if store is None:
        raise errors.SnowflakeError(2143, "22000", "Persistent logs are not enabled for this account.")
    return store


def _service_id(ctx: Ctx, parts: list[str], function: str) -> int:
    """The id of the live service named before `!`, else of a dropped one whose logs are kept; else 002003."""
    target = lifecycle.resolve(ctx, SERVICE, parts, function)
    service = lifecycle.find(ctx, SERVICE, target)
    if service is not None:
        ctx.require(function, service, target.shown)
        return service.id
    store = getattr(ctx.core, "service_logs", None)
    former = store.former(target.database, target.schema, target.name,
                          lambda sid: ctx.catalog.by_id(sid) is not None) if store is not None else None
    if former is not None and former.get("owner") in ctx.auth.active_roles(ctx.session):
        return int(former["id"])
    raise errors.does_not_exist("Service", target.shown)


def _window(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    def utc(value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    end = utc(end) if end is not None else datetime.now(UTC)
    start = utc(start) if start is not None else end - DEFAULT_WINDOW
    return start, end


def _naive(when: datetime) -> datetime:
    return when.astimezone(UTC).replace(tzinfo=None)


def table(ctx: Ctx, parts: list[str], function: str, start: datetime | None = None,
          end: datetime | None = None) -> pa.Table:
    """The rows of `<parts>!<function>(START_TIME => start, END_TIME => end)`."""
    function = function.upper()
    if function not in FUNCTIONS:
        raise errors.SnowflakeError(2140, "42601", errors.compilation(f"Unknown function {function}"))
    service_id = _service_id(ctx, parts, function)
    store = _store(ctx)
    lo, hi = _window(start, end)
    if function == LOGS:
        store.sync(ctx.core.runtime, service_id)  # a dropped service's containers may not be gone yet
        rows = store.logs(service_id, lo, hi)
        return pa.Table.from_pylist([{
            "TIMESTAMP": _naive(r["time"]), "INSTANCE_ID": r.get("i"), "CONTAINER_NAME": r.get("c"),
            "LOG": r.get("l"), "RECORD_ATTRIBUTES": {"log.iostream": r.get("s", "stdout")},
        } for r in rows], schema=LOG_SCHEMA)
    rows = store.events(service_id, lo, hi)
    return pa.Table.from_pylist([{
        "TIMESTAMP": _naive(r["time"]), "SEVERITY": r.get("sev"), "EVENT_NAME": r.get("n"),
        "EVENT_DETAILS": {"message": r["v"].get("message"), "status": r["v"].get("status")},
        "INSTANCE_ID": r.get("i"), "CONTAINER_NAME": r.get("c"),
        "RECORD": {"name": r.get("n"), "severity_text": r.get("sev")},
        "RECORD_ATTRIBUTES": {"exitCode": r["v"]["exitCode"]} if r["v"].get("exitCode") is not None else None,
    } for r in rows], schema=EVENT_SCHEMA)
