"""Stage commands: CREATE/ALTER/DROP/SHOW/DESCRIBE STAGE, PUT, GET, LIST, REMOVE, DIRECTORY().

Named stages are catalog objects; `@~` (the user's stage) and `@%table` (a table's stage) exist
implicitly. File bytes never pass through the SQL request: PUT and GET answer with presigned
URLs (the GCS form the connector accepts over plain http) that the client then calls.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from dataclasses import dataclass
from functools import partial
from typing import Any

import pyarrow as pa

from snowport import errors
from snowport.catalog.store import CatalogObject
from snowport.commands import lifecycle
from snowport.commands.columns import Col, Rows, columns, like_matcher, owner_role_type, schema_object
from snowport.commands.context import Ctx
from snowport.commands.kinds import STAGE, storage_key
from snowport.commands.lifecycle import Name
from snowport.data.files import read_sql
from snowport.names import display
from snowport.stages.locations import StageRef, TransferCommand
from snowport.stages.storage import StageFile
from snowport.stages.tokens import FileGrant

ENCRYPTION_TYPES = ("SNOWFLAKE_SSE", "SNOWFLAKE_FULL")
SOURCE_COMPRESSIONS = ("AUTO_DETECT", "GZIP", "BZ2", "BROTLI", "ZSTD", "DEFLATE", "RAW_DEFLATE", "NONE")


@dataclass
class ResolvedStage:
    """A stage the session may use: where its files live and how LIST names them."""

    key: str
    prefix: str  # how LIST shows paths: "specs/" for named stages, "" for @~ and @%t
    obj: CatalogObject | None
    display: str


# ======================================================================================
# Resolution and privileges
# ======================================================================================
def resolve(ctx: Ctx, ref: StageRef, need: str) -> ResolvedStage:
    """The stage `ref` names if the privilege-matrix row `need` (PUT, GET, LIST, ...) allows the session."""
    if ref.kind == "USER":
        digest = hashlib.sha256(ctx.session.user.encode()).hexdigest()[:16]
        return ResolvedStage(f"user-{digest}", "", None, "@~")
    if ref.kind == "TABLE":
        database, schema, name = ctx.object_in_schema(ref.parts, "LIST")
        table = ctx.catalog.get("TABLE", name, database, schema)
        shown = display(database, schema, name)
        if table is None or not ctx.auth.can_see(ctx.session, table):
            raise errors.object_does_not_exist(shown)
        if not ctx.auth.owns(ctx.session, table):
            raise errors.insufficient_privileges("table", shown)
        return ResolvedStage(storage_key(table), "", table, f"@%{name}")
    database, schema, name = ctx.object_in_schema(ref.parts, "STAGE")
    stage = ctx.catalog.get("STAGE", name, database, schema)
    shown = display(database, schema, name)
    db = ctx.catalog.get("DATABASE", database)
    sch = ctx.catalog.get("SCHEMA", schema, database)
    if (stage is None or db is None or sch is None or not ctx.auth.has(ctx.session, db, ("USAGE",))
            or not ctx.auth.has(ctx.session, sch, ("USAGE",)) or not ctx.auth.can_see(ctx.session, stage)):
        raise errors.does_not_exist("Stage", shown)
    ctx.require(need, stage, shown)
    return ResolvedStage(storage_key(stage), name.lower() + "/", stage, "@" + shown)


def _file_matcher(pattern: str | None, prefix: str):
    """PATTERN is a regex over the path as LIST shows it (or relative to the stage)."""
    if pattern is None:
        return lambda _rel: True
    try:
        regex = re.compile(pattern)
    except re.error:
        raise errors.invalid_value(f"invalid regular expression '{pattern}' for PATTERN") from None
    return lambda rel: bool(regex.fullmatch(prefix + rel) or regex.fullmatch(rel))


def matching_files(ctx: Ctx, stage: ResolvedStage, path: str, pattern: str | None,
                   with_md5: bool = True) -> list[StageFile]:
    match = _file_matcher(pattern, stage.prefix)
    return [f for f in ctx.core.stages.list(stage.key, path, with_md5=with_md5) if match(f.path)]


# ======================================================================================
# CREATE / ALTER / DROP / SHOW / DESCRIBE
# ======================================================================================
def _stage_props(props: dict[str, Any], base: dict[str, Any] | None = None) -> dict[str, Any]:
    out = dict(base or {"encryption": "SNOWFLAKE_FULL", "directory": False, "auto_refresh": False})
    for key, value in props.items():
        if key == "ENCRYPTION":
            kind = str((value or {}).get("TYPE", "")).upper() if isinstance(value, dict) else ""
            if kind not in ENCRYPTION_TYPES:
                raise errors.invalid_value(f"invalid value '{kind}' for property 'TYPE' of 'ENCRYPTION'")
            out["encryption"] = kind
        elif key == "DIRECTORY":
            if not isinstance(value, dict):
                raise errors.invalid_value("DIRECTORY must be a list of options: DIRECTORY = (ENABLE = TRUE)")
            if "ENABLE" in value:
                out["directory"] = bool(value["ENABLE"] is True or str(value["ENABLE"]).upper() == "TRUE")
            if "AUTO_REFRESH" in value:
                out["auto_refresh"] = bool(value["AUTO_REFRESH"] is True)
        elif key in ("COMMENT", "FILE_FORMAT", "COPY_OPTIONS"):
            out[key.lower()] = value
        else:
            raise errors.invalid_value(f"invalid property '{key}' for 'STAGE'")
    return out


def create_stage(ctx: Ctx, parts: list[str], props: dict[str, Any], or_replace: bool = False,
                 if_not_exists: bool = False, temporary: bool = False) -> str:
    target = lifecycle.resolve(ctx, STAGE, parts, "CREATE STAGE")

    def build() -> CatalogObject:
        settings = _stage_props(props)
        comment = settings.pop("comment", None)
        settings["temporary"] = temporary
        if temporary:
            settings["session_id"] = ctx.session.id  # dropped when that session ends
        return lifecycle.new_object(ctx, STAGE, target, comment, settings)

    return lifecycle.create(ctx, STAGE, target, build, or_replace=or_replace, if_not_exists=if_not_exists)[1]


def drop_stage(ctx: Ctx, parts: list[str], if_exists: bool = False) -> str:
    return lifecycle.drop(ctx, STAGE, lifecycle.resolve(ctx, STAGE, parts, "DROP STAGE"), if_exists)


def drop_session_stages(core: Any, session_id: int | None = None) -> None:
    """Temporary stages live as long as the session that created them: drop them and their files.
    With no session id, drop every session's (at start: no session survives a restart)."""
    with core.catalog.transaction() as tx:
        for stage in core.catalog.list("STAGE"):
            if stage.props.get("temporary") and session_id in (None, stage.props.get("session_id")):
                core.catalog.drop(stage)
                tx.after_commit(partial(core.stages.drop, storage_key(stage)))


