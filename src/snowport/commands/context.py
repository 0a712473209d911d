"""What every command receives: the server's parts and the calling session.

Commands see the server through the `Server` protocol, not the class that builds it, so the
layers point one way (surfaces → core → sql → commands → catalog/security → engines) and a REST
handler or the console can call a command with the same `Ctx` SQL uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from snowport import errors
from snowport.catalog.observed import ObservedState
from snowport.catalog.store import Catalog, CatalogObject
from snowport.config import Settings
from snowport.data.engine import DataEngine
from snowport.names import display
from snowport.registry.store import RegistryStore
from snowport.security.privileges import Authorizer
from snowport.security.sessions import Session, SessionStore
from snowport.stages.storage import StageStore
from snowport.stages.tokens import FileGrant


class Server(Protocol):
    """The parts of a running Snowport a command may use."""

    settings: Settings
    account_name: str
    catalog: Catalog
    observed: ObservedState
    auth: Authorizer
    engine: DataEngine
    sessions: SessionStore
    stages: StageStore
    registry: RegistryStore
    queries: Any  # core.QueryStore: recent results by id (RESULT_SCAN)
    job_history: Any  # catalog.job_history.JobHistory: GET_JOB_HISTORY's records
    warehouses: Any  # commands.warehouses.Warehouses

    def presigned_url(self, session: Session, grant: FileGrant) -> str: ...


@dataclass
class Ctx:
    core: Server
    session: Session
    # the statement's core.QueryRecord (None outside a query): a statement that waits watches its
    # `cancelled` event, set when the client cancels the query
    query: Any = None

    def cancelled(self) -> bool:
        return self.query is not None and self.query.cancelled.is_set()

    @property
    def catalog(self) -> Catalog:
        return self.core.catalog

    @property
    def auth(self) -> Authorizer:
        return self.core.auth

    @property
    def role(self) -> str:
        return self.session.role or "PUBLIC"

    def require(self, command: str, obj: CatalogObject | None = None, shown: str | None = None) -> None:
        """The privilege-matrix row `command` allows this session on `obj` (or the account), else 003001."""
        self.auth.require(self.session, command, obj, shown, self.core.account_name)

    # ---- name resolution -----------------------------------------------------------------
    def schema_of(self, parts: list[str], command: str) -> tuple[str, str]:
        """(database, schema) for `s` or `d.s` against the session."""
        if len(parts) == 2:
            return parts[0], parts[1]
        if self.session.database is None:
            raise errors.no_database(command)
        return self.session.database, parts[0]

    def object_in_schema(self, parts: list[str], command: str) -> tuple[str, str, str]:
        """(database, schema, name) for `n`, `s.n` or `d.s.n` against the session."""
        if len(parts) == 3:
            return parts[0], parts[1], parts[2]
        if len(parts) == 2:
            if self.session.database is None:
                raise errors.no_database(command)
            return self.session.database, parts[0], parts[1]
        if self.session.database is None:
            raise errors.no_database(command)
        if self.session.schema is None:
            raise errors.no_schema(command)
        return self.session.database, self.session.schema, parts[0]

    # ---- visibility ----------------------------------------------------------------------
    def visible_database(self, name: str) -> CatalogObject:
        """The database if it exists and the session may use it, else Snowflake's 002003."""
        db = self.catalog.get("DATABASE", name)
        if db is None or not self.auth.can_see(self.session, db):
            raise errors.does_not_exist("Database", display(name))
        return db

    def visible_schema(self, database: str, schema: str) -> CatalogObject:
        db = self.visible_database(database)
        sch = self.catalog.get("SCHEMA", schema, database)
        if sch is not None and db.props.get("system"):
            return sch  # IMPORTED PRIVILEGES on the SNOWFLAKE database reach all its schemas
        if sch is None or not self.auth.can_see(self.session, sch):
            raise errors.does_not_exist("Schema", display(database, schema))
        return sch

    def usable_schema(self, database: str, schema: str) -> CatalogObject:
        """A schema whose objects the session may touch: USAGE (or ownership) on it and its database."""
        db = self.catalog.get("DATABASE", database)
        sch = self.catalog.get("SCHEMA", schema, database)
        if db is None or not self.auth.has(self.session, db, ("USAGE",)):
            raise errors.does_not_exist("Database", display(database))
        if sch is None or not self.auth.has(self.session, sch, ("USAGE",)):
            raise errors.does_not_exist("Schema", display(database, schema))
        return sch
