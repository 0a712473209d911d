"""Builds the ASGI app from the surfaces and runs the background controllers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse

from snowport.config import Settings
from snowport.core import Snowport
from snowport.registry.api import RegistryApi
from snowport.wire.files import StageFiles
from snowport.wire.protocol import WireProtocol

log = logging.getLogger("snowport.server")


def build_app(settings: Settings, core: Snowport | None = None) -> Starlette:
    core = core or Snowport(settings)
    wire = WireProtocol(core)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()

        async def warehouse_loop() -> None:
            next_gc = time.monotonic() + settings.registry_gc_interval_seconds
            while not stop.is_set():
                try:
                    core.warehouses.tick()
                    for session in core.sessions.expired():
                        core.close_session(session)
                    if time.monotonic() >= next_gc:
                        await asyncio.to_thread(core.registry.collect_garbage, settings.registry_gc_grace_seconds)
                        next_gc = time.monotonic() + settings.registry_gc_interval_seconds
                except Exception:  # keep the controller alive; the next tick retries
                    log.exception("warehouse tick failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), settings.warehouse_tick_seconds)

        task = asyncio.create_task(warehouse_loop())
        try:
            yield
        finally:
            stop.set()
            await task
            core.close()

    async def internal_error(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse({"data": None, "code": "000603", "message": "Internal error.", "success": False})

    routes = wire.routes() + StageFiles(core).routes() + RegistryApi(core, core.registry, core.registry_auth).routes()
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={Exception: internal_error})
    app.state.core = core
    return app
