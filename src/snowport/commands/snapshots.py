"""Snapshots of block volumes: CREATE / ALTER / DROP / SHOW / DESCRIBE SNAPSHOT (spcs-reference 8.5).

A snapshot is a catalog object in a schema naming the service, volume and instance it was taken from;
its bytes are a crash-consistent copy of that instance's volume kept by the runtime under the object's
storage key (`snap-<id>`), taken synchronously inside the CREATE statement (so a snapshot is CREATED
as soon as the statement returns, or the statement fails and nothing exists). Services use snapshots
through `blockConfig.initialContents.fromSnapshot` and `ALTER SERVICE ... RESTORE VOLUME`, both needing
USAGE on the snapshot (`usable`). DROP SERVICE ... FORCE takes `SYS_BACKUP_ON_DELETE...` snapshots
first (`backup_on_delete`), dropped again after `snapshotDeleteAfter` (`expired`).
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from functools import partial
from typing import Any

from snowport import errors
from snowport.catalog.store import CatalogObject, Transaction
from snowport.commands import block_volumes, lifecycle, properties
from snowport.commands.columns import Col, Rows, columns, owner_role_type, ts
from snowport.commands.context import Ctx, Server
from snowport.commands.kinds import SERVICE, SNAPSHOT, storage_key
from snowport.names import display, normalize
from snowport.spec import parse_stored_spec

CREATED = "CREATED"
INITIALIZED = "INITIALIZED"
ERROR = "ERROR"
GiB = 1024 ** 3


def _volume(ctx: Ctx, service: CatalogObject, volume: str) -> Any:
    spec = parse_stored_spec(service.props["spec_text"], service.props.get("using"))
    found = next((v for v in spec.spec.volumes if v.name == volume), None)
    if found is None:
        raise errors.invalid_value(f"Volume '{volume}' does not exist in service {service.name}.")
    if found.kind != "block":
        raise errors.invalid_value(f"Volume '{volume}' of service {service.name} is a {found.kind} volume; only "
                                   "block volumes can be snapshotted.")
    return found


def check_instance(service: CatalogObject, instance: int) -> None:
    """spcs-reference 8.5: the instance id is within [0, MAX_INSTANCES - 1]."""
    high = int(service.props.get("max_instances", 1)) - 1
    if not 0 <= instance <= high:
        raise errors.invalid_value(f"Invalid instance id {instance} for service {service.name}: expected a value "
                                   f"between 0 and {high}.")


def _take(core: Server, tx: Transaction, snapshot: CatalogObject, service: CatalogObject,
          volume: Any, instance: int) -> None:
    """Copy the instance's volume as the snapshot's bytes (made first if the instance never ran: an empty
    volume, or its initial contents); undone if the statement fails."""
    wanted = block_volumes.claim(service, volume, instance)
    runtime = core.runtime  # type: ignore[attr-defined]
    key = storage_key(snapshot)
    tx.on_rollback(lambda: runtime.delete_block_snapshot(key))
    try:
        runtime.ensure_block_volume(wanted.name, wanted.size_bytes, wanted.labels, wanted.from_snapshot)
        runtime.snapshot_block_volume(wanted.name, key)
    except Exception as exc:  # noqa: BLE001 - the engine's reason, in Snowflake's form
        raise errors.SnowflakeError(
            2025, "22023", f"Cannot snapshot volume '{volume.name}' of instance {instance} of service "
            f"{service.name}: {exc}") from exc


def create(ctx: Ctx, parts: list[str], service_parts: list[str], volume: str, instance: int,
           comment: str | None = None, or_replace: bool = False, if_not_exists: bool = False) -> str:
    target = lifecycle.resolve(ctx, SNAPSHOT, parts, "CREATE SNAPSHOT")
    holder: dict[str, Any] = {}

    def build() -> CatalogObject:
        service_name = lifecycle.resolve(ctx, SERVICE, service_parts, "CREATE SNAPSHOT")
        service = lifecycle.existing(ctx, SERVICE, service_name)
        if not ctx.auth.has(ctx.session, service, ("OPERATE",)):
            raise errors.insufficient_privileges("service", service_name.shown)
        found = _volume(ctx, service, volume)
        check_instance(service, instance)
        holder.update(service=service, volume=found)
        return lifecycle.new_object(ctx, SNAPSHOT, target, comment=comment, props=_props(service, found, instance))

    def take(tx: Transaction, snapshot: CatalogObject) -> None:
        _take(ctx.core, tx, snapshot, holder["service"], holder["volume"], instance)

    return lifecycle.create(ctx, SNAPSHOT, target, build, or_replace=or_replace, if_not_exists=if_not_exists,
                            after=take)[1]


def _props(service: CatalogObject, volume: Any, instance: int) -> dict[str, Any]:
    return {"state": CREATED, "service": display(service.database, service.schema, service.name),
            "service_id": service.id, "volume": volume.name, "instance": instance,
            "size_bytes": block_volumes.claim(service, volume, instance).size_bytes,
            "encryption": encryption(volume), "updated_on": time.time()}


def backup_on_delete(ctx: Ctx, tx: Transaction, service: CatalogObject) -> list[str]:
    """DROP SERVICE ... FORCE: a `SYS_BACKUP_ON_DELETE_<id>_<timestamp>` snapshot of every instance volume
    whose `snapshotOnDelete` is on (the default), owned by the service's owner and dropped after
    `snapshotDeleteAfter`. Inside the DROP's transaction: if one cannot be taken, nothing is dropped."""
    spec = parse_stored_spec(service.props["spec_text"], service.props.get("using"))
    kept = [v for v in block_volumes.block_volumes(spec) if block_volumes.snapshot_on_delete(v)]
    if not kept:
        return []
    existing = ctx.core.runtime.list_block_volumes({block_volumes.SERVICE_LABEL: str(service.id)})
    made = []
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    for volume in kept:
        for instance in range(int(service.props.get("max_instances", 1))):
            if block_volumes.claim(service, volume, instance).name not in existing:
                continue  # the instance never ran: nothing to keep
            name = f"SYS_BACKUP_ON_DELETE_{uuid.uuid4().hex[:12].upper()}_{stamp}"
            props = {**_props(service, volume, instance),
                     "delete_after": time.time() + block_volumes.delete_after_seconds(volume)}
            snapshot = ctx.catalog.create(CatalogObject(kind=SNAPSHOT.name, name=name, database=service.database,
                                                        schema=service.schema, owner=service.owner, props=props))
            _take(ctx.core, tx, snapshot, service, volume, instance)
            made.append(name)
    return made


