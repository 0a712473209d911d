"""The catalog after interleaved DDL equals what the successful statements alone would give.

A seeded random stream of CREATE / CREATE OR REPLACE / IF NOT EXISTS / DROP / ALTER ... SET /
RENAME / GRANT / REVOKE runs from several real connector sessions (three as ACCOUNTADMIN, one
as a user whose only role is USERADMIN), first round-robin, then truly concurrent (one thread
per session, each on its own names, all on one shared warehouse). Many statements are built to
fail after part of their work could have been done (an invalid property after a valid one, a
replace without ownership, a rename onto an existing name, an invalid privilege...).

A Python model of the catalog applies a statement only when the server reported success, and
predicts whether each statement should succeed. At the end the observable catalog (SHOW ...)
must equal the model, before and after a restart of the server on the same data dir.

DROP DATABASE / SCHEMA / TABLE keep what they drop for UNDROP (Time Travel): the model keeps each
dropped version (with its contents, their rows and grants) while DATA_RETENTION_TIME_IN_DAYS (the
object's, else its schema's, else its database's; default 1) is not 0, attached to the identity of
its container (a table to its schema, a schema to its database), as Snowflake does; so a rename of the
database, or a new container of the same name, changes which dropped versions UNDROP can reach.
Documented deviation: creating a new schema ends the retention of the dropped schemas of that name in
that database. INSERTs give tables rows; every successful UNDROP is followed by a COUNT(*) of the
tables it brought back. After the restart a last phase UNDROPs what the model still holds and
compares everything again.

Reproduce a run with SNOWPORT_FUZZ_SEED=<seed> (printed in every failure).
"""

from __future__ import annotations

import copy
import itertools
import os
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from snowflake.connector import DictCursor
from snowflake.connector.errors import Error as ClientError
from snowflake.connector.errors import ProgrammingError

from conftest import start_server

SEED = int(os.environ.get("SNOWPORT_FUZZ_SEED", "20250808"))
N_SEQUENTIAL = int(os.environ.get("SNOWPORT_FUZZ_STATEMENTS", "170"))
N_PER_THREAD = int(os.environ.get("SNOWPORT_FUZZ_THREAD_STATEMENTS", "25"))
N_TIME_TRAVEL = int(os.environ.get("SNOWPORT_FUZZ_TIME_TRAVEL_STATEMENTS", "200"))
LIMITED_USER, LIMITED_PASSWORD = "FUZZ_LIMITED", "limited-pw"
DATA_WH = "FUZZ_DATA_WH"  # not a Z name: outside the model; every session reads and writes tables with it

# ======================================================================================
# Sessions as the model sees them
# ======================================================================================
SYSTEM_ROLES = frozenset({"ACCOUNTADMIN", "SECURITYADMIN", "USERADMIN", "SYSADMIN", "PUBLIC"})


@dataclass(frozen=True)
class Profile:
    role: str  # the session's current role: owner of what it creates, heir of what it drops
    roles: frozenset[str]  # its active roles (custom roles are never granted to system roles here)
    account: frozenset[str]  # account privileges held through those roles


ADMIN = Profile("ACCOUNTADMIN", SYSTEM_ROLES,
                frozenset({"CREATE USER", "CREATE ROLE", "CREATE DATABASE", "CREATE WAREHOUSE", "MANAGE GRANTS"}))
LIMITED = Profile("USERADMIN", frozenset({"USERADMIN", "PUBLIC"}), frozenset({"CREATE USER", "CREATE ROLE"}))

# ======================================================================================
# The model
# ======================================================================================
_ids = itertools.count(1)
_drop_seq = itertools.count(1)
DEFAULT_RETENTION = 1
RESTORED = {"DATABASE": "Database", "SCHEMA": "Schema", "TABLE": "Table"}
SIZES = {"XSMALL": "X-Small", "SMALL": "Small", "MEDIUM": "Medium", "LARGE": "Large", "XLARGE": "X-Large"}


@dataclass
class Obj:
    kind: str
    name: str
    owner: str
    db: str = ""
    schema: str = ""
    comment: str | None = None
    props: dict[str, Any] = field(default_factory=dict)
    id: int = field(default_factory=lambda: next(_ids))

    @property
    def display(self) -> str:
        return ".".join(p for p in (self.db, self.schema, self.name) if p)


@dataclass
class Dropped:
    """A dropped database, schema or table kept for UNDROP: `objs[0]` is it, the rest what it contained
    (tables with their rows), `grants` the grants on all of them. `container` is the id of the schema (for
    a table) or database (for a schema) it was dropped from, 0 for a database: UNDROP reaches it only
    through that very container, whatever that is called now."""

    kind: str
    name: str
    container: int
    objs: list[Obj]
    grants: set[tuple[str, int, str]]
    seq: int = field(default_factory=lambda: next(_drop_seq))


class Model:
    """Objects, privilege grants (privilege, object id or 0 for the account, role), role memberships
    (role id, ROLE|USER, grantee name) and dropped versions kept for UNDROP, changed only by statements
    the server accepted."""

    def __init__(self) -> None:
        self.objs: dict[int, Obj] = {}
        self.grants: set[tuple[str, int, str]] = set()
        self.members: set[tuple[int, str, str]] = set()
        self.dropped: list[Dropped] = []

    def find(self, kind: str, name: str, db: str = "", schema: str = "") -> Obj | None:
        for o in self.objs.values():
            if o.kind == kind and o.name == name and o.db == db and o.schema == schema:
                return o
        return None

    def add(self, obj: Obj) -> Obj:
        self.objs[obj.id] = obj
        if obj.kind == "DATABASE":
            self.add(Obj("SCHEMA", "PUBLIC", obj.owner, db=obj.name))
        return obj

    def remove(self, obj: Obj) -> None:
        victims = [obj]
        if obj.kind == "DATABASE":
            victims += [o for o in self.objs.values() if o.db == obj.name and o.kind != "DATABASE"]
        elif obj.kind == "SCHEMA":
            victims += [o for o in self.objs.values() if o.db == obj.db and o.schema == obj.name]
        ids = {v.id for v in victims}
        for v in victims:
            self.objs.pop(v.id, None)
        self.grants = {g for g in self.grants if g[1] not in ids}
        self.members = {m for m in self.members if m[0] not in ids}
        if obj.kind == "ROLE":
            self.grants = {g for g in self.grants if g[2] != obj.name}
            self.members = {m for m in self.members if (m[1], m[2]) != ("ROLE", obj.name)}
            for rec in self.dropped:  # a dropped role's grants do not come back with an UNDROP
                rec.grants = {g for g in rec.grants if g[2] != obj.name}
        elif obj.kind == "USER":
            self.members = {m for m in self.members if (m[1], m[2]) != ("USER", obj.name)}

    def drop_role(self, role: Obj, by: str) -> None:
        """What the role owned passes to the role that drops it (DROP ROLE and CREATE OR REPLACE ROLE)."""
        for o in [*self.objs.values(), *(o for rec in self.dropped for o in rec.objs)]:
            if o.owner == role.name and o.id != role.id:
                o.owner = by
        self.remove(role)

    def rename(self, obj: Obj, new: str) -> None:
        old, obj.name = obj.name, new
        if obj.kind == "DATABASE":
            for o in self.objs.values():
                if o.db == old:
                    o.db = new
        elif obj.kind == "ROLE":
            for o in [*self.objs.values(), *(o for rec in self.dropped for o in rec.objs)]:
                if o.owner == old:
                    o.owner = new
            self.grants = {(p, i, new if r == old else r) for p, i, r in self.grants}
            for rec in self.dropped:  # grants held by a renamed role follow it, dropped objects' too
                rec.grants = {(p, i, new if r == old else r) for p, i, r in rec.grants}
            self.members = {(i, k, new if (k, g) == ("ROLE", old) else g) for i, k, g in self.members}
        elif obj.kind == "USER":
            self.members = {(i, k, new if (k, g) == ("USER", old) else g) for i, k, g in self.members}

    # ---- Time Travel ---------------------------------------------------------------------------
    def contents(self, obj: Obj) -> list[Obj]:
        if obj.kind == "DATABASE":
            return [o for o in self.objs.values() if o.db == obj.name and o.kind != "DATABASE"]
        if obj.kind == "SCHEMA":
            return [o for o in self.objs.values() if o.db == obj.db and o.schema == obj.name]
        return []

    def retention(self, obj: Obj) -> int:
        """DATA_RETENTION_TIME_IN_DAYS of the object, else of its schema, else of its database."""
        holders = [obj]
        if obj.kind == "TABLE":
            holders.append(self.find("SCHEMA", obj.schema, obj.db))
        if obj.kind in ("TABLE", "SCHEMA"):
            holders.append(self.find("DATABASE", obj.db))
        for h in holders:
            if h is not None and h.props.get("retention") is not None:
                return int(h.props["retention"])
        return DEFAULT_RETENTION

    def container_id(self, kind: str, db: str, schema: str) -> int | None:
        if kind == "DATABASE":
            return 0
        holder = self.find("DATABASE", db) if kind == "SCHEMA" else self.find("SCHEMA", schema, db)
        return None if holder is None else holder.id

    def retire(self, obj: Obj) -> None:
        """DROP of a database, schema or table: kept for UNDROP unless its retention is 0."""
        if self.retention(obj) > 0:
            victims = [obj, *self.contents(obj)]
            ids = {v.id for v in victims}
            container = self.container_id(obj.kind, obj.db, obj.schema)
            assert container is not None
            self.dropped.append(Dropped(obj.kind, obj.name, container, [copy.deepcopy(v) for v in victims],
                                        {g for g in self.grants if g[1] in ids}))
        self.remove(obj)

    def latest_dropped(self, kind: str, name: str, db: str = "", schema: str = "") -> Dropped | None:
        container = self.container_id(kind, db, schema)
        found = [r for r in self.dropped if (r.kind, r.name, r.container) == (kind, name, container)]
        return max(found, key=lambda r: r.seq) if found else None

    def restore(self, rec: Dropped) -> None:
        """UNDROP: the version comes back where its container now is, with its contents and grants."""
        self.dropped.remove(rec)
        if rec.kind != "DATABASE":
            holder = self.objs[rec.container]
            for o in rec.objs:
                o.db = holder.name if rec.kind == "SCHEMA" else holder.db
                if rec.kind == "TABLE":
                    o.schema = holder.name
        for o in rec.objs:
            self.objs[o.id] = o
        self.grants |= rec.grants

    def end_schema_retention(self, db: str, name: str) -> None:
        """A new schema ends the retention of the dropped schemas of its name in its database (deviation)."""
        holder = self.find("DATABASE", db)
        if holder is not None:
            self.dropped = [r for r in self.dropped
                            if not (r.kind == "SCHEMA" and r.name == name and r.container == holder.id)]

    def reachable(self, kind: str) -> list[tuple[str, str, str]]:
        """(database, schema, name) under which UNDROP finds a kept version now, one per name."""
        out: set[tuple[str, str, str]] = set()
        for r in self.dropped:
            if r.kind != kind:
                continue
            if kind == "DATABASE":
                out.add(("", "", r.name))
                continue
            holder = next((o for o in self.objs.values() if o.id == r.container), None)
            if holder is not None:
                out.add((holder.name, "", r.name) if kind == "SCHEMA" else (holder.db, holder.name, r.name))
        return sorted(out)

    def dropped_names(self, kind: str) -> list[tuple[str, str, str]]:
        """(database, schema, name) each kept version had when it was dropped."""
        return sorted({(r.objs[0].db, r.objs[0].schema, r.name) for r in self.dropped if r.kind == kind})

    def table_counts(self, db: str, schema: str | None = None, name: str | None = None) -> list[tuple[str, int]]:
        return [(o.display, int(o.props.get("rows", 0))) for o in self.objs.values()
                if o.kind == "TABLE" and o.db == db and schema in (None, o.schema) and name in (None, o.name)
                and self.visible(ADMIN, o)]

    def closure(self, role: str) -> set[str]:
        """The role and every role it inherits."""
        seen, stack = {role}, [role]
        while stack:
            grantee = stack.pop()
            for rid, kind, g in self.members:
                r = self.objs.get(rid)
                if kind == "ROLE" and g == grantee and r is not None and r.name not in seen:
                    seen.add(r.name)
                    stack.append(r.name)
        return seen

    def owns(self, p: Profile, obj: Obj) -> bool:
        return obj.owner in p.roles

    def has(self, p: Profile, obj: Obj, privileges: tuple[str, ...]) -> bool:
        return self.owns(p, obj) or any(g[1] == obj.id and g[2] in p.roles and g[0] in privileges
                                        for g in self.grants)

    def visible(self, p: Profile, obj: Obj) -> bool:
        return self.owns(p, obj) or any(g[1] == obj.id and g[2] in p.roles for g in self.grants)

    def merge(self, other: Model) -> None:
        self.objs.update(other.objs)
        self.grants |= other.grants
        self.members |= other.members
        self.dropped += other.dropped


