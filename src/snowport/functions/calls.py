"""A statement's service-function calls, bound to the data engine for the length of the statement.

Each call `f(x)` / `s.f(x)` / `d.s.f(x)` that names a service function (by name and number of arguments,
resolved against the session like any schema object) is checked once per statement: USAGE on the
function, and the function OWNER's roles must still be allowed the endpoint (spcs-reference 7.1). The
function is then registered on the session's DuckDB connection as a vectorised (Arrow) Python UDF under
a name of its own, and the call rewritten to it, so it works wherever a scalar expression can stand
(SELECT lists, WHERE, UPDATE ... SET, joins). Each chunk of rows DuckDB hands the UDF goes to the
service in batches (client.py). A batch error that ABORTs the statement is kept here and raised in place
of DuckDB's wrapper error, so the client sees the function's own message; DuckDB's statement fails as a
whole, so a failed UPDATE changes nothing.
"""

from __future__ import annotations

import base64
import datetime
import inspect
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from sqlglot import exp

from snowport import __version__ as snowport_version
from snowport import errors
from snowport.catalog.store import CatalogObject
from snowport.commands import endpoints, functions, services
from snowport.commands.context import Ctx
from snowport.commands.function_types import SqlType
from snowport.commands.kinds import FUNCTION
from snowport.functions import client, values
from snowport.names import display

READY_WAIT_SECONDS = 600.0  # longest a call waits for a resumed or starting service to have ready instances
_ILLEGAL = re.compile(r"[^\x20-\x7e]+")


@dataclass
class Bound:
    """The UDFs registered for one statement; `release` removes them, `failure` is the error that ended it."""

    duck: Any = None
    names: list[str] = field(default_factory=list)
    failures: list[errors.SnowflakeError] = field(default_factory=list)

    def failure(self) -> errors.SnowflakeError | None:
        return self.failures[0] if self.failures else None

    def release(self) -> None:
        for name in self.names:
            try:
                self.duck.remove_function(name)
            except Exception:  # noqa: BLE001 - a function DuckDB no longer holds is gone already
                pass
        self.names.clear()


def _flatten(node: exp.Expr) -> list[exp.Expr]:
    if isinstance(node, exp.Dot):
        return [*_flatten(node.this), *_flatten(node.expression)]
    return [node]


def _ident(node: Any) -> str | None:
    if isinstance(node, exp.Identifier):
        return node.this if node.quoted else node.this.upper()
    if isinstance(node, str):
        return node.upper()
    return None


def _calls(ctx: Ctx, expression: exp.Expr) -> list[tuple[exp.Expr, exp.Anonymous, CatalogObject]]:
    """(node to replace, the call, its function) for every call that names a service function."""
    candidates = [n for n in expression.find_all(exp.Anonymous)]
    if not candidates:
        return []
    by_name: dict[str, list[CatalogObject]] = {}
    for fn in ctx.catalog.list(FUNCTION.name):
        by_name.setdefault(fn.props["base_name"], []).append(fn)
    if not by_name:
        return []
    found = []
    for call in candidates:
        name = _ident(call.this)
        if name is None or name not in by_name:
            continue
        node: exp.Expr = call
        qualifier: list[str] = []
        if isinstance(call.parent, exp.Dot) and call.parent.expression is call:
            node = call.parent
            qualifier = [q for q in (_ident(i) for i in _flatten(call.parent.this)) if q is not None]
        database = qualifier[-2] if len(qualifier) >= 2 else ctx.session.database
        schema = qualifier[-1] if qualifier else ctx.session.schema
        if database is None or schema is None:
            continue
        matching = [f for f in by_name[name] if f.database == database and f.schema == schema
                    and len(f.props["args"]) == len(call.expressions)]
        if matching:
            found.append((node, call, matching[0]))
    return found


def _check(ctx: Ctx, fn: CatalogObject) -> tuple[CatalogObject, str]:
    """USAGE on the function (hidden without any privilege), and its owner still allowed the endpoint."""
    shown = functions.shown(fn)
    db = ctx.catalog.get("DATABASE", fn.database)
    sch = ctx.catalog.get("SCHEMA", fn.schema, fn.database)
    parents = db is not None and sch is not None and ctx.auth.has(ctx.session, db, ("USAGE",)) \
        and ctx.auth.has(ctx.session, sch, ("USAGE",))
    if not parents or not ctx.auth.can_see(ctx.session, fn):
        raise errors.does_not_exist("Function", shown)
    ctx.require(functions.CALL_COMMAND, fn, shown)
    database, schema, name = fn.props["service"]
    service = ctx.catalog.get("SERVICE", name, database, schema)
    if service is None:
        raise errors.SnowflakeError(2003, "02000", errors.compilation(
            f"Service '{display(database, schema, name)}' of function {shown} does not exist."))
    if not endpoints.endpoint_allowed(ctx.core, ctx.auth.closure(fn.owner), service, fn.props["endpoint"]):
        raise errors.insufficient_privileges("service endpoint", f"{display(database, schema, name)}!"
                                             f"{fn.props['endpoint']}")
    return service, shown