def _target(ctx: Ctx, parts: list[str], command: str) -> lifecycle.Name:
    return lifecycle.resolve(ctx, SNAPSHOT, parts, command)


def drop(ctx: Ctx, parts: list[str], if_exists: bool = False) -> str:
    return lifecycle.drop(ctx, SNAPSHOT, _target(ctx, parts, "DROP SNAPSHOT"), if_exists)


def set_properties(ctx: Ctx, parts: list[str], values: dict[str, Any], if_exists: bool = False) -> str:
    lifecycle.alter(ctx, SNAPSHOT, _target(ctx, parts, "ALTER SNAPSHOT"), "ALTER SNAPSHOT",
                    lambda s: properties.apply(s, values, "SNAPSHOT", ("COMMENT",)).with_props(
                        updated_on=time.time()), if_exists)
    return lifecycle.SUCCESS


def unset_properties(ctx: Ctx, parts: list[str], keys: list[str], if_exists: bool = False) -> str:
    lifecycle.alter(ctx, SNAPSHOT, _target(ctx, parts, "ALTER SNAPSHOT"), "ALTER SNAPSHOT",
                    lambda s: properties.unset(s, keys, "SNAPSHOT", ("COMMENT",)).with_props(updated_on=time.time()),
                    if_exists)
    return lifecycle.SUCCESS


