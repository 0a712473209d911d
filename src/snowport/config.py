"""Server settings: command-line flags over environment variables (SNOWPORT_*) over defaults."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "snowport"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SNOWPORT_")

    host: str = "127.0.0.1"
    port: int = 8080
    # the sendfile listener presigned stage GETs are sent to (stages/file_server.py): 0 any free port,
    # -1 none (GETs then go through the main listener)
    file_port: int = 0
    data_dir: Path = default_data_dir()
    account: str = "snowport"
    admin_user: str = "admin"
    admin_password: str | None = None
    # Lifetimes the connector reads from the login response; short values make renew testable.
    session_validity_seconds: int = 3600
    master_validity_seconds: int = 14400
    # How often the warehouse auto-suspend check runs.
    warehouse_tick_seconds: float = 1.0
    # Registry garbage collection: how often, and how old an unreferenced blob must be to go.
    registry_gc_interval_seconds: float = 600.0
    # how often dropped objects past their retention (DATA_RETENTION_TIME_IN_DAYS) are purged
    dropped_purge_interval_seconds: float = 60.0
    # how often each service's instances are compared with the runtime: a resync only, since the engine's
    # events (compute/engine_events.py) and commands ask for a reconcile at once when something changes
    service_tick_seconds: float = 30.0
    # CPU-based autoscaling: how often instances' CPU is sampled, and the stabilisation window every sample
    # in which must agree before the instance count moves by one (Snowflake: 5 minutes)
    autoscale_interval_seconds: float = 15.0
    autoscale_window_seconds: float = 300.0
    registry_gc_grace_seconds: float = 3600.0
    # Job services: how long an ended job's containers stay before they are removed (Snowflake: about 10
    # minutes), and how long its metadata stays visible to DESCRIBE / SHOW before the job is deleted (30 days)
    job_cleanup_seconds: float = 600.0
    job_retention_seconds: float = 30 * 86400.0
    # a synchronous statement still running after this many seconds is answered "in progress" and the
    # client polls for its result (as Snowflake does at about 45 s), so no client read timeout ends it
    query_progress_seconds: float = 40.0
    # Lifetime of the bearer tokens `docker login` obtains from /v2/token.
    registry_token_ttl_seconds: int = 300
    # Public endpoints: with a domain, each endpoint is `<endpoint-id>.<domain>` (a wildcard DNS name pointed at
    # this server); unset, each gets a loopback address of its own that Snowport listens on (no DNS needed)
    ingress_domain: str | None = None