def _addresses(ctx: Ctx, service: CatalogObject, endpoint: str, shown: str) -> Callable[[], list[endpoints.Address]]:
    """Ready instances of the endpoint; a suspended service with AUTO_RESUME is resumed first and the call
    waits (up to READY_WAIT_SECONDS) for ready instances, as Snowflake holds requests until then."""
    cache: list[endpoints.Address] = []
    checked = [0.0]

    def ready() -> list[endpoints.Address]:
        if cache and time.monotonic() - checked[0] < 1.0:
            return cache
        deadline = time.monotonic() + READY_WAIT_SECONDS
        while True:
            current = ctx.catalog.by_id(service.id)
            if current is None:
                raise errors.SnowflakeError(2003, "02000", errors.compilation(
                    f"Service '{display(service.database, service.schema, service.name)}' of function {shown} "
                    "does not exist."))
            if not services.auto_resume(ctx, current):
                pool = current.props["compute_pool"]
                what = (f"service {display(current.database, current.schema, current.name)}"
                        if current.props.get("suspended") else f"compute pool {pool}")
                raise errors.SnowflakeError(FAILED_SUSPENDED, "P0000", (
                    f"Function {shown} cannot be called: its {what} is suspended and its AUTO_RESUME is FALSE; "
                    "resume it with ALTER ... RESUME."))
            spec_endpoint = endpoints.declared(current).get(endpoint)
            if spec_endpoint is None:
                raise errors.invalid_value(f"Endpoint '{endpoint}' of function {shown} no longer exists in service "
                                           f"{display(current.database, current.schema, current.name)}.")
            found = endpoints.ready_addresses(ctx.core, current, spec_endpoint)
            if found:
                cache[:] = found
                checked[0] = time.monotonic()
                return found
            if ctx.cancelled():
                raise errors.SnowflakeError(604, "57014", "SQL execution canceled")
            if time.monotonic() >= deadline:
                raise errors.SnowflakeError(FAILED_SUSPENDED, "P0000", (
                    f"Service {display(current.database, current.schema, current.name)} of function {shown} has "
                    f"no ready instance after {READY_WAIT_SECONDS:g} seconds."))
            time.sleep(0.2)

    return ready


FAILED_SUSPENDED = client.FAILED


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _context_value(ctx: Ctx, name: str) -> str:
    """The value CONTEXT_HEADERS sends for one context function, as that function would answer now."""
    s = ctx.session
    now = datetime.datetime.now(datetime.UTC).astimezone()
    answers: dict[str, Any] = {
        "CURRENT_ACCOUNT": ctx.core.account_name, "CURRENT_CLIENT": s.client_app or "",
        "CURRENT_DATABASE": s.database or "", "CURRENT_SCHEMA": s.schema or "",
        "CURRENT_SCHEMAS": json.dumps([f"{s.database}.{s.schema}"] if s.database and s.schema else []),
        "CURRENT_DATE": now.date().isoformat(), "CURRENT_TIME": now.time().isoformat(timespec="milliseconds"),
        "LOCALTIME": now.time().isoformat(timespec="milliseconds"),
        "CURRENT_TIMESTAMP": now.isoformat(sep=" ", timespec="milliseconds"),
        "LOCALTIMESTAMP": now.isoformat(sep=" ", timespec="milliseconds"),
        "CURRENT_IP_ADDRESS": "", "CURRENT_REGION": "SNOWPORT", "CURRENT_ROLE": s.role or "",
        "CURRENT_SESSION": str(s.id), "CURRENT_STATEMENT": getattr(ctx.query, "sql", "") or "",
        "CURRENT_TRANSACTION": "", "LAST_TRANSACTION": "", "CURRENT_USER": s.user,
        "CURRENT_VERSION": snowport_version, "CURRENT_WAREHOUSE": s.warehouse or "",
        "LAST_QUERY_ID": s.last_query_id or "",
    }
    return str(answers.get(name, ""))


def headers(ctx: Ctx, fn: CatalogObject) -> dict[str, str]:
    """The headers every batch of this call carries (the batch id is added per batch)."""
    name = display(fn.database, fn.schema, fn.props["base_name"])
    sig = functions.signature(fn)
    returns = functions.return_type(fn).wire
    out = {
        "sf-external-function-format": "json",
        "sf-external-function-format-version": "1.0",
        "sf-external-function-current-query-id": getattr(ctx.query, "id", "") or "",
        "sf-external-function-name": name, "sf-external-function-name-base64": _b64(name),
        "sf-external-function-signature": sig, "sf-external-function-signature-base64": _b64(sig),
        "sf-external-function-return-type": returns, "sf-external-function-return-type-base64": _b64(returns),
    }
    for context in fn.props.get("context_headers") or []:
        value = _context_value(ctx, context)
        key = "sf-context-" + context.lower().replace("_", "-")
        out[key] = _ILLEGAL.sub(" ", value)
        out[key + "-base64"] = _b64(value)
    return out