def usable(ctx: Ctx, name: str, database: str, schema: str) -> CatalogObject:
    """The snapshot a spec's `fromSnapshot` or RESTORE VOLUME names (`s`, `sch.s`, `db.sch.s`, relative to the
    service's database and schema): USAGE on it, and CREATED."""
    parts = [normalize(p) for p in name.split(".") if p]
    if not parts or len(parts) > 3:
        raise errors.invalid_value(f"Invalid snapshot name '{name}'.")
    full = [database, schema][:3 - len(parts)] + parts
    target = lifecycle.Name(full[2], full[0], full[1])
    snapshot = lifecycle.existing(ctx, SNAPSHOT, target)
    if not ctx.auth.has(ctx.session, snapshot, ("USAGE",)):
        raise errors.insufficient_privileges("snapshot", target.shown)
    if snapshot.props.get("state") != CREATED:
        raise errors.invalid_value(f"Snapshot {target.shown} is in state {snapshot.props.get('state')}; only a "
                                   "CREATED snapshot can be used.")
    return snapshot


def encryption(volume: Any) -> str:
    config = volume.block_config
    return (config.encryption if config else None) or "SNOWFLAKE_SSE"


def check_encryption(snapshot: CatalogObject, volume: Any) -> None:
    """RESTORE VOLUME: the snapshot's encryption matches the volume's (spcs-reference 3.3)."""
    if snapshot.props.get("encryption", "SNOWFLAKE_SSE") != encryption(volume):
        raise errors.invalid_value(f"Snapshot {snapshot.name} is encrypted with {snapshot.props.get('encryption')}; "
                                   f"block volume '{volume.name}' uses {encryption(volume)}.")


def check_fits(snapshot: CatalogObject, size_bytes: int, volume: str) -> None:
    if int(snapshot.props.get("size_bytes", 0)) > size_bytes:
        raise errors.invalid_value(f"Snapshot {snapshot.name} ({int(snapshot.props['size_bytes']) // GiB}Gi) is "
                                   f"larger than block volume '{volume}' ({size_bytes // GiB}Gi).")


def drop_expired(core: Server, now: float) -> list[str]:
    """Drop the SYS_BACKUP_ON_DELETE snapshots past their `snapshotDeleteAfter`; returns their names."""
    dropped = []
    with core.catalog.transaction() as tx:
        for snapshot in core.catalog.list(SNAPSHOT.name):
            if snapshot.props.get("delete_after") is None or float(snapshot.props["delete_after"]) > now:
                continue
            core.catalog.drop(snapshot)
            tx.after_commit(partial(_release, core, snapshot))
            dropped.append(snapshot.name)
    return dropped


def _release(core: Server, snapshot: CatalogObject) -> None:
    if SNAPSHOT.release is not None:
        SNAPSHOT.release(core, snapshot)
    core.observed.forget(snapshot.id)


SHOW_COLUMNS = columns(
    Col("name", value=lambda s: s.name),
    Col("state", value=lambda s: s.props.get("state")),
    Col("database_name", value=lambda s: s.database),
    Col("schema_name", value=lambda s: s.schema),
    Col("service_name", value=lambda s: s.props.get("service")),
    Col("volume_name", value=lambda s: s.props.get("volume")),
    Col("instance", "fixed", lambda s: s.props.get("instance")),
    Col("size", "fixed", lambda s: int(s.props.get("size_bytes", 0)) // GiB),
    Col("comment", value=lambda s: s.comment),
    Col("owner", value=lambda s: s.owner),
    Col("owner_role_type", value=owner_role_type),
    Col("created_on", "timestamp_ltz", lambda s: s.created_dt),
    Col("updated_on", "timestamp_ltz", lambda s: ts(s.props.get("updated_on"))),
    Col("encryption", value=lambda s: s.props.get("encryption")),
)


def show(ctx: Ctx, like: str | None, database: str | None, schema: str | None) -> Rows:
    return lifecycle.show_in_scope(ctx, SNAPSHOT, SHOW_COLUMNS, like, database, schema, visible="SHOW SNAPSHOTS")


def describe(ctx: Ctx, parts: list[str]) -> Rows:
    return lifecycle.describe_one(ctx, SNAPSHOT, parts, SHOW_COLUMNS)
