"""Schemas: CREATE / ALTER / DROP / SHOW / DESCRIBE SCHEMA."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from snowport import errors
from snowport.catalog.store import CatalogObject, Transaction
from snowport.commands import lifecycle, properties, session
from snowport.commands.columns import Col, Rows, columns, created_on, like_matcher, owner_role_type, yn
from snowport.commands.context import Ctx
from snowport.commands.kinds import SCHEMA_KIND
from snowport.commands.lifecycle import Name

PROPERTIES = ("COMMENT", "DATA_RETENTION_TIME_IN_DAYS", "MAX_DATA_EXTENSION_TIME_IN_DAYS", "DEFAULT_DDL_COLLATION",
              "LOG_LEVEL", "TRACE_LEVEL")


def _name(ctx: Ctx, parts: list[str], command: str) -> Name:
    return lifecycle.resolve(ctx, SCHEMA_KIND, parts, command)


CONVERT = {k: properties.days(k) for k in ("DATA_RETENTION_TIME_IN_DAYS", "MAX_DATA_EXTENSION_TIME_IN_DAYS")}


def create(ctx: Ctx, parts: list[str], values: dict[str, Any] | None = None, or_replace: bool = False,
           if_not_exists: bool = False) -> str:
    target = _name(ctx, parts, "CREATE SCHEMA")

    def make_files(tx: Transaction, _schema: CatalogObject) -> None:
        # DuckDB cannot set a dropped schema aside under another name: a new schema of the same name
        # ends the old one's retention (UNDROP SCHEMA then has nothing to restore).
        database_id, _ = lifecycle.containers(ctx.catalog, target.database)
        while (kept := ctx.catalog.dropped("SCHEMA", target.name, database_id)) is not None:
            lifecycle.purge(ctx.core, kept, tx)
        ctx.core.engine.create_schema(target.database, target.name)
        tx.on_rollback(lambda: ctx.core.engine.drop_schema(target.database, target.name))
        tx.after_commit(lambda: session.set_namespace(ctx.core, ctx.session, target.database, target.name))

    def build() -> CatalogObject:
        return properties.apply(lifecycle.new_object(ctx, SCHEMA_KIND, target), values or {}, "SCHEMA", PROPERTIES,
                                CONVERT)

    return lifecycle.create(ctx, SCHEMA_KIND, target, build,
                            or_replace=or_replace, if_not_exists=if_not_exists, after=make_files)[1]


def drop(ctx: Ctx, parts: list[str], if_exists: bool = False) -> str:
    target = _name(ctx, parts, "DROP SCHEMA")

    def leave(tx: Transaction, _schema: CatalogObject) -> None:
        def reset_sessions() -> None:
            for s in ctx.core.sessions.all():
                if s.database == target.database and s.schema == target.name:
                    session.set_namespace(ctx.core, s, target.database, None)
        tx.after_commit(reset_sessions)

    return lifecycle.drop(ctx, SCHEMA_KIND, target, if_exists, after=leave)


def undrop(ctx: Ctx, parts: list[str]) -> str:
    return lifecycle.undrop(ctx, SCHEMA_KIND, _name(ctx, parts, "UNDROP SCHEMA"))


def rename(ctx: Ctx, parts: list[str], new_parts: list[str], if_exists: bool = False) -> str:
    target = _name(ctx, parts, "ALTER SCHEMA")
    return lifecycle.rename(ctx, SCHEMA_KIND, target, _name(ctx, new_parts, "ALTER SCHEMA"), if_exists)


def set_properties(ctx: Ctx, parts: list[str], values: dict[str, Any], if_exists: bool = False) -> str:
    properties.only(values, PROPERTIES, "SCHEMA")

    lifecycle.alter(ctx, SCHEMA_KIND, _name(ctx, parts, "ALTER SCHEMA"), "ALTER SCHEMA",
                    lambda sch: properties.apply(sch, values, "SCHEMA", PROPERTIES, CONVERT), if_exists)
    return lifecycle.SUCCESS


def unset_properties(ctx: Ctx, parts: list[str], keys: list[str], if_exists: bool = False) -> str:
    properties.only(dict.fromkeys(keys), PROPERTIES, "SCHEMA")

    lifecycle.alter(ctx, SCHEMA_KIND, _name(ctx, parts, "ALTER SCHEMA"), "ALTER SCHEMA",
                    lambda sch: properties.unset(sch, keys, "SCHEMA", PROPERTIES), if_exists)
    return lifecycle.SUCCESS


@dataclass(frozen=True)
class SchemaRow:
    name: str
    database: str
    created_dt: Any
    is_current: bool
    owner: str
    comment: str
    obj: CatalogObject | None
    retention: int = lifecycle.DEFAULT_RETENTION_DAYS


SHOW_COLUMNS = columns(
    created_on(),
    Col("name", value=lambda r: r.name),
    Col("is_default", value=lambda r: "N"),
    Col("is_current", value=lambda r: yn(r.is_current)),
    Col("database_name", value=lambda r: r.database),
    Col("owner", value=lambda r: r.owner),
    Col("comment", value=lambda r: r.comment),
    Col("options", value=lambda r: ""),
    Col("retention_time", value=lambda r: str(r.retention)),
    Col("owner_role_type", value=lambda r: owner_role_type(r.obj) if r.obj is not None else ""),
    Col("budget", value=lambda r: None),
)

INFORMATION_SCHEMA_COMMENT = "Views describing the contents of schemas in this database"


def show(ctx: Ctx, like: str | None = None, in_database: str | None = None, in_account: bool = False) -> Rows:
    match = like_matcher(like)
    if in_account:
        databases = [d for d in ctx.catalog.list("DATABASE") if ctx.auth.can_see(ctx.session, d)]
    else:
        target = in_database or ctx.session.database
        if target is None:
            raise errors.no_database("SHOW SCHEMAS")
        databases = [ctx.visible_database(target)]
    items = []
    for db in databases:
        current_db = ctx.session.database == db.name
        if match("INFORMATION_SCHEMA"):
            items.append(SchemaRow("INFORMATION_SCHEMA", db.name, db.created_dt,
                                   current_db and ctx.session.schema == "INFORMATION_SCHEMA", "",
                                   INFORMATION_SCHEMA_COMMENT, None))
        for s in ctx.catalog.list("SCHEMA", db.name):
            if match(s.name) and ctx.auth.can_see(ctx.session, s):
                items.append(SchemaRow(s.name, db.name, s.created_dt, current_db and s.name == ctx.session.schema,
                                       s.owner, s.comment or "", s, lifecycle.retention_days(ctx, s)))
    return Rows(SHOW_COLUMNS, items)


CONTENT_COLUMNS = columns(created_on(), Col("name", value=lambda o: o.name), Col("kind", value=lambda o: o.kind))


def describe(ctx: Ctx, parts: list[str]) -> Rows:
    target = _name(ctx, parts, "DESCRIBE SCHEMA")
    ctx.visible_schema(target.database, target.name)
    contents = sorted((o for o in ctx.catalog.all_objects() if o.database == target.database
                       and o.schema == target.name), key=lambda o: o.name)
    return Rows(CONTENT_COLUMNS, contents, describe=True)
