"""Objects and grants: desired state, held in memory as immutable snapshots and written to SQLite.

One generic `objects` table holds every kind (users, roles, databases, schemas, warehouses,
tables, stages, image repositories now; compute pools, services later) with kind-specific
properties as JSON, so new kinds need no migration. Grants point at objects by id, so a rename
keeps them and a drop removes them with the object.

Writes are all or nothing. Every change happens inside `Catalog.transaction()`: the writer
works on a private copy of the committed snapshot and an open SQLite transaction; commit writes
SQLite first and then publishes the new snapshot with one reference swap, so readers never see a
half-applied change and a statement that fails changes nothing, in memory or on disk. Writers
are serialised by one lock and must read what they change inside their transaction, so
concurrent statements cannot lose each other's updates.

Observed state (what controllers saw: warehouse running state, last login, load history, and
later service instance status) lives apart in `catalog.observed.ObservedState`, so writing it
never invalidates privilege caches and never contends with DDL.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
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
log = logging.getLogger("snowport.catalog")

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

observed_table = Table(
    "observed",
    metadata,
    Column("object_id", Integer, primary_key=True),
    Column("state", Text, nullable=False, default="{}"),
)

# Dropped objects kept for UNDROP until their retention ends: the object, what it contained, and their grants.
dropped_table = Table(
    "dropped",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("database", String(255), nullable=False, default=""),
    Column("schema", String(255), nullable=False, default=""),
    Column("name", String(255), nullable=False),
    Column("dropped_on", Float, nullable=False),
    Column("purge_after", Float, nullable=False),
    Column("payload", Text, nullable=False),
)

meta_table = Table("snowport_meta", metadata, Column("key", String(64), primary_key=True), Column("value", Text))

ACCOUNT_ID = 0
ObjectKey = tuple[str, str, str, str]
GrantKey = tuple[str, int, str, str]


@dataclass(frozen=True)
class CatalogObject:
    """One object's desired state. Immutable: change it with `evolve`, then `Catalog.update`."""

    kind: str
    name: str
    database: str = ""
    schema: str = ""
    owner: str = ""
    comment: str | None = None
    props: Mapping[str, Any] = field(default_factory=dict)
    created_on: float = 0.0
    id: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.props, MappingProxyType):
            object.__setattr__(self, "props", MappingProxyType(dict(self.props)))

    @property
    def key(self) -> ObjectKey:
        return (self.kind, self.database, self.schema, self.name)

    @property
    def created_dt(self) -> datetime:
        return datetime.fromtimestamp(self.created_on, UTC)

    def evolve(self, **changes: Any) -> CatalogObject:
        """A copy with some fields changed (the stored object stays as it was until `update`)."""
        return dataclasses.replace(self, **changes)

    def with_props(self, **changes: Any) -> CatalogObject:
        """A copy with property values set; a value of None removes the property."""
        props = dict(self.props)
        for key, value in changes.items():
            if value is None:
                props.pop(key, None)
            else:
                props[key] = value
        return dataclasses.replace(self, props=props)


@dataclass(frozen=True)
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
    def key(self) -> GrantKey:
        return (self.privilege, self.object_id, self.grantee_kind, self.grantee)


@dataclass(frozen=True)
class Dropped:
    """A dropped object kept for UNDROP: `objects[0]` is the object itself, the rest what it contained."""

    id: int
    kind: str
    database: str
    schema: str
    name: str
    dropped_on: float
    purge_after: float
    objects: list[CatalogObject]
    grants: list[Grant]
    # ids of the database and schema it was dropped from: a container re-created under the same name is
    # another container, and a renamed one is still the same
    database_id: int = 0
    schema_id: int = 0

    @property
    def root(self) -> CatalogObject:
        return self.objects[0]


def _object_doc(o: CatalogObject) -> dict[str, Any]:
    return {"kind": o.kind, "name": o.name, "database": o.database, "schema": o.schema, "owner": o.owner,
            "comment": o.comment, "props": dict(o.props), "created_on": o.created_on, "id": o.id}


