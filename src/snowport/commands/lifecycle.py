"""One lifecycle for every object kind: create, replace, drop, rename, alter, transfer ownership.

Each function takes a `Kind` (commands/kinds.py) and does the checks Snowflake does in the order
it does them, inside one catalog transaction, so a statement that fails changes nothing and a
kind's module only supplies what is particular to it (how to build the object from its
properties, what else to do once it exists).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from snowport import errors
from snowport.catalog.store import CatalogObject, Dropped, Transaction
from snowport.commands.columns import Columns, Rows, like_matcher
from snowport.commands.context import Ctx, Server
from snowport.commands.kinds import ACCOUNT, DATABASE, KINDS, SCHEMA, Kind
from snowport.names import display

SUCCESS = "Statement executed successfully."


@dataclass(frozen=True)
class Name:
    """An object's resolved name: (database, schema, name), the first two empty where the kind has none."""

    name: str
    database: str = ""
    schema: str = ""

    @property
    def shown(self) -> str:
        return display(self.database, self.schema, self.name)


def resolve(ctx: Ctx, kind: Kind, parts: list[str], command: str) -> Name:
    """A name as typed (`n`, `s.n`, `d.s.n`) resolved against the session for the kind's scope."""
    if kind.scope == SCHEMA:
        database, schema, name = ctx.object_in_schema(parts, command)
        return Name(name, database, schema)
    if kind.scope == DATABASE:
        database, name = ctx.schema_of(parts, command)
        return Name(name, database)
    return Name(parts[-1])


def find(ctx: Ctx, kind: Kind, name: Name) -> CatalogObject | None:
    """The object if it exists and the session may know it does (else None: Snowflake's 002003)."""
    obj = ctx.catalog.get(kind.name, name.name, name.database, name.schema)
    if obj is None:
        return None
    if kind.scope == SCHEMA and not _parents_usable(ctx, name):
        return None
    if kind.name in ("USER", "ROLE"):
        return obj  # account-level principals: existence is not hidden, the privilege check decides
    return obj if ctx.auth.can_see(ctx.session, obj) else None


def _parents_usable(ctx: Ctx, name: Name) -> bool:
    db = ctx.catalog.get("DATABASE", name.database)
    sch = ctx.catalog.get("SCHEMA", name.schema, name.database)
    return (db is not None and sch is not None and ctx.auth.has(ctx.session, db, ("USAGE",))
            and ctx.auth.has(ctx.session, sch, ("USAGE",)))


def existing(ctx: Ctx, kind: Kind, name: Name) -> CatalogObject:
    obj = find(ctx, kind, name)
    if obj is None:
        raise errors.does_not_exist(kind.title, name.shown)
    return obj


def show_in_scope(ctx: Ctx, kind: Kind, columns: Columns, like: str | None, database: str | None,
                  schema: str | None, visible: str | None = None) -> Rows:
    """SHOW <kinds> [LIKE] [IN ...]: the objects of the scope the session may see (any privilege on it, or
    what the matrix row `visible` allows)."""
    match = like_matcher(like)

    def shown(obj: CatalogObject) -> bool:
        return ctx.auth.allows(ctx.session, visible, obj) if visible else ctx.auth.can_see(ctx.session, obj)

    return Rows(columns, [o for o in ctx.catalog.list(kind.name, database, schema) if match(o.name) and shown(o)])


def describe_one(ctx: Ctx, kind: Kind, parts: list[str], columns: Columns) -> Rows:
    """DESCRIBE <kind> <name>: the matrix row `DESCRIBE <kind>` on the named object."""
    command = f"DESCRIBE {kind.name}"
    target = resolve(ctx, kind, parts, command)
    obj = existing(ctx, kind, target)
    ctx.require(command, obj, target.shown)
    return Rows(columns, [obj], describe=True)


