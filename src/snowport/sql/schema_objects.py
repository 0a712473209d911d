"""What every schema-level object kind (stage, image repository, later service, function...) shares."""

from __future__ import annotations

from collections.abc import Callable

from snowport import errors
from snowport.catalog.store import CatalogObject
from snowport.names import display
from snowport.sql.context import Ctx
from snowport.sql.result import Result, status


def drop(ctx: Ctx, kind: str, parts: list[str], if_exists: bool,
         release: Callable[[CatalogObject], None] = lambda _obj: None) -> Result:
    """DROP <kind> [IF EXISTS]: owners only; `release` frees what the object holds outside the catalog."""
    database, schema, name = ctx.object_in_schema(parts, f"DROP {kind}")
    obj = ctx.catalog.get(kind, name, database, schema)
    shown = display(database, schema, name)
    if obj is None or not ctx.auth.can_see(ctx.session, obj):
        if if_exists:
            return status(f"Drop statement executed successfully ({name} already dropped).")
        raise errors.does_not_exist(kind.title(), shown)
    if not ctx.auth.owns(ctx.session, obj):
        raise errors.insufficient_privileges(kind.lower(), shown)
    ctx.catalog.drop(obj)
    release(obj)
    return status(f"{name} successfully dropped.")