# ======================================================================================
# Statements: SQL, the predicted outcome and the effect once the server accepted it
# ======================================================================================
@dataclass
class Stmt:
    sql: str
    expect: bool | None  # None: the outcome is not something the model decides
    apply: Callable[[Model], None]
    codes: frozenset[int] | None = None  # when it must fail: the error codes it may fail with
    message: str | None = None  # when it succeeds: the status it must answer
    verify: Callable[[Model], list[tuple[str, int]]] | None = None  # after success: tables and row counts
    data: bool = False  # reads or writes rows: runs on DATA_WH (CREATE WAREHOUSE makes the new one current)


def _noop(_m: Model) -> None:
    pass


@dataclass
class Names:
    dbs: list[str]
    schemas: list[str]
    whs: list[str]
    roles: list[str]
    users: list[str]
    stages: list[str]
    tables: list[str]


ADMIN_WEIGHTS = {
    "warehouse_create": 6, "warehouse_alter": 8, "warehouse_drop": 3, "warehouse_rename": 2,
    "database_create": 5, "database_drop": 3, "database_alter": 4, "database_rename": 2, "database_undrop": 3,
    "schema_create": 5, "schema_drop": 3, "schema_alter": 4, "schema_undrop": 3,
    "stage_create": 5, "stage_drop": 2, "stage_alter": 3, "stage_rename": 2,
    "table_create": 6, "table_drop": 3, "table_insert": 5, "table_rename": 2, "table_undrop": 4,
    "role_create": 5, "role_drop": 2, "role_alter": 3, "role_rename": 2, "role_grant": 5, "role_revoke": 2,
    "user_create": 5, "user_drop": 2, "user_alter": 4, "user_rename": 2,
    "grant": 10,
}
LIMITED_WEIGHTS = {
    "user_create": 7, "user_alter": 5, "user_drop": 3, "user_rename": 2,
    "role_create": 5, "role_drop": 2, "role_alter": 3, "role_rename": 2, "role_grant": 4, "role_revoke": 2,
    "warehouse_alter": 3, "warehouse_drop": 1, "warehouse_create": 1, "database_drop": 1, "database_create": 1,
    "grant": 3, "database_undrop": 1, "schema_undrop": 1, "table_undrop": 1, "table_insert": 1,
}
# phase 1b: databases, schemas and tables dropped, renamed, replaced, filled and brought back
TIME_TRAVEL_WEIGHTS = {
    "database_create": 4, "database_drop": 3, "database_alter": 3, "database_rename": 2, "database_undrop": 4,
    "schema_create": 5, "schema_drop": 4, "schema_alter": 3, "schema_undrop": 5,
    "table_create": 7, "table_drop": 5, "table_insert": 7, "table_rename": 3, "table_undrop": 6,
    "stage_create": 2, "grant": 6, "role_create": 2, "role_drop": 1, "role_rename": 2,
}
LIMITED_TIME_TRAVEL_WEIGHTS = {"database_undrop": 2, "schema_undrop": 2, "table_undrop": 3, "table_insert": 1,
                               "table_drop": 1, "role_create": 1}
ACCOUNT_PRIVS = ["CREATE DATABASE", "CREATE WAREHOUSE"]
PRIVS = {
    "WAREHOUSE": ["USAGE", "MONITOR", "OPERATE", "MODIFY"],
    "DATABASE": ["USAGE", "MONITOR", "CREATE SCHEMA", "MODIFY"],
    "SCHEMA": ["USAGE", "CREATE TABLE", "CREATE STAGE", "MODIFY"],
    "STAGE": ["READ", "WRITE"],
    "TABLE": ["SELECT", "INSERT"],
}
BAD_PRIVS = {"ACCOUNT": "SELECT", "WAREHOUSE": "SELECT", "DATABASE": "OPERATE", "SCHEMA": "OPERATE",
             "STAGE": "OPERATE", "TABLE": "OPERATE"}