def _udf(bound: Bound, target: client.Target, fn: CatalogObject) -> Callable[..., pa.Array]:
    arg_types = [SqlType.from_doc(a["type"]) for a in fn.props["args"]]
    returns = functions.return_type(fn)
    strict = fn.props.get("null_handling") == functions.RETURNS_NULL_ON_NULL
    not_null = bool(fn.props.get("not_null"))

    def udf(*arrays: pa.Array) -> pa.Array:
        try:
            count = len(arrays[0]) if arrays else 0
            columns = [values.to_json(a, t) for a, t in zip(arrays, arg_types, strict=False)]
            if strict:
                keep = [i for i in range(count) if all(c[i] is not None for c in columns)]
                answered = target.call([[c[i] for i in keep] for c in columns], len(keep))
                results: list[Any] = [None] * count
                for i, value in zip(keep, answered, strict=True):
                    results[i] = value
            else:
                results = target.call(columns, count)
            if not_null and any(v is None for v in results):
                raise errors.SnowflakeError(100072, "22000", f"NULL result in a non-nullable column (function "
                                            f"{target.name} is declared RETURNS ... NOT NULL)")
            return values.to_arrow(results, returns)
        except errors.SnowflakeError as e:
            bound.failures.append(e)
            raise RuntimeError(e.msg) from None

    # DuckDB counts the Python function's parameters: one per argument (one placeholder when there are none)
    udf.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(f"a{i}", inspect.Parameter.POSITIONAL_ONLY) for i in range(max(len(arg_types), 1))])
    return udf


def bind(ctx: Ctx, expression: exp.Expr) -> Bound:
    """Register the statement's service-function calls as UDFs and rewrite the calls to them."""
    bound = Bound(duck=ctx.session.engine.duckdb if ctx.session.engine is not None else None)
    calls = _calls(ctx, expression)
    if not calls:
        return bound
    registered: dict[int, tuple[str, CatalogObject]] = {}
    try:
        for node, call, fn in calls:
            if fn.id not in registered:
                service, shown = _check(ctx, fn)
                target = client.Target(
                    name=display(fn.database, fn.schema, fn.props["base_name"]), path=fn.props["path"],
                    headers=headers(ctx, fn), addresses=_addresses(ctx, service, fn.props["endpoint"], shown),
                    max_batch_rows=int(fn.props.get("max_batch_rows") or client.DEFAULT_BATCH_ROWS),
                    max_retries=int(fn.props.get("max_batch_retries", functions.DEFAULT_RETRIES)),
                    on_failure=fn.props.get("on_batch_failure", "ABORT"),
                    timeout=float(fn.props.get("batch_timeout_secs") or functions.DEFAULT_TIMEOUT_SECS),
                    cancelled=ctx.cancelled)
                udf_name = f"_snowport_sf_{uuid.uuid4().hex[:16]}"
                params = [SqlType.from_doc(a["type"]).duck for a in fn.props["args"]] or ["INTEGER"]
                engine_type, _cast = values.result_engine_type(functions.return_type(fn))
                bound.duck.create_function(udf_name, _udf(bound, target, fn), params, engine_type, type="arrow",
                                           null_handling="special", side_effects=True)
                bound.names.append(udf_name)
                registered[fn.id] = (udf_name, fn)
            udf_name, _ = registered[fn.id]
            rewritten = _rewritten(udf_name, call, fn)
            if isinstance(node.parent, exp.Select) and node.arg_key == "expressions":
                # an unaliased call keeps the column name Snowflake gives it: the call as written
                rewritten = exp.alias_(rewritten, node.sql(dialect="snowflake").upper(), quoted=True)
            node.replace(rewritten)
    except BaseException:
        bound.release()
        raise
    return bound


def _rewritten(udf_name: str, call: exp.Anonymous, fn: CatalogObject) -> exp.Expr:
    """The call to the registered UDF: arguments cast to the declared types, the result to the return type."""
    arg_types = [SqlType.from_doc(a["type"]) for a in fn.props["args"]]
    args = [exp.cast(a.copy(), exp.DataType.build(t.duck, dialect="duckdb")) for a, t in
            zip(call.expressions, arg_types, strict=True)] or [exp.Literal.number(1)]
    new: exp.Expr = exp.Anonymous(this=udf_name, expressions=args)
    returns = functions.return_type(fn)
    _engine, cast = values.result_engine_type(returns)
    if cast:
        new = exp.cast(new, exp.DataType.build(returns.duck, dialect="duckdb"))
    return new
