"""The Snowport server's parts wired together, independent of any HTTP surface.

`Snowport` owns the catalog, the privilege checker, the data engine, sessions, warehouses and
query results; every surface (wire protocol now, REST and console later) calls into it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from snowport.catalog.job_history import JobHistory
from snowport.catalog.observed import ObservedState
from snowport.catalog.store import ACCOUNT_ID, Catalog, CatalogObject, Grant
from snowport.commands import session as session_commands
from snowport.commands.context import Ctx
from snowport.commands.stages import drop_session_stages
from snowport.commands.warehouses import Warehouses
from snowport.config import Settings
from snowport.data.engine import DataEngine
from snowport.errors import SnowflakeError
from snowport.names import normalize
from snowport.registry.auth import RegistryAuth
from snowport.registry.store import RegistryStore
from snowport.security.credentials import PatKeys
from snowport.security.identity import Identities, Identity
from snowport.security.passwords import hash_password, verify_password
from snowport.security.privileges import SYSTEM_HIERARCHY, SYSTEM_ROLE_PRIVILEGES, SYSTEM_ROLES, Authorizer
from snowport.security.redaction import redact, scrub
from snowport.security.sessions import OAuthIssuer, Session, SessionStore
from snowport.security.tls import ServerTLS
from snowport.sql import dispatch
from snowport.sql.lexer import split_statements
from snowport.sql.result import Result, column
from snowport.stages.locations import is_transfer
from snowport.stages.storage import StageStore
from snowport.stages.tokens import FileGrant, UrlSigner

log = logging.getLogger("snowport.core")
# Schemas of the read-only SNOWFLAKE database; IMAGES is where the snow CLI looks for the registry URL.
SYSTEM_SCHEMAS = ("ACCOUNT_USAGE", "INFORMATION_SCHEMA", "IMAGES")
VERIFIED_CREDENTIALS_TTL = 300.0
BAD_LOGIN = SnowflakeError(390100, "28000", "Incorrect username or password was specified.")


def _scrubbed(error: SnowflakeError, sql: str) -> SnowflakeError:
    """The error with any secret literal of the statement masked (a syntax error quotes the token at fault)."""
    message = scrub(error.message, sql)
    if message == error.message:
        return error
    return SnowflakeError(error.code, error.sqlstate, message, error.error_type)


@dataclass
class QueryRecord:
    id: str
    session_id: int
    sql: str
    status: str = "RUNNING"
    result: Result | None = None
    error: SnowflakeError | None = None
    child_ids: list[str] | None = None
    request_id: str | None = None  # the client's requestId, which its cancel (abort-request) names
    # set by a cancel (the client's abort-request, SYSTEM$CANCEL_QUERY): a statement that waits (a
    # synchronous job) watches it and stops
    cancelled: threading.Event = field(default_factory=threading.Event)


class QueryStore:
    """Recent query results by id (async polling, RESULT_SCAN, /queries/{id}/result)."""

    def __init__(self, capacity: int = 2000) -> None:
        self._records: OrderedDict[str, QueryRecord] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def new(self, session: Session, sql: str, request_id: str | None = None) -> QueryRecord:
        # the text as history keeps it: secret literals (PASSWORD = '...', SECRET_STRING = ...) masked
        record = QueryRecord(str(uuid.uuid4()), session.id, redact(sql), request_id=request_id)
        with self._lock:
            self._records[record.id] = record
            while len(self._records) > self._capacity:
                self._records.popitem(last=False)
        return record

    def get(self, query_id: str) -> QueryRecord | None:
        return self._records.get(query_id)

    def result_for(self, session: Session, query_id: str) -> Result:
        record = self._records.get(query_id)
        if record is None or record.session_id != session.id or record.result is None:
            raise SnowflakeError(709, "02000", f"Statement {query_id} not found")
        return record.result

    def cancel_session(self, session_id: int) -> list[str]:
        running = [r for r in list(self._records.values()) if r.session_id == session_id and r.status == "RUNNING"]
        for r in running:
            r.cancelled.set()
        return [r.id for r in running]

    def abort(self, allowed: Any, query_id: str | None = None, request_id: str | None = None) -> bool:
        """Cancel the running statement named by its query id or the client's request id, if it runs in a
        session `allowed(session_id)` accepts (the caller's user's)."""
        found = False
        for r in list(self._records.values()):
            named = (query_id is not None and r.id == query_id) or (
                request_id is not None and r.request_id == request_id)
            if named and r.status == "RUNNING" and allowed(r.session_id):
                r.cancelled.set()
                found = True
        return found


class Snowport:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.account_name = settings.account.upper()
        self.catalog = Catalog(settings.data_dir / "catalog.sqlite")
        self.observed = ObservedState(self.catalog)
        self.auth = Authorizer(self.catalog)
        self.engine = DataEngine(settings.data_dir)
        self.sessions = SessionStore(settings.session_validity_seconds, settings.master_validity_seconds)
        self.queries = QueryStore()
        self.warehouses = Warehouses(self.catalog, self.observed)
        self.controllers: Any = None  # the controller runner, set by server.py once it starts
        self._runtime: Any = None
        # where service containers reach this server (their network's gateway), set by `snowport up`
        self.container_host: str | None = None
        # the port of the sendfile GET listener for presigned URLs (stages/file_server.py), set by `snowport up`
        self.file_server_port: int | None = None
        # the TLS listener containers connect back to with the clients' defaults (https, 443), when it runs
        self.container_tls: ServerTLS | None = None
        self.generated_password: str | None = None
        # HMAC(key, password hash + password) of recently verified logins; the key never leaves memory.
        self._credential_key = secrets.token_bytes(32)
        self._verified: dict[bytes, float] = {}
        self._bootstrap()
        self._ensure_system_schemas()
        self.oauth = OAuthIssuer(bytes.fromhex(self._kept_secret("oauth_key")), settings.account)
        self.pat_keys = PatKeys(bytes.fromhex(self._kept_secret("pat_key")))
        self.identities = Identities(self.catalog, self.auth, self.oauth, self.sessions, self.pat_keys,
                                     self.account_name)
        self.signer = UrlSigner(bytes.fromhex(self._kept_secret("url_key")))
        self.stages = StageStore(settings.data_dir / "stages")
        drop_session_stages(self)  # sessions do not survive a restart: every one has ended
        self.registry = RegistryStore(settings.data_dir / "registry")
        self.job_history = JobHistory(settings.data_dir / "jobs")
        self.registry_auth = RegistryAuth(self, bytes.fromhex(self._kept_secret("registry_key")))
        # names this data dir's containers, volumes and network on a shared engine (see DockerRuntime)
        self.runtime_scope = f"snowport-{self._kept_secret('runtime_scope', 4)}"
        for db in self.catalog.list("DATABASE"):
            if not db.props.get("system"):
                self.engine.attach(db.name)

    @property
    def runtime(self) -> Any:
        """The container runtime (Docker), connected on first use: commands answer while the engine is down."""
        if self._runtime is None:
            from snowport.runtime.docker import DockerRuntime

            self._runtime = DockerRuntime(scope=self.runtime_scope, block_root=self.settings.data_dir / "block")
        return self._runtime

    def _kept_secret(self, key: str, size: int = 32) -> str:
        """A random hex value made once per data dir and kept in the catalog (signing keys, the runtime scope)."""
        value = self.catalog.get_meta(key)
        if value is None:
            value = secrets.token_hex(size)
            self.catalog.set_meta(key, value)
        return value

    # ---- first start ----------------------------------------------------------------------
    def _bootstrap(self) -> None:
        if self.catalog.get_meta("bootstrapped"):
            return
        with self.catalog.transaction():
            self._create_account()
        self.catalog.set_meta("bootstrapped", "1")

    def _create_account(self) -> None:
        """The system roles and their privileges, the admin user, and the SNOWFLAKE database."""
        roles = {}
        for name in SYSTEM_ROLES:
            roles[name] = self.catalog.create(CatalogObject(kind="ROLE", name=name, owner=""))
        for granted, to in SYSTEM_HIERARCHY:
            self.catalog.grant(Grant("USAGE", roles[granted].id, "ROLE", to))
        for role, privileges in SYSTEM_ROLE_PRIVILEGES.items():
            for privilege in privileges:
                self.catalog.grant(Grant(privilege, ACCOUNT_ID, "ROLE", role, grant_option=role == "ACCOUNTADMIN"))
        # USERADMIN owns the roles it would have created in Snowflake.
        admin_name = normalize(self.settings.admin_user)
        password = self.settings.admin_password
        if not password:
            password = self.generated_password = secrets.token_urlsafe(12)
        self.catalog.create(
            CatalogObject(
                kind="USER",
                name=admin_name,
                owner="ACCOUNTADMIN",
                props={"login_name": admin_name, "password_hash": hash_password(password),
                       "default_role": "ACCOUNTADMIN"},
            )
        )
        self.catalog.grant(Grant("USAGE", roles["ACCOUNTADMIN"].id, "USER", admin_name))
        snowflake_db = self.catalog.create(
            CatalogObject(kind="DATABASE", name="SNOWFLAKE", owner="", props={"system": True},
                          comment="Snowflake-provided database (read-only)")
        )
        self.catalog.grant(Grant("IMPORTED PRIVILEGES", snowflake_db.id, "ROLE", "ACCOUNTADMIN"))

    def _ensure_system_schemas(self) -> None:
        """The SNOWFLAKE database's schemas (idempotent: data dirs from older versions gain new ones)."""
        for schema in SYSTEM_SCHEMAS:
            if self.catalog.get("SCHEMA", schema, "SNOWFLAKE") is None:
                self.catalog.create(CatalogObject(kind="SCHEMA", name=schema, database="SNOWFLAKE", owner=""))

    # ---- sessions -------------------------------------------------------------------------
    def authenticate(self, login_name: str, password: str | None, oauth_token: str | None) -> tuple[str, str | None]:
        """(user name, role the token is scoped to) or Snowflake's login error."""
        if oauth_token is not None:
            user_name, role = self.oauth.verify(oauth_token)
            user = self.catalog.get("USER", user_name)
            if user is None or user.props.get("disabled"):
                raise OAuthIssuer.INVALID
            return user.name, role
        ident = self.login_identity("SNOWFLAKE", login_name, password)
        return ident.user, ident.role

    def identify_token(self, token: str) -> tuple[str, str | None]:
        """(user, role) for any token a program may present: a connector session token, a programmatic
        access token, an OAuth token (incl. /oauth/token's); SnowflakeError for a wrong, expired or revoked
        one. The ingress proxy asks this for `Authorization: Snowflake Token="..."`."""
        return self.identities.identify(token)

    def login_identity(self, authenticator: str, login_name: str, secret: str | None) -> Identity:
        """Who a login proves to be, by the connector's authenticator: SNOWFLAKE (a password, or a PAT
        given as the password), PROGRAMMATIC_ACCESS_TOKEN, SNOWFLAKE_JWT (key pair), OAUTH (incl. the
        caller's-rights `<service token>.<caller token>`)."""
        authenticator = authenticator.upper()
        if authenticator == "OAUTH":
            return self.identities.by_oauth(secret or "")
        if authenticator == "PROGRAMMATIC_ACCESS_TOKEN":
            return self.identities.by_pat(secret or "", login_name)
        if authenticator == "SNOWFLAKE_JWT":
            return self.identities.by_key_pair(secret or "", login_name)
        if authenticator != "SNOWFLAKE":
            raise SnowflakeError(390100, "28000", f"Authenticator '{authenticator}' is not supported.")
        user = self._user_by_login(login_name)
        if user is None or not secret:
            raise BAD_LOGIN
        if not self._password_ok(user, secret):
            try:  # a programmatic access token may stand in for the password
                return self.identities.by_pat(secret, login_name)
            except SnowflakeError:
                raise BAD_LOGIN from None
        if user.props.get("disabled"):
            raise SnowflakeError(390101, "28000", "User access disabled. Contact your local system administrator.")
        return Identity(user.name)

    def _password_ok(self, user: CatalogObject, password: str) -> bool:
        """argon2 verification, remembered briefly: docker sends the same credentials for every token
        request of a push or pull, and each full verification costs tens of milliseconds."""
        stored = user.props.get("password_hash")
        if not stored:
            return False
        key = hmac.new(self._credential_key, f"{stored}\0{password}".encode(), hashlib.sha256).digest()
        now = time.monotonic()
        if self._verified.get(key, 0.0) > now:
            return True
        if not verify_password(stored, password):
            return False
        if len(self._verified) > 10000:
            self._verified.clear()
        self._verified[key] = now + VERIFIED_CREDENTIALS_TTL
        return True

    def _user_by_login(self, login_name: str) -> CatalogObject | None:
        wanted = login_name.upper()
        for user in self.catalog.list("USER"):
            if str(user.props.get("login_name", user.name)).upper() == wanted or user.name == login_name:
                return user
        return None

    def open_session(self, user_name: str, role: str | None, database: str | None, schema: str | None,
                     warehouse: str | None, client_app: str = "", identity: Identity | None = None) -> Session:
        """A new session; `identity` (how the login proved the user) may fix its role (a PAT's
        ROLE_RESTRICTION, a caller's-rights session)."""
        user = self.catalog.get("USER", user_name)
        assert user is not None
        requested_role = normalize(role) if role else None
        fixed = identity.restricted_role or (identity.role if identity.role_locked else None) if identity else None
        if fixed is not None and requested_role not in (None, fixed):
            raise SnowflakeError(
                390189, "08004",
                f"Role '{requested_role}' specified in the connect string is not granted to this user. "
                f"This credential is restricted to role '{fixed}'.")
        requested_role = fixed or requested_role
        role_name = requested_role or user.props.get("default_role") or "PUBLIC"
        if not self.auth.user_has_role(user.name, role_name) or self.catalog.get("ROLE", role_name) is None:
            if requested_role:
                raise SnowflakeError(
                    390189, "08004",
                    f"Role '{requested_role}' specified in the connect string is not granted to this user. "
                    "Contact your local system administrator, or attempt to login with another role, e.g. PUBLIC.",
                )
            role_name = "PUBLIC"
        session = self.sessions.open(user.name, role_name)
        session.client_app = client_app
        session.secondary_roles = "ALL"
        if identity is not None:
            session.authn = identity.method
            session.restricted_role = identity.restricted_role
            session.role_locked = identity.role_locked
            if identity.restricted_role:
                session.secondary_roles = "NONE"
        session.engine = self.engine.session()
        ctx = Ctx(self, session)
        namespace = user.props.get("default_namespace")
        db_name = normalize(database) if database else None
        schema_name = normalize(schema) if schema else None
        if db_name is None and namespace:
            pieces = str(namespace).split(".")
            db_name = normalize(pieces[0])
            schema_name = schema_name or (normalize(pieces[1]) if len(pieces) > 1 else None)
        if db_name is not None:
            db = self.catalog.get("DATABASE", db_name)
            if db is not None and self.auth.has(session, db, ("USAGE", "IMPORTED PRIVILEGES")):
                schema_name = schema_name or "PUBLIC"
                sch = self.catalog.get("SCHEMA", schema_name, db_name)
                ok = sch is not None and self.auth.has(session, sch, ("USAGE",))
                session_commands.set_namespace(self, session, db_name, schema_name if ok else None)
        wh_name = normalize(warehouse) if warehouse else user.props.get("default_warehouse")
        if wh_name:
            wh = self.catalog.get("WAREHOUSE", wh_name)
            if wh is not None and ctx.auth.has(session, wh, ("USAGE",)):
                session.warehouse = wh.name
        self.observed.set(user.id, last_success_login=time.time())
        return session

    def close_session(self, session: Session) -> None:
        self.sessions.close(session)
        if session.engine is not None:
            session.engine.close()
        drop_session_stages(self, session.id)

    def presigned_url(self, session: Session, grant: FileGrant) -> str:
        base = session.base_url or f"http://{self.settings.host}:{self.settings.port}"
        if grant.op == "get" and self.file_server_port:
            base = self._file_server_base(base)
        return f"{base}/stage-files/{self.signer.sign(grant)}"

    def _file_server_base(self, base: str) -> str:
        """GETs from clients of the main plain listener go to the sendfile listener `snowport up` runs beside
        it (stages/file_server.py), at the host name the client used; clients that came another way
        (containers over TLS, the gateway address) stay where they are."""
        parts = urlsplit(base)
        local = {self.settings.host, "localhost", "127.0.0.1"} if self.settings.host in ("127.0.0.1", "localhost") \
            else {self.settings.host} if self.settings.host != "0.0.0.0" else {parts.hostname}
        if parts.scheme != "http" or parts.port != self.settings.port or parts.hostname not in local:
            return base
        return f"http://{parts.hostname}:{self.file_server_port}"

    # ---- queries --------------------------------------------------------------------------
    def run(self, session: Session, sql: str, params: Any = None, describe_only: bool = False,
            statement_count: int | None = None, record: QueryRecord | None = None) -> QueryRecord:
        """Execute a request's SQL (one or several statements); never raises SnowflakeError. `record`: the
        query's record when the caller made it first (to answer "in progress" with its id)."""
        record = record or self.queries.new(session, sql)
        try:
            with session.lock:
                record.result = self._run_locked(session, sql, params, describe_only, statement_count, record)
            record.status = "SUCCESS"
        except SnowflakeError as e:
            record.error = _scrubbed(e, sql)
            record.status = "FAILED_WITH_ERROR"
        except Exception as e:  # a bug must not turn into a 5xx the connector retries forever
            log.exception("internal error running %r", redact(sql)[:200])
            record.error = SnowflakeError(603, "XX000", f"SQL execution internal error:\nProcessing aborted due to "
                                          f"error 300002:{type(e).__name__}.", error_type="EXECUTION")
            record.status = "FAILED_WITH_INCIDENT"
        if not describe_only:
            session.last_query_id = record.id
        return record

    def _run_locked(self, session: Session, sql: str, params: Any, describe_only: bool,
                    statement_count: int | None, record: QueryRecord) -> Result:
        ctx = Ctx(self, session, record)
        expected = statement_count
        if expected is None:
            expected = int(session.parameters.get("MULTI_STATEMENT_COUNT", 1))
        statements = split_statements(sql) if ";" in sql and not is_transfer(sql) else [sql]
        if len(statements) <= 1 or expected == 1:
            if len(statements) > 1:
                raise SnowflakeError(
                    8, "0A000",
                    f"Actual statement count {len(statements)} did not match the desired statement count 1.",
                )
            return dispatch.execute(ctx, statements[0] if statements else sql, params, describe_only)
        if expected not in (0, len(statements)):
            raise SnowflakeError(
                8, "0A000",
                f"Actual statement count {len(statements)} did not match the desired statement count {expected}.",
            )
        children = []
        for text in statements:
            child = self.queries.new(session, text)
            try:
                child.result = dispatch.execute(ctx, text, params, describe_only)
                child.status = "SUCCESS"
            except SnowflakeError as e:
                child.error = e
                child.status = "FAILED_WITH_ERROR"
                raise
            finally:
                children.append(child.id)
        record.child_ids = children
        result = Result([column("multiple statement execution")], [("Multiple statements executed successfully.",)])
        result.extra["resultIds"] = ",".join(children)
        return result

    def close(self) -> None:
        for s in self.sessions.all():
            self.close_session(s)
        self.engine.close()
        self.catalog.close()
        if self._runtime is not None:
            self._release_network()
            self._runtime.close()

    def _release_network(self) -> None:
        """Remove this server's container network once no pod uses it (running services keep it, so a
        restarted server adopts them on the same addresses); a shared engine does not collect networks."""
        from snowport.runtime import EngineError

        try:
            self._runtime.remove_network(self.runtime_scope)
        except EngineError:
            pass  # still in use, or the engine is down
