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
from typing import Any

import pyarrow as pa

from snowport import errors
from snowport.catalog.store import CatalogObject
from snowport.names import display
from snowport.sql import schema_objects
from snowport.sql.context import Ctx
from snowport.sql.result import DESCRIBE, SHOW, Result, column, status, success
from snowport.sql.showing import like_matcher, owner_role_type
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
    """The stage `ref` names if the session holds `need` (READ or WRITE) on it."""
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
        return ResolvedStage(f"table-{table.id}", "", table, f"@%{name}")
    database, schema, name = ctx.object_in_schema(ref.parts, "STAGE")
    stage = ctx.catalog.get("STAGE", name, database, schema)
    shown = display(database, schema, name)
    db = ctx.catalog.get("DATABASE", database)
    sch = ctx.catalog.get("SCHEMA", schema, database)
    if (stage is None or db is None or sch is None or not ctx.auth.has(ctx.session, db, ("USAGE",))
            or not ctx.auth.has(ctx.session, sch, ("USAGE",)) or not ctx.auth.can_see(ctx.session, stage)):
        raise errors.does_not_exist("Stage", shown)
    wanted = ("WRITE",) if need == "WRITE" else ("READ", "WRITE")
    if not ctx.auth.has(ctx.session, stage, wanted):
        raise errors.insufficient_privileges("stage", shown)
    return ResolvedStage(f"stage-{stage.id}", name.lower() + "/", stage, "@" + shown)


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


def create_stage(ctx: Ctx, parts: list[str], props: dict[str, Any], or_replace: bool, if_not_exists: bool,
                 temporary: bool = False) -> Result:
    database, schema, name = ctx.object_in_schema(parts, "CREATE STAGE")
    sch = ctx.usable_schema(database, schema)
    if not ctx.auth.has(ctx.session, sch, ("CREATE STAGE",)):
        raise errors.insufficient_privileges("schema", display(database, schema))
    settings = _stage_props(props)
    with ctx.catalog.lock:
        existing = ctx.catalog.get("STAGE", name, database, schema)
        if existing is not None:
            if if_not_exists:
                return status(f"{name} already exists, statement succeeded.")
            if not or_replace:
                raise errors.already_exists("STAGE", name)
            if not ctx.auth.owns(ctx.session, existing):
                raise errors.insufficient_privileges("stage", display(database, schema, name))
            ctx.catalog.drop(existing)
            ctx.core.stages.drop(f"stage-{existing.id}")
        comment = settings.pop("comment", None)
        settings["temporary"] = temporary
        if temporary:
            settings["session_id"] = ctx.session.id  # dropped when that session ends
        ctx.catalog.create(CatalogObject(kind="STAGE", name=name, database=database, schema=schema, owner=ctx.role,
                                         comment=comment, props=settings))
    return status(f"Stage area {name} successfully created.")


def drop_stage(ctx: Ctx, parts: list[str], if_exists: bool) -> Result:
    return schema_objects.drop(ctx, "STAGE", parts, if_exists, lambda stage: ctx.core.stages.drop(f"stage-{stage.id}"))


def alter_stage(ctx: Ctx, parts: list[str], action: str, props: dict[str, Any], if_exists: bool) -> Result:
    database, schema, name = ctx.object_in_schema(parts, "ALTER STAGE")
    stage = ctx.catalog.get("STAGE", name, database, schema)
    if stage is None or not ctx.auth.can_see(ctx.session, stage):
        if if_exists:
            return success()
        raise errors.does_not_exist("Stage", display(database, schema, name))
    if action == "REFRESH":
        return refresh_directory(ctx, stage, str(props.get("SUBPATH") or ""))
    if not ctx.auth.owns(ctx.session, stage):
        raise errors.insufficient_privileges("stage", display(database, schema, name))
    if action == "RENAME":
        new = props["NAME"]
        if ctx.catalog.get("STAGE", new, database, schema) is not None:
            raise errors.already_exists("STAGE", new)
        old_key = stage.key
        stage.name = new
        ctx.catalog.save(stage, rename_from=old_key)
    elif action == "SET":
        settings = _stage_props(props, stage.props)
        if "comment" in settings:
            stage.comment = settings.pop("comment")
        stage.props = settings
        ctx.catalog.save(stage)
    elif action == "UNSET":
        for key in props:
            if key == "COMMENT":
                stage.comment = None
        ctx.catalog.save(stage)
    return success()


STAGE_COLUMNS = ("created_on name database_name schema_name url has_credentials has_encryption_key owner comment "
                 "region type cloud notification_channel storage_integration endpoint owner_role_type "
                 "directory_enabled").split()


def show_stages(ctx: Ctx, like: str | None, database: str | None, schema: str | None) -> Result:
    match = like_matcher(like)
    rows = []
    for stage in ctx.catalog.list("STAGE", database, schema):
        if not match(stage.name) or not ctx.auth.can_see(ctx.session, stage):
            continue
        temporary = stage.props.get("temporary")
        rows.append((stage.created_dt, stage.name, stage.database, stage.schema, "", "N", "N", stage.owner,
                     stage.comment or "", None, "INTERNAL TEMPORARY" if temporary else "INTERNAL", None, None, None,
                     None, owner_role_type(stage), "Y" if stage.props.get("directory") else "N"))
    cols = [column(n, "timestamp_ltz" if n == "created_on" else "text") for n in STAGE_COLUMNS]
    return Result(cols, rows, statement_type_id=SHOW)


