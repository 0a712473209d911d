"""HTTP endpoints of the Snowflake protocol: login, query, results, session upkeep, telemetry.

Every answer is HTTP 200 with a JSON body; failures carry `success: false` with Snowflake's
code and SQLSTATE, because the connector retries other statuses and unparsable bodies forever.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import time
from typing import Any

from fakesnow.converter import from_binding
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from snowport.core import QueryRecord, Snowport
from snowport.errors import SnowflakeError
from snowport.security.sessions import Session
from snowport.wire.encoding import result_payload

log = logging.getLogger("snowport.wire")
_ASYNC_TASKS: set[asyncio.Task[Any]] = set()


def _ok(data: Any = None) -> JSONResponse:
    return JSONResponse({"data": data, "code": None, "message": None, "success": True})


def _fail(error: SnowflakeError, query_id: str | None = None, data_extra: dict | None = None) -> JSONResponse:
    data: dict[str, Any] = {
        "internalError": False,
        "errorCode": error.code_str,
        "sqlState": error.sqlstate,
        "queryId": query_id,
        "line": -1,
        "pos": -1,
        "type": error.error_type,
    }
    data.update(data_extra or {})
    return JSONResponse(
        {"data": data, "code": error.code_str, "message": error.message, "success": False, "headers": None}
    )


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    if request.headers.get("Content-Encoding", "").lower() == "gzip" or raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("request body is not a JSON object")
    return value


def _token(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    prefix = 'Snowflake Token="'
    if header.startswith(prefix) and header.endswith('"'):
        return header[len(prefix) : -1]
    if header.startswith("Bearer "):
        return header[7:]
    return None


class WireProtocol:
    """Starlette routes bound to one Snowport core."""

    def __init__(self, core: Snowport) -> None:
        self.core = core

    def routes(self) -> list[Route]:
        return [
            Route("/session/v1/login-request", self.login, methods=["POST"]),
            Route("/session/token-request", self.token_request, methods=["POST"]),
            Route("/session/heartbeat", self.heartbeat, methods=["POST"]),
            Route("/session", self.session_delete, methods=["POST"]),
            Route("/queries/v1/query-request", self.query_request, methods=["POST"]),
            Route("/queries/v1/abort-request", self.abort, methods=["POST"]),
            Route("/queries/{query_id}/abort-request", self.abort, methods=["POST"]),
            Route("/queries/{query_id}/result", self.query_result, methods=["GET"]),
            Route("/monitoring/queries/{query_id}", self.monitoring, methods=["GET"]),
            Route("/monitoring/queries//{query_id}", self.monitoring, methods=["GET"]),
            Route("/telemetry/send", self.telemetry, methods=["POST"]),
        ]

    # ---- helpers -------------------------------------------------------------------------
    def _session(self, request: Request) -> Session:
        return self.core.sessions.by_token(_token(request))

    def _parameters(self, session: Session) -> list[dict[str, Any]]:
        params = {
            "TIMEZONE": "Etc/UTC",
            "AUTOCOMMIT": True,
            "CLIENT_STAGE_ARRAY_BINDING_THRESHOLD": 0,
            "CLIENT_TELEMETRY_ENABLED": False,
            "CLIENT_SESSION_KEEP_ALIVE_HEARTBEAT_FREQUENCY": 3600,
            "CLIENT_PREFETCH_THREADS": 4,
            "QUERY_CONTEXT_CACHE_SIZE": 5,
        }
        for k, v in session.parameters.items():
            params[k] = v
        return [{"name": k, "value": v} for k, v in params.items()]

    def _final_namespace(self, session: Session) -> dict[str, Any]:
        final = {
            "finalDatabaseName": session.database,
            "finalSchemaName": session.schema,
            "finalWarehouseName": session.warehouse,
        }
        if session.role:
            final["finalRoleName"] = session.role
        return final

    def _result_response(self, session: Session, record: QueryRecord) -> JSONResponse:
        if record.error is not None:
            return _fail(record.error, record.id)
        result = record.result
        assert result is not None
        if result.transfer is not None:
            return _ok({**result.transfer, "queryId": record.id, "parameters": self._parameters(session),
                        **self._final_namespace(session)})
        fmt = str(session.parameters.get("PYTHON_CONNECTOR_QUERY_RESULT_FORMAT", "ARROW")).upper()
        data: dict[str, Any] = {
            "parameters": self._parameters(session),
            "rowtype": result.rowtype,
            "total": result.num_rows,
            "returned": result.num_rows,
            "queryId": record.id,
            "statementTypeId": result.statement_type_id,
            "sendResultTime": int(time.time() * 1000),
            **self._final_namespace(session),
            **result_payload(result, prefer_arrow=fmt == "ARROW"),
            **result.extra,
        }
        return JSONResponse({"data": data, "code": None, "message": None, "success": True})

    # ---- login and session upkeep --------------------------------------------------------
    async def login(self, request: Request) -> JSONResponse:
        try:
            body = await _json_body(request)
        except (ValueError, OSError):
            return _fail(SnowflakeError(390400, "08001", "Bad request: the login body is not valid JSON."))
        data = body.get("data") or {}
        q = request.query_params
        authenticator = str(data.get("AUTHENTICATOR") or "SNOWFLAKE").upper()
        try:
            if authenticator == "OAUTH" and not data.get("TOKEN"):
                raise SnowflakeError(390303, "08001", "Invalid OAuth access token. ")
            secret = data.get("PASSWORD") if authenticator == "SNOWFLAKE" else data.get("TOKEN")
            identity = await run_in_threadpool(self.core.login_identity, authenticator,
                                               str(data.get("LOGIN_NAME") or ""), secret)
            role = q.get("roleName") or identity.role
            session = await run_in_threadpool(
                self.core.open_session,
                identity.user,
                role,
                q.get("databaseName") or None,
                q.get("schemaName") or None,
                q.get("warehouse") or None,
                str(data.get("CLIENT_APP_ID") or ""),
                identity,
            )
        except SnowflakeError as e:
            log.info("login refused for %r: %s", data.get("LOGIN_NAME"), e.code_str)
            return _fail(e, data_extra={"nextAction": "RETRY_LOGIN", "authnMethod": "USERNAME_PASSWORD",
                                        "loginName": data.get("LOGIN_NAME")})
        session.base_url = f"{request.url.scheme}://{request.headers.get('host') or request.url.netloc}"
        for key, value in (data.get("SESSION_PARAMETERS") or {}).items():
            if key.upper() in ("TIMEZONE", "QUERY_TAG", "MULTI_STATEMENT_COUNT",
                               "PYTHON_CONNECTOR_QUERY_RESULT_FORMAT"):
                session.parameters[key.upper()] = value
        return _ok(
            {
                "token": session.token,
                "masterToken": session.master_token,
                "validityInSeconds": self.core.sessions.session_validity,
                "masterValidityInSeconds": self.core.sessions.master_validity,
                "sessionId": session.id,
                "serverVersion": "9.0.0",
                "parameters": self._parameters(session),
                "sessionInfo": {
                    "databaseName": session.database,
                    "schemaName": session.schema,
                    "warehouseName": session.warehouse,
                    "roleName": session.role,
                },
                "idToken": None,
                "mfaToken": None,
                "displayUserName": session.user,
                "firstLogin": False,
                "healthCheckInterval": 45,
                "remMeToken": None,
            }
        )

    async def token_request(self, request: Request) -> JSONResponse:
        try:
            body = await _json_body(request)
            session = self.core.sessions.renew(_token(request), body.get("oldSessionToken"))
        except SnowflakeError as e:
            return _fail(e)
        except (ValueError, OSError):
            return _fail(SnowflakeError(390400, "08001", "Bad request."))
        validity = self.core.sessions.session_validity
        return _ok(
            {
                "sessionToken": session.token,
                "validityInSeconds": validity,
                "validityInSecondsST": validity,
                "masterToken": session.master_token,
                "masterValidityInSeconds": int(max(session.master_expires - time.time(), 0)),
            }
        )

    async def heartbeat(self, request: Request) -> JSONResponse:
        try:
            self._session(request)
        except SnowflakeError as e:
            return _fail(e)
        return _ok({})

    async def session_delete(self, request: Request) -> JSONResponse:
        try:
            session = self._session(request)
        except SnowflakeError as e:
            return _fail(e)
        if request.query_params.get("delete", "").lower() == "true":
            await run_in_threadpool(self.core.close_session, session)
        return _ok()

    async def telemetry(self, request: Request) -> JSONResponse:
        await request.body()
        return _ok()

    # ---- queries -------------------------------------------------------------------------
    async def query_request(self, request: Request) -> JSONResponse:
        try:
            session = self._session(request)
        except SnowflakeError as e:
            return _fail(e)
        try:
            body = await _json_body(request)
        except (ValueError, OSError):
            return _fail(SnowflakeError(1003, "42000", "SQL compilation error:\nThe request body is not valid JSON."))
        sql = body.get("sqlText")
        if not isinstance(sql, str):
            return _fail(SnowflakeError(900, "42000", "Empty SQL statement."))
        statement_params = body.get("parameters") or {}
        try:
            params = _decode_bindings(body.get("bindings"))
            count = statement_params.get("MULTI_STATEMENT_COUNT")
            count = None if count is None else int(count)
        except (KeyError, ValueError, TypeError) as e:
            return _fail(SnowflakeError(2049, "22000", f"SQL compilation error:\nInvalid bind values: {e}"))
        describe_only = bool(body.get("describeOnly"))

        if body.get("asyncExec"):
            record = self.core.queries.new(session, sql)
            task = asyncio.create_task(self._run_async(session, sql, params, count, record))
            _ASYNC_TASKS.add(task)
            task.add_done_callback(_ASYNC_TASKS.discard)
            return JSONResponse({
                "data": {"queryId": record.id, "getResultUrl": f"/queries/{record.id}/result",
                         "queryAbortsAfterSecs": 300, "progressDesc": None},
                "code": "333334",
                "message": "Asynchronous execution in progress. Use provided query id to perform query monitoring "
                           "and management.",
                "success": True,
            })
        if isinstance(params, list) and params and isinstance(params[0], tuple):
            record = await run_in_threadpool(self._run_batch, session, sql, params)
            return self._result_response(session, record)
        record = self.core.queries.new(session, sql, request_id=request.query_params.get("requestId"))
        task = asyncio.ensure_future(run_in_threadpool(self.core.run, session, sql, params, describe_only, count,
                                                       record))
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=float(self.core.settings.query_progress_seconds))
        except TimeoutError:
            # still running (a synchronous job): the client polls /queries/<id>/result, as with Snowflake
            _ASYNC_TASKS.add(task)
            task.add_done_callback(_ASYNC_TASKS.discard)
            return _in_progress(record)
        return self._result_response(session, record)

    def _run_batch(self, session: Session, sql: str, rows: list[tuple]) -> QueryRecord:
        """executemany's array binding: one statement per row, one result with the total rows."""
        total = 0
        last = None
        for row in rows:
            last = self.core.run(session, sql, list(row))
            if last.error is not None:
                return last
            assert last.result is not None
            cells = last.result.python_rows()
            total += int(cells[0][0]) if cells and cells[0] and isinstance(cells[0][0], int) else 0
        assert last is not None and last.result is not None
        from snowport.sql.result import Result

        last.result = Result(last.result.rowtype[:1], [(total,)], statement_type_id=last.result.statement_type_id)
        return last

    async def _run_async(self, session: Session, sql: str, params: Any, count: int | None,
                         record: QueryRecord) -> None:
        done = await run_in_threadpool(self.core.run, session, sql, params, False, count)
        record.result, record.error, record.status = done.result, done.error, done.status
        record.child_ids = done.child_ids

    async def query_result(self, request: Request) -> JSONResponse:
        try:
            session = self._session(request)
        except SnowflakeError as e:
            return _fail(e)
        query_id = request.path_params["query_id"]
        record = self.core.queries.get(query_id)
        if record is None or record.session_id != session.id:
            return _fail(SnowflakeError(709, "02000", f"Statement {query_id} not found"))
        deadline = time.monotonic() + float(self.core.settings.query_progress_seconds)
        while record.status == "RUNNING":
            if time.monotonic() > deadline:
                return _in_progress(record)
            await asyncio.sleep(0.02)
        return self._result_response(session, record)

    async def monitoring(self, request: Request) -> JSONResponse:
        try:
            session = self._session(request)
        except SnowflakeError as e:
            return _fail(e)
        query_id = request.path_params["query_id"]
        record = self.core.queries.get(query_id)
        if record is None or record.session_id != session.id:
            return _ok({"queries": []})
        entry: dict[str, Any] = {"id": record.id, "status": record.status, "sqlText": record.sql}
        data: dict[str, Any] = {"queries": [entry]}
        if record.error is not None:
            entry["errorCode"] = record.error.code_str
            entry["errorMessage"] = record.error.message
            data["sqlState"] = record.error.sqlstate
        return _ok(data)

    async def abort(self, request: Request) -> JSONResponse:
        """The connector's cancel: `/queries/v1/abort-request` naming the statement's requestId (a cursor's
        timeout, a cancelled execute), or `/queries/<id>/abort-request` (cursor.abort_query)."""
        try:
            session = self._session(request)
        except SnowflakeError as e:
            return _fail(e)
        try:
            body = await _json_body(request)
        except (ValueError, OSError):
            body = {}
        request_id = body.get("requestId") if isinstance(body, dict) else None

        def same_user(session_id: int) -> bool:  # a user may cancel its own statements in any of its sessions
            other = self.core.sessions.by_id(session_id)
            return session_id == session.id or (other is not None and other.user == session.user)

        self.core.queries.abort(same_user, query_id=request.path_params.get("query_id"),
                                request_id=str(request_id) if request_id else None)
        return _ok()


def _in_progress(record: QueryRecord) -> JSONResponse:
    return JSONResponse({"data": {"queryId": record.id, "getResultUrl": f"/queries/{record.id}/result"},
                         "code": "333333", "message": "Query execution in progress.", "success": True})


def _decode_bindings(bindings: dict[str, Any] | None) -> Any:
    """Wire bindings to engine params: tuple (positional), dict (named) or rows (array binding)."""
    if not bindings:
        return None
    if not all(k.isdigit() for k in bindings):
        return {name: from_binding(b) for name, b in bindings.items()}
    ordered = [bindings[str(i)] for i in range(1, len(bindings) + 1)]
    if any(isinstance(b.get("value"), list) for b in ordered):
        columns = [[from_binding({**b, "value": v}) for v in b["value"]] for b in ordered]
        return list(zip(*columns, strict=True))
    return [from_binding(b) for b in ordered]