def rename_stage(ctx: Ctx, parts: list[str], new_parts: list[str], if_exists: bool = False) -> str:
    target = lifecycle.resolve(ctx, STAGE, parts, "ALTER STAGE")
    new_name = lifecycle.resolve(ctx, STAGE, new_parts, "ALTER STAGE")
    if len(new_parts) == 1:
        new_name = Name(new_name.name, target.database, target.schema)
    return lifecycle.rename(ctx, STAGE, target, new_name, if_exists)


def set_stage_properties(ctx: Ctx, parts: list[str], props: dict[str, Any], if_exists: bool = False) -> str:
    target = lifecycle.resolve(ctx, STAGE, parts, "ALTER STAGE")

    def change(stage: CatalogObject) -> CatalogObject:
        settings = _stage_props(props, dict(stage.props))
        comment = settings.pop("comment", stage.comment)
        return stage.evolve(props=settings, comment=comment)

    lifecycle.alter(ctx, STAGE, target, "ALTER STAGE", change, if_exists)
    return lifecycle.SUCCESS


def unset_stage_properties(ctx: Ctx, parts: list[str], keys: list[str], if_exists: bool = False) -> str:
    target = lifecycle.resolve(ctx, STAGE, parts, "ALTER STAGE")
    for key in keys:
        if key not in ("COMMENT", "FILE_FORMAT", "COPY_OPTIONS"):
            raise errors.invalid_value(f"invalid property '{key}' for 'STAGE'")

    def change(stage: CatalogObject) -> CatalogObject:
        props = {k: v for k, v in stage.props.items() if k.upper() not in keys}
        return stage.evolve(props=props, comment=None if "COMMENT" in keys else stage.comment)

    lifecycle.alter(ctx, STAGE, target, "ALTER STAGE", change, if_exists)
    return lifecycle.SUCCESS


