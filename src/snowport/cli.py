"""`snowport` command line: `up` runs the server; `token` issues OAuth tokens for programs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from snowport import __version__
from snowport.config import Settings
from snowport.core import Snowport
from snowport.server import build_app
from snowport.stages.file_server import FileServer
from snowport.wire.files import StageFiles

app = typer.Typer(help="Snowport: a self-hosted Snowpark Container Services.", no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True, highlight=False, markup=False)


def _settings(host: str | None, port: int | None, data_dir: Path | None) -> Settings:
    overrides = {k: v for k, v in {"host": host, "port": port, "data_dir": data_dir}.items() if v is not None}
    return Settings(**overrides)


@app.command()
def up(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default 8080).")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Where catalog, data and files live.")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
    container_tls: Annotated[bool, typer.Option(
        help="Also serve HTTPS on port 443 of the containers' network gateway, so code in service containers "
             "connects back with the clients' defaults.")] = True,
) -> None:
    """Start the server; Ctrl-C stops it cleanly and a restart keeps every object."""
    settings = _settings(host, port, data_dir)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    core = Snowport(settings)
    application = build_app(settings, core)
    if core.generated_password:
        console.print(f"Generated password for user {core.settings.admin_user.upper()}: "
                      f"{core.generated_password}  (shown once; set SNOWPORT_ADMIN_PASSWORD to choose your own)")
    _print_connection_help(settings)
    # no `server: uvicorn` header: ingress removes an app's Server header (spcs-reference 6.5) and adds none
    config = uvicorn.Config(application, host=settings.host, port=settings.port, log_level=log_level,
                            timeout_graceful_shutdown=5, server_header=False)
    sockets = [_listen(settings.host, settings.port)]
    gateway = _container_gateway(core)
    if gateway is not None and settings.host not in ("0.0.0.0", gateway):
        try:
            sockets.append(_listen(gateway, settings.port))
            core.container_host = gateway
            console.print(f"Containers reach Snowport at http://{gateway}:{settings.port}")
        except OSError as e:
            console.print(f"Containers cannot reach Snowport at {gateway}:{settings.port} ({e})")
    elif settings.host == "0.0.0.0" and gateway is not None:
        core.container_host = gateway
    file_server = _file_server(core, settings.host)
    companions = []
    if gateway is not None and container_tls:
        tls_server = container_tls_listener(core, application, gateway, CONTAINER_TLS_PORT, log_level)
        if tls_server is not None:
            companions.append(tls_server)
    try:
        _Server(config, companions).run(sockets=sockets)
    except KeyboardInterrupt:
        pass  # uvicorn re-raises Ctrl-C after its clean shutdown; the shutdown is what matters
    finally:
        if file_server is not None:
            file_server.stop()


def _file_server(core: Snowport, host: str) -> FileServer | None:
    """The sendfile listener for presigned GETs (stages/file_server.py) on SNOWPORT_FILE_PORT (0: any free
    port; -1: none, every GET goes through the main listener)."""
    if core.settings.file_port < 0:
        return None
    try:
        sock = _listen(host, core.settings.file_port)
    except OSError as e:
        console.print(f"Stage GETs go through the main listener: cannot listen on {host}:"
                      f"{core.settings.file_port} ({e})")
        return None
    server = FileServer(sock, StageFiles(core).resolve_download)
    server.start()
    core.file_server_port = server.address[1]
    return server


# The clients' default port: containers connect back with https://SNOWFLAKE_HOST and no port.
CONTAINER_TLS_PORT = 443


class _Companion(uvicorn.Server):
    """Serves the same app on its own sockets with its own TLS setting (one uvicorn Config has one). It runs
    inside the main server's event loop, started and stopped by it: no lifespan, no signal handlers."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket]) -> None:
        super().__init__(config)
        self.sockets = sockets

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class _Server(uvicorn.Server):
    """The main server: its lifespan starts and stops the core; companions serve once it has started and
    are shut down (their connections drained) before its own shutdown closes the core."""

    def __init__(self, config: uvicorn.Config, companions: list[_Companion]) -> None:
        super().__init__(config)
        self.companions = companions
        self.companion_tasks: list[asyncio.Task] = []

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.config.app.state.ingress.listeners.attach(self)  # public endpoints' own loopback addresses
            self.companion_tasks = [asyncio.create_task(c.serve(sockets=c.sockets)) for c in self.companions]
            for task in self.companion_tasks:
                task.add_done_callback(self._companion_ended)

    def _companion_ended(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            logging.getLogger("snowport.cli").error("the TLS listener for containers stopped: %r", task.exception())

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for companion in self.companions:
            companion.should_exit = True
            companion.force_exit = self.force_exit
        await asyncio.gather(*self.companion_tasks, return_exceptions=True)  # a failure was logged when it came
        await super().shutdown(sockets)


def container_tls_listener(core: Snowport, application, gateway: str, port: int,
                           log_level: str = "warning") -> _Companion | None:
    """TLS on <gateway>:<port> with a certificate from the data dir's CA, for containers that connect back
    with the clients' defaults. None (and a line saying why) when the port cannot be had: containers then
    get the plain port."""
    from snowport.security.tls import ensure_tls

    try:
        sock = _listen(gateway, port)
    except OSError as e:
        console.print(f"Containers connect back over plain HTTP: cannot listen with TLS on {gateway}:{port} ({e})")
        return None
    try:
        tls = ensure_tls(core.settings.data_dir, [gateway])
        config = uvicorn.Config(application, log_level=log_level, lifespan="off", timeout_graceful_shutdown=5,
                                ssl_certfile=str(tls.server_cert), ssl_keyfile=str(tls.server_key))
        config.load()  # the TLS context: a bad certificate shows now, not once serving
    except Exception as e:  # noqa: BLE001 - any failure here leaves the plain listener as it was
        sock.close()
        console.print(f"Containers connect back over plain HTTP: TLS setup failed ({type(e).__name__}: {e})")
        return None
    core.container_tls = tls
    console.print(f"Containers reach Snowport at https://{tls.host}:{port} (CA {tls.ca_cert})")
    return _Companion(config, [sock])


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _container_gateway(core: Snowport) -> str | None:
    """The address service containers reach the host at (their network's gateway), if an engine answers."""
    from snowport.runtime import EngineError

    try:
        if not core.runtime.ping():
            return None
        # one network per data dir (named by its runtime scope): its gateway address is this server's alone
        core.runtime.prune_networks()
        core.runtime.ensure_network(core.runtime.scope)
        return core.runtime.network_gateway(core.runtime.scope)
    except EngineError:
        return None


def _print_connection_help(settings: Settings) -> None:
    kwargs = {
        "account": settings.account,
        "user": settings.admin_user,
        "password": "<password>",
        "host": settings.host,
        "port": settings.port,
        "protocol": "http",
    }
    console.print(f"Snowport {__version__} listening on http://{settings.host}:{settings.port} "
                  f"(data in {settings.data_dir})")
    console.print("Python connector / Snowpark:")
    console.print(f"  snowflake.connector.connect(**{json.dumps(kwargs)})")
    console.print("Snowflake CLI (~/.snowflake/config.toml, chmod 0600):")
    console.print(
        f'  [connections.snowport]\n  account = "{settings.account}"\n  user = "{settings.admin_user}"\n'
        f'  password = "<password>"\n  host = "{settings.host}"\n  port = {settings.port}\n  protocol = "http"'
    )
    console.print("Set SNOWFLAKE_DISABLE_PLATFORM_DETECTION=true in clients to skip cloud metadata probes.")


@app.command()
def token(
    user: Annotated[str, typer.Option(help="User the token authenticates.")],
    role: Annotated[str | None, typer.Option(help="Role the session starts with.")] = None,
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.")] = 3600,
    data_dir: Annotated[Path | None, typer.Option(help="Server data dir.")] = None,
) -> None:
    """Print an OAuth access token for `authenticator="oauth"` logins."""
    settings = _settings(None, None, data_dir)
    from snowport.catalog.store import Catalog
    from snowport.names import normalize
    from snowport.security.sessions import OAuthIssuer

    catalog = Catalog(settings.data_dir / "catalog.sqlite")
    key = catalog.get_meta("oauth_key")
    if key is None:
        console.print("No server has run with this data dir yet.")
        raise typer.Exit(1)
    print(OAuthIssuer(bytes.fromhex(key), settings.account).issue(normalize(user), role and normalize(role), ttl))


@app.command()
def version() -> None:
    """Print the version."""
    print(__version__)