class Gen:
    """Random statements over a small name space, predicted against the model as it is now."""

    def __init__(self, rng: random.Random, names: Names, profile: Profile, tag: str,
                 weights: dict[str, int]) -> None:
        self.rng, self.n, self.p, self.tag, self.weights = rng, names, profile, tag, weights
        self.counter = itertools.count()

    def next(self, m: Model) -> Stmt:
        family = self.rng.choices(list(self.weights), weights=list(self.weights.values()))[0]
        return getattr(self, family)(m)

    # ---- helpers ---------------------------------------------------------------------------
    def comment(self) -> str:
        return f"{self.tag}c{next(self.counter)}"

    def mode(self, replace_weight: int = 1) -> str:
        return self.rng.choices(["", "OR", "INE"], weights=[2, replace_weight, 1])[0]

    def pick(self, items: list[str]) -> str:
        return self.rng.choice(items)

    def pick_ds(self, m: Model) -> tuple[str, str]:
        """A database and schema name, mostly ones that exist, so that schema objects get created."""
        dbs = [d for d in self.n.dbs if m.find("DATABASE", d) is not None]
        d = self.pick(dbs) if dbs and self.rng.random() < 0.8 else self.pick(self.n.dbs)
        schemas = [s for s in self.n.schemas if m.find("SCHEMA", s, d) is not None]
        s = self.pick(schemas) if schemas and self.rng.random() < 0.75 else self.pick(self.n.schemas)
        return d, s

    def create_expect(self, m: Model, existing: Obj | None, mode: str, allowed: bool) -> bool:
        if not allowed:
            return False
        if existing is None or mode == "INE":
            return True
        return mode == "OR" and m.owns(self.p, existing)

    def create_apply(self, kind: str, name: str, mode: str, build: Callable[[], Obj], db: str = "",
                     schema: str = "") -> Callable[[Model], None]:
        def apply(m: Model) -> None:
            existing = m.find(kind, name, db, schema)
            if existing is not None:
                if mode != "OR":
                    return
                if kind == "ROLE":
                    m.drop_role(existing, self.p.role)
                else:
                    m.remove(existing)  # CREATE OR REPLACE: the replaced object is gone for good
            if kind == "SCHEMA":
                m.end_schema_retention(db, name)
            m.add(build())
        return apply

    @staticmethod
    def head(mode: str, kind: str, name: str) -> str:
        return f"CREATE {'OR REPLACE ' if mode == 'OR' else ''}{kind} {'IF NOT EXISTS ' if mode == 'INE' else ''}{name}"

    def drop_expect(self, m: Model, obj: Obj | None, if_exists: bool, visible_check: bool = True) -> bool:
        if obj is None or (visible_check and not m.visible(self.p, obj)):
            return if_exists
        return m.owns(self.p, obj)

    def drop_apply(self, find: Callable[[Model], Obj | None]) -> Callable[[Model], None]:
        def apply(m: Model) -> None:
            obj = find(m)
            if obj is not None and m.visible(self.p, obj):
                if obj.kind == "ROLE":
                    m.drop_role(obj, self.p.role)
                elif obj.kind in RESTORED:
                    m.retire(obj)
                else:
                    m.remove(obj)
        return apply

    def retention_clause(self, p: float) -> tuple[str, int | None]:
        """Sometimes DATA_RETENTION_TIME_IN_DAYS = 0 | 1 | 2 (0: dropped for good)."""
        if self.rng.random() >= p:
            return "", None
        days = self.rng.choice([0, 0, 1, 2])
        return f" DATA_RETENTION_TIME_IN_DAYS = {days}", days

    # ---- warehouses ------------------------------------------------------------------------
    def wh_props(self, lo: int, hi: int) -> tuple[list[str], dict[str, Any]]:
        keys = self.rng.sample(["WAREHOUSE_SIZE", "AUTO_SUSPEND", "AUTO_RESUME", "COMMENT"], self.rng.randint(lo, hi))
        sql, effect = [], {}
        for k in keys:
            if k == "WAREHOUSE_SIZE":
                size = self.pick(["XSMALL", "SMALL", "MEDIUM"])
                sql.append(f"WAREHOUSE_SIZE = {size}")
                effect["size"] = SIZES[size]
            elif k == "AUTO_SUSPEND":
                n = self.rng.choice([0, 60, 120, 300, 3600])
                sql.append(f"AUTO_SUSPEND = {n}")
                effect["auto_suspend"] = n or None
            elif k == "AUTO_RESUME":
                b = self.rng.random() < 0.5
                sql.append(f"AUTO_RESUME = {'TRUE' if b else 'FALSE'}")
                effect["auto_resume"] = b
            else:
                c = self.comment()
                sql.append(f"COMMENT = '{c}'")
                effect["comment"] = c
        return sql, effect

    @staticmethod
    def wh_apply(obj: Obj, effect: dict[str, Any]) -> None:
        for k, v in effect.items():
            if k == "comment":
                obj.comment = v
            else:
                obj.props[k] = v

    def bad_wh_prop(self, sql: list[str]) -> str:
        options = ["BOGUS_PROP = 1", "AUTO_SUSPEND = -5"]
        if not any(s.startswith("WAREHOUSE_SIZE") for s in sql):
            options.append("WAREHOUSE_SIZE = HUGE")
        if any(s.startswith("AUTO_SUSPEND") for s in sql):
            options.remove("AUTO_SUSPEND = -5")
        return self.pick(options)

    def warehouse_create(self, m: Model) -> Stmt:
        w, mode = self.pick(self.n.whs), self.mode()
        sql, effect = self.wh_props(0, 3)
        bad = self.rng.random() < 0.2
        if bad:
            sql.append(self.bad_wh_prop(sql))
        existing = m.find("WAREHOUSE", w)
        expect: bool | None = self.create_expect(m, existing, mode, "CREATE WAREHOUSE" in self.p.account)
        if bad:
            expect = None if (expect and mode == "INE" and existing is not None) else False

        def build() -> Obj:
            o = Obj("WAREHOUSE", w, self.p.role, props={"size": "X-Small", "auto_suspend": 600, "auto_resume": True})
            self.wh_apply(o, effect)
            return o

        text = self.head(mode, "WAREHOUSE", w) + " " + " ".join(sql + ["INITIALLY_SUSPENDED = TRUE"])
        return Stmt(text, expect, self.create_apply("WAREHOUSE", w, mode, build))

    def warehouse_alter(self, m: Model) -> Stmt:
        w = self.pick(self.n.whs)
        sql, effect = self.wh_props(1, 2)
        bad = self.rng.random() < 0.3
        if bad:
            sql.append(self.bad_wh_prop(sql))
        o = m.find("WAREHOUSE", w)
        ok = o is not None and m.visible(self.p, o) and m.has(self.p, o, ("MODIFY",))

        def apply(m: Model) -> None:
            obj = m.find("WAREHOUSE", w)
            if obj is not None:
                self.wh_apply(obj, effect)
        return Stmt(f"ALTER WAREHOUSE {w} SET {' '.join(sql)}", False if bad else ok, apply)

    def warehouse_drop(self, m: Model) -> Stmt:
        w, ie = self.pick(self.n.whs), self.rng.random() < 0.5
        expect = self.drop_expect(m, m.find("WAREHOUSE", w), ie)
        return Stmt(f"DROP WAREHOUSE {'IF EXISTS ' if ie else ''}{w}", expect,
                    self.drop_apply(lambda m: m.find("WAREHOUSE", w)))

    def warehouse_rename(self, m: Model) -> Stmt:
        w, new = self.pick(self.n.whs), self.pick(self.n.whs)
        o = m.find("WAREHOUSE", w)
        ok = (o is not None and m.visible(self.p, o) and m.has(self.p, o, ("MODIFY",))
              and m.find("WAREHOUSE", new) is None)

        def apply(m: Model) -> None:
            obj = m.find("WAREHOUSE", w)
            if obj is not None:
                m.rename(obj, new)
        return Stmt(f"ALTER WAREHOUSE {w} RENAME TO {new}", ok, apply)

    # ---- databases -------------------------------------------------------------------------
    def database_create(self, m: Model) -> Stmt:
        d, mode = self.pick(self.n.dbs), self.mode()
        c = self.comment() if self.rng.random() < 0.6 else None
        bad = self.rng.random() < 0.08
        existing = m.find("DATABASE", d)
        expect: bool | None = self.create_expect(m, existing, mode, "CREATE DATABASE" in self.p.account)
        if bad:
            expect = None if (expect and mode == "INE" and existing is not None) else False
        rclause, days = self.retention_clause(0.35)
        text = (self.head(mode, "DATABASE", d) + rclause + (f" COMMENT = '{c}'" if c else "")
                + (" BOGUS_PROP = 1" if bad else ""))
        props = {} if days is None else {"retention": days}
        return Stmt(text, expect, self.create_apply("DATABASE", d, mode, lambda: Obj("DATABASE", d, self.p.role,
                                                                                    comment=c, props=props)))

    def database_drop(self, m: Model) -> Stmt:
        d, ie = self.pick(self.n.dbs), self.rng.random() < 0.5
        live = [x for x in self.n.dbs if m.find("DATABASE", x) is not None]
        if live and self.rng.random() < 0.5:
            d = self.pick(live)
        expect = self.drop_expect(m, m.find("DATABASE", d), ie)
        return Stmt(f"DROP DATABASE {'IF EXISTS ' if ie else ''}{d}", expect,
                    self.drop_apply(lambda m: m.find("DATABASE", d)))

    def database_alter(self, m: Model) -> Stmt:
        d, c = self.pick(self.n.dbs), self.comment()
        o = m.find("DATABASE", d)
        ok = o is not None and m.visible(self.p, o) and m.has(self.p, o, ("MODIFY",))
        r = self.rng.random()
        days: int | None = None
        unset = False
        if r < 0.2:
            text, expect = f"ALTER DATABASE {d} SET COMMENT = '{c}' DATA_RETENTION_TIME_IN_DAYS = 'abc'", False
        elif r < 0.3:
            text, expect = f"ALTER DATABASE {d} SET COMMENT = '{c}' DATA_RETENTION_TIME_IN_DAYS = 91", False
        elif r < 0.55:
            days = self.rng.choice([0, 1, 2])
            text, expect = f"ALTER DATABASE {d} SET COMMENT = '{c}' DATA_RETENTION_TIME_IN_DAYS = {days}", ok
        elif r < 0.65:
            unset = True
            text, expect = f"ALTER DATABASE {d} UNSET DATA_RETENTION_TIME_IN_DAYS", ok
        else:
            text, expect = f"ALTER DATABASE {d} SET COMMENT = '{c}'", ok

        def apply(m: Model) -> None:
            obj = m.find("DATABASE", d)
            if obj is not None:
                if unset:
                    obj.props.pop("retention", None)
                    return
                obj.comment = c
                if days is not None:
                    obj.props["retention"] = days
        return Stmt(text, expect, apply)

    def database_rename(self, m: Model) -> Stmt:
        d, new = self.pick(self.n.dbs), self.pick(self.n.dbs)
        o = m.find("DATABASE", d)
        ok = o is not None and m.visible(self.p, o) and m.owns(self.p, o) and m.find("DATABASE", new) is None

        def apply(m: Model) -> None:
            obj = m.find("DATABASE", d)
            if obj is not None:
                m.rename(obj, new)
        return Stmt(f"ALTER DATABASE {d} RENAME TO {new}", ok, apply)

    # ---- schemas ---------------------------------------------------------------------------
    def schema_create(self, m: Model) -> Stmt:
        (d, s), mode = self.pick_ds(m), self.mode()
        c = self.comment() if self.rng.random() < 0.6 else None
        db = m.find("DATABASE", d)
        allowed = db is not None and m.visible(self.p, db) and m.has(self.p, db, ("CREATE SCHEMA",))
        expect = self.create_expect(m, m.find("SCHEMA", s, d), mode, allowed)
        rclause, days = self.retention_clause(0.35)
        text = self.head(mode, "SCHEMA", f"{d}.{s}") + rclause + (f" COMMENT = '{c}'" if c else "")
        props = {} if days is None else {"retention": days}
        return Stmt(text, expect, self.create_apply("SCHEMA", s, mode, lambda: Obj("SCHEMA", s, self.p.role, db=d,
                                                                                  comment=c, props=props), db=d))

    def schema_drop(self, m: Model) -> Stmt:
        (d, s), ie = self.pick_ds(m), self.rng.random() < 0.5
        live = [(o.db, o.name) for o in m.objs.values() if o.kind == "SCHEMA" and o.db in self.n.dbs]
        if live and self.rng.random() < 0.5:
            d, s = self.pick(sorted(live))
        expect = self.drop_expect(m, m.find("SCHEMA", s, d), ie)
        return Stmt(f"DROP SCHEMA {'IF EXISTS ' if ie else ''}{d}.{s}", expect,
                    self.drop_apply(lambda m: m.find("SCHEMA", s, d)))

    def schema_alter(self, m: Model) -> Stmt:
        (d, s), c = self.pick_ds(m), self.comment()
        o = m.find("SCHEMA", s, d)
        ok = o is not None and m.visible(self.p, o) and m.has(self.p, o, ("MODIFY",))

        r = self.rng.random()
        days: int | None = None
        unset = False
        if r < 0.3:
            days = self.rng.choice([0, 1, 2])
            text = f"ALTER SCHEMA {d}.{s} SET DATA_RETENTION_TIME_IN_DAYS = {days} COMMENT = '{c}'"
        elif r < 0.4:
            unset, text = True, f"ALTER SCHEMA {d}.{s} UNSET DATA_RETENTION_TIME_IN_DAYS"
        elif r < 0.5:
            text, ok = f"ALTER SCHEMA {d}.{s} SET COMMENT = '{c}' DATA_RETENTION_TIME_IN_DAYS = -1", False
        else:
            text = f"ALTER SCHEMA {d}.{s} SET COMMENT = '{c}'"

        def apply(m: Model) -> None:
            obj = m.find("SCHEMA", s, d)
            if obj is not None:
                if unset:
                    obj.props.pop("retention", None)
                    return
                obj.comment = c
                if days is not None:
                    obj.props["retention"] = days
        return Stmt(text, ok, apply)

    # ---- stages and tables ---------------------------------------------------------------------
    def usable(self, m: Model, d: str, s: str, privilege: str) -> bool:
        db, sch = m.find("DATABASE", d), m.find("SCHEMA", s, d)
        return (db is not None and sch is not None and m.has(self.p, db, ("USAGE",))
                and m.has(self.p, sch, ("USAGE",)) and m.has(self.p, sch, (privilege,)))

    def stage_create(self, m: Model) -> Stmt:
        (d, s), st, mode = self.pick_ds(m), self.pick(self.n.stages), self.mode()
        c = self.comment() if self.rng.random() < 0.6 else None
        props = (f" COMMENT = '{c}'" if c else "") + (" DIRECTORY = (ENABLE = TRUE)" if self.rng.random() < 0.3 else "")
        bad = self.rng.random() < 0.2
        if bad:
            props += self.pick([" ENCRYPTION = (TYPE = 'NOPE')", " BOGUS_PROP = 1"])
        expect = self.create_expect(m, m.find("STAGE", st, d, s), mode, self.usable(m, d, s, "CREATE STAGE"))
        text = self.head(mode, "STAGE", f"{d}.{s}.{st}") + props
        return Stmt(text, False if bad else expect,
                    self.create_apply("STAGE", st, mode, lambda: Obj("STAGE", st, self.p.role, db=d, schema=s,
                                                                     comment=c), db=d, schema=s))

    def stage_drop(self, m: Model) -> Stmt:
        (d, s), st, ie = self.pick_ds(m), self.pick(self.n.stages), self.rng.random() < .5
        expect = self.drop_expect(m, m.find("STAGE", st, d, s), ie)
        return Stmt(f"DROP STAGE {'IF EXISTS ' if ie else ''}{d}.{s}.{st}", expect,
                    self.drop_apply(lambda m: m.find("STAGE", st, d, s)))

    def stage_alter(self, m: Model) -> Stmt:
        (d, s), st, c = self.pick_ds(m), self.pick(self.n.stages), self.comment()
        o = m.find("STAGE", st, d, s)
        ok = o is not None and m.visible(self.p, o) and m.owns(self.p, o)
        bad = self.rng.random() < 0.3

        def apply(m: Model) -> None:
            obj = m.find("STAGE", st, d, s)
            if obj is not None:
                obj.comment = c
        return Stmt(f"ALTER STAGE {d}.{s}.{st} SET COMMENT = '{c}'" + (" BOGUS_PROP = 1" if bad else ""),
                    False if bad else ok, apply)

    def stage_rename(self, m: Model) -> Stmt:
        (d, s), st, new = self.pick_ds(m), self.pick(self.n.stages), self.pick(self.n.stages)
        o = m.find("STAGE", st, d, s)
        ok = o is not None and m.visible(self.p, o) and m.owns(self.p, o) and m.find("STAGE", new, d, s) is None

        def apply(m: Model) -> None:
            obj = m.find("STAGE", st, d, s)
            if obj is not None:
                m.rename(obj, new)
        return Stmt(f"ALTER STAGE {d}.{s}.{st} RENAME TO {new}", ok, apply)

    def table_create(self, m: Model) -> Stmt:
        (d, s), t, mode = self.pick_ds(m), self.pick(self.n.tables), self.mode()
        bad = self.rng.random() < 0.2
        existing = m.find("TABLE", t, d, s)
        expect: bool | None = self.create_expect(m, existing, mode, self.usable(m, d, s, "CREATE TABLE"))
        if bad:
            expect = None if (expect and mode == "INE" and existing is not None) else False
        cols = "(a INT, a INT)" if bad else "(a INT)"
        text = self.head(mode, "TABLE", f"{d}.{s}.{t}") + " " + cols
        return Stmt(text, expect, self.create_apply("TABLE", t, mode, lambda: Obj("TABLE", t, self.p.role, db=d,
                                                                                 schema=s, props={"rows": 0}),
                                                    db=d, schema=s))

    def table_drop(self, m: Model) -> Stmt:
        (d, s), t, ie = self.pick_ds(m), self.pick(self.n.tables), self.rng.random() < .5
        if self.rng.random() < 0.5:  # mostly tables that exist (and may have rows)
            live = [(o.db, o.schema, o.name) for o in m.objs.values() if o.kind == "TABLE" and o.name in self.n.tables
                    and o.db in self.n.dbs]
            if live:
                d, s, t = self.pick(sorted(live))
        expect = self.drop_expect(m, m.find("TABLE", t, d, s), ie)
        return Stmt(f"DROP TABLE {'IF EXISTS ' if ie else ''}{d}.{s}.{t}", expect,
                    self.drop_apply(lambda m: m.find("TABLE", t, d, s)))

    def table_insert(self, m: Model) -> Stmt:
        (d, s), t = self.pick_ds(m), self.pick(self.n.tables)
        live = [(o.db, o.schema, o.name) for o in m.objs.values() if o.kind == "TABLE" and o.name in self.n.tables
                and o.db in self.n.dbs]
        if live and self.rng.random() < 0.8:
            d, s, t = self.pick(sorted(live))
        n = self.rng.randint(1, 3)
        o = m.find("TABLE", t, d, s)
        ok = o is not None and self.usable(m, d, s, "USAGE") and m.has(self.p, o, ("INSERT",))

        def apply(m: Model) -> None:
            obj = m.find("TABLE", t, d, s)
            if obj is not None:
                obj.props["rows"] = int(obj.props.get("rows", 0)) + n
        values = ", ".join(f"({self.rng.randint(0, 99)})" for _ in range(n))
        return Stmt(f"INSERT INTO {d}.{s}.{t} VALUES {values}", ok, apply, data=True)

    def table_rename(self, m: Model) -> Stmt:
        (d, s), t = self.pick_ds(m), self.pick(self.n.tables)
        new = self.pick([x for x in self.n.tables if x != t] or self.n.tables)
        o = m.find("TABLE", t, d, s)
        ok = (o is not None and self.usable(m, d, s, "USAGE") and m.owns(self.p, o)
              and m.find("TABLE", new, d, s) is None)

        def apply(m: Model) -> None:
            obj = m.find("TABLE", t, d, s)
            if obj is not None:
                m.rename(obj, new)
        return Stmt(f"ALTER TABLE {d}.{s}.{t} RENAME TO {d}.{s}.{new}", ok, apply)

    # ---- UNDROP ------------------------------------------------------------------------------
    def database_undrop(self, m: Model) -> Stmt:
        return self.undrop(m, "DATABASE")

    def schema_undrop(self, m: Model) -> Stmt:
        return self.undrop(m, "SCHEMA")

    def table_undrop(self, m: Model) -> Stmt:
        return self.undrop(m, "TABLE")

    def undrop(self, m: Model, kind: str) -> Stmt:
        """Mostly a name UNDROP can reach now or a name something was dropped under, else any name."""
        d, s = self.pick_ds(m)
        n = self.pick({"DATABASE": self.n.dbs, "SCHEMA": self.n.schemas, "TABLE": self.n.tables}[kind])
        if kind == "DATABASE":
            d, s = n, ""
        elif kind == "SCHEMA":
            s, n = n, n
        r = self.rng.random()
        candidates = m.reachable(kind) if r < 0.55 else m.dropped_names(kind) if r < 0.8 else []
        if candidates:
            d, s, n = self.pick(candidates)
            if kind == "SCHEMA":
                s = n
        return self.undrop_stmt(m, kind, d, s, n)

    def undrop_expect(self, m: Model, kind: str, d: str, s: str, n: str) -> tuple[bool, int | None]:
        """The outcome of UNDROP for this session: (success, else the error code)."""
        p = self.p
        if kind == "DATABASE":
            if "CREATE DATABASE" not in p.account:
                return False, 3001
        else:
            db = m.find("DATABASE", d)
            if db is None or not (m.visible(p, db) if kind == "SCHEMA" else m.has(p, db, ("USAGE",))):
                return False, 2003
            if kind == "SCHEMA" and not m.has(p, db, ("CREATE SCHEMA",)):
                return False, 3001
            if kind == "TABLE":
                sch = m.find("SCHEMA", s, d)
                if sch is None or not m.has(p, sch, ("USAGE",)):
                    return False, 2003
                if not m.has(p, sch, ("CREATE TABLE",)):
                    return False, 3001
        if m.find(kind, n, "" if kind == "DATABASE" else d, s if kind == "TABLE" else "") is not None:
            return False, 2002
        rec = m.latest_dropped(kind, n, "" if kind == "DATABASE" else d, s if kind == "TABLE" else "")
        if rec is None:
            return False, 2003
        if not m.owns(p, rec.objs[0]):
            return False, 3001
        return True, None

    def undrop_stmt(self, m: Model, kind: str, d: str, s: str, n: str) -> Stmt:
        if kind == "SCHEMA":
            s = n
        db = "" if kind == "DATABASE" else d
        sch = s if kind == "TABLE" else ""
        ok, code = self.undrop_expect(m, kind, d, s, n)
        codes = None if ok else frozenset({code} if self.p is ADMIN else {2003, 3001})

        def apply(m: Model) -> None:
            rec = m.latest_dropped(kind, n, db, sch)
            if rec is not None and m.find(kind, n, db, sch) is None:
                m.restore(rec)

        def verify(m: Model) -> list[tuple[str, int]]:
            return m.table_counts(d if kind != "DATABASE" else n, None if kind == "DATABASE" else s,
                                  n if kind == "TABLE" else None)
        shown = ".".join(x for x in (db, sch, n) if x)
        return Stmt(f"UNDROP {kind} {shown}", ok, apply, codes=codes,
                    message=f"{RESTORED[kind]} {n} successfully restored.", verify=verify)

    # ---- roles -------------------------------------------------------------------------------
    def role_create(self, m: Model) -> Stmt:
        r, mode = self.pick(self.n.roles), self.mode()
        c = self.comment() if self.rng.random() < 0.6 else None
        expect = self.create_expect(m, m.find("ROLE", r), mode, "CREATE ROLE" in self.p.account)
        text = self.head(mode, "ROLE", r) + (f" COMMENT = '{c}'" if c else "")
        return Stmt(text, expect, self.create_apply("ROLE", r, mode, lambda: Obj("ROLE", r, self.p.role, comment=c)))

    def role_drop(self, m: Model) -> Stmt:
        r, ie = self.pick(self.n.roles), self.rng.random() < 0.5
        expect = self.drop_expect(m, m.find("ROLE", r), ie, visible_check=False)

        def apply(m: Model) -> None:
            obj = m.find("ROLE", r)
            if obj is not None:
                m.drop_role(obj, self.p.role)
        return Stmt(f"DROP ROLE {'IF EXISTS ' if ie else ''}{r}", expect, apply)

    def role_alter(self, m: Model) -> Stmt:
        r, c = self.pick(self.n.roles), self.comment()
        o = m.find("ROLE", r)

        def apply(m: Model) -> None:
            obj = m.find("ROLE", r)
            if obj is not None:
                obj.comment = c
        return Stmt(f"ALTER ROLE {r} SET COMMENT = '{c}'", o is not None and m.owns(self.p, o), apply)

    def role_rename(self, m: Model) -> Stmt:
        r, new = self.pick(self.n.roles), self.pick(self.n.roles)
        o = m.find("ROLE", r)
        ok = o is not None and m.owns(self.p, o) and m.find("ROLE", new) is None

        def apply(m: Model) -> None:
            obj = m.find("ROLE", r)
            if obj is not None:
                m.rename(obj, new)
        return Stmt(f"ALTER ROLE {r} RENAME TO {new}", ok, apply)

    def role_grantee(self) -> tuple[str, str]:
        if self.rng.random() < 0.5:
            return "ROLE", self.pick(self.n.roles)
        return "USER", self.pick(self.n.users)

    def role_grant(self, m: Model) -> Stmt:
        r = self.pick(self.n.roles)
        kind, g = self.role_grantee()
        o = m.find("ROLE", r)
        ok = (o is not None and m.find(kind, g) is not None
              and (kind == "USER" or not (r == g or g in m.closure(r) - {"PUBLIC"}))
              and (m.owns(self.p, o) or "MANAGE GRANTS" in self.p.account))

        def apply(m: Model) -> None:
            obj = m.find("ROLE", r)
            if obj is not None:
                m.members.add((obj.id, kind, g))
        return Stmt(f"GRANT ROLE {r} TO {kind} {g}", ok, apply)

    def role_revoke(self, m: Model) -> Stmt:
        r = self.pick(self.n.roles)
        kind, g = self.role_grantee()
        o = m.find("ROLE", r)
        expect: bool | None = o is not None and (m.owns(self.p, o) or "MANAGE GRANTS" in self.p.account)
        if expect and m.find(kind, g) is None:
            expect = None  # revoking from a missing grantee: not decided here

        def apply(m: Model) -> None:
            obj = m.find("ROLE", r)
            if obj is not None:
                m.members.discard((obj.id, kind, g))
        return Stmt(f"REVOKE ROLE {r} FROM {kind} {g}", expect, apply)

    # ---- users -------------------------------------------------------------------------------
    def user_create(self, m: Model) -> Stmt:
        u, mode = self.pick(self.n.users), self.mode(replace_weight=3 if self.p is LIMITED else 1)
        c = self.comment() if self.rng.random() < 0.7 else None
        bad = self.rng.random() < 0.15
        existing = m.find("USER", u)
        expect: bool | None = self.create_expect(m, existing, mode, "CREATE USER" in self.p.account)
        if bad:
            expect = None if (expect and mode == "INE" and existing is not None) else False
        text = (self.head(mode, "USER", u) + f" PASSWORD = 'pw-{u.lower()}'" + (f" COMMENT = '{c}'" if c else "")
                + (" NOPE_PROP = 1" if bad else ""))
        return Stmt(text, expect, self.create_apply("USER", u, mode, lambda: Obj("USER", u, self.p.role, comment=c)))

    def user_drop(self, m: Model) -> Stmt:
        u, ie = self.pick(self.n.users), self.rng.random() < 0.5
        expect = self.drop_expect(m, m.find("USER", u), ie, visible_check=False)

        def apply(m: Model) -> None:
            obj = m.find("USER", u)
            if obj is not None:
                m.remove(obj)
        return Stmt(f"DROP USER {'IF EXISTS ' if ie else ''}{u}", expect, apply)

    def user_alter(self, m: Model) -> Stmt:
        u, c = self.pick(self.n.users), self.comment()
        o = m.find("USER", u)
        bad = self.rng.random() < 0.3

        def apply(m: Model) -> None:
            obj = m.find("USER", u)
            if obj is not None:
                obj.comment = c
        return Stmt(f"ALTER USER {u} SET COMMENT = '{c}'" + (" NOPE_PROP = 1" if bad else ""),
                    False if bad else (o is not None and m.owns(self.p, o)), apply)

    def user_rename(self, m: Model) -> Stmt:
        u, new = self.pick(self.n.users), self.pick(self.n.users)
        o = m.find("USER", u)
        ok = o is not None and m.owns(self.p, o) and m.find("USER", new) is None

        def apply(m: Model) -> None:
            obj = m.find("USER", u)
            if obj is not None:
                m.rename(obj, new)
        return Stmt(f"ALTER USER {u} RENAME TO {new}", ok, apply)

    # ---- privileges --------------------------------------------------------------------------
    def securable(self, m: Model, kind: str) -> tuple[str, Obj | None]:
        d, s = self.pick_ds(m)
        if kind == "WAREHOUSE":
            w = self.pick(self.n.whs)
            return w, m.find("WAREHOUSE", w)
        if kind == "DATABASE":
            return d, m.find("DATABASE", d)
        if kind == "SCHEMA":
            return f"{d}.{s}", m.find("SCHEMA", s, d)
        if kind == "STAGE":
            st = self.pick(self.n.stages)
            return f"{d}.{s}.{st}", m.find("STAGE", st, d, s)
        if kind == "ROLE":
            r = self.pick(self.n.roles)
            return r, m.find("ROLE", r)
        t = self.pick(self.n.tables)
        return f"{d}.{s}.{t}", m.find("TABLE", t, d, s)

    def grant(self, m: Model) -> Stmt:
        p, mg = self.p, "MANAGE GRANTS" in self.p.account
        role = self.pick(self.n.roles)
        role_ok = m.find("ROLE", role) is not None
        action = self.rng.choices(["grant", "revoke", "ownership", "bad"], weights=[6, 2, 2, 1])[0]
        if action == "ownership":
            kind = self.pick(["WAREHOUSE", "ROLE"])
            shown, obj = self.securable(m, kind)
            if kind == "ROLE" and shown == role:
                role = next(r for r in self.n.roles if r != shown)
                role_ok = m.find("ROLE", role) is not None
            ok = obj is not None and role_ok and (mg or m.owns(p, obj))
            key = (kind, shown)

            def apply_owner(m: Model) -> None:
                o = self.resolve(m, key)
                if o is not None:
                    o.owner = role
            return Stmt(f"GRANT OWNERSHIP ON {kind} {shown} TO ROLE {role} COPY CURRENT GRANTS", ok, apply_owner)
        kind = self.rng.choices(["ACCOUNT", "WAREHOUSE", "DATABASE", "SCHEMA", "STAGE", "TABLE"],
                                weights=[1, 3, 3, 3, 2, 2])[0]
        if kind == "ACCOUNT":
            shown, obj, exists = "", None, True
            privilege = self.pick(ACCOUNT_PRIVS)
        else:
            shown, obj = self.securable(m, kind)
            exists = obj is not None
            privilege = self.pick(PRIVS[kind])
        on = f"ON {kind} {shown}".rstrip()
        can_grant = mg or (obj is not None and m.owns(p, obj))
        if action == "bad":
            return Stmt(f"GRANT {BAD_PRIVS[kind]} {on} TO ROLE {role}", False, _noop)
        key = (kind, shown)
        if action == "revoke":
            def apply_revoke(m: Model) -> None:
                oid = 0 if kind == "ACCOUNT" else getattr(self.resolve(m, key), "id", -1)
                m.grants.discard((privilege, oid, role))
            return Stmt(f"REVOKE {privilege} {on} FROM ROLE {role}", exists and role_ok and can_grant, apply_revoke)
        visible = kind == "ACCOUNT" or (obj is not None and m.visible(p, obj))
        ok = exists and (visible or mg) and role_ok and can_grant

        def apply_grant(m: Model) -> None:
            oid = 0 if kind == "ACCOUNT" else getattr(self.resolve(m, key), "id", None)
            if oid is not None:
                m.grants.add((privilege, oid, role))
        return Stmt(f"GRANT {privilege} {on} TO ROLE {role}", ok, apply_grant)

    @staticmethod
    def resolve(m: Model, key: tuple[str, str]) -> Obj | None:
        kind, shown = key
        parts = shown.split(".")
        if kind == "SCHEMA":
            return m.find("SCHEMA", parts[1], parts[0])
        if len(parts) == 3:
            return m.find(kind, parts[2], parts[0], parts[1])
        return m.find(kind, parts[0])


