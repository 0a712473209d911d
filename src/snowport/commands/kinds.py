"""Every object kind described once, as data: what the shared lifecycle needs to know about it.

`commands/lifecycle.py` gives each kind CREATE, CREATE OR REPLACE, IF NOT EXISTS, DROP
[IF EXISTS], RENAME and GRANT OWNERSHIP from this description alone, so a kind added later
(compute pools, services, secrets, ...) gets the same privilege checks, messages and
all-or-nothing behaviour without writing them again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from snowport.catalog.store import CatalogObject

ACCOUNT = "ACCOUNT"
DATABASE = "DATABASE"
SCHEMA = "SCHEMA"

# Where a kind keeps bytes outside the catalog, named by the object's id (so renames keep them).
_STORAGE_PREFIX = {"STAGE": "stage", "TABLE": "table", "IMAGE REPOSITORY": "repo", "SNAPSHOT": "snap"}


def storage_key(obj: CatalogObject) -> str:
    """The stage-store or registry key of an object's files: the only place these keys are spelled."""
    return f"{_STORAGE_PREFIX[obj.kind]}-{obj.id}"


Hook = Callable[[object, CatalogObject, str], None]


@dataclass(frozen=True)
class Retention:
    """How a kind that supports UNDROP keeps a dropped object's storage (named by a tag) until it is purged."""

    keep: Hook  # move the storage aside when the object is dropped
    bring_back: Hook  # put it back on UNDROP
    purge: Hook  # free it when the retention period ends


@dataclass(frozen=True)
class Kind:
    name: str  # the catalog kind, as SHOW GRANTS and GRANT ... ON spell it
    title: str  # how messages name it: "Warehouse 'W' does not exist or not authorized."
    scope: str  # ACCOUNT, DATABASE (lives in a database) or SCHEMA (lives in a schema)
    created: str  # success message of CREATE, with {name}
    renamable: bool = True
    # Frees what the object holds outside the catalog, after its drop committed (files, engine data).
    release: Callable[[object, CatalogObject], None] | None = None
    # Kinds with UNDROP keep a dropped object until its retention period ends.
    retention: Retention | None = None
    # Its engine storage is named by its name (a database file, a schema), not by its id: it goes with the
    # container that holds it, and must be freed before a replacement takes the name.
    named_storage: bool = False
    # the privilege-matrix row of its creation when it is not `CREATE <kind>` (EXECUTE JOB SERVICE)
    create_row: str | None = None

    @property
    def create_command(self) -> str:
        return self.create_row or f"CREATE {self.name}"

    @property
    def noun(self) -> str:
        """How access-control errors name the kind: 'warehouse', 'image repository'."""
        return self.name.lower()


def _release_stage_files(core: object, obj: CatalogObject) -> None:
    core.stages.drop(storage_key(obj))  # type: ignore[attr-defined]


def _release_repository(core: object, obj: CatalogObject) -> None:
    core.registry.drop_repository(storage_key(obj))  # type: ignore[attr-defined]


def _release_snapshot(core: object, obj: CatalogObject) -> None:
    core.runtime.delete_block_snapshot(storage_key(obj))  # type: ignore[attr-defined]


def _release_database(core: object, obj: CatalogObject) -> None:
    core.engine.detach_and_delete(obj.name)  # type: ignore[attr-defined]


def _release_schema(core: object, obj: CatalogObject) -> None:
    core.engine.drop_schema(obj.database, obj.name)  # type: ignore[attr-defined]


def _nothing(_core: object, _obj: CatalogObject, _tag: str) -> None:
    """A schema's engine storage stays where it is while it is dropped (DuckDB cannot rename schemas)."""


def _hidden_table(tag: str) -> str:
    return f"_snowport_dropped_{tag}"


