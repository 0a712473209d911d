"""Objects and grants, held in memory for fast privilege checks and written through to SQLite.

One generic `objects` table holds every kind (users, roles, databases, schemas, warehouses,
tables now; compute pools, services and their observed state later) with kind-specific
properties as JSON, so new kinds need no migration. Grants point at objects by id, so a rename
keeps them and a drop removes them with the object.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    insert,
    select,
    update,
)

SCHEMA_VERSION = 1

metadata = MetaData()

objects_table = Table(
    "objects",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("database", String(255), nullable=False, default=""),
    Column("schema", String(255), nullable=False, default=""),
    Column("name", String(255), nullable=False),
    Column("owner", String(255), nullable=False, default=""),
    Column("created_on", Float, nullable=False),
    Column("comment", Text),
    Column("props", Text, nullable=False, default="{}"),
    UniqueConstraint("kind", "database", "schema", "name"),
)

grants_table = Table(
    "grants",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("privilege", String(64), nullable=False),
    Column("object_id", Integer, nullable=False),  # 0 = the account
    Column("grantee_kind", String(16), nullable=False),  # ROLE | USER
    Column("grantee", String(255), nullable=False),
    Column("grant_option", Boolean, nullable=False, default=False),
    Column("granted_by", String(255), nullable=False, default=""),
    Column("created_on", Float, nullable=False),
    UniqueConstraint("privilege", "object_id", "grantee_kind", "grantee"),
)

meta_table = Table("snowport_meta", metadata, Column("key", String(64), primary_key=True), Column("value", Text))

ACCOUNT_ID = 0


@dataclass
class CatalogObject:
    kind: str
    name: str
    database: str = ""
    schema: str = ""
    owner: str = ""
    comment: str | None = None
    props: dict[str, Any] = field(default_factory=dict)
    created_on: float = 0.0
    id: int = 0

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.kind, self.database, self.schema, self.name)

    @property
    def created_dt(self) -> datetime:
        return datetime.fromtimestamp(self.created_on, UTC)


@dataclass
class Grant:
    privilege: str
    object_id: int
    grantee_kind: str
    grantee: str
    grant_option: bool = False
    granted_by: str = ""
    created_on: float = 0.0
    id: int = 0

    @property
    def key(self) -> tuple[str, int, str, str]:
        return (self.privilege, self.object_id, self.grantee_kind, self.grantee)


class Catalog:
    """Thread-safe object and grant store; reads come from memory, writes go to SQLite first."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._engine = create_engine(f"sqlite:///{path}", future=True)
        event.listen(self._engine, "connect", _sqlite_pragmas)
        metadata.create_all(self._engine)
        self._lock = threading.RLock()
        self._by_key: dict[tuple[str, str, str, str], CatalogObject] = {}
        self._by_id: dict[int, CatalogObject] = {}
        self._grants: dict[tuple[str, int, str, str], Grant] = {}
        # Bumped on every change that can alter who may do what; privilege caches key on it.
        self.version = 0
        self._load()

    # ---- loading -------------------------------------------------------------------------
    def _load(self) -> None:
        with self._engine.begin() as conn:
            version = conn.execute(select(meta_table.c.value).where(meta_table.c.key == "schema_version")).scalar()
            if version is None:
                conn.execute(insert(meta_table).values(key="schema_version", value=str(SCHEMA_VERSION)))
            for row in conn.execute(select(objects_table)):
                obj = CatalogObject(
                    kind=row.kind,
                    name=row.name,
                    database=row.database,
                    schema=row.schema,
                    owner=row.owner,
                    comment=row.comment,
                    props=json.loads(row.props or "{}"),
                    created_on=row.created_on,
                    id=row.id,
                )
                self._by_key[obj.key] = obj
                self._by_id[obj.id] = obj
            for row in conn.execute(select(grants_table)):
                g = Grant(
                    privilege=row.privilege,
                    object_id=row.object_id,
                    grantee_kind=row.grantee_kind,
                    grantee=row.grantee,
                    grant_option=row.grant_option,
                    granted_by=row.granted_by,
                    created_on=row.created_on,
                    id=row.id,
                )
                self._grants[g.key] = g

    def get_meta(self, key: str) -> str | None:
        with self._engine.begin() as conn:
            return conn.execute(select(meta_table.c.value).where(meta_table.c.key == key)).scalar()

    def set_meta(self, key: str, value: str) -> None:
        with self._lock, self._engine.begin() as conn:
            conn.execute(delete(meta_table).where(meta_table.c.key == key))
            conn.execute(insert(meta_table).values(key=key, value=value))

    @property
    def lock(self) -> threading.RLock:
        """Held by commands that must read and then write atomically (e.g. CREATE IF NOT EXISTS)."""
        return self._lock

    # ---- objects -------------------------------------------------------------------------
    def get(self, kind: str, name: str, database: str = "", schema: str = "") -> CatalogObject | None:
        return self._by_key.get((kind, database, schema, name))

    def by_id(self, object_id: int) -> CatalogObject | None:
        return self._by_id.get(object_id)

    def list(self, kind: str, database: str | None = None, schema: str | None = None) -> list[CatalogObject]:
        with self._lock:
            items = [
                o
                for o in self._by_id.values()
                if o.kind == kind
                and (database is None or o.database == database)
                and (schema is None or o.schema == schema)
            ]
        return sorted(items, key=lambda o: (o.database, o.schema, o.name))

    def create(self, obj: CatalogObject) -> CatalogObject:
        with self._lock, self._engine.begin() as conn:
            if not obj.created_on:
                obj.created_on = _now()
            result = conn.execute(
                insert(objects_table).values(
                    kind=obj.kind,
                    database=obj.database,
                    schema=obj.schema,
                    name=obj.name,
                    owner=obj.owner,
                    created_on=obj.created_on,
                    comment=obj.comment,
                    props=json.dumps(obj.props),
                )
            )
            obj.id = int(result.inserted_primary_key[0])
            self._by_key[obj.key] = obj
            self._by_id[obj.id] = obj
        return obj

    def save(self, obj: CatalogObject, rename_from: tuple[str, str, str, str] | None = None) -> None:
        """Persist changed fields of an existing object (including a rename or a move)."""
        with self._lock, self._engine.begin() as conn:
            self.version += 1
            conn.execute(
                update(objects_table)
                .where(objects_table.c.id == obj.id)
                .values(
                    database=obj.database,
                    schema=obj.schema,
                    name=obj.name,
                    owner=obj.owner,
                    comment=obj.comment,
                    props=json.dumps(obj.props),
                )
            )
            if rename_from is not None:
                self._by_key.pop(rename_from, None)
            self._by_key[obj.key] = obj

    def drop(self, obj: CatalogObject) -> None:
        """Remove an object, its grants, and (for databases and schemas) everything inside it."""
        with self._lock, self._engine.begin() as conn:
            self.version += 1
            victims = [obj]
            if obj.kind == "DATABASE":
                victims += [o for o in self._by_id.values() if o.database == obj.name and o.kind != "DATABASE"]
            elif obj.kind == "SCHEMA":
                victims += [
                    o
                    for o in self._by_id.values()
                    if o.database == obj.database and o.schema == obj.name and o.kind != "SCHEMA"
                ]
            ids = [v.id for v in victims]
            conn.execute(delete(objects_table).where(objects_table.c.id.in_(ids)))
            conn.execute(delete(grants_table).where(grants_table.c.object_id.in_(ids)))
            for v in victims:
                self._by_key.pop(v.key, None)
                self._by_id.pop(v.id, None)
            for key in [k for k, g in self._grants.items() if g.object_id in ids]:
                del self._grants[key]
            if obj.kind in ("ROLE", "USER"):
                self._remove_grants_to(conn, obj.kind, obj.name)

    def _remove_grants_to(self, conn: Any, grantee_kind: str, grantee: str) -> None:
        conn.execute(
            delete(grants_table).where(
                (grants_table.c.grantee_kind == grantee_kind) & (grants_table.c.grantee == grantee)
            )
        )
        for key in [k for k, g in self._grants.items() if g.grantee_kind == grantee_kind and g.grantee == grantee]:
            del self._grants[key]

    def rename_grantee(self, grantee_kind: str, old: str, new: str) -> None:
        """Keep grants to a user or role pointing at it after ALTER ... RENAME TO."""
        with self._lock, self._engine.begin() as conn:
            self.version += 1
            conn.execute(
                update(grantees := grants_table)
                .where((grantees.c.grantee_kind == grantee_kind) & (grantees.c.grantee == old))
                .values(grantee=new)
            )
            for key in [k for k, g in self._grants.items() if g.grantee_kind == grantee_kind and g.grantee == old]:
                g = self._grants.pop(key)
                g.grantee = new
                self._grants[g.key] = g
            for o in self._by_id.values():
                if grantee_kind == "ROLE" and o.owner == old:
                    o.owner = new
                    conn.execute(update(objects_table).where(objects_table.c.id == o.id).values(owner=new))

    # ---- grants --------------------------------------------------------------------------
    def grant(self, g: Grant) -> bool:
        """Record a grant; returns False when it already existed (grants are idempotent)."""
        with self._lock, self._engine.begin() as conn:
            existing = self._grants.get(g.key)
            self.version += 1
            if existing is not None:
                if g.grant_option and not existing.grant_option:
                    existing.grant_option = True
                    conn.execute(update(grants_table).where(grants_table.c.id == existing.id).values(grant_option=True))
                return False
            g.created_on = g.created_on or _now()
            result = conn.execute(
                insert(grants_table).values(
                    privilege=g.privilege,
                    object_id=g.object_id,
                    grantee_kind=g.grantee_kind,
                    grantee=g.grantee,
                    grant_option=g.grant_option,
                    granted_by=g.granted_by,
                    created_on=g.created_on,
                )
            )
            g.id = int(result.inserted_primary_key[0])
            self._grants[g.key] = g
            return True

    def revoke(self, privilege: str, object_id: int, grantee_kind: str, grantee: str) -> bool:
        with self._lock, self._engine.begin() as conn:
            g = self._grants.pop((privilege, object_id, grantee_kind, grantee), None)
            self.version += 1
            if g is None:
                return False
            conn.execute(delete(grants_table).where(grants_table.c.id == g.id))
            return True

    def grants(
        self,
        object_id: int | None = None,
        grantee_kind: str | None = None,
        grantee: str | None = None,
        privilege: str | None = None,
    ) -> list[Grant]:
        with self._lock:
            return [
                g
                for g in self._grants.values()
                if (object_id is None or g.object_id == object_id)
                and (grantee_kind is None or g.grantee_kind == grantee_kind)
                and (grantee is None or g.grantee == grantee)
                and (privilege is None or g.privilege == privilege)
            ]

    def all_objects(self) -> Iterator[CatalogObject]:
        with self._lock:
            yield from list(self._by_id.values())

    def close(self) -> None:
        self._engine.dispose()


def _now() -> float:
    return datetime.now(UTC).timestamp()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def names(objs: Iterable[CatalogObject]) -> list[str]:
    return [o.name for o in objs]