# ======================================================================================
# Running statements
# ======================================================================================
class Runner:
    """Runs statements, applies the accepted ones to a model, and keeps the log and the surprises."""

    def __init__(self, log_path: Path) -> None:
        self.log: list[str] = []
        self.disagreements: list[str] = []
        self.anomalies: list[str] = []
        self.findings: list[str] = []
        self.contents: list[str] = []  # row counts that differ from the model
        self.lock = threading.Lock()
        self.log_path = log_path

    def run(self, label: str, cur: Any, model: Model, stmt: Stmt) -> bool:
        err, errno, status = "", None, None
        if stmt.data:
            cur.execute(f"USE WAREHOUSE {DATA_WH}")
        try:
            cur.execute(stmt.sql)
            ok = True
            if stmt.message is not None:
                row = cur.fetchone()
                status = row[0] if row else None
        except ProgrammingError as e:
            ok, err, errno = False, f"{e.errno}: {e.msg}".replace("\n", " "), e.errno
            if e.errno is None or e.errno <= 0 or e.errno == 603 or "internal error" in err.lower():
                with self.lock:
                    self.anomalies.append(f"{stmt.sql} -> {type(e).__name__} {err}")
        except ClientError as e:
            ok, err = False, f"{type(e).__name__} {e.errno}: {e.msg}".replace("\n", " ")
            with self.lock:
                self.anomalies.append(f"{stmt.sql} -> {err}")
        line = f"[{label}] {'ok ' if ok else 'ERR'} {stmt.sql}" + (f"   -> {err}" if err else "")
        with self.lock:
            line = f"#{len(self.log):03d} {line}"
            self.log.append(line)
            why = None
            if stmt.expect is not None and ok != stmt.expect:
                why = f"model expected {'success' if stmt.expect else 'failure'}"
            elif not ok and stmt.expect is False and stmt.codes and errno not in stmt.codes:
                why = f"model expected error {' or '.join(f'{c:06d}' for c in sorted(stmt.codes))}"
            elif ok and stmt.message is not None and status != stmt.message:
                why = f"model expected the status {stmt.message!r}, got {status!r}"
            if why:
                history = self.relevant(stmt.sql, limit=8, before=len(self.log) - 1)
                self.disagreements.append(f"{line}   ({why})" + "".join(f"\n      earlier: {h}" for h in history))
        if ok:
            stmt.apply(model)
            if stmt.verify is not None:
                self.check_rows(label, cur, stmt.verify(model), f"after `{stmt.sql}`")
        return ok

    def check_rows(self, label: str, cur: Any, tables: list[tuple[str, int]], when: str) -> None:
        """SELECT COUNT(*) of each table; a count other than the model's is a finding."""
        if tables:
            cur.execute(f"USE WAREHOUSE {DATA_WH}")
        for name, want in tables:
            got, note = self.count(cur, name), ""
            if isinstance(got, str) and "002043" in got:
                # seen when the session's current database was dropped: say whether the rows are there at all
                cur.execute(f"USE DATABASE {name.split('.')[0]}")
                note = f" (after USE DATABASE {name.split('.')[0]}: {self.count(cur, name)!r})"
            with self.lock:
                self.log.append(f"#{len(self.log):03d} [{label}] check SELECT COUNT(*) FROM {name} -> {got}{note}")
                if got != want:
                    history = self.relevant(name, limit=10, before=len(self.log) - 1)
                    self.contents.append(f"{when}: SELECT COUNT(*) FROM {name} gives {got!r}{note}, the model {want}"
                                         + "".join(f"\n      earlier: {h}" for h in history))

    @staticmethod
    def count(cur: Any, name: str) -> int | str:
        try:
            return int(cur.execute(f"SELECT COUNT(*) FROM {name}").fetchone()[0])
        except ProgrammingError as e:
            return f"error {e.errno}: {e.msg}".replace("\n", " ")

    def relevant(self, text: str, limit: int = 12, before: int | None = None) -> list[str]:
        """Log lines (before index `before`) naming any identifier that appears in `text`."""
        names = set(re.findall(r"\bZ[A-Z0-9_]+\b", text)) - {"ZS0", "ZS1", "ZST0", "ZST1", "ZT0", "ZT1"}
        hits = [line for line in self.log[:before] if names & set(re.findall(r"\bZ[A-Z0-9_]+\b", line))]
        return hits[-limit:]

    def save(self) -> None:
        self.log_path.write_text("\n".join(self.log) + "\n")


