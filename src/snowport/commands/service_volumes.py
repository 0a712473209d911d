"""The volumes of a service spec, checked at CREATE SERVICE and at an upgrade (spcs-reference 8).

local and memory volumes need nothing from the catalog. A stage volume (`source: "@stage/path"` or
`source: stage` with `stageConfig.name`) names an internal stage, resolved against the service's database
and schema: the creating role needs READ on it, and without WRITE the mount is read-only (8.3). What is
decided here (which stage, which path, read-only or not) is kept with the service, so the controller
builds the same mount on every restart and after a server restart, without a session to check privileges
against.
"""

from __future__ import annotations

from typing import Any

from snowport import errors
from snowport.commands import stages as stage_commands
from snowport.commands.context import Ctx
from snowport.commands.lifecycle import Name
from snowport.spec.models import ServiceSpec
from snowport.stages.locations import StageRef, parse_stage_ref
from snowport.stages.storage import normalize_path


def _invalid(index: int, volume: Any, message: str) -> errors.SnowflakeError:
    return errors.SnowflakeError(2025, "22023", f"Invalid spec: spec.volumes[{index}] ({volume.name}): {message}")


def check(ctx: Ctx, spec: ServiceSpec, target: Name) -> dict[str, Any]:
    """Resolve the stage volumes (the parser has already refused mounts of undeclared volumes; block
    volumes are checked by commands/block_volumes.py).

    Returns what the service keeps as `stage_volumes`: {volume name: {key, path, read_only, stage}}."""
    stage_volumes: dict[str, Any] = {}
    for index, volume in enumerate(spec.spec.volumes):
        if volume.kind == "stage":
            stage_volumes[volume.name] = _stage_volume(ctx, index, volume, target)
    return stage_volumes


def _stage_volume(ctx: Ctx, index: int, volume: Any, target: Name) -> dict[str, Any]:
    location = volume.stage_location or ""
    try:
        ref = parse_stage_ref(location)
    except errors.SnowflakeError:
        raise _invalid(index, volume, f"invalid stage location '{location}'.") from None
    if ref.kind != "NAMED":
        raise _invalid(index, volume, f"'{location}': only named internal stages can be mounted.")
    parts = ref.parts
    qualified = [target.database, target.schema][: 3 - len(parts)] + parts
    stage = stage_commands.resolve(ctx, StageRef("NAMED", qualified, ref.path, ref.text), "GET")  # READ
    path = normalize_path(ref.path)
    local = ctx.core.stages.stage_dir(stage.key) / path if path else None
    if local is not None and local.is_file():
        raise _invalid(index, volume, f"'{location}' is a file; a stage volume mounts a directory.")
    writable = ctx.auth.allows(ctx.session, "PUT", stage.obj)  # WRITE on the stage
    return {"key": stage.key, "path": path, "read_only": not writable, "stage": stage.display}
