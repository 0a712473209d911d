"""Compute pools: CREATE / ALTER / DROP / SHOW / DESCRIBE COMPUTE POOL, SHOW NODES IN COMPUTE POOL,
SHOW COMPUTE POOL INSTANCE FAMILIES.

What a user asks for (MIN_NODES, MAX_NODES, INSTANCE_FAMILY, AUTO_RESUME, AUTO_SUSPEND_SECS, and
whether the pool should be suspended) is desired state in the catalog. The pool's state (STARTING,
IDLE, ACTIVE, STOPPING, SUSPENDED, ...), its nodes and its errors are observed state, written by
the compute-pool controller (compute/pools.py), which the commands here only notify.

A node is a slice of the Docker host with its instance family's vCPU and memory: service instances
are placed on nodes by their resource requests. Nodes are logical; the host's own size is not
checked against them (a developer's machine would hold no CPU_X64_M node), but a GPU family needs
GPUs on the host, or the pool reports Snowflake's capacity error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from snowport import errors
from snowport.catalog.job_history import ended_job
from snowport.catalog.store import CatalogObject, Transaction
from snowport.commands import lifecycle, properties, snapshots
from snowport.commands.columns import Col, Rows, columns, created_on, like_matcher, tf, ts
from snowport.commands.context import Ctx
from snowport.commands.kinds import COMPUTE_POOL
from snowport.commands.lifecycle import Name
from snowport.spec import ResourceTotals

# Controller's name in the runner (compute/pools.py) and the observed states (spcs-reference 2.9).
RECONCILER = "compute-pools"
STARTING, RESIZING, IDLE, ACTIVE, STOPPING, SUSPENDED = "STARTING", "RESIZING", "IDLE", "ACTIVE", "STOPPING", \
    "SUSPENDED"


@dataclass(frozen=True)
class InstanceFamily:
    name: str
    vcpu: float
    memory_gib: float
    storage_gib: float
    gpu: str = ""
    gpu_count: int = 0
    gpu_memory_gib: float = 0

    @property
    def capacity(self) -> ResourceTotals:
        """What one node holds: the sum of the resource requests of the instances placed on it."""
        return ResourceTotals(cpu_millis=int(self.vcpu * 1000), memory_bytes=int(self.memory_gib * 1024 ** 3),
                              gpus=self.gpu_count)

    @property
    def description(self) -> str:
        gpu = f", {self.gpu_count} x {self.gpu}" if self.gpu_count else ""
        return f"{self.vcpu:g} vCPU, {self.memory_gib:g} GiB memory{gpu}"


def _families(*rows: tuple) -> dict[str, InstanceFamily]:
    return {row[0]: InstanceFamily(*row) for row in rows}


# spcs-reference 2.2: what containers may use on one node of each family.
FAMILIES = _families(
    ("CPU_X64_XS", 1, 6, 100), ("CPU_X64_S", 3, 13, 100), ("CPU_X64_M", 6, 28, 100),
    ("CPU_X64_SL", 14, 58, 100), ("CPU_X64_L", 28, 116, 100),
    ("HIGHMEM_X64_S", 6, 58, 100), ("HIGHMEM_X64_M", 28, 240, 100), ("HIGHMEM_X64_SL", 92, 654, 100),
    ("HIGHMEM_X64_L", 124, 984, 100),
    ("GPU_NV_XS", 3, 26, 100, "T4", 1, 16), ("GPU_NV_S", 6, 27, 300, "A10G", 1, 24),
    ("GPU_NV_SM", 32, 424, 100, "A10", 1, 24), ("GPU_NV_M", 44, 178, 3400, "A10G", 4, 96),
    ("GPU_NV_2M", 68, 858, 100, "A10", 2, 48), ("GPU_NV_3M", 44, 424, 100, "A100", 2, 160),
    ("GPU_NV_SL", 92, 858, 100, "A100", 4, 320), ("GPU_NV_L", 92, 1112, 6800, "A100", 8, 320),
    ("GPU_GCP_NV_L4_1_24G", 6, 28, 100, "L4", 1, 24), ("GPU_GCP_NV_L4_4_24G", 44, 178, 100, "L4", 4, 96),
    ("GPU_GCP_NV_A100_8_40G", 92, 654, 100, "A100", 8, 320),
    ("GEN_X64_G2_2", 1, 6, 100), ("GEN_X64_G2_4", 3, 13, 100), ("GEN_X64_G2_8", 6, 28, 100),
    ("GEN_X64_G2_16", 14, 58, 100), ("GEN_X64_G2_32", 28, 116, 100),
    ("MEM_X64_G2_8", 6, 58, 100), ("MEM_X64_G2_32", 28, 240, 100), ("MEM_X64_G2_64", 60, 492, 100),
)
# The preview-era names the seed tutorials still use; Snowflake itself now refuses them.
LEGACY_FAMILIES = {"STANDARD_1": "CPU_X64_S", "STANDARD_2": "CPU_X64_M"}

PROPERTIES = ("MIN_NODES", "MAX_NODES", "INSTANCE_FAMILY", "AUTO_RESUME", "INITIALLY_SUSPENDED", "AUTO_SUSPEND_SECS",
              "COMMENT", "PLACEMENT_GROUP", "BACKUP_INSTANCE_FAMILIES", "FOR_APPLICATION")
ALTERABLE = ("MIN_NODES", "MAX_NODES", "INSTANCE_FAMILY", "AUTO_RESUME", "AUTO_SUSPEND_SECS", "COMMENT",
             "PLACEMENT_GROUP", "BACKUP_INSTANCE_FAMILIES")
UNSETTABLE = ("AUTO_SUSPEND_SECS", "AUTO_RESUME", "PLACEMENT_GROUP", "BACKUP_INSTANCE_FAMILIES", "COMMENT")
DEFAULTS = {"auto_resume": True, "auto_suspend_secs": 3600}


def family(name: Any) -> InstanceFamily:
    """The instance family a statement names (case-insensitive; legacy names as aliases)."""
    key = str(name).upper()
    key = LEGACY_FAMILIES.get(key, key)
    if key not in FAMILIES:
        raise errors.SnowflakeError(
            2025, "22023", f"Invalid instance family {str(name).upper()}. Please refer to Snowflake documentation "
            "for supported instance families.")
    return FAMILIES[key]



def _family_name(value: Any) -> tuple[str, str]:
    return "instance_family", family(value).name


def _backups(value: Any) -> tuple[str, list[str]]:
    names = [family(v).name for v in (value if isinstance(value, list) else [value])]
    if not names or len(set(names)) != len(names):
        raise errors.invalid_value("BACKUP_INSTANCE_FAMILIES must be a non-empty list without duplicates")
    return "backup_instance_families", names


CONVERT = {
    **{key: properties.count(key) for key in ("MIN_NODES", "MAX_NODES", "AUTO_SUSPEND_SECS")},
    "INSTANCE_FAMILY": _family_name, "BACKUP_INSTANCE_FAMILIES": _backups,
    "AUTO_RESUME": lambda v: ("auto_resume", properties.boolean(v, "AUTO_RESUME")),
    "INITIALLY_SUSPENDED": lambda v: ("suspended", properties.boolean(v, "INITIALLY_SUSPENDED")),
}


def _checked(pool: CatalogObject) -> CatalogObject:
    """The rules every pool keeps after CREATE or ALTER (spcs-reference 2.1)."""
    p = pool.props
    for key in ("MIN_NODES", "MAX_NODES", "INSTANCE_FAMILY"):
        if p.get(key.lower()) is None:
            raise errors.SnowflakeError(1003, "42000", errors.compilation(f"Missing option(s): [{key}]"))
    if p["min_nodes"] < 1:
        raise errors.invalid_value(f"invalid value [{p['min_nodes']}] for parameter 'MIN_NODES'")
    if p["max_nodes"] < p["min_nodes"]:
        raise errors.invalid_value(
            f"MAX_NODES ({p['max_nodes']}) must be greater than or equal to MIN_NODES ({p['min_nodes']}).")
    if p["instance_family"] in p.get("backup_instance_families", []):
        raise errors.invalid_value("BACKUP_INSTANCE_FAMILIES must not contain the primary INSTANCE_FAMILY")
    return pool


def notify(ctx: Ctx, name: str) -> None:
    """Ask the controller to act on the pool now (after the statement commits)."""
    if ctx.core.controllers is not None:
        ctx.core.controllers.notify(RECONCILER, name)


def create(ctx: Ctx, name: str, values: dict[str, Any], if_not_exists: bool = False) -> str:
    target = Name(name)

    def build() -> CatalogObject:
        pool = properties.apply(lifecycle.new_object(ctx, COMPUTE_POOL, target, props=DEFAULTS), values,
                                "COMPUTE POOL", PROPERTIES, CONVERT)
        return _checked(pool.with_props(suspended=bool(pool.props.get("suspended", False)),
                                        updated_on=time.time()))

    def start(tx: Transaction, pool: CatalogObject) -> None:
        state = SUSPENDED if pool.props["suspended"] else STARTING
        tx.after_commit(lambda: ctx.core.observed.set(pool.id, state=state, nodes=[]))
        tx.after_commit(lambda: notify(ctx, name))

    return lifecycle.create(ctx, COMPUTE_POOL, target, build, if_not_exists=if_not_exists, after=start)[1]


def drop(ctx: Ctx, name: str, if_exists: bool = False) -> str:
    def services_stopped(pool: CatalogObject) -> None:
        running = [s for s in ctx.catalog.all_objects() if s.kind == "SERVICE" and s.props.get("compute_pool") ==
                   pool.name and not ended_job(ctx.core.observed, s)]
        if running:
            raise errors.SnowflakeError(
                3092, "22000", f"Cannot drop compute pool {pool.name} because it has {len(running)} services "
                "or jobs running on it. Stop them with ALTER COMPUTE POOL ... STOP ALL first.")

    return lifecycle.drop(ctx, COMPUTE_POOL, Name(name), if_exists, guard=services_stopped)


def set_properties(ctx: Ctx, name: str, values: dict[str, Any], if_exists: bool = False) -> str:
    def change(pool: CatalogObject) -> CatalogObject:
        if "INSTANCE_FAMILY" in values and ctx.core.observed.value(pool.id, "state") != SUSPENDED:
            raise errors.SnowflakeError(
                3091, "22000", f"Cannot change INSTANCE_FAMILY of compute pool {pool.name} unless it is suspended.")
        return _checked(properties.apply(pool, values, "COMPUTE POOL", ALTERABLE, CONVERT)
                        .with_props(updated_on=time.time()))

    lifecycle.alter(ctx, COMPUTE_POOL, Name(name), "ALTER COMPUTE POOL", change, if_exists)
    notify(ctx, name)
    return lifecycle.SUCCESS


def unset_properties(ctx: Ctx, name: str, keys: list[str], if_exists: bool = False) -> str:
    lifecycle.alter(ctx, COMPUTE_POOL, Name(name), "ALTER COMPUTE POOL",
                    lambda pool: properties.unset(pool, keys, "COMPUTE POOL", UNSETTABLE, None, DEFAULTS)
                    .with_props(updated_on=time.time()), if_exists)
    notify(ctx, name)
    return lifecycle.SUCCESS


def _operate(ctx: Ctx, name: str, command: str, suspended: bool, if_exists: bool) -> str:
    """SUSPEND / RESUME: what the user wants; the controller takes the pool there."""
    def change(pool: CatalogObject) -> CatalogObject:
        return pool.with_props(suspended=suspended, updated_on=time.time())

    pool = lifecycle.alter(ctx, COMPUTE_POOL, Name(name), command, change, if_exists)
    if pool is not None:
        state = ctx.core.observed.value(pool.id, "state")
        if suspended and state not in (SUSPENDED, STOPPING):
            ctx.core.observed.set(pool.id, state=STOPPING)
        elif not suspended and state in (SUSPENDED, None):
            ctx.core.observed.set(pool.id, state=STARTING, auto_suspended=None)
        notify(ctx, name)
    return lifecycle.SUCCESS


def suspend(ctx: Ctx, name: str, if_exists: bool = False) -> str:
    return _operate(ctx, name, "ALTER COMPUTE POOL SUSPEND", True, if_exists)


def resume(ctx: Ctx, name: str, if_exists: bool = False) -> str:
    return _operate(ctx, name, "ALTER COMPUTE POOL RESUME", False, if_exists)


def stop_all(ctx: Ctx, name: str, if_exists: bool = False) -> str:
    """STOP ALL: drops every service and job in the pool (none can run on a pool without them yet); their
    block volumes go too, snapshotted first where `snapshotOnDelete` says so (spcs-reference 8.4)."""
    pool = lifecycle.find(ctx, COMPUTE_POOL, Name(name))
    if pool is None:
        if if_exists:
            return lifecycle.SUCCESS
        raise errors.does_not_exist("Compute pool", Name(name).shown)
    ctx.require("ALTER COMPUTE POOL STOP ALL", pool)
    with ctx.catalog.transaction() as tx:
        for service in [s for s in ctx.catalog.all_objects()
                        if s.kind == "SERVICE" and s.props.get("compute_pool") == pool.name]:
            snapshots.backup_on_delete(ctx, tx, service)
            lifecycle.drop_in(ctx, tx, service)
    notify(ctx, name)
    return lifecycle.SUCCESS


@dataclass(frozen=True)
class PoolRow:
    pool: CatalogObject
    seen: dict[str, Any]

    def nodes(self) -> int:
        return len(self.seen.get("nodes", []))

    @property
    def state(self) -> str:
        return self.seen.get("state", STARTING)


def _p(key: str, default: Any = None) -> Col:
    return Col(key, value=lambda r: r.pool.props.get(key, default))


def _node_counts(kind: str) -> Col:
    def count(r: PoolRow) -> int:
        busy = r.seen.get("num_services", 0) + r.seen.get("num_jobs", 0)
        active = min(r.nodes(), busy)
        return {"active_nodes": active, "idle_nodes": r.nodes() - active}.get(kind, r.seen.get("target_nodes",
                                                                                                r.nodes()))
    return Col(kind, "fixed", count)


_COMMON = (
    Col("name", value=lambda r: r.pool.name),
    Col("state", value=lambda r: r.state),
    Col("min_nodes", "fixed", lambda r: r.pool.props["min_nodes"]),
    Col("max_nodes", "fixed", lambda r: r.pool.props["max_nodes"]),
    Col("instance_family", value=lambda r: r.pool.props["instance_family"]),
    Col("num_services", "fixed", lambda r: r.seen.get("num_services", 0)),
    Col("num_jobs", "fixed", lambda r: r.seen.get("num_jobs", 0)),
    Col("auto_suspend_secs", "fixed", lambda r: r.pool.props.get("auto_suspend_secs", 3600)),
    Col("auto_resume", value=lambda r: tf(r.pool.props.get("auto_resume", True))),
    _node_counts("active_nodes"), _node_counts("idle_nodes"), _node_counts("target_nodes"),
    created_on(lambda r: r.pool),
    Col("resumed_on", "timestamp_ltz", lambda r: ts(r.seen.get("resumed_on") or r.pool.created_on)),
    Col("updated_on", "timestamp_ltz", lambda r: ts(r.pool.props.get("updated_on"))),
    Col("owner", value=lambda r: r.pool.owner),
    Col("comment", value=lambda r: r.pool.comment),
    Col("is_exclusive", value=lambda r: tf(bool(r.pool.props.get("for_application")))),
    Col("application", value=lambda r: r.pool.props.get("for_application")),
)
_BACKUPS = Col("backup_instance_families",
               value=lambda r: ",".join(r.pool.props.get("backup_instance_families", [])) or None)
SHOW_COLUMNS = columns(*_COMMON, _p("placement_group"), _BACKUPS)
DESCRIBE_COLUMNS = columns(*_COMMON, Col("budget", value=lambda r: None),
                           Col("error_code", value=lambda r: r.seen.get("error_code", "")),
                           Col("status_message", value=lambda r: r.seen.get("status_message", "")),
                           _p("placement_group"), _BACKUPS)


def _row(ctx: Ctx, pool: CatalogObject) -> PoolRow:
    return PoolRow(pool, ctx.core.observed.get(pool.id))


def show(ctx: Ctx, like: str | None = None) -> Rows:
    match = like_matcher(like)
    items = [_row(ctx, pool) for pool in ctx.catalog.list("COMPUTE POOL")
             if match(pool.name) and ctx.auth.allows(ctx.session, "SHOW COMPUTE POOLS", pool)]
    return Rows(SHOW_COLUMNS, items)


def describe(ctx: Ctx, name: str) -> Rows:
    pool = lifecycle.existing(ctx, COMPUTE_POOL, Name(name))
    ctx.require("DESCRIBE COMPUTE POOL", pool)
    return Rows(DESCRIBE_COLUMNS, [_row(ctx, pool)], describe=True)


NODE_COLUMNS = columns(
    Col("node_id", value=lambda n: n["node_id"]),
    Col("instance_family", value=lambda n: n["family"].name),
    Col("created_on", "timestamp_ltz", lambda n: ts(n["created_on"])),
    Col("placement_group", value=lambda n: None),
    Col("vcpu", "fixed", lambda n: n["family"].vcpu),
    Col("memory_gib", "fixed", lambda n: n["family"].memory_gib),
    Col("storage_gib", "fixed", lambda n: n["family"].storage_gib),
    Col("gpu", value=lambda n: n["family"].gpu),
    Col("gpu_count", "fixed", lambda n: n["family"].gpu_count),
    Col("gpu_memory_gib", "fixed", lambda n: n["family"].gpu_memory_gib),
)


def show_nodes(ctx: Ctx, name: str, like: str | None = None) -> Rows:
    pool = lifecycle.existing(ctx, COMPUTE_POOL, Name(name))
    ctx.require("SHOW NODES IN COMPUTE POOL", pool)
    match = like_matcher(like)
    kind = FAMILIES[pool.props["instance_family"]]
    nodes = [{**node, "family": kind} for node in ctx.core.observed.value(pool.id, "nodes", [])
             if match(node["node_id"])]
    return Rows(NODE_COLUMNS, nodes)


FAMILY_COLUMNS = columns(
    Col("name", value=lambda f: f.name),
    Col("description", value=lambda f: f.description),
    Col("vcpu", "fixed", lambda f: f.vcpu),
    Col("memory_gib", "fixed", lambda f: f.memory_gib),
    Col("storage_gib", "fixed", lambda f: f.storage_gib),
    Col("gpu", value=lambda f: f.gpu),
    Col("gpu_count", "fixed", lambda f: f.gpu_count),
    Col("gpu_memory_gib", "fixed", lambda f: f.gpu_memory_gib),
    Col("current_node_usage", "fixed", lambda f: 0),
    Col("message", value=lambda f: ""),
)


def show_instance_families(ctx: Ctx, like: str | None = None) -> Rows:
    match = like_matcher(like)
    return Rows(FAMILY_COLUMNS, [f for f in FAMILIES.values() if match(f.name)])
