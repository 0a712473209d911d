"""IMAGE REPOSITORY objects: CREATE/DROP/SHOW, SHOW IMAGES and SYSTEM$REGISTRY_LIST_IMAGES."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from snowport import errors
from snowport.catalog.store import CatalogObject
from snowport.names import display, normalize
from snowport.sql import schema_objects
from snowport.sql.context import Ctx
from snowport.sql.result import SHOW, Result, column, status
from snowport.sql.showing import like_matcher, owner_role_type

KIND = "IMAGE REPOSITORY"
READ_PRIVILEGES = ("READ", "WRITE", "SERVICE READ", "SERVICE WRITE")


def repository_url(ctx: Ctx, repo: CatalogObject) -> str:
    """`<host>:<port>/<db>/<schema>/<repo>` in lower case: what `docker tag/push` use."""
    host = (ctx.session.base_url or f"http://{ctx.core.settings.host}:{ctx.core.settings.port}").split("://", 1)[-1]
    return f"{host}/{repo.database}/{repo.schema}/{repo.name}".lower()


def create(ctx: Ctx, parts: list[str], props: dict[str, Any], or_replace: bool, if_not_exists: bool) -> Result:
    database, schema, name = ctx.object_in_schema(parts, "CREATE IMAGE REPOSITORY")
    sch = ctx.usable_schema(database, schema)
    if not ctx.auth.has(ctx.session, sch, ("CREATE IMAGE REPOSITORY",)):
        raise errors.insufficient_privileges("schema", display(database, schema))
    encryption = "SNOWFLAKE_FULL"
    for key, value in props.items():
        if key == "ENCRYPTION" and isinstance(value, dict):
            encryption = str(value.get("TYPE", encryption)).upper()
            if encryption not in ("SNOWFLAKE_FULL", "SNOWFLAKE_SSE"):
                raise errors.invalid_value(f"invalid value '{encryption}' for property 'TYPE' of 'ENCRYPTION'")
        elif key != "COMMENT":
            raise errors.invalid_value(f"invalid property '{key}' for 'IMAGE REPOSITORY'")
    with ctx.catalog.lock:
        existing = ctx.catalog.get(KIND, name, database, schema)
        if existing is not None:
            if if_not_exists:
                return status(f"{name} already exists, statement succeeded.")
            if not or_replace:
                raise errors.already_exists(KIND, name)
            if not ctx.auth.owns(ctx.session, existing):
                raise errors.insufficient_privileges("image repository", display(database, schema, name))
            ctx.catalog.drop(existing)
            ctx.core.registry.drop_repository(f"repo-{existing.id}")
        ctx.catalog.create(CatalogObject(kind=KIND, name=name, database=database, schema=schema, owner=ctx.role,
                                         comment=props.get("COMMENT"), props={"encryption": encryption}))
    return status(f"Image Repository {name} successfully created.")


def drop(ctx: Ctx, parts: list[str], if_exists: bool) -> Result:
    return schema_objects.drop(ctx, KIND, parts, if_exists,
                               lambda repo: ctx.core.registry.drop_repository(f"repo-{repo.id}"))


COLUMNS = ("created_on name database_name schema_name repository_url owner owner_role_type comment encryption "
           "privatelink_repository_url").split()


def show(ctx: Ctx, like: str | None, database: str | None, schema: str | None) -> Result:
    match = like_matcher(like)
    rows = []
    for repo in ctx.catalog.list(KIND, database, schema):
        if not match(repo.name) or not ctx.auth.has(ctx.session, repo, READ_PRIVILEGES):
            continue
        rows.append((repo.created_dt, repo.name, repo.database, repo.schema, repository_url(ctx, repo), repo.owner,
                     owner_role_type(repo), repo.comment or "", repo.props.get("encryption", "SNOWFLAKE_FULL"),
                     None))
    return Result([column(c, "timestamp_ltz" if c == "created_on" else "text") for c in COLUMNS], rows,
                  statement_type_id=SHOW)


def readable(ctx: Ctx, parts: list[str]) -> CatalogObject:
    database, schema, name = ctx.object_in_schema(parts, "SHOW IMAGES")
    repo = ctx.catalog.get(KIND, name, database, schema)
    if repo is None or not ctx.auth.can_see(ctx.session, repo):
        raise errors.does_not_exist("Image Repository", display(database, schema, name))
    if not ctx.auth.has(ctx.session, repo, READ_PRIVILEGES):
        raise errors.insufficient_privileges("image repository", display(database, schema, name))
    return repo


def show_images(ctx: Ctx, like: str | None, parts: list[str]) -> Result:
    repo = readable(ctx, parts)
    match = like_matcher(like)
    base = f"{repo.database}/{repo.schema}/{repo.name}".lower()
    rows = []
    for image, tag, digest, updated in ctx.core.registry.images(f"repo-{repo.id}"):
        if match(image):
            rows.append((datetime.fromtimestamp(updated, UTC), image, tag, digest, f"{base}/{image}:{tag}"))
    cols = [column("created_on", "timestamp_ltz")] + [column(c) for c in ("image_name", "tags", "digest",
                                                                          "image_path")]
    return Result(cols, rows, statement_type_id=SHOW)


def list_images(ctx: Ctx, path: str) -> str:
    """SYSTEM$REGISTRY_LIST_IMAGES('/db/schema/repo') → '{"images":[...]}'."""
    parts = [p for p in str(path).strip().split("/") if p]
    if len(parts) != 3:
        raise errors.invalid_value(f"Invalid repository path '{path}'. Expected '/<db>/<schema>/<repository>'.")
    repo = readable(ctx, [normalize(p) for p in parts])
    return json.dumps({"images": ctx.core.registry.image_names(f"repo-{repo.id}")}, separators=(",", ":"))