def new_object(ctx: Ctx, kind: Kind, name: Name, comment: str | None = None,
               props: dict[str, Any] | None = None) -> CatalogObject:
    """A new object of the kind, owned by the session's role."""
    return CatalogObject(kind=kind.name, name=name.name, database=name.database, schema=name.schema,
                         owner=ctx.role, comment=comment, props=props or {})


def check_create(ctx: Ctx, kind: Kind, name: Name) -> CatalogObject | None:
    """The create privilege on the account or on the container; returns the container."""
    if kind.scope == ACCOUNT:
        ctx.require(kind.create_command)
        return None
    if kind.scope == DATABASE:
        container = ctx.visible_database(name.database)
    else:
        container = ctx.usable_schema(name.database, name.schema)
    system = ctx.catalog.get("DATABASE", name.database)
    if system is not None and system.props.get("system"):
        raise errors.insufficient_privileges(container.kind.lower(), display(container.name))
    ctx.require(kind.create_command, container, display(container.name))
    return container


def create(ctx: Ctx, kind: Kind, name: Name, build: Callable[[], CatalogObject], *, or_replace: bool = False,
           if_not_exists: bool = False,
           after: Callable[[Transaction, CatalogObject], None] | None = None) -> tuple[CatalogObject | None, str]:
    """CREATE [OR REPLACE] <kind> [IF NOT EXISTS]: (the object, or None when it already existed; message).

    `build` makes the new object from the statement's properties and raises on bad input; `after`
    does the kind's own work once the object is in the catalog (both inside the transaction)."""
    if or_replace and if_not_exists:
        raise errors.SnowflakeError(2, "0A000", errors.compilation("OR REPLACE and IF NOT EXISTS are incompatible."))
    check_create(ctx, kind, name)
    with ctx.catalog.transaction() as tx:
        new = build()
        old = ctx.catalog.get(kind.name, name.name, name.database, name.schema)
        if old is not None:
            if if_not_exists:
                return None, f"{name.name} already exists, statement succeeded."
            if not or_replace:
                raise errors.already_exists(kind.name, name.name)
            ctx.require(f"CREATE OR REPLACE {kind.name}", old, name.shown)
            remove(ctx, tx, old)  # the replaced version stays restorable (UNDROP after a rename), as in Snowflake
        obj = ctx.catalog.create(new)
        if after is not None:
            after(tx, obj)
    return obj, kind.created.format(name=name.name)


def drop_in(ctx: Ctx, tx: Transaction, obj: CatalogObject) -> list[CatalogObject]:
    """Remove an object and what it contains inside `tx`, for good; files kept by id are freed on commit.

    Storage named by the object's name (a database's engine file, a schema) is freed at once, under
    the catalog lock: after the commit a new object may take the name (in this statement or another)."""
    victims = ctx.catalog.drop(obj)
    for victim in reversed(victims):  # contents before their container
        victim_kind = KINDS.get(victim.kind)
        if victim_kind is None or victim_kind.release is None:
            pass
        elif victim_kind.named_storage and victim is not obj:
            pass  # a schema inside a database: the database's engine file goes as a whole
        elif victim_kind.named_storage:
            # freed now, under the catalog lock: once the statement commits, a new object may take the name
            victim_kind.release(ctx.core, victim)
        else:
            tx.after_commit(partial(victim_kind.release, ctx.core, victim))
        tx.after_commit(partial(ctx.core.observed.forget, victim.id))
    return victims


DAY = 86400.0
DEFAULT_RETENTION_DAYS = 1


def retention_days(ctx: Ctx, obj: CatalogObject) -> int:
    """DATA_RETENTION_TIME_IN_DAYS of the object, else of its schema, else of its database (default 1)."""
    holders = [obj, ctx.catalog.get("SCHEMA", obj.schema, obj.database) if obj.schema else None,
               ctx.catalog.get("DATABASE", obj.database) if obj.database else None]
    for holder in holders:
        if holder is not None and holder.props.get("data_retention_time_in_days") is not None:
            return int(holder.props["data_retention_time_in_days"])
    return DEFAULT_RETENTION_DAYS


