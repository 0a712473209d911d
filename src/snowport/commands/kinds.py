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
_STORAGE_PREFIX = {"STAGE": "stage", "TABLE": "table", "IMAGE REPOSITORY": "repo"}


def storage_key(obj: CatalogObject) -> str:
    """The stage-store or registry key of an object's files: the only place these keys are spelled."""
    return f"{_STORAGE_PREFIX[obj.kind]}-{obj.id}"


@dataclass(frozen=True)
class Kind:
    name: str  # the catalog kind, as SHOW GRANTS and GRANT ... ON spell it
    title: str  # how messages name it: "Warehouse 'W' does not exist or not authorized."
    scope: str  # ACCOUNT, DATABASE (lives in a database) or SCHEMA (lives in a schema)
    created: str  # success message of CREATE, with {name}
    renamable: bool = True
    # Frees what the object holds outside the catalog, after its drop committed (files, engine data).
    release: Callable[[object, CatalogObject], None] | None = None

    @property
    def create_command(self) -> str:
        return f"CREATE {self.name}"

    @property
    def noun(self) -> str:
        """How access-control errors name the kind: 'warehouse', 'image repository'."""
        return self.name.lower()


def _release_stage_files(core: object, obj: CatalogObject) -> None:
    core.stages.drop(storage_key(obj))  # type: ignore[attr-defined]


def _release_repository(core: object, obj: CatalogObject) -> None:
    core.registry.drop_repository(storage_key(obj))  # type: ignore[attr-defined]


def _release_database(core: object, obj: CatalogObject) -> None:
    core.engine.detach_and_delete(obj.name)  # type: ignore[attr-defined]


def _release_schema(core: object, obj: CatalogObject) -> None:
    core.engine.drop_schema(obj.database, obj.name)  # type: ignore[attr-defined]


USER = Kind("USER", "User", ACCOUNT, "User {name} successfully created.")
ROLE = Kind("ROLE", "Role", ACCOUNT, "Role {name} successfully created.")
WAREHOUSE = Kind("WAREHOUSE", "Warehouse", ACCOUNT, "Warehouse {name} successfully created.")
DATABASE_KIND = Kind("DATABASE", "Database", ACCOUNT, "Database {name} successfully created.",
                     release=_release_database)
SCHEMA_KIND = Kind("SCHEMA", "Schema", DATABASE, "Schema {name} successfully created.", renamable=False,
                   release=_release_schema)
TABLE = Kind("TABLE", "Table", SCHEMA, "Table {name} successfully created.", release=_release_stage_files)
VIEW = Kind("VIEW", "View", SCHEMA, "View {name} successfully created.")
STAGE = Kind("STAGE", "Stage", SCHEMA, "Stage area {name} successfully created.", release=_release_stage_files)
IMAGE_REPOSITORY = Kind("IMAGE REPOSITORY", "Image Repository", SCHEMA,
                        "Image Repository {name} successfully created.", renamable=False,
                        release=_release_repository)

KINDS: dict[str, Kind] = {k.name: k for k in (USER, ROLE, WAREHOUSE, DATABASE_KIND, SCHEMA_KIND, TABLE, VIEW, STAGE,
                                              IMAGE_REPOSITORY)}


def kind(name: str) -> Kind:
    return KINDS[name]