def refresh_stage(ctx: Ctx, parts: list[str], subpath: str, if_exists: bool = False) -> Rows | str:
    target = lifecycle.resolve(ctx, STAGE, parts, "ALTER STAGE")
    stage = lifecycle.find(ctx, STAGE, target)
    if stage is None:
        if if_exists:
            return lifecycle.SUCCESS
        raise errors.does_not_exist("Stage", target.shown)
    return refresh_directory(ctx, stage, subpath)


SHOW_COLUMNS = columns(
    *schema_object(),
    Col("url", value=lambda r: ""),
    Col("has_credentials", value=lambda r: "N"),
    Col("has_encryption_key", value=lambda r: "N"),
    Col("owner", value=lambda s: s.owner),
    Col("comment", value=lambda s: s.comment or ""),
    Col("region", value=lambda r: None),
    Col("type", value=lambda s: "INTERNAL TEMPORARY" if s.props.get("temporary") else "INTERNAL"),
    Col("cloud", value=lambda r: None),
    Col("notification_channel", value=lambda r: None),
    Col("storage_integration", value=lambda r: None),
    Col("endpoint", value=lambda r: None),
    Col("owner_role_type", value=owner_role_type),
    Col("directory_enabled", value=lambda s: "Y" if s.props.get("directory") else "N"),
)


def show_stages(ctx: Ctx, like: str | None, database: str | None, schema: str | None) -> Rows:
    match = like_matcher(like)
    items = [stage for stage in ctx.catalog.list("STAGE", database, schema)
             if match(stage.name) and ctx.auth.can_see(ctx.session, stage)]
    return Rows(SHOW_COLUMNS, items)


DESCRIBE_COLUMNS = columns(*(Col(n, value=lambda r, i=i: r[i]) for i, n in enumerate(
    ("parent_property", "property", "property_type", "property_value", "property_default"))))


def describe_stage(ctx: Ctx, parts: list[str]) -> Rows:
    target = lifecycle.resolve(ctx, STAGE, parts, "DESCRIBE STAGE")
    stage = lifecycle.existing(ctx, STAGE, target)
    ctx.require("DESCRIBE STAGE", stage, target.shown)
    p = stage.props
    rows = [
        ("STAGE_LOCATION", "URL", "String", "", ""),
        ("STAGE_LOCATION", "ENCRYPTION", "String", f"[{p.get('encryption')}]", "[SNOWFLAKE_FULL]"),
        ("DIRECTORY", "ENABLE", "Boolean", str(bool(p.get("directory"))).lower(), "false"),
        ("DIRECTORY", "AUTO_REFRESH", "Boolean", str(bool(p.get("auto_refresh"))).lower(), "false"),
        ("STAGE_FILE_FORMAT", "TYPE", "String", "CSV", "CSV"),
    ]
    return Rows(DESCRIBE_COLUMNS, rows, describe=True)


# ======================================================================================
# LIST / REMOVE
# ======================================================================================
LIST_COLUMNS = columns(Col("name", value=lambda r: r[0]), Col("size", "fixed", lambda r: r[1]),
                       Col("md5", value=lambda r: r[2]), Col("last_modified", value=lambda r: r[3]))
REMOVE_COLUMNS = columns(Col("name", value=lambda r: r[0]), Col("result", value=lambda r: r[1]))


def list_files(ctx: Ctx, ref: StageRef, pattern: str | None) -> Rows:
    stage = resolve(ctx, ref, "LIST")
    files = matching_files(ctx, stage, ref.path, pattern)
    return Rows(LIST_COLUMNS, [(stage.prefix + f.path, f.size, f.md5, f.last_modified_http) for f in files])


def remove_files(ctx: Ctx, ref: StageRef, pattern: str | None) -> Rows:
    stage = resolve(ctx, ref, "REMOVE")
    files = matching_files(ctx, stage, ref.path, pattern, with_md5=False)
    for f in files:
        ctx.core.stages.remove(stage.key, f.path)
    return Rows(REMOVE_COLUMNS, [(stage.prefix + f.path, "removed") for f in files])