def _grant_doc(g: Grant) -> dict[str, Any]:
    return {"privilege": g.privilege, "object_id": g.object_id, "grantee_kind": g.grantee_kind,
            "grantee": g.grantee, "grant_option": g.grant_option, "granted_by": g.granted_by,
            "created_on": g.created_on}


def _dropped(row: Any) -> Dropped:
    payload = json.loads(row.payload)
    containers = payload.get("containers", {})
    return Dropped(row.id, row.kind, row.database, row.schema, row.name, row.dropped_on, row.purge_after,
                   [CatalogObject(**doc) for doc in payload["objects"]], [Grant(**doc) for doc in payload["grants"]],
                   containers.get("database", 0), containers.get("schema", 0))


class _Snapshot:
    """One committed state of the catalog. Never changed once published; indexes are built lazily."""

    def __init__(self, version: int, by_id: dict[int, CatalogObject], grants: dict[GrantKey, Grant]) -> None:
        self.version = version
        self.by_id = by_id
        self.by_key = {o.key: o for o in by_id.values()}
        self.grants = grants
        self._on_object: dict[int, list[Grant]] | None = None
        self._to_grantee: dict[tuple[str, str], list[Grant]] | None = None

    def grants_on(self, object_id: int) -> list[Grant]:
        if self._on_object is None:
            index: dict[int, list[Grant]] = {}
            for g in self.grants.values():
                index.setdefault(g.object_id, []).append(g)
            self._on_object = index
        return self._on_object.get(object_id, [])

    def grants_to(self, grantee_kind: str, grantee: str) -> list[Grant]:
        if self._to_grantee is None:
            index: dict[tuple[str, str], list[Grant]] = {}
            for g in self.grants.values():
                index.setdefault((g.grantee_kind, g.grantee), []).append(g)
            self._to_grantee = index
        return self._to_grantee.get((grantee_kind, grantee), [])