DATABASE_RETENTION = Retention(
    keep=lambda core, db, tag: core.engine.retire_database(db.name, tag),  # type: ignore[attr-defined]
    bring_back=lambda core, db, tag: core.engine.restore_database(db.name, tag),  # type: ignore[attr-defined]
    purge=lambda core, db, tag: core.engine.purge_database(tag),  # type: ignore[attr-defined]
)
SCHEMA_RETENTION = Retention(keep=_nothing, bring_back=_nothing,
                             purge=lambda core, s, tag: _release_schema(core, s))
TABLE_RETENTION = Retention(
    keep=lambda core, t, tag: core.engine.rename_table(  # type: ignore[attr-defined]
        t.database, t.schema, t.name, _hidden_table(tag)),
    bring_back=lambda core, t, tag: core.engine.rename_table(  # type: ignore[attr-defined]
        t.database, t.schema, _hidden_table(tag), t.name),
    purge=lambda core, t, tag: core.engine.drop_table(t.database, t.schema, _hidden_table(tag)),  # type: ignore
)

USER = Kind("USER", "User", ACCOUNT, "User {name} successfully created.")
ROLE = Kind("ROLE", "Role", ACCOUNT, "Role {name} successfully created.")
WAREHOUSE = Kind("WAREHOUSE", "Warehouse", ACCOUNT, "Warehouse {name} successfully created.")
DATABASE_KIND = Kind("DATABASE", "Database", ACCOUNT, "Database {name} successfully created.",
                     release=_release_database, retention=DATABASE_RETENTION, named_storage=True)
SCHEMA_KIND = Kind("SCHEMA", "Schema", DATABASE, "Schema {name} successfully created.", renamable=False,
                   release=_release_schema, retention=SCHEMA_RETENTION, named_storage=True)
TABLE = Kind("TABLE", "Table", SCHEMA, "Table {name} successfully created.", release=_release_stage_files,
             retention=TABLE_RETENTION)
VIEW = Kind("VIEW", "View", SCHEMA, "View {name} successfully created.")
STAGE = Kind("STAGE", "Stage", SCHEMA, "Stage area {name} successfully created.", release=_release_stage_files)
IMAGE_REPOSITORY = Kind("IMAGE REPOSITORY", "Image Repository", SCHEMA,
                        "Image Repository {name} successfully created.", renamable=False,
                        release=_release_repository)

COMPUTE_POOL = Kind("COMPUTE POOL", "Compute pool", ACCOUNT, "Compute pool {name} successfully created.",
                    renamable=False)

NETWORK_RULE = Kind("NETWORK RULE", "Network rule", SCHEMA, "Network rule {name} successfully created.")
# External access, security (and later API) integrations share one account-level namespace.
INTEGRATION = Kind("INTEGRATION", "Integration", ACCOUNT, "Integration {name} successfully created.",
                   renamable=False)

SERVICE = Kind("SERVICE", "Service", SCHEMA, "Service {name} successfully created.", renamable=False)
SECRET = Kind("SECRET", "Secret", SCHEMA, "Secret {name} successfully created.")
# A service function (commands/functions.py): its catalog name is its identity, name and argument types.
FUNCTION = Kind("FUNCTION", "Function", SCHEMA, "Function {name} successfully created.")

# A copy of a block volume (commands/snapshots.py); its bytes are the runtime's, named by storage_key().
SNAPSHOT = Kind("SNAPSHOT", "Snapshot", SCHEMA, "Snapshot {name} successfully created.", renamable=False,
                release=_release_snapshot)

# A job service is a SERVICE in the catalog, created by EXECUTE JOB SERVICE (spcs-reference 4.1).
JOB_SERVICE = Kind("SERVICE", "Service", SCHEMA, "Job {name} submitted.", renamable=False,
                   create_row="EXECUTE JOB SERVICE")

KINDS: dict[str, Kind] = {k.name: k for k in (USER, ROLE, WAREHOUSE, DATABASE_KIND, SCHEMA_KIND, TABLE, VIEW, STAGE,
                                              IMAGE_REPOSITORY, COMPUTE_POOL, NETWORK_RULE, INTEGRATION, SERVICE,
                                              SECRET, SNAPSHOT, FUNCTION)}


def kind(name: str) -> Kind:
    return KINDS[name]