# ======================================================================================
# PUT / GET
# ======================================================================================
def _bool_option(options: dict[str, Any], key: str, default: bool) -> bool:
    value = options.get(key, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.upper() in ("TRUE", "FALSE"):
        return value.upper() == "TRUE"
    raise errors.SnowflakeError(1481, "42601", f"Invalid value specified for property '{key}'")


def _stage_info(stage: ResolvedStage, directory: str, presigned_url: str | None) -> dict[str, Any]:
    return {
        "locationType": "GCS",
        "location": f"{stage.key}/{directory}",
        "path": directory,
        "region": "snowport",
        "endPoint": None,
        "storageAccount": None,
        "creds": {},
        "presignedUrl": presigned_url,
        "isClientSideEncrypted": False,
        "useS3RegionalUrl": False,
        "useVirtualUrl": False,
    }


def put(ctx: Ctx, command: TransferCommand) -> dict[str, Any]:
    """PUT: where the client uploads each file (a presigned URL), not the bytes themselves."""
    stage = resolve(ctx, command.stage, "PUT")
    options = command.options
    auto_compress = _bool_option(options, "AUTO_COMPRESS", True)
    overwrite = _bool_option(options, "OVERWRITE", False)
    source_compression = str(options.get("SOURCE_COMPRESSION", "AUTO_DETECT")).upper()
    if source_compression not in SOURCE_COMPRESSIONS:
        raise errors.SnowflakeError(1481, "42601", "Invalid value specified for property 'SOURCE_COMPRESSION'")
    parallel = int(options.get("PARALLEL", 4))
    if not 1 <= parallel <= 99:
        raise errors.SnowflakeError(1481, "42601", "Invalid value specified for property 'PARALLEL'")
    directory = _directory_of(command.stage.path)
    # The connector re-sends this PUT once per file with the file's final name (after compression)
    # and uploads to the presigned URL of that answer.
    target = directory + posixpath.basename(command.local.replace("\\", "/"))
    url = ctx.core.presigned_url(ctx.session, FileGrant("put", stage.key, target, overwrite))
    data = {
        "command": "UPLOAD",
        "src_locations": [command.local],
        "parallel": parallel,
        "threshold": 200 * 1024 * 1024,
        "autoCompress": auto_compress,
        "sourceCompression": source_compression.lower(),
        "overwrite": overwrite,
        # no encryptionMaterial: connector 5.x refuses a null there, and absent means "not encrypted"
        "stageInfo": _stage_info(stage, directory, url),
        "clientShowEncryptionParameter": False,
    }
    return data


def get(ctx: Ctx, command: TransferCommand) -> dict[str, Any]:
    """GET: presigned URLs of the matching files, for the client to download."""
    stage = resolve(ctx, command.stage, "GET")
    pattern = command.options.get("PATTERN")
    files = matching_files(ctx, stage, command.stage.path, pattern if isinstance(pattern, str) else None,
                           with_md5=False)
    if command.stage.path and not command.stage.path.endswith("/"):
        exact = [f for f in files if f.path == command.stage.path.lstrip("/")]
        files = exact or [f for f in files if f.path.startswith(command.stage.path.lstrip("/") + "/")]
    if not files:
        raise errors.SnowflakeError(
            253006, "02000", f"File '{stage.display}/{command.stage.path}' does not exist or not authorized."
        )
    parallel = int(command.options.get("PARALLEL", 10))
    urls = [ctx.core.presigned_url(ctx.session, FileGrant("get", stage.key, f.path)) for f in files]
    data = {
        "command": "DOWNLOAD",
        "src_locations": [f.path for f in files],
        "localLocation": command.local,
        "parallel": parallel,
        "presignedUrls": urls,
        "stageInfo": _stage_info(stage, "", None),
    }
    return data


def _directory_of(path: str) -> str:
    """PUT @s/a/b stores into a/b/ (the target is always a directory, as in Snowflake)."""
    from snowport.stages.storage import normalize_path

    clean = normalize_path(path)
    return clean + "/" if clean else ""


# ======================================================================================
# Directory tables
# ======================================================================================
DIRECTORY_SCHEMA = pa.schema([("RELATIVE_PATH", pa.string()), ("SIZE", pa.int64()),
                              ("LAST_MODIFIED", pa.timestamp("us", tz="UTC")), ("MD5", pa.string()),
                              ("ETAG", pa.string()), ("FILE_URL", pa.string())])


REFRESH_COLUMNS = columns(Col("file", value=lambda r: r[0]), Col("status", value=lambda r: r[1]),
                          Col("description", value=lambda r: r[2]))


def refresh_directory(ctx: Ctx, stage: CatalogObject, subpath: str, command: str = "ALTER STAGE REFRESH") -> Rows:
    """Register the stage's files in its directory table (ALTER STAGE ... REFRESH, or AUTO_REFRESH on read)."""
    if not stage.props.get("directory"):
        raise errors.SnowflakeError(
            2003, "02000", errors.compilation(f"Directory table not enabled for stage '{stage.name}'."))
    ctx.require(command, stage)
    files = ctx.core.stages.list(storage_key(stage), subpath)
    with ctx.catalog.transaction():
        current = ctx.catalog.by_id(stage.id) or stage
        before = {e[0] for e in current.props.get("directory_files", [])}
        entries = [[f.path, f.size, f.last_modified.timestamp(), f.md5] for f in files]
        ctx.catalog.update(current.with_props(directory_files=entries))
    now = {f.path for f in files}
    rows = [(p, "REGISTERED", "File registered successfully.") for p in sorted(now - before)]
    rows += [(p, "UNREGISTERED", "File unregistered successfully.") for p in sorted(before - now)]
    return Rows(REFRESH_COLUMNS, rows)


def directory_table(ctx: Ctx, ref: StageRef) -> pa.Table:
    """DIRECTORY(@stage): the registered files (refreshed first when AUTO_REFRESH is on)."""
    stage = resolve(ctx, ref, "SELECT FROM STAGE")
    obj = stage.obj
    if obj is None or obj.kind != "STAGE" or not obj.props.get("directory"):
        raise errors.SnowflakeError(
            2003, "02000", errors.compilation(f"Directory table not enabled for stage '{stage.display}'."))
    if obj.props.get("auto_refresh"):
        refresh_directory(ctx, obj, "", "SELECT FROM STAGE")
        obj = ctx.catalog.by_id(obj.id) or obj
    entries = obj.props.get("directory_files", [])
    from datetime import UTC, datetime

    base = ctx.session.base_url
    return pa.Table.from_pylist(
        [{"RELATIVE_PATH": p, "SIZE": size, "LAST_MODIFIED": datetime.fromtimestamp(mtime, UTC), "MD5": md5,
          "ETAG": md5, "FILE_URL": f"{base}/api/files/{obj.database}/{obj.schema}/{obj.name}/{p}"}
         for p, size, mtime, md5 in entries],
        schema=DIRECTORY_SCHEMA,
    )


# ======================================================================================
# Querying staged files: SELECT $1, $2 FROM @stage/path
# ======================================================================================
def staged_files_table(ctx: Ctx, ref: StageRef, pattern: str | None) -> pa.Table:
    """Rows of the staged files as columns C1..Cn (CSV; Parquet/JSON as one object in C1), plus
    METADATA$FILENAME and METADATA$FILE_ROW_NUMBER."""
    stage = resolve(ctx, ref, "SELECT FROM STAGE")
    files = matching_files(ctx, stage, ref.path, pattern, with_md5=False)
    if ref.path and not ref.path.endswith("/"):
        files = [f for f in files if f.path == ref.path.lstrip("/")] or files
    duck = ctx.session.engine.duckdb
    tables = []
    for f in files:
        path = ctx.core.stages.file_path(stage.key, f.path)
        kind = "PARQUET" if f.path.endswith(".parquet") else "JSON" if ".json" in f.path else "CSV"
        relation = duck.sql(f"SELECT * FROM {read_sql(path, {'TYPE': kind})}")
        if kind == "CSV":
            names = [f"C{i + 1}" for i in range(len(relation.columns))]
            select = ", ".join(f'"{c}" AS "{n}"' for c, n in zip(relation.columns, names, strict=True))
        else:
            fields = ", ".join(f'"{c}" := "{c}"' for c in relation.columns)
            select = f"to_json(struct_pack({fields}))::VARCHAR AS C1"
        table = duck.sql(f"SELECT {select}, '{stage.prefix + f.path}' AS \"METADATA$FILENAME\", "
                         f"row_number() OVER () AS \"METADATA$FILE_ROW_NUMBER\" FROM relation").arrow()
        tables.append(table.read_all() if hasattr(table, "read_all") else table)
    if not tables:
        return pa.table({"C1": pa.array([], pa.string()), "METADATA$FILENAME": pa.array([], pa.string()),
                         "METADATA$FILE_ROW_NUMBER": pa.array([], pa.int64())})
    return pa.concat_tables(tables, promote_options="default")