class Transaction:
    """A writer's private view: its own changes on top of the snapshot it started from."""

    def __init__(self, base: _Snapshot, conn: Any, next_id: int) -> None:
        self.conn = conn
        self.next_id = next_id  # ids are never reused: storage keys and observed state hang off them
        self.by_id = dict(base.by_id)
        self.by_key = dict(base.by_key)
        self.grants = dict(base.grants)
        self.grants_changed = False
        self._after_commit: list[Callable[[], None]] = []
        self._on_rollback: list[Callable[[], None]] = []

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run once the change is durable (freeing files, telling sessions); skipped on rollback."""
        self._after_commit.append(action)

    def on_rollback(self, action: Callable[[], None]) -> None:
        """Undo a side effect made outside the catalog (e.g. an engine file) if the statement fails."""
        self._on_rollback.append(action)

    def undo(self) -> None:
        for action in reversed(self._on_rollback):
            action()

    def finish(self) -> None:
        """Run the after-commit actions. The change is durable: a failing action is logged, not raised."""
        for action in self._after_commit:
            try:
                action()
            except Exception:
                log.exception("after-commit action failed")


class Catalog:
    """Thread-safe object and grant store: reads from the published snapshot, writes in transactions."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._engine = create_engine(f"sqlite:///{path}", future=True)
        event.listen(self._engine, "connect", _sqlite_pragmas)
        metadata.create_all(self._engine)
        self._lock = threading.RLock()
        self._local = threading.local()
        self._snapshot = self._load()
        high = self.get_meta("object_id_high")
        self._next_id = max([int(high or 0), *self._snapshot.by_id]) + 1

    # ---- loading -------------------------------------------------------------------------
    def _load(self) -> _Snapshot:
        by_id: dict[int, CatalogObject] = {}
        grants: dict[GrantKey, Grant] = {}
        with self._engine.begin() as conn:
            version = conn.execute(select(meta_table.c.value).where(meta_table.c.key == "schema_version")).scalar()
            if version is None:
                conn.execute(insert(meta_table).values(key="schema_version", value=str(SCHEMA_VERSION)))
            for row in conn.execute(select(objects_table)):
                by_id[row.id] = CatalogObject(
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
                grants[g.key] = g
        return _Snapshot(1, by_id, grants)

    def get_meta(self, key: str) -> str | None:
        with self._engine.begin() as conn:
            return conn.execute(select(meta_table.c.value).where(meta_table.c.key == key)).scalar()

    def set_meta(self, key: str, value: str) -> None:
        with self._lock, self._engine.begin() as conn:
            conn.execute(delete(meta_table).where(meta_table.c.key == key))
            conn.execute(insert(meta_table).values(key=key, value=value))

    @property
    def sql_engine(self) -> Any:
        """The SQLAlchemy engine, for stores that keep their own tables in the same file."""
        return self._engine

    @property
    def version(self) -> int:
        """Changes whenever who-may-do-what can change (grants, ownership, drops); privilege caches key on it."""
        return self._snapshot.version

    # ---- transactions --------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """All or nothing: the body's writes are published together, or not at all if it raises.

        Nested calls join the outer transaction."""
        current: Transaction | None = getattr(self._local, "tx", None)
        if current is not None:
            yield current
            return
        with self._lock:
            base = self._snapshot
            conn = self._engine.connect()
            db_tx = conn.begin()
            tx = Transaction(base, conn, self._next_id)
            self._local.tx = tx
            try:
                yield tx
                if tx.next_id != self._next_id:
                    conn.execute(delete(meta_table).where(meta_table.c.key == "object_id_high"))
                    conn.execute(insert(meta_table).values(key="object_id_high", value=str(tx.next_id - 1)))
                db_tx.commit()
            except BaseException:
                db_tx.rollback()
                tx.undo()
                raise
            finally:
                self._local.tx = None
                conn.close()
            changed_access = tx.grants_changed or any(
                base.by_id.get(i) is None or base.by_id[i].owner != o.owner or base.by_id[i].name != o.name
                for i, o in tx.by_id.items()
            ) or len(tx.by_id) != len(base.by_id)
            self._snapshot = _Snapshot(base.version + (1 if changed_access else 0), tx.by_id, tx.grants)
            self._next_id = tx.next_id
        tx.finish()

    def _tx(self) -> Transaction | None:
        return getattr(self._local, "tx", None)

    def in_transaction(self) -> bool:
        """Whether this thread is inside a transaction (its reads may include writes not yet committed)."""
        return self._tx() is not None

    @contextmanager
    def _writing(self) -> Iterator[Transaction]:
        """The open transaction, or a one-change transaction for callers outside any."""
        tx = self._tx()
        if tx is not None:
            yield tx
        else:
            with self.transaction() as tx:
                yield tx

    # ---- reads (a transaction sees its own writes) ---------------------------------------
    def _view(self) -> Transaction | _Snapshot:
        return self._tx() or self._snapshot

    def get(self, kind: str, name: str, database: str = "", schema: str = "") -> CatalogObject | None:
        return self._view().by_key.get((kind, database, schema, name))

    def by_id(self, object_id: int) -> CatalogObject | None:
        return self._view().by_id.get(object_id)

    def list(self, kind: str, database: str | None = None, schema: str | None = None) -> list[CatalogObject]:
        items = [
            o
            for o in self._view().by_id.values()
            if o.kind == kind
            and (database is None or o.database == database)
            and (schema is None or o.schema == schema)
        ]
        return sorted(items, key=lambda o: (o.database, o.schema, o.name))

    def all_objects(self) -> Iterator[CatalogObject]:
        yield from list(self._view().by_id.values())

    def inside(self, container: CatalogObject) -> list[CatalogObject]:
        """Everything a database or schema holds (what a drop or rename of it carries along)."""
        view = self._view()
        if container.kind == "DATABASE":
            return [o for o in view.by_id.values() if o.database == container.name and o.kind != "DATABASE"]
        if container.kind == "SCHEMA":
            return [o for o in view.by_id.values() if o.database == container.database
                    and o.schema == container.name and o.kind != "SCHEMA"]
        return []

    def grants(
        self,
        object_id: int | None = None,
        grantee_kind: str | None = None,
        grantee: str | None = None,
        privilege: str | None = None,
    ) -> list[Grant]:
        view = self._view()
        if isinstance(view, _Snapshot) and object_id is not None:
            candidates: Iterable[Grant] = view.grants_on(object_id)
        elif isinstance(view, _Snapshot) and grantee_kind is not None and grantee is not None:
            candidates = view.grants_to(grantee_kind, grantee)
        else:
            candidates = list(view.grants.values())
        return [
            g
            for g in candidates
            if (object_id is None or g.object_id == object_id)
            and (grantee_kind is None or g.grantee_kind == grantee_kind)
            and (grantee is None or g.grantee == grantee)
            and (privilege is None or g.privilege == privilege)
        ]

    # ---- writes --------------------------------------------------------------------------
    def create(self, obj: CatalogObject) -> CatalogObject:
        with self._writing() as tx:
            if obj.key in tx.by_key:
                raise ValueError(f"catalog already holds {obj.key}")
            created_on = obj.created_on or _now()
            object_id = tx.next_id
            tx.next_id += 1
            tx.conn.execute(
                insert(objects_table).values(
                    id=object_id,
                    kind=obj.kind,
                    database=obj.database,
                    schema=obj.schema,
                    name=obj.name,
                    owner=obj.owner,
                    created_on=created_on,
                    comment=obj.comment,
                    props=json.dumps(dict(obj.props)),
                )
            )
            stored = obj.evolve(id=object_id, created_on=created_on)
            tx.by_key[stored.key] = stored
            tx.by_id[stored.id] = stored
            return stored

    def update(self, obj: CatalogObject) -> CatalogObject:
        """Store a changed copy of an existing object (including a rename or a move), by id."""
        with self._writing() as tx:
            old = tx.by_id.get(obj.id)
            if old is None:
                raise KeyError(f"catalog object {obj.id} does not exist")
            if obj.key != old.key and obj.key in tx.by_key:
                raise ValueError(f"catalog already holds {obj.key}")
            tx.conn.execute(
                update(objects_table)
                .where(objects_table.c.id == obj.id)
                .values(
                    database=obj.database,
                    schema=obj.schema,
                    name=obj.name,
                    owner=obj.owner,
                    comment=obj.comment,
                    props=json.dumps(dict(obj.props)),
                )
            )
            tx.by_key.pop(old.key, None)
            tx.by_key[obj.key] = obj
            tx.by_id[obj.id] = obj
            return obj

    def drop(self, obj: CatalogObject, keep_observed: bool = False) -> list[CatalogObject]:
        """Remove an object, its grants, and (for databases and schemas) everything inside it.

        Returns every object removed, so the caller can release what they hold outside the catalog.
        A retired object (kept for UNDROP) keeps its observed state, e.g. a table's load history."""
        with self._writing() as tx:
            victims = [obj, *self.inside(obj)]
            ids = [v.id for v in victims]
            tx.conn.execute(delete(objects_table).where(objects_table.c.id.in_(ids)))
            tx.conn.execute(delete(grants_table).where(grants_table.c.object_id.in_(ids)))
            if not keep_observed:
                tx.conn.execute(delete(observed_table).where(observed_table.c.object_id.in_(ids)))
            for v in victims:
                tx.by_key.pop(v.key, None)
                tx.by_id.pop(v.id, None)
            for key in [k for k, g in tx.grants.items() if g.object_id in ids]:
                del tx.grants[key]
                tx.grants_changed = True
            if obj.kind in ("ROLE", "USER"):
                self._remove_grants_to(tx, obj.kind, obj.name)
            return victims

    def _remove_grants_to(self, tx: Transaction, grantee_kind: str, grantee: str) -> None:
        tx.conn.execute(
            delete(grants_table).where(
                (grants_table.c.grantee_kind == grantee_kind) & (grants_table.c.grantee == grantee)
            )
        )
        for key in [k for k, g in tx.grants.items() if g.grantee_kind == grantee_kind and g.grantee == grantee]:
            del tx.grants[key]
            tx.grants_changed = True

    def rename_grantee(self, grantee_kind: str, old: str, new: str) -> None:
        """Keep grants to a user or role (and a role's ownerships) pointing at it after a rename."""
        with self._writing() as tx:
            tx.conn.execute(
                update(grants_table)
                .where((grants_table.c.grantee_kind == grantee_kind) & (grants_table.c.grantee == old))
                .values(grantee=new)
            )
            for key in [k for k, g in tx.grants.items() if g.grantee_kind == grantee_kind and g.grantee == old]:
                g = tx.grants.pop(key)
                moved = dataclasses.replace(g, grantee=new)
                tx.grants[moved.key] = moved
                tx.grants_changed = True
            if grantee_kind == "ROLE":
                for o in [o for o in tx.by_id.values() if o.owner == old]:
                    self.update(o.evolve(owner=new))
            self.rename_in_dropped(grantee_kind, old, new)

    # ---- grants --------------------------------------------------------------------------
    def grant(self, g: Grant) -> bool:
        """Record a grant; returns False when it already existed (grants are idempotent)."""
        with self._writing() as tx:
            existing = tx.grants.get(g.key)
            if existing is not None:
                if g.grant_option and not existing.grant_option:
                    tx.conn.execute(update(grants_table).where(grants_table.c.id == existing.id)
                                    .values(grant_option=True))
                    tx.grants[g.key] = dataclasses.replace(existing, grant_option=True)
                    tx.grants_changed = True
                return False
            created_on = g.created_on or _now()
            result = tx.conn.execute(
                insert(grants_table).values(
                    privilege=g.privilege,
                    object_id=g.object_id,
                    grantee_kind=g.grantee_kind,
                    grantee=g.grantee,
                    grant_option=g.grant_option,
                    granted_by=g.granted_by,
                    created_on=created_on,
                )
            )
            tx.grants[g.key] = dataclasses.replace(g, id=int(result.inserted_primary_key[0]), created_on=created_on)
            tx.grants_changed = True
            return True

    def revoke(self, privilege: str, object_id: int, grantee_kind: str, grantee: str) -> bool:
        with self._writing() as tx:
            g = tx.grants.pop((privilege, object_id, grantee_kind, grantee), None)
            if g is None:
                return False
            tx.conn.execute(delete(grants_table).where(grants_table.c.id == g.id))
            tx.grants_changed = True
            return True

    # ---- dropped objects (UNDROP) ---------------------------------------------------------
    def retire(self, obj: CatalogObject, purge_after: float) -> tuple[list[CatalogObject], Dropped]:
        """Drop an object but keep it, its contents and their grants for UNDROP until `purge_after`."""
        with self._writing() as tx:
            victims = [obj, *self.inside(obj)]
            ids = {v.id for v in victims}
            grants = [g for g in tx.grants.values() if g.object_id in ids]
            database = tx.by_key.get(("DATABASE", "", "", obj.database)) if obj.database else None
            schema = tx.by_key.get(("SCHEMA", obj.database, "", obj.schema)) if obj.schema else None
            containers = {"database": database.id if database else 0, "schema": schema.id if schema else 0}
            payload = json.dumps({"objects": [_object_doc(v) for v in victims],
                                  "grants": [_grant_doc(g) for g in grants], "containers": containers})
            now = _now()
            result = tx.conn.execute(insert(dropped_table).values(
                kind=obj.kind, database=obj.database, schema=obj.schema, name=obj.name, dropped_on=now,
                purge_after=purge_after, payload=payload))
            record = Dropped(int(result.inserted_primary_key[0]), obj.kind, obj.database, obj.schema, obj.name, now,
                             purge_after, victims, grants, containers["database"], containers["schema"])
            self.drop(obj, keep_observed=True)
            return victims, record

    def dropped(self, kind: str, name: str, database_id: int = 0, schema_id: int = 0) -> Dropped | None:
        """The most recently dropped version of an object, dropped from these very containers (by id)."""
        query = (select(dropped_table).where((dropped_table.c.kind == kind) & (dropped_table.c.name == name))
                 .order_by(dropped_table.c.id.desc()))
        with self._writing() as tx:
            for row in tx.conn.execute(query):
                record = _dropped(row)
                if (record.database_id, record.schema_id) == (database_id, schema_id):
                    return record
        return None

    def dropped_records(self, due_before: float | None = None) -> list[Dropped]:
        query = select(dropped_table)
        if due_before is not None:
            query = query.where(dropped_table.c.purge_after <= due_before)
        with self._engine.begin() as conn:
            return [_dropped(row) for row in conn.execute(query)]

    def restore(self, record: Dropped, database: str, schema: str = "",
                skip: frozenset[int] = frozenset()) -> CatalogObject:
        """Put a dropped object back with its ids, contents and grants (UNDROP), under its containers'
        current names (they may have been renamed since), and without its contents in `skip`."""
        with self._writing() as tx:
            moved = self._renamed_into(record, database, schema)
            for obj in moved:
                if obj.id in skip:
                    continue
                if obj.key in tx.by_key or obj.id in tx.by_id:
                    raise ValueError(f"catalog already holds {obj.key}")
                tx.conn.execute(insert(objects_table).values(
                    id=obj.id, kind=obj.kind, database=obj.database, schema=obj.schema, name=obj.name,
                    owner=obj.owner, created_on=obj.created_on, comment=obj.comment,
                    props=json.dumps(dict(obj.props))))
                tx.by_id[obj.id] = obj
                tx.by_key[obj.key] = obj
            for g in record.grants:
                if g.object_id in skip:
                    continue
                if g.grantee_kind == "ROLE" and ("ROLE", "", "", g.grantee) not in tx.by_key:
                    continue  # the role was dropped meanwhile
                self.grant(g)
            self.forget_dropped(record)
            return moved[0]

    @staticmethod
    def _renamed_into(record: Dropped, database: str, schema: str) -> list[CatalogObject]:
        root = record.root
        moved = []
        for obj in record.objects:
            changes: dict[str, str] = {}
            if root.kind != "DATABASE" and obj.database == root.database:
                changes["database"] = database
            if root.kind not in ("DATABASE", "SCHEMA") and obj.schema == root.schema:
                changes["schema"] = schema
            moved.append(obj.evolve(**changes) if changes else obj)
        return moved

    def rename_in_dropped(self, grantee_kind: str, old: str, new: str) -> None:
        """A role renamed while objects it owned or was granted on were dropped: UNDROP finds it by its new name."""
        with self._writing() as tx:
            for row in list(tx.conn.execute(select(dropped_table))):
                payload = json.loads(row.payload)
                changed = False
                for doc in payload["grants"]:
                    if doc["grantee_kind"] == grantee_kind and doc["grantee"] == old:
                        doc["grantee"], changed = new, True
                for doc in payload["objects"]:
                    if grantee_kind == "ROLE" and doc["owner"] == old:
                        doc["owner"], changed = new, True
                if changed:
                    tx.conn.execute(update(dropped_table).where(dropped_table.c.id == row.id)
                                    .values(payload=json.dumps(payload)))

    def forget_dropped(self, record: Dropped) -> None:
        with self._writing() as tx:
            tx.conn.execute(delete(dropped_table).where(dropped_table.c.id == record.id))

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