def remove(ctx: Ctx, tx: Transaction, obj: CatalogObject) -> list[CatalogObject]:
    """DROP: kept for UNDROP while its kind has retention and its retention period is not 0; else gone."""
    obj_kind = KINDS.get(obj.kind)
    days = retention_days(ctx, obj) if obj_kind is not None and obj_kind.retention is not None else 0
    if obj_kind is None or obj_kind.retention is None or days <= 0:
        return drop_in(ctx, tx, obj)
    victims, record = ctx.catalog.retire(obj, time.time() + days * DAY)
    # set aside now, under the catalog lock, so no statement after this one can meet the old storage
    obj_kind.retention.keep(ctx.core, obj, str(record.id))
    tx.on_rollback(partial(obj_kind.retention.bring_back, ctx.core, obj, str(record.id)))
    return victims


def drop(ctx: Ctx, kind: Kind, name: Name, if_exists: bool,
         after: Callable[[Transaction, CatalogObject], None] | None = None,
         guard: Callable[[CatalogObject], None] | None = None) -> str:
    """DROP <kind> [IF EXISTS]: owners only; contents go with a database or schema."""
    with ctx.catalog.transaction() as tx:
        obj = find(ctx, kind, name)
        if obj is None:
            if if_exists:
                return f"Drop statement executed successfully ({name.name} already dropped)."
            raise errors.does_not_exist(kind.title, name.shown)
        if guard is not None:
            guard(obj)
        ctx.require(f"DROP {kind.name}", obj, name.shown)
        remove(ctx, tx, obj)
        if after is not None:
            after(tx, obj)
    return f"{name.name} successfully dropped."


def alter(ctx: Ctx, kind: Kind, name: Name, command: str, change: Callable[[CatalogObject], CatalogObject],
          if_exists: bool = False, allowed: Callable[[CatalogObject], bool] | None = None) -> CatalogObject | None:
    """ALTER <kind> ... SET/UNSET: `change` returns the changed copy (raising on bad input)."""
    with ctx.catalog.transaction():
        obj = find(ctx, kind, name)
        if obj is None:
            if if_exists:
                return None
            raise errors.does_not_exist(kind.title, name.shown)
        if allowed is None or not allowed(obj):
            ctx.require(command, obj, name.shown)
        return ctx.catalog.update(change(obj))


def rename(ctx: Ctx, kind: Kind, name: Name, new_name: Name, if_exists: bool = False,
           after: Callable[[Transaction, CatalogObject, CatalogObject], None] | None = None) -> str:
    """ALTER <kind> ... RENAME TO: grants, ownerships and contents follow the object."""
    if not kind.renamable:
        raise errors.unsupported(f"ALTER {kind.name} ... RENAME TO")
    with ctx.catalog.transaction() as tx:
        obj = find(ctx, kind, name)
        if obj is None:
            if if_exists:
                return SUCCESS
            raise errors.does_not_exist(kind.title, name.shown)
        ctx.require(f"ALTER {kind.name} RENAME", obj, name.shown)
        if kind.scope == SCHEMA and (new_name.database, new_name.schema) != (name.database, name.schema):
            ctx.usable_schema(new_name.database, new_name.schema)
        if ctx.catalog.get(kind.name, new_name.name, new_name.database, new_name.schema) is not None:
            raise errors.already_exists(kind.name, new_name.name)
        contents = ctx.catalog.inside(obj)
        renamed = ctx.catalog.update(obj.evolve(name=new_name.name, database=new_name.database,
                                                schema=new_name.schema))
        for child in contents:
            if obj.kind == "DATABASE":
                ctx.catalog.update(child.evolve(database=new_name.name))
            else:
                ctx.catalog.update(child.evolve(schema=new_name.name))
        if kind.name in ("USER", "ROLE"):
            ctx.catalog.rename_grantee(kind.name, name.name, new_name.name)
        if after is not None:
            after(tx, obj, renamed)
    return SUCCESS


