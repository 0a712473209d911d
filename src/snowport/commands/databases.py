"""Databases: CREATE / ALTER / DROP / SHOW / DESCRIBE DATABASE.

A database is a catalog object and a DuckDB file; the file is made before the catalog entry
(and removed again if the statement fails), so a name the engine cannot hold leaves nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from snowport import errors
from snowport.catalog.store import CatalogObject, Transaction
from snowport.commands import lifecycle, properties, session
from snowport.commands.columns import Col, Rows, columns, created_on, like_matcher, owner_role_type, yn
from snowport.commands.context import Ctx
from snowport.commands.kinds import DATABASE_KIND
from snowport.commands.lifecycle import Name
from snowport.names import display

PROPERTIES = ("COMMENT", "DATA_RETENTION_TIME_IN_DAYS", "MAX_DATA_EXTENSION_TIME_IN_DAYS", "DEFAULT_DDL_COLLATION",
              "LOG_LEVEL", "TRACE_LEVEL", "EXTERNAL_VOLUME", "CATALOG")


def _not_system(db: CatalogObject) -> None:
    if db.props.get("system"):
        raise errors.insufficient_privileges("database", db.name)


CONVERT = {k: properties.days(k) for k in ("DATA_RETENTION_TIME_IN_DAYS", "MAX_DATA_EXTENSION_TIME_IN_DAYS")}


def create(ctx: Ctx, name: str, values: dict[str, Any] | None = None, or_replace: bool = False,
           if_not_exists: bool = False, transient: bool = False) -> str:
    target = Name(name)
    old = ctx.catalog.get("DATABASE", name)
    if old is not None and or_replace:
        _not_system(old)

    def build() -> CatalogObject:
        db = lifecycle.new_object(ctx, DATABASE_KIND, target, props={"transient": transient})
        return properties.apply(db, values or {}, "DATABASE", PROPERTIES, CONVERT)

    def make_files(tx: Transaction, db: CatalogObject) -> None:
        try:
            ctx.core.engine.attach(name)
            ctx.core.engine.create_schema(name, "PUBLIC")
        except duckdb.Error:
            ctx.core.engine.detach_and_delete(name)
            raise errors.unsupported(f"database name {display(name)}") from None
        tx.on_rollback(lambda: ctx.core.engine.detach_and_delete(name))
        ctx.catalog.create(CatalogObject(kind="SCHEMA", name="PUBLIC", database=name, owner=ctx.role))
        # Creating a database makes it (and its PUBLIC schema) current, as in Snowflake.
        tx.after_commit(lambda: session.set_namespace(ctx.core, ctx.session, name, "PUBLIC"))

    created, message = lifecycle.create(ctx, DATABASE_KIND, target, build, or_replace=or_replace,
                                        if_not_exists=if_not_exists, after=make_files)
    return message


def drop(ctx: Ctx, name: str, if_exists: bool = False) -> str:
    def leave(tx: Transaction, _db: CatalogObject) -> None:
        def reset_sessions() -> None:
            for s in ctx.core.sessions.all():
                if s.database == name:
                    session.set_namespace(ctx.core, s, None, None)
        tx.after_commit(reset_sessions)

    return lifecycle.drop(ctx, DATABASE_KIND, Name(name), if_exists, after=leave, guard=_not_system)


def undrop(ctx: Ctx, name: str) -> str:
    return lifecycle.undrop(ctx, DATABASE_KIND, Name(name))


def rename(ctx: Ctx, name: str, new_name: str, if_exists: bool = False) -> str:
    def move_files(tx: Transaction, _old: CatalogObject, _new: CatalogObject) -> None:
        ctx.core.engine.rename_database(name, new_name)
        tx.on_rollback(lambda: ctx.core.engine.rename_database(new_name, name))

        def follow() -> None:
            for s in ctx.core.sessions.all():
                if s.database == name:
                    session.set_namespace(ctx.core, s, new_name, s.schema)
        tx.after_commit(follow)

    db = ctx.catalog.get("DATABASE", name)
    if db is not None:
        _not_system(db)
    return lifecycle.rename(ctx, DATABASE_KIND, Name(name), Name(new_name), if_exists, after=move_files)


def set_properties(ctx: Ctx, name: str, values: dict[str, Any], if_exists: bool = False) -> str:
    properties.only(values, PROPERTIES, "DATABASE")

    def change(db: CatalogObject) -> CatalogObject:
        _not_system(db)
        return properties.apply(db, values, "DATABASE", PROPERTIES, CONVERT)

    lifecycle.alter(ctx, DATABASE_KIND, Name(name), "ALTER DATABASE", change, if_exists)
    return lifecycle.SUCCESS


def unset_properties(ctx: Ctx, name: str, keys: list[str], if_exists: bool = False) -> str:
    properties.only(dict.fromkeys(keys), PROPERTIES, "DATABASE")

    def change(db: CatalogObject) -> CatalogObject:
        _not_system(db)
        return properties.unset(db, keys, "DATABASE", PROPERTIES)

    lifecycle.alter(ctx, DATABASE_KIND, Name(name), "ALTER DATABASE", change, if_exists)
    return lifecycle.SUCCESS


@dataclass(frozen=True)
class DatabaseRow:
    db: CatalogObject
    is_current: bool


SHOW_COLUMNS = columns(
    created_on(lambda r: r.db),
    Col("name", value=lambda r: r.db.name),
    Col("is_default", value=lambda r: "N"),
    Col("is_current", value=lambda r: yn(r.is_current)),
    Col("origin", value=lambda r: "SNOWFLAKE.ACCOUNT_USAGE.SNOWFLAKE" if r.db.props.get("system") else ""),
    Col("owner", value=lambda r: r.db.owner),
    Col("comment", value=lambda r: r.db.comment or ""),
    Col("options", value=lambda r: "TRANSIENT" if r.db.props.get("transient") else ""),
    Col("retention_time", value=lambda r: str(r.db.props.get("data_retention_time_in_days", 1))),
    Col("kind", value=lambda r: "APPLICATION" if r.db.props.get("system") else "STANDARD"),
    Col("budget", value=lambda r: None),
    Col("owner_role_type", value=lambda r: owner_role_type(r.db)),
)


def show(ctx: Ctx, like: str | None = None) -> Rows:
    match = like_matcher(like)
    items = [DatabaseRow(db, db.name == ctx.session.database) for db in ctx.catalog.list("DATABASE")
             if match(db.name) and ctx.auth.can_see(ctx.session, db)]
    return Rows(SHOW_COLUMNS, items)


CONTENT_COLUMNS = columns(created_on(), Col("name", value=lambda o: o.name), Col("kind", value=lambda o: o.kind))


def describe(ctx: Ctx, name: str) -> Rows:
    db = ctx.visible_database(name)
    ctx.require("DESCRIBE DATABASE", db)
    return Rows(CONTENT_COLUMNS, ctx.catalog.list("SCHEMA", db.name), describe=True)