def describe_stage(ctx: Ctx, parts: list[str]) -> Result:
    database, schema, name = ctx.object_in_schema(parts, "DESCRIBE STAGE")
    stage = ctx.catalog.get("STAGE", name, database, schema)
    if stage is None or not ctx.auth.can_see(ctx.session, stage):
        raise errors.does_not_exist("Stage", display(database, schema, name))
    p = stage.props
    rows = [
        ("STAGE_LOCATION", "URL", "String", "", ""),
        ("STAGE_LOCATION", "ENCRYPTION", "String", f"[{p.get('encryption')}]", "[SNOWFLAKE_FULL]"),
        ("DIRECTORY", "ENABLE", "Boolean", str(bool(p.get("directory"))).lower(), "false"),
        ("DIRECTORY", "AUTO_REFRESH", "Boolean", str(bool(p.get("auto_refresh"))).lower(), "false"),
        ("STAGE_FILE_FORMAT", "TYPE", "String", "CSV", "CSV"),
    ]
    cols = [column(n) for n in ("parent_property", "property", "property_type", "property_value", "property_default")]
    return Result(cols, rows, statement_type_id=DESCRIBE)


# ======================================================================================
# LIST / REMOVE
# ======================================================================================
def list_files(ctx: Ctx, ref: StageRef, pattern: str | None) -> Result:
    stage = resolve(ctx, ref, "READ")
    files = matching_files(ctx, stage, ref.path, pattern)
    rows = [(stage.prefix + f.path, f.size, f.md5, f.last_modified_http) for f in files]
    cols = [column("name"), column("size", "fixed"), column("md5"), column("last_modified")]
    return Result(cols, rows, statement_type_id=SHOW)


def remove_files(ctx: Ctx, ref: StageRef, pattern: str | None) -> Result:
    stage = resolve(ctx, ref, "WRITE")
    files = matching_files(ctx, stage, ref.path, pattern, with_md5=False)
    for f in files:
        ctx.core.stages.remove(stage.key, f.path)
    return Result([column("name"), column("result")], [(stage.prefix + f.path, "removed") for f in files],
                  statement_type_id=SHOW)


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


def put(ctx: Ctx, command: TransferCommand) -> Result:
    stage = resolve(ctx, command.stage, "WRITE")
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
    return Result([], [], transfer=data)


def get(ctx: Ctx, command: TransferCommand) -> Result:
    stage = resolve(ctx, command.stage, "READ")
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
    return Result([], [], transfer=data)


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


def refresh_directory(ctx: Ctx, stage: CatalogObject, subpath: str) -> Result:
    if not stage.props.get("directory"):
        raise errors.SnowflakeError(
            2003, "02000", errors.compilation(f"Directory table not enabled for stage '{stage.name}'."))
    if not (ctx.auth.owns(ctx.session, stage) or ctx.auth.has(ctx.session, stage, ("WRITE",))):
        raise errors.insufficient_privileges("stage", stage.name)
    before = {e[0] for e in stage.props.get("directory_files", [])}
    files = ctx.core.stages.list(f"stage-{stage.id}", subpath)
    stage.props["directory_files"] = [[f.path, f.size, f.last_modified.timestamp(), f.md5] for f in files]
    ctx.catalog.save(stage)
    now = {f.path for f in files}
    rows = [(p, "REGISTERED", "File registered successfully.") for p in sorted(now - before)]
    rows += [(p, "UNREGISTERED", "File unregistered successfully.") for p in sorted(before - now)]
    return Result([column("file"), column("status"), column("description")], rows)


def directory_table(ctx: Ctx, ref: StageRef) -> pa.Table:
    """DIRECTORY(@stage): the registered files (refreshed first when AUTO_REFRESH is on)."""
    stage = resolve(ctx, ref, "READ")
    obj = stage.obj
    if obj is None or obj.kind != "STAGE" or not obj.props.get("directory"):
        raise errors.SnowflakeError(
            2003, "02000", errors.compilation(f"Directory table not enabled for stage '{stage.display}'."))
    if obj.props.get("auto_refresh"):
        refresh_directory(ctx, obj, "")
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
    from snowport.sql.copy import _read_sql

    stage = resolve(ctx, ref, "READ")
    files = matching_files(ctx, stage, ref.path, pattern, with_md5=False)
    if ref.path and not ref.path.endswith("/"):
        files = [f for f in files if f.path == ref.path.lstrip("/")] or files
    duck = ctx.session.engine.conn._duck_conn
    tables = []
    for f in files:
        path = ctx.core.stages.file_path(stage.key, f.path)
        kind = "PARQUET" if f.path.endswith(".parquet") else "JSON" if ".json" in f.path else "CSV"
        relation = duck.sql(f"SELECT * FROM {_read_sql(path, {'TYPE': kind})}")
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
