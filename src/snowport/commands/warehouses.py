"""Warehouses: CREATE / ALTER / DROP / SHOW / DESCRIBE WAREHOUSE, and their running state.

What a user sets (size, AUTO_SUSPEND, AUTO_RESUME, ...) is desired state in the catalog. Whether
a warehouse is STARTED or SUSPENDED is observed state: queries resume it, the warehouse
controller suspends it when idle, and neither touches the catalog snapshot.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from snowport import errors
from snowport.catalog.observed import ObservedState
from snowport.catalog.store import Catalog, CatalogObject, Transaction
from snowport.commands import lifecycle, properties
from snowport.commands.columns import Col, Rows, columns, created_on, like_matcher, owner_role_type, tf, ts, yn
from snowport.commands.context import Ctx
from snowport.commands.kinds import WAREHOUSE
from snowport.commands.lifecycle import Name
from snowport.names import display

SIZES = {
    "XSMALL": "X-Small", "X-SMALL": "X-Small", "SMALL": "Small", "MEDIUM": "Medium", "LARGE": "Large",
    "XLARGE": "X-Large", "X-LARGE": "X-Large", "XXLARGE": "2X-Large", "X2LARGE": "2X-Large",
    "2X-LARGE": "2X-Large", "XXXLARGE": "3X-Large", "X3LARGE": "3X-Large", "3X-LARGE": "3X-Large",
    "X4LARGE": "4X-Large", "4X-LARGE": "4X-Large", "X5LARGE": "5X-Large", "5X-LARGE": "5X-Large",
    "X6LARGE": "6X-Large", "6X-LARGE": "6X-Large",
}
PROPERTIES = (
    "WAREHOUSE_SIZE", "WAREHOUSE_TYPE", "AUTO_SUSPEND", "AUTO_RESUME", "INITIALLY_SUSPENDED", "MIN_CLUSTER_COUNT",
    "MAX_CLUSTER_COUNT", "SCALING_POLICY", "COMMENT", "ENABLE_QUERY_ACCELERATION",
    "QUERY_ACCELERATION_MAX_SCALE_FACTOR", "MAX_CONCURRENCY_LEVEL", "STATEMENT_TIMEOUT_IN_SECONDS",
    "STATEMENT_QUEUED_TIMEOUT_IN_SECONDS", "RESOURCE_MONITOR", "RESOURCE_CONSTRAINT",
)
DEFAULTS = {"size": "X-Small", "auto_suspend": 600, "auto_resume": True, "type": "STANDARD",
            "min_cluster_count": 1, "max_cluster_count": 1, "scaling_policy": "STANDARD"}
STARTED = "STARTED"
SUSPENDED = "SUSPENDED"


def _size(value: Any) -> tuple[str, str]:
    size = SIZES.get(str(value).upper().replace("_", ""))
    if size is None:
        raise errors.invalid_value(f"invalid value '{value}' for property 'WAREHOUSE_SIZE'")
    return "size", size


def _auto_suspend(value: Any) -> tuple[str, int | None]:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise errors.invalid_value(f"invalid value [{value}] for parameter 'AUTO_SUSPEND'")
    return "auto_suspend", value if value else None


def _flag(key: str) -> Any:
    return lambda value: (key.lower(), properties.boolean(value, key))


CONVERT = {"WAREHOUSE_SIZE": _size, "AUTO_SUSPEND": _auto_suspend, "WAREHOUSE_TYPE": lambda v: ("type", v),
           **{k: _flag(k) for k in ("AUTO_RESUME", "INITIALLY_SUSPENDED", "ENABLE_QUERY_ACCELERATION")}}
STORED = {"WAREHOUSE_SIZE": "size", "WAREHOUSE_TYPE": "type"}


def _with_properties(wh: CatalogObject, values: dict[str, Any]) -> CatalogObject:
    """The warehouse with SET properties applied; the first bad one refuses them all."""
    return properties.apply(wh, values, "WAREHOUSE", PROPERTIES, CONVERT).with_props(updated_on=time.time())


class Warehouses:
    """Running state: auto-resume on use, suspend after AUTO_SUSPEND seconds idle (observed state)."""

    def __init__(self, catalog: Catalog, observed: ObservedState) -> None:
        self.catalog = catalog
        self.observed = observed
        self._last_used: dict[str, float] = {}
        self._running: dict[str, int] = {}
        self._lock = threading.Lock()

    def touch(self, name: str) -> None:
        self._last_used[name] = time.time()

    def running(self, name: str) -> int:
        return self._running.get(name, 0)

    def state(self, wh: CatalogObject) -> str:
        return self.observed.value(wh.id, "state", STARTED)

    def require(self, ctx: Ctx) -> None:
        """A query needs a current warehouse the role may use; a suspended one auto-resumes."""
        name = ctx.session.warehouse
        wh = None if name is None else self.catalog.get("WAREHOUSE", name)
        if wh is None or not ctx.auth.has(ctx.session, wh, ("USAGE",)):
            raise errors.no_warehouse()
        if self.state(wh) != STARTED:
            if not wh.props.get("auto_resume", True):
                raise errors.SnowflakeError(
                    606, "57P03",
                    f"Warehouse '{display(wh.name)}' is suspended and AUTO_RESUME is FALSE; "
                    f"resume it with ALTER WAREHOUSE {display(wh.name)} RESUME.",
                    error_type="EXECUTION",
                )
            self.resume(wh)
        self.touch(wh.name)

    def resume(self, wh: CatalogObject) -> None:
        with self._lock:
            self.observed.set(wh.id, state=STARTED, resumed_on=time.time())
            self.touch(wh.name)

    def suspend(self, wh: CatalogObject) -> None:
        with self._lock:
            self.observed.set(wh.id, state=SUSPENDED)

    def tick(self) -> None:
        for wh in self.catalog.list("WAREHOUSE"):
            self.suspend_if_idle(wh.name)

    def suspend_if_idle(self, name: str) -> None:
        """Suspend one warehouse once it has been idle for its AUTO_SUSPEND seconds (a no-op otherwise)."""
        wh = self.catalog.get("WAREHOUSE", name)
        if wh is None:
            return
        idle_limit = wh.props.get("auto_suspend")
        if self.state(wh) != STARTED or not idle_limit:
            return
        now = time.time()
        last = self._last_used.setdefault(wh.name, now)
        if now - last >= idle_limit:
            self.suspend(wh)


def create(ctx: Ctx, name: str, values: dict[str, Any], or_replace: bool = False, if_not_exists: bool = False) -> str:
    target = Name(name)
    suspended = properties.boolean(values.get("INITIALLY_SUSPENDED", False), "INITIALLY_SUSPENDED")

    def build() -> CatalogObject:
        wh = _with_properties(lifecycle.new_object(ctx, WAREHOUSE, target, props=DEFAULTS), values)
        return wh.with_props(initially_suspended=None)

    def start(tx: Transaction, wh: CatalogObject) -> None:
        def record() -> None:
            ctx.core.observed.set(wh.id, state=SUSPENDED if suspended else STARTED,
                                  resumed_on=None if suspended else time.time())
            ctx.core.warehouses.touch(name)
            ctx.session.warehouse = name  # creating a warehouse makes it current, as in Snowflake
        tx.after_commit(record)

    return lifecycle.create(ctx, WAREHOUSE, target, build, or_replace=or_replace, if_not_exists=if_not_exists,
                            after=start)[1]


def _current(ctx: Ctx, name: str | None) -> Name:
    name = name or ctx.session.warehouse
    if name is None:
        raise errors.does_not_exist("Warehouse", "")
    return Name(name)


def drop(ctx: Ctx, name: str, if_exists: bool = False) -> str:
    def leave(tx: Transaction, _wh: CatalogObject) -> None:
        def forget() -> None:
            for s in ctx.core.sessions.all():
                if s.warehouse == name:
                    s.warehouse = None
        tx.after_commit(forget)

    return lifecycle.drop(ctx, WAREHOUSE, Name(name), if_exists, after=leave)


def rename(ctx: Ctx, name: str | None, new_name: str, if_exists: bool = False) -> str:
    target = _current(ctx, name)

    def follow(tx: Transaction, _old: CatalogObject, _new: CatalogObject) -> None:
        def sessions() -> None:
            for s in ctx.core.sessions.all():
                if s.warehouse == target.name:
                    s.warehouse = new_name
        tx.after_commit(sessions)

    return lifecycle.rename(ctx, WAREHOUSE, target, Name(new_name), if_exists, after=follow)


def set_properties(ctx: Ctx, name: str | None, values: dict[str, Any], if_exists: bool = False) -> str:
    def change(wh: CatalogObject) -> CatalogObject:
        return _with_properties(wh, values).with_props(initially_suspended=None)

    lifecycle.alter(ctx, WAREHOUSE, _current(ctx, name), "ALTER WAREHOUSE", change, if_exists)
    return lifecycle.SUCCESS


def unset_properties(ctx: Ctx, name: str | None, keys: list[str], if_exists: bool = False) -> str:
    properties.only(dict.fromkeys(keys), PROPERTIES, "WAREHOUSE")
    lifecycle.alter(ctx, WAREHOUSE, _current(ctx, name), "ALTER WAREHOUSE",
                    lambda wh: properties.unset(wh, keys, "WAREHOUSE", PROPERTIES, STORED, DEFAULTS), if_exists)
    return lifecycle.SUCCESS


def _operable(ctx: Ctx, name: str | None, command: str, if_exists: bool) -> CatalogObject | None:
    target = _current(ctx, name)
    wh = lifecycle.find(ctx, WAREHOUSE, target)
    if wh is None:
        if if_exists:
            return None
        raise errors.does_not_exist("Warehouse", target.shown)
    ctx.require(command, wh, target.shown)
    return wh


def suspend(ctx: Ctx, name: str | None, if_exists: bool = False) -> str:
    wh = _operable(ctx, name, "ALTER WAREHOUSE SUSPEND", if_exists)
    if wh is not None:
        if ctx.core.warehouses.state(wh) == SUSPENDED:
            raise errors.SnowflakeError(90064, "22000", f"Invalid state. Warehouse '{wh.name}' cannot be suspended.")
        ctx.core.warehouses.suspend(wh)
    return lifecycle.SUCCESS


def resume(ctx: Ctx, name: str | None, if_suspended: bool = False, if_exists: bool = False) -> str:
    wh = _operable(ctx, name, "ALTER WAREHOUSE RESUME", if_exists)
    if wh is not None:
        if ctx.core.warehouses.state(wh) == STARTED:
            if not if_suspended:
                raise errors.SnowflakeError(90063, "22000", f"Invalid state. Warehouse '{wh.name}' cannot be resumed.")
        else:
            ctx.core.warehouses.resume(wh)
    return lifecycle.SUCCESS


def abort_all_queries(ctx: Ctx, name: str | None, if_exists: bool = False) -> str:
    _operable(ctx, name, "ALTER WAREHOUSE ABORT ALL QUERIES", if_exists)
    return lifecycle.SUCCESS


@dataclass(frozen=True)
class WarehouseRow:
    wh: CatalogObject
    state: str
    resumed_on: float | None
    running: int
    is_current: bool

    @property
    def started(self) -> bool:
        return self.state == STARTED


def _active(r: WarehouseRow, value: Any) -> Any:
    return value if r.started else ""


SHOW_COLUMNS = columns(
    Col("name", value=lambda r: r.wh.name),
    Col("state", value=lambda r: r.state),
    Col("type", value=lambda r: r.wh.props.get("type", "STANDARD")),
    Col("size", value=lambda r: r.wh.props.get("size")),
    Col("min_cluster_count", "fixed", lambda r: r.wh.props.get("min_cluster_count", 1)),
    Col("max_cluster_count", "fixed", lambda r: r.wh.props.get("max_cluster_count", 1)),
    Col("started_clusters", "fixed", lambda r: 1 if r.started else 0),
    Col("running", "fixed", lambda r: r.running),
    Col("queued", "fixed", lambda r: 0),
    Col("is_default", value=lambda r: "N"),
    Col("is_current", value=lambda r: yn(r.is_current)),
    Col("auto_suspend", value=lambda r: None if r.wh.props.get("auto_suspend") is None
        else str(r.wh.props.get("auto_suspend"))),
    Col("auto_resume", value=lambda r: tf(r.wh.props.get("auto_resume", True))),
    Col("available", value=lambda r: _active(r, "100")),
    Col("provisioning", value=lambda r: _active(r, "0")),
    Col("quiescing", value=lambda r: _active(r, "0")),
    Col("other", value=lambda r: _active(r, "0")),
    created_on(lambda r: r.wh),
    Col("resumed_on", "timestamp_ltz", lambda r: ts(r.resumed_on)),
    Col("updated_on", "timestamp_ltz", lambda r: ts(r.wh.props.get("updated_on"))),
    Col("owner", value=lambda r: r.wh.owner),
    Col("comment", value=lambda r: r.wh.comment or ""),
    Col("enable_query_acceleration", value=lambda r: tf(r.wh.props.get("enable_query_acceleration", False))),
    Col("query_acceleration_max_scale_factor", "fixed", lambda r: 8),
    Col("resource_monitor", value=lambda r: "null"),
    Col("actives", "fixed", lambda r: 1 if r.started else 0),
    Col("pendings", "fixed", lambda r: 0),
    Col("failed", "fixed", lambda r: 0),
    Col("suspended", "fixed", lambda r: 0 if r.started else 1),
    Col("uuid", value=lambda r: str(r.wh.id)),
    Col("scaling_policy", value=lambda r: r.wh.props.get("scaling_policy", "STANDARD")),
    Col("budget", value=lambda r: None),
    Col("owner_role_type", value=lambda r: owner_role_type(r.wh)),
)


def show(ctx: Ctx, like: str | None = None) -> Rows:
    match = like_matcher(like)
    items = []
    for wh in ctx.catalog.list("WAREHOUSE"):
        if match(wh.name) and ctx.auth.can_see(ctx.session, wh):
            seen = ctx.core.observed.get(wh.id)
            items.append(WarehouseRow(wh, seen.get("state", STARTED), seen.get("resumed_on"),
                                      ctx.core.warehouses.running(wh.name), wh.name == ctx.session.warehouse))
    return Rows(SHOW_COLUMNS, items)


DESCRIBE_COLUMNS = columns(created_on(), Col("name", value=lambda o: o.name), Col("kind", value=lambda o: o.kind))


def describe(ctx: Ctx, name: str) -> Rows:
    target = Name(name)
    wh = lifecycle.existing(ctx, WAREHOUSE, target)
    ctx.require("DESCRIBE WAREHOUSE", wh, target.shown)
    return Rows(DESCRIBE_COLUMNS, [wh], describe=True)
