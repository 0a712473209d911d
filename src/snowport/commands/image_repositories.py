"""IMAGE REPOSITORY objects: CREATE/DROP/SHOW, SHOW IMAGES and SYSTEM$REGISTRY_LIST_IMAGES."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from snowport import errors
from snowport.catalog.store import CatalogObject
from snowport.commands import lifecycle
from snowport.commands.columns import Col, Rows, columns, like_matcher, owner_role_type, schema_object
from snowport.commands.context import Ctx
from snowport.commands.kinds import IMAGE_REPOSITORY, storage_key
from snowport.names import display, normalize

KIND = "IMAGE REPOSITORY"
READ_PRIVILEGES = ("READ", "WRITE", "SERVICE READ", "SERVICE WRITE")


def repository_url(ctx: Ctx, repo: CatalogObject) -> str:
    """`<host>:<port>/<db>/<schema>/<repo>` in lower case: what `docker tag/push` use."""
    host = (ctx.session.base_url or f"http://{ctx.core.settings.host}:{ctx.core.settings.port}").split("://", 1)[-1]
    return f"{host}/{repo.database}/{repo.schema}/{repo.name}".lower()


def _encryption(props: dict[str, Any]) -> str:
    encryption = "SNOWFLAKE_FULL"
    for key, value in props.items():
        if key == "ENCRYPTION" and isinstance(value, dict):
            encryption = str(value.get("TYPE", encryption)).upper()
            if encryption not in ("SNOWFLAKE_FULL", "SNOWFLAKE_SSE"):
                raise errors.invalid_value(f"invalid value '{encryption}' for property 'TYPE' of 'ENCRYPTION'")
        elif key != "COMMENT":
            raise errors.invalid_value(f"invalid property '{key}' for 'IMAGE REPOSITORY'")
    return encryption


def create(ctx: Ctx, parts: list[str], props: dict[str, Any], or_replace: bool = False,
           if_not_exists: bool = False) -> str:
    target = lifecycle.resolve(ctx, IMAGE_REPOSITORY, parts, "CREATE IMAGE REPOSITORY")

    def build() -> CatalogObject:
        return lifecycle.new_object(ctx, IMAGE_REPOSITORY, target, props.get("COMMENT"),
                                    {"encryption": _encryption(props)})

    return lifecycle.create(ctx, IMAGE_REPOSITORY, target, build, or_replace=or_replace,
                            if_not_exists=if_not_exists)[1]


def drop(ctx: Ctx, parts: list[str], if_exists: bool = False) -> str:
    target = lifecycle.resolve(ctx, IMAGE_REPOSITORY, parts, "DROP IMAGE REPOSITORY")
    return lifecycle.drop(ctx, IMAGE_REPOSITORY, target, if_exists)


@dataclass(frozen=True)
class RepositoryRow:
    repo: CatalogObject
    url: str


SHOW_COLUMNS = columns(
    *schema_object(lambda r: r.repo),
    Col("repository_url", value=lambda r: r.url),
    Col("owner", value=lambda r: r.repo.owner),
    Col("owner_role_type", value=lambda r: owner_role_type(r.repo)),
    Col("comment", value=lambda r: r.repo.comment or ""),
    Col("encryption", value=lambda r: r.repo.props.get("encryption", "SNOWFLAKE_FULL")),
    Col("privatelink_repository_url", value=lambda r: None),
)


def show(ctx: Ctx, like: str | None, database: str | None, schema: str | None) -> Rows:
    match = like_matcher(like)
    items = [RepositoryRow(repo, repository_url(ctx, repo)) for repo in ctx.catalog.list(KIND, database, schema)
             if match(repo.name) and ctx.auth.allows(ctx.session, "SHOW IMAGE REPOSITORIES", repo)]
    return Rows(SHOW_COLUMNS, items)


def readable(ctx: Ctx, parts: list[str], command: str = "SHOW IMAGES") -> CatalogObject:
    target = lifecycle.resolve(ctx, IMAGE_REPOSITORY, parts, command)
    repo = lifecycle.existing(ctx, IMAGE_REPOSITORY, target)
    ctx.require(command, repo, display(target.database, target.schema, target.name))
    return repo


IMAGE_COLUMNS = columns(
    Col("created_on", "timestamp_ltz", lambda r: r[0]), Col("image_name", value=lambda r: r[1]),
    Col("tags", value=lambda r: r[2]), Col("digest", value=lambda r: r[3]), Col("image_path", value=lambda r: r[4]),
)


def show_images(ctx: Ctx, like: str | None, parts: list[str]) -> Rows:
    repo = readable(ctx, parts)
    match = like_matcher(like)
    base = f"{repo.database}/{repo.schema}/{repo.name}".lower()
    rows = []
    for image, tag, digest, updated in ctx.core.registry.images(storage_key(repo)):
        if match(image):
            rows.append((datetime.fromtimestamp(updated, UTC), image, tag, digest, f"{base}/{image}:{tag}"))
    return Rows(IMAGE_COLUMNS, rows)


def list_images(ctx: Ctx, path: str) -> str:
    """SYSTEM$REGISTRY_LIST_IMAGES('/db/schema/repo') → '{"images":[...]}'."""
    parts = [p for p in str(path).strip().split("/") if p]
    if len(parts) != 3:
        raise errors.invalid_value(f"Invalid repository path '{path}'. Expected '/<db>/<schema>/<repository>'.")
    repo = readable(ctx, [normalize(p) for p in parts], "SYSTEM$REGISTRY_LIST_IMAGES")
    return json.dumps({"images": ctx.core.registry.image_names(storage_key(repo))}, separators=(",", ":"))