def containers(catalog: Any, database: str, schema: str = "") -> tuple[int, int]:
    """Ids of the database and schema a name lives in (0 where there is none): dropped objects are found
    by their containers' identity, not their names."""
    db = catalog.get("DATABASE", database) if database else None
    sch = catalog.get("SCHEMA", schema, database) if schema else None
    return (db.id if db else 0), (sch.id if sch else 0)


def undrop(ctx: Ctx, kind: Kind, name: Name) -> str:
    """UNDROP <kind>: the most recently dropped version, with its contents and grants, if its name is free."""
    if kind.retention is None:
        raise errors.unsupported(f"UNDROP {kind.name}")
    check_create(ctx, kind, name)
    with ctx.catalog.transaction() as tx:
        if ctx.catalog.get(kind.name, name.name, name.database, name.schema) is not None:
            raise errors.already_exists(kind.name, name.name)
        record = ctx.catalog.dropped(kind.name, name.name, *containers(ctx.catalog, name.database, name.schema))
        if record is None:
            raise errors.does_not_exist(kind.title, name.shown)
        ctx.require(f"UNDROP {kind.name}", record.root, name.shown)
        # temporary objects end with their session; they do not come back with their container
        ended = frozenset(o.id for o in record.objects[1:] if o.props.get("temporary")
                          and ctx.core.sessions.by_id(o.props.get("session_id")) is None)
        restored = ctx.catalog.restore(record, name.database, name.schema, skip=ended)
        for obj in record.objects:
            obj_kind = KINDS.get(obj.kind)
            if obj.id in ended and obj_kind is not None and obj_kind.release is not None:
                tx.after_commit(partial(obj_kind.release, ctx.core, obj))
        tag = str(record.id)
        kind.retention.bring_back(ctx.core, restored, tag)
        tx.on_rollback(partial(kind.retention.keep, ctx.core, restored, tag))
    return f"{kind.title} {name.name} successfully restored."


def purge(core: Server, record: Dropped, tx: Transaction | None = None) -> None:
    """End a dropped object's retention: free its storage and that of everything it contained.

    The root's engine storage is freed at once, under the catalog lock (a new object may be about to take
    its name); files kept by id are freed after the commit."""
    if tx is None:
        with core.catalog.transaction() as own:
            purge(core, record, own)
        return
    root_kind = KINDS[record.kind]
    core.catalog.forget_dropped(record)
    root = _current_names(core, record)
    if root_kind.retention is not None and root is not None:
        root_kind.retention.purge(core, root, str(record.id))
    for obj in record.objects:
        obj_kind = KINDS.get(obj.kind)
        # engine storage named by name went with the root's purge; files kept by id (stages, tables) did not
        if obj_kind is not None and obj_kind.release is not None and not obj_kind.named_storage:
            tx.after_commit(partial(obj_kind.release, core, obj))
        tx.after_commit(partial(core.observed.forget, obj.id))


def _current_names(core: Server, record: Dropped) -> CatalogObject | None:
    """The dropped root under its containers' current names; None when its container is gone too (its
    engine storage went, or goes, with the container's)."""
    root = record.root
    if root.kind == "DATABASE":
        return root
    db = core.catalog.by_id(record.database_id) if record.database_id else None
    if record.database_id and db is None:
        return None
    changes: dict[str, str] = {"database": db.name} if db is not None else {}
    if root.kind != "SCHEMA" and record.schema_id:
        sch = core.catalog.by_id(record.schema_id)
        if sch is None:
            return None
        changes["schema"] = sch.name
    return root.evolve(**changes)


def purge_expired(core: Server, now: float) -> int:
    """Purge every dropped object whose retention has ended; returns how many."""
    due = core.catalog.dropped_records(due_before=now)
    for record in due:
        purge(core, record)
    return len(due)