# ======================================================================================
# Snapshots: what SHOW says, and what the model says SHOW should say
# ======================================================================================
SECTIONS = ("databases", "schemas", "warehouses", "roles", "users", "stages", "tables", "grants_to_role",
            "grants_of_role")


def _z(name: str | None) -> bool:
    return bool(name) and str(name).startswith("Z")


def model_snapshot(m: Model, account: str) -> dict[str, dict]:
    snap: dict[str, dict] = {s: {} for s in SECTIONS}
    for o in m.objs.values():
        if o.kind in ("DATABASE", "SCHEMA", "WAREHOUSE", "STAGE", "TABLE") and not m.visible(ADMIN, o):
            continue
        if o.kind == "DATABASE":
            snap["databases"][o.name] = (o.owner, o.comment or "")
        elif o.kind == "SCHEMA":
            snap["schemas"][(o.db, o.name)] = (o.owner, o.comment or "")
        elif o.kind == "WAREHOUSE":
            a = o.props["auto_suspend"]
            snap["warehouses"][o.name] = (o.owner, o.comment or "", None if not a else str(a), o.props["size"],
                                          "true" if o.props["auto_resume"] else "false")
        elif o.kind == "ROLE":
            snap["roles"][o.name] = (o.owner, o.comment or "")
        elif o.kind == "USER":
            snap["users"][o.name] = (o.owner, o.comment or "")
        elif o.kind == "STAGE":
            snap["stages"][(o.db, o.schema, o.name)] = (o.owner, o.comment or "")
        elif o.kind == "TABLE":
            snap["tables"][(o.db, o.schema, o.name)] = o.owner
    for r in [o for o in m.objs.values() if o.kind == "ROLE"]:
        rows = {("OWNERSHIP", o.kind.replace(" ", "_"), o.display) for o in m.objs.values() if o.owner == r.name}
        for privilege, oid, grantee in m.grants:
            if grantee == r.name:
                target = m.objs.get(oid)
                rows.add((privilege, "ACCOUNT", account) if oid == 0 else
                         (privilege, target.kind.replace(" ", "_"), target.display))  # type: ignore[union-attr]
        for rid, kind, grantee in m.members:
            if (kind, grantee) == ("ROLE", r.name):
                rows.add(("USAGE", "ROLE", m.objs[rid].name))
        snap["grants_to_role"][r.name] = tuple(sorted(rows))
        snap["grants_of_role"][r.name] = tuple(sorted((k, g) for rid, k, g in m.members if rid == r.id))
    return snap


