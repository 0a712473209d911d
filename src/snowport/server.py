"""Builds the ASGI app from the surfaces and runs the background controllers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse

from snowport.compute.controllers import build_runner
from snowport.compute.engine_events import EngineEventWatcher
from snowport.config import Settings
from snowport.core import Snowport
from snowport.ingress.app import Ingress, IngressMiddleware
from snowport.registry.api import RegistryApi
from snowport.wire.files import StageFiles
from snowport.wire.oauth import OAuthToken
from snowport.wire.protocol import WireProtocol

log = logging.getLogger("snowport.server")

# How long shutdown waits for in-flight background work (a registry GC pass, closing sessions).
CONTROLLER_STOP_TIMEOUT = 10.0


def build_app(settings: Settings, core: Snowport | None = None) -> Starlette:
    core = core or Snowport(settings)
    wire = WireProtocol(core)

    # Background work (warehouse auto-suspend, session expiry, registry GC) runs in the controller
    # runner; commands reach it as core.controllers to ask for prompt reconciliation.
    controllers = build_runner(core, settings)
    core.controllers = controllers
    # the engine's events: platform events recorded, and a container's change reconciled at once
    watcher = EngineEventWatcher(core, core.service_logs)
    # public endpoints: requests for an endpoint's host go to ingress before any route below
    ingress = Ingress(core)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        controllers.start()
        watcher.start()
        # what start-up built lives as long as the server: out of the collector's reach, full collections
        # stay cheap for the allocation-heavy paths (service-function batches parse thousands of lists)
        gc.freeze()
        try:
            yield
        finally:
            await asyncio.to_thread(watcher.stop)
            await ingress.close()
            # stop before core.close(): no reconcile may touch sessions or the catalog after it
            if not await asyncio.to_thread(controllers.stop, CONTROLLER_STOP_TIMEOUT):
                log.warning("closing with background work still running")
            core.close()

    async def internal_error(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse({"data": None, "code": "000603", "message": "Internal error.", "success": False})

    routes = wire.routes() + StageFiles(core).routes() + RegistryApi(core, core.registry, core.registry_auth).routes()
    routes += OAuthToken(core).routes()
    app = Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(IngressMiddleware, ingress=ingress)],
                    exception_handlers={Exception: internal_error})
    app.state.core = core
    app.state.ingress = ingress
    app.state.controllers = controllers
    return app