def server_snapshot(conn: Any) -> dict[str, dict]:
    cur = conn.cursor(DictCursor)

    def rows(sql: str) -> list[dict]:
        cur.execute(sql)
        return cur.fetchall()

    snap: dict[str, dict] = {s: {} for s in SECTIONS}
    cur.execute("USE ROLE ACCOUNTADMIN")
    for r in rows("SHOW DATABASES"):
        if _z(r["name"]):
            snap["databases"][r["name"]] = (r["owner"], r["comment"] or "")
    for r in rows("SHOW SCHEMAS IN ACCOUNT"):
        if _z(r["database_name"]) and r["name"] != "INFORMATION_SCHEMA":
            snap["schemas"][(r["database_name"], r["name"])] = (r["owner"], r["comment"] or "")
    for r in rows("SHOW WAREHOUSES"):
        if _z(r["name"]):
            snap["warehouses"][r["name"]] = (r["owner"], r["comment"] or "", r["auto_suspend"], r["size"],
                                             r["auto_resume"])
    for r in rows("SHOW ROLES"):
        if _z(r["name"]):
            snap["roles"][r["name"]] = (r["owner"], r["comment"] or "")
    for r in rows("SHOW USERS"):
        if _z(r["name"]):
            snap["users"][r["name"]] = (r["owner"], r["comment"] or "")
    for r in rows("SHOW STAGES IN ACCOUNT"):
        if _z(r["database_name"]):
            snap["stages"][(r["database_name"], r["schema_name"], r["name"])] = (r["owner"], r["comment"] or "")
    for r in rows("SHOW TABLES IN ACCOUNT"):
        if _z(r["database_name"]):
            snap["tables"][(r["database_name"], r["schema_name"], r["name"])] = r["owner"]
    for role in snap["roles"]:
        snap["grants_to_role"][role] = tuple(sorted(
            (g["privilege"], g["granted_on"], g["name"]) for g in rows(f"SHOW GRANTS TO ROLE {role}")))
        snap["grants_of_role"][role] = tuple(sorted(
            (g["granted_to"], g["grantee_name"]) for g in rows(f"SHOW GRANTS OF ROLE {role}")))
    return snap


def diff(left_name: str, left: dict, right_name: str, right: dict) -> list[str]:
    out = []
    for section in SECTIONS:
        a, b = left[section], right[section]
        for key in sorted(set(a) | set(b), key=repr):
            if key not in b:
                out.append(f"{section}: {key!r} only in {left_name}: {a[key]!r}")
            elif key not in a:
                out.append(f"{section}: {key!r} only in {right_name}: {b[key]!r}")
            elif a[key] != b[key]:
                if section == "grants_to_role":
                    extra_a, extra_b = sorted(set(a[key]) - set(b[key])), sorted(set(b[key]) - set(a[key]))
                    out.append(f"{section}: {key!r} {left_name} has extra {extra_a}, {right_name} has extra {extra_b}")
                else:
                    out.append(f"{section}: {key!r} {left_name}={a[key]!r} {right_name}={b[key]!r}")
    return out


# ======================================================================================
# The randomised test
# ======================================================================================
SEQ_NAMES = Names(dbs=["ZD0", "ZD1", "ZD2", "ZD3"], schemas=["ZS0", "ZS1", "PUBLIC"], whs=["ZW0", "ZW1", "ZW2"],
                  roles=["ZR0", "ZR1", "ZR2", "ZR3"], users=["ZU0", "ZU1", "ZU2"], stages=["ZST0", "ZST1"],
                  tables=["ZT0", "ZT1"])
SHARED_WH = "ZWSHARED"
SHARED_PROPS = ("auto_suspend", "size", "comment")  # thread i alone writes SHARED_PROPS[i]
SHARED_INITIAL = {"auto_suspend": "600", "size": "X-Small", "comment": "shared-initial"}
VICTIM = "ZCVICTIM"


def all_table_counts(m: Model) -> list[tuple[str, int]]:
    return sorted((o.display, int(o.props.get("rows", 0))) for o in m.objs.values()
                  if o.kind == "TABLE" and m.visible(ADMIN, o))


def undrop_after_restart(rng: random.Random, runner: Runner, model: Model, cur: Any, limited_cur: Any) -> None:
    """UNDROP most of what the model can reach (databases first: what they bring back makes more reachable),
    some of it first by the limited role (refused), plus names that can no longer be reached."""
    admin = Gen(rng, SEQ_NAMES, ADMIN, "p", ADMIN_WEIGHTS)
    limited = Gen(rng, SEQ_NAMES, LIMITED, "pl", LIMITED_WEIGHTS)
    for _round in range(3):
        for kind in ("DATABASE", "SCHEMA", "TABLE"):
            for d, s, n in model.reachable(kind):
                if rng.random() < 0.25:
                    runner.run("pl", limited_cur, model, limited.undrop_stmt(model, kind, d, s, n))
                if rng.random() < 0.85:
                    runner.run("p", cur, model, admin.undrop_stmt(model, kind, d, s, n))
    for kind in ("DATABASE", "SCHEMA", "TABLE"):
        for d, s, n in model.dropped_names(kind):
            runner.run("p", cur, model, admin.undrop_stmt(model, kind, d, s, n))


def _thread_names(i: int) -> Names:
    return Names(dbs=[f"ZC{i}D0", f"ZC{i}D1"], schemas=["ZS0", "PUBLIC"], whs=[f"ZC{i}W0", f"ZC{i}W1"],
                 roles=[f"ZC{i}R0", f"ZC{i}R1"], users=[f"ZC{i}U0", f"ZC{i}U1"], stages=["ZST0", "ZST1"],
                 tables=["ZT0", "ZT1"])


def _setup_stmt(sql: str, apply: Callable[[Model], None]) -> Stmt:
    return Stmt(sql, True, apply)


@dataclass
class SharedLog:
    """What one thread did to the shared warehouse and saw of it."""

    successes: list[str] = field(default_factory=list)  # values of its property, in order of success
    grants: set[str] = field(default_factory=set)
    observed: list[dict[str, Any]] = field(default_factory=list)


def _observe(cur: Any) -> dict[str, Any] | None:
    cur.execute(f"SHOW WAREHOUSES LIKE '{SHARED_WH}'")
    desc = [d[0] for d in cur.description]
    row = cur.fetchone()
    if row is None:
        return None
    r = dict(zip(desc, row, strict=True))
    return {"auto_suspend": r["auto_suspend"], "size": r["size"], "comment": r["comment"] or ""}


def _admin_thread(i: int, conn: Any, runner: Runner, part: Model, shared: SharedLog) -> None:
    rng = random.Random(f"{SEED}-thread-{i}")
    gen = Gen(rng, _thread_names(i), ADMIN, f"t{i}", ADMIN_WEIGHTS)
    cur = conn.cursor()
    prop = SHARED_PROPS[i]
    sink = Model()  # shared-warehouse statements are accounted for after the threads join
    for k in range(N_PER_THREAD):
        if rng.random() >= 0.35:
            runner.run(f"t{i}", cur, part, gen.next(part))
            continue
        action = rng.choices(["set", "bad", "grant", "revoke"], weights=[4, 2, 2, 1])[0]
        if action in ("set", "bad"):
            if prop == "auto_suspend":
                value, sql = str((100 if action == "set" else 9000) + k), "AUTO_SUSPEND = {}"
            elif prop == "size":
                word = rng.choice(["SMALL", "MEDIUM", "LARGE"]) if action == "set" else "XLARGE"
                value, sql = SIZES[word], "WAREHOUSE_SIZE = " + word
            else:
                value = f"t{i}-{k}" if action == "set" else f"bad-t{i}-{k}"
                sql = "COMMENT = '{}'"
            text = f"ALTER WAREHOUSE {SHARED_WH} SET " + sql.format(value) + (" BOGUS_PROP = 1" if action == "bad" else "")
            ok = runner.run(f"t{i}", cur, sink, Stmt(text, action == "set", _noop))
            if ok:
                shared.successes.append(value)
            seen = _observe(cur)
            if seen is not None:
                shared.observed.append(seen)
                if ok and action == "set" and seen[prop] != value:
                    with runner.lock:
                        runner.findings.append(f"thread t{i}: right after its successful `{text}` SHOW WAREHOUSES "
                                               f"showed {prop}={seen[prop]!r} (only t{i} writes {prop})")
        else:
            privilege = rng.choice(PRIVS["WAREHOUSE"])
            verb = "GRANT" if action == "grant" else "REVOKE"
            text = f"{verb} {privilege} ON WAREHOUSE {SHARED_WH} {'TO' if verb == 'GRANT' else 'FROM'} ROLE ZCG{i}"
            if runner.run(f"t{i}", cur, sink, Stmt(text, True, _noop)):
                (shared.grants.add if verb == "GRANT" else shared.grants.discard)(privilege)


def _limited_thread(conn: Any, runner: Runner, part: Model, model: Model) -> None:
    """USERADMIN on its own users and roles, plus attempts on objects it must not change."""
    rng = random.Random(f"{SEED}-thread-limited")
    names = Names(dbs=[], schemas=[], whs=[], stages=[], tables=[], roles=["ZCLR0", "ZCLR1"],
                  users=["ZCLU0", "ZCLU1"])
    weights = {k: v for k, v in LIMITED_WEIGHTS.items() if k.startswith(("user_", "role_"))}
    gen = Gen(rng, names, LIMITED, "tl", weights)
    cur = conn.cursor()

    def replace_victim(m: Model) -> None:
        old = m.find("USER", VICTIM)
        if old is not None:
            m.remove(old)
        m.add(Obj("USER", VICTIM, "USERADMIN", comment="pwned"))

    for k in range(N_PER_THREAD):
        if rng.random() >= 0.3:
            runner.run("tl", cur, part, gen.next(part))
            continue
        attack = rng.choice([
            Stmt(f"ALTER WAREHOUSE {SHARED_WH} SET COMMENT = 'pwned-{k}'", False, _noop),
            Stmt(f"ALTER WAREHOUSE {SHARED_WH} SET AUTO_SUSPEND = {7000 + k}", False, _noop),
            Stmt(f"GRANT MODIFY ON WAREHOUSE {SHARED_WH} TO ROLE ZCLR0", False, _noop),
            Stmt(f"DROP WAREHOUSE {SHARED_WH}", False, _noop),
            Stmt(f"CREATE OR REPLACE USER {VICTIM} PASSWORD = 'pwned' COMMENT = 'pwned'", False, replace_victim),
            Stmt(f"ALTER USER {VICTIM} SET COMMENT = 'pwned'", False, _noop),
        ])
        runner.run("tl", cur, model, attack)


def test_randomised_ddl_from_several_sessions_survives_a_restart(tmp_path: Path) -> None:
    started = time.time()
    rng = random.Random(SEED)
    runner = Runner(tmp_path / f"statements-seed{SEED}.log")
    server = start_server(tmp_path / "data")
    conns: list[Any] = []
    try:
        setup = server.connect()
        cur = setup.cursor()
        cur.execute("USE ROLE ACCOUNTADMIN")
        account = cur.execute("SELECT CURRENT_ACCOUNT()").fetchone()[0]
        cur.execute(f"CREATE USER {LIMITED_USER} PASSWORD = '{LIMITED_PASSWORD}' DEFAULT_ROLE = USERADMIN")
        cur.execute(f"GRANT ROLE USERADMIN TO USER {LIMITED_USER}")
        cur.execute(f"CREATE WAREHOUSE {DATA_WH} AUTO_RESUME = TRUE INITIALLY_SUSPENDED = TRUE")
        cur.execute(f"GRANT USAGE ON WAREHOUSE {DATA_WH} TO ROLE USERADMIN")
        cur.execute(f"USE WAREHOUSE {DATA_WH}")
        admins = [server.connect() for _ in range(3)]
        limited = server.connect(user=LIMITED_USER, password=LIMITED_PASSWORD)
        conns = [setup, *admins, limited]
        for c in admins:
            c.cursor().execute("USE ROLE ACCOUNTADMIN")
            c.cursor().execute(f"USE WAREHOUSE {DATA_WH}")
        assert limited.cursor().execute("SELECT CURRENT_ROLE()").fetchone() == ("USERADMIN",)

        # ---- phase 1: round-robin over the four sessions, every outcome predicted -------------
        model = Model()
        sessions = [(f"a{i}", c.cursor(), Gen(rng, SEQ_NAMES, ADMIN, f"a{i}", ADMIN_WEIGHTS)) for i, c in
                    enumerate(admins)]
        sessions.append(("ua", limited.cursor(), Gen(rng, SEQ_NAMES, LIMITED, "ua", LIMITED_WEIGHTS)))
        for n in range(N_SEQUENTIAL):
            label, scur, gen = sessions[n % len(sessions)]
            runner.run(label, scur, model, gen.next(model))

        # ---- phase 1b: round-robin again, mostly DROP / UNDROP / INSERT / RENAME of tables and their holders
        tt = [(label, scur, Gen(rng, SEQ_NAMES, ADMIN, label, TIME_TRAVEL_WEIGHTS)) for label, scur, _g in sessions[:3]]
        tt.append(("ua", sessions[3][1], Gen(rng, SEQ_NAMES, LIMITED, "ua", LIMITED_TIME_TRAVEL_WEIGHTS)))
        for n in range(N_TIME_TRAVEL):
            label, scur, gen = tt[n % len(tt)]
            runner.run(label, scur, model, gen.next(model))

        # ---- phase 2: one thread per session; own names, plus one shared warehouse ----------------
        a0 = admins[0].cursor()

        def add_shared(m: Model) -> None:
            m.add(Obj("WAREHOUSE", SHARED_WH, "ACCOUNTADMIN", comment=SHARED_INITIAL["comment"],
                      props={"size": "X-Small", "auto_suspend": 600, "auto_resume": True}))

        runner.run("a0", a0, model, _setup_stmt(
            f"CREATE OR REPLACE WAREHOUSE {SHARED_WH} WAREHOUSE_SIZE = XSMALL AUTO_SUSPEND = 600 "
            f"COMMENT = '{SHARED_INITIAL['comment']}' INITIALLY_SUSPENDED = TRUE", add_shared))
        for i in range(3):
            runner.run("a0", a0, model, _setup_stmt(f"CREATE ROLE ZCG{i}",
                                                    lambda m, i=i: m.add(Obj("ROLE", f"ZCG{i}", "ACCOUNTADMIN"))))
        runner.run("a0", a0, model, _setup_stmt(
            f"CREATE USER {VICTIM} PASSWORD = 'victim-pw' COMMENT = 'victim'",
            lambda m: m.add(Obj("USER", VICTIM, "ACCOUNTADMIN", comment="victim"))))

        parts = [Model() for _ in range(4)]
        shared = [SharedLog() for _ in range(3)]
        errors: list[BaseException] = []

        def guarded(fn: Callable[..., None], *args: Any) -> Callable[[], None]:
            def run() -> None:
                try:
                    fn(*args)
                except BaseException as e:  # noqa: BLE001 - reported by the main thread
                    errors.append(e)
            return run

        threads = [threading.Thread(target=guarded(_admin_thread, i, admins[i], runner, parts[i], shared[i]))
                   for i in range(3)]
        threads.append(threading.Thread(target=guarded(_limited_thread, limited, runner, parts[3], model)))
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not any(t.is_alive() for t in threads), f"seed {SEED}: a session thread hung"
        if errors:
            raise errors[0]
        for part in parts:
            model.merge(part)
        wh = model.find("WAREHOUSE", SHARED_WH)
        assert wh is not None
        for i, log in enumerate(shared):
            prop = SHARED_PROPS[i]
            if log.successes:
                last = log.successes[-1]
                if prop == "auto_suspend":
                    wh.props["auto_suspend"] = int(last)
                elif prop == "size":
                    wh.props["size"] = last
                else:
                    wh.comment = last
            role = model.find("ROLE", f"ZCG{i}")
            assert role is not None
            model.grants |= {(p, wh.id, role.name) for p in log.grants}
            allowed = {SHARED_INITIAL[prop], *log.successes}
            for seen in (s for lg in shared for s in lg.observed):
                if seen[prop] not in allowed:
                    runner.findings.append(f"shared warehouse: SHOW WAREHOUSES showed {prop}={seen[prop]!r}, a "
                                           f"value no successful statement set (successful: {log.successes})")

        # ---- compare, restart, compare again ------------------------------------------------------
        expected = model_snapshot(model, account)
        before = server_snapshot(setup)
        runner.check_rows("a0", a0, all_table_counts(model), "before the restart")
        for c in conns:
            c.close()
        conns = []
        server.stop()
        server = start_server(server.data_dir)
        after_conn = server.connect()
        conns = [after_conn]
        after = server_snapshot(after_conn)

        # ---- phase 3: after the restart, UNDROP what was dropped before it --------------------------
        pcur = after_conn.cursor()
        pcur.execute(f"USE WAREHOUSE {DATA_WH}")
        runner.check_rows("p", pcur, all_table_counts(model), "after the restart")
        plimited = server.connect(user=LIMITED_USER, password=LIMITED_PASSWORD)
        conns.append(plimited)
        undrop_after_restart(rng, runner, model, pcur, plimited.cursor())
        expected_final = model_snapshot(model, account)
        final = server_snapshot(after_conn)
        runner.check_rows("p", pcur, all_table_counts(model), "at the end")
    finally:
        runner.save()
        for c in conns:
            try:
                c.close()
            except Exception:  # noqa: BLE001 - best effort
                pass
        server.stop()

    elapsed = time.time() - started
    problems: list[str] = []
    sections = [
        ("statements whose success or failure differs from the model", runner.disagreements),
        ("statements that failed with an internal error or without a Snowflake error code", runner.anomalies),
        ("concurrency findings", sorted(set(runner.findings))),
        ("model vs server before restart", diff("model", expected, "server", before)),
        ("server before restart vs after restart", diff("before", before, "after", after)),
        ("model vs server after restart", diff("model", expected, "server", after)),
        ("model vs server after the UNDROPs that followed the restart", diff("model", expected_final, "server", final)),
        ("table row counts", runner.contents),
    ]
    report = [f"seed {SEED} (SNOWPORT_FUZZ_SEED={SEED} to reproduce), {len(runner.log)} statements in "
              f"{elapsed:.1f}s, full log: {runner.log_path}"]
    for title, items in sections:
        if items:
            problems += items
            report.append(f"\n== {title} ({len(items)}):")
            report += [f"  {x}" for x in items]
    mismatched = "\n".join(x for _title, items in sections[3:7] for x in items)
    if mismatched:
        report.append("\n== statements naming the mismatched objects (last few each):")
        for line in runner.relevant(mismatched, limit=40):
            report.append(f"  {line}")
    print("\n".join(report))
    assert not problems, "\n".join(report)


# ======================================================================================
# The two defects of issue 8, deterministic
# ======================================================================================
def _restart(server: Any) -> Any:
    server.stop()
    return start_server(server.data_dir)


def test_useradmin_cannot_replace_a_user_it_does_not_own(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    problems: list[str] = []
    try:
        admin = server.connect()
        cur = admin.cursor()
        cur.execute("USE ROLE ACCOUNTADMIN")
        cur.execute("CREATE USER VICTIM PASSWORD = 'victim-old-pw' COMMENT = 'original'")
        cur.execute("CREATE USER UA PASSWORD = 'ua-pw' DEFAULT_ROLE = USERADMIN")
        cur.execute("GRANT ROLE USERADMIN TO USER UA")
        ua = server.connect(user="UA", password="ua-pw")
        ucur = ua.cursor()
        assert ucur.execute("SELECT CURRENT_ROLE()").fetchone() == ("USERADMIN",)
        try:
            ucur.execute("CREATE OR REPLACE USER VICTIM PASSWORD = 'taken-over'")
            problems.append("CREATE OR REPLACE USER VICTIM by USERADMIN succeeded (must be refused with 003001)")
        except ProgrammingError as e:
            if (e.errno, e.sqlstate) != (3001, "42501"):
                problems.append(f"CREATE OR REPLACE USER VICTIM refused with {e.errno} {e.sqlstate} {e.msg!r}, "
                                "expected 003001 (42501)")
        try:
            ucur.execute("CREATE OR REPLACE ROLE ACCOUNTADMIN")
            problems.append("CREATE OR REPLACE ROLE ACCOUNTADMIN by USERADMIN succeeded")
        except ProgrammingError:
            pass
        ua.close()
        admin.close()
        for phase in ("before restart", "after restart"):
            if phase == "after restart":
                server = _restart(server)
            conn = server.connect()
            rows = conn.cursor(DictCursor).execute("SHOW USERS LIKE 'VICTIM'").fetchall()
            conn.close()
            if len(rows) != 1 or (rows[0]["owner"], rows[0]["comment"]) != ("ACCOUNTADMIN", "original"):
                problems.append(f"{phase}: VICTIM in SHOW USERS is "
                                f"{[(r['owner'], r['comment']) for r in rows]}, expected [('ACCOUNTADMIN', 'original')]")
            try:
                server.connect(user="VICTIM", password="victim-old-pw").close()
            except ClientError as e:
                problems.append(f"{phase}: VICTIM can no longer log in with the old password: {e.errno} {e.msg}")
            try:
                server.connect(user="VICTIM", password="taken-over").close()
                problems.append(f"{phase}: VICTIM logs in with the password USERADMIN set")
            except ClientError:
                pass
    finally:
        server.stop()
    assert not problems, "\n".join(problems)


def test_failed_alter_warehouse_changes_nothing(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    problems: list[str] = []
    try:
        admin = server.connect()
        cur = admin.cursor()
        cur.execute("USE ROLE ACCOUNTADMIN")
        cur.execute("CREATE WAREHOUSE W1 AUTO_SUSPEND = 60 COMMENT = 'before' INITIALLY_SUSPENDED = TRUE")
        want = [("60", "before", "X-Small")]

        def check(when: str) -> None:
            conn = server.connect()
            rows = conn.cursor(DictCursor).execute("SHOW WAREHOUSES LIKE 'W1'").fetchall()
            conn.close()
            got = [(r["auto_suspend"], r["comment"], r["size"]) for r in rows]
            if got != want:
                problems.append(f"{when}: SHOW WAREHOUSES LIKE 'W1' gives (auto_suspend, comment, size) = {got}, "
                                f"expected {want}")

        for sql in ("ALTER WAREHOUSE W1 SET AUTO_SUSPEND = 5 BOGUS = 1",
                    "ALTER WAREHOUSE W1 SET COMMENT = 'after' WAREHOUSE_SIZE = HUGE",
                    "CREATE OR REPLACE WAREHOUSE W1 AUTO_SUSPEND = 5 BOGUS = 1"):
            try:
                cur.execute(sql)
                problems.append(f"`{sql}` succeeded (an invalid property must fail the statement)")
            except ProgrammingError as e:
                if e.errno != 2025:
                    problems.append(f"`{sql}` failed with {e.errno} {e.msg!r}, expected 002025")
            check(f"after `{sql}`")
        admin.close()
        server = _restart(server)
        check("after a restart")
    finally:
        server.stop()
    assert not problems, "\n".join(problems)


@pytest.fixture(autouse=True)
def _print_seed(request: pytest.FixtureRequest) -> None:
    if request.node.name.startswith("test_randomised"):
        print(f"SNOWPORT_FUZZ_SEED={SEED}")
