"""Services: CREATE / ALTER (SUSPEND, RESUME, SET, UNSET, FROM = upgrade) / DROP / SHOW / DESCRIBE SERVICE,
SHOW SERVICE CONTAINERS / INSTANCES, SYSTEM$GET_SERVICE_STATUS and SYSTEM$GET_SERVICE_LOGS.

The catalog keeps what the owner asked for: the spec as written (and its USING values), the pool, the
instance counts, whether it is suspended, and each container's image pinned to its digest at CREATE, as
Snowflake does. The service controller (compute/services.py) runs the instances on the runtime and
writes what it observes (per-instance and per-container status) as observed state.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from snowport import errors
from snowport.catalog.store import CatalogObject, Transaction
from snowport.commands import (
    block_volumes,
    lifecycle,
    properties,
    secrets,
    service_endpoints,
    service_network,
    service_roles,
    service_volumes,
    snapshots,
)
from snowport.commands import stages as stage_commands
from snowport.commands.columns import Col, Rows, columns, created_on, like_matcher, owner_role_type, tf, ts
from snowport.commands.compute_pools import FAMILIES
from snowport.commands.compute_pools import SUSPENDED as POOL_SUSPENDED
from snowport.commands.context import Ctx
from snowport.commands.kinds import JOB_SERVICE, SERVICE, storage_key
from snowport.commands.lifecycle import Name
from snowport.names import display, normalize
from snowport.spec import ImageRefError, ServiceSpec, parse_spec, parse_stored_spec
from snowport.stages.locations import parse_stage_ref

RECONCILER = "services"
PROPERTIES = ("MIN_INSTANCES", "MAX_INSTANCES", "MIN_READY_INSTANCES", "AUTO_RESUME", "AUTO_SUSPEND_SECS",
              "QUERY_WAREHOUSE", "EXTERNAL_ACCESS_INTEGRATIONS", "LOG_LEVEL", "COMMENT")
JOB_PROPERTIES = ("QUERY_WAREHOUSE", "EXTERNAL_ACCESS_INTEGRATIONS", "COMMENT")
READ_IMAGE = ("READ", "WRITE", "SERVICE READ", "SERVICE WRITE")


@dataclass(frozen=True)
class SpecSource:
    """Where CREATE SERVICE takes its spec from: inline text, or a file on a stage; a template with USING."""

    text: str | None = None
    stage: str | None = None  # `@db.schema.stage/dir` as written
    file: str | None = None
    template: bool = False
    using: dict[str, Any] = field(default_factory=dict)



def _names(value: Any) -> tuple[str, list[str]]:
    return "external_access_integrations", [str(v) for v in (value if isinstance(value, list) else [value])]


COUNTS = ("MIN_INSTANCES", "MAX_INSTANCES", "MIN_READY_INSTANCES", "AUTO_SUSPEND_SECS")
CONVERT = {**{k: properties.count(k) for k in COUNTS},
           "AUTO_RESUME": lambda v: ("auto_resume", properties.boolean(v, "AUTO_RESUME")),
           "QUERY_WAREHOUSE": lambda v: ("query_warehouse", str(v)),
           "EXTERNAL_ACCESS_INTEGRATIONS": _names}


def _checked(service: CatalogObject) -> CatalogObject:
    """spcs-reference 3.1: MIN_INSTANCES > 0, MAX ≥ MIN (default MIN), MIN_READY ≤ MIN (default MIN)."""
    p = dict(service.props)
    p.setdefault("min_instances", 1)
    if p["min_instances"] < 1:
        raise errors.invalid_value(f"invalid value [{p['min_instances']}] for parameter 'MIN_INSTANCES'")
    p.setdefault("max_instances", p["min_instances"])
    p.setdefault("min_ready_instances", p["min_instances"])
    if p["max_instances"] < p["min_instances"]:
        raise errors.invalid_value("MAX_INSTANCES must be greater than or equal to MIN_INSTANCES.")
    if p["min_ready_instances"] > p["min_instances"]:
        raise errors.invalid_value("MIN_READY_INSTANCES must be less than or equal to MIN_INSTANCES.")
    return service.evolve(props=p)


def _fits_a_node(spec: ServiceSpec, pool: CatalogObject) -> None:
    """An instance whose requests exceed one empty node of the pool could never run: refused at once
    (spcs-reference 2.10); one that merely waits for room is created and stays PENDING."""
    family = FAMILIES[pool.props["instance_family"]]
    need = spec.instance_requests()
    if not need.fits_in(family.capacity):
        raise errors.invalid_value(
            f"The resources one instance requests (cpu {need.cpu_millis / 1000:g}, memory "
            f"{need.memory_bytes / 1024 ** 3:.3g} GiB, GPUs {need.gpus}) exceed the capacity of a node of compute "
            f"pool {pool.name} ({family.name}: {family.description}).")


def _spec_text(ctx: Ctx, source: SpecSource) -> str:
    if source.text is not None:
        return source.text
    ref = parse_stage_ref(source.stage or "")
    stage = stage_commands.resolve(ctx, ref, "GET")  # READ on the stage holding the spec
    path = posixpath.normpath(posixpath.join(ref.path.strip("/"), (source.file or "").lstrip("/"))).lstrip("./")
    local = ctx.core.stages.file_path(stage.key, path)
    if local is None or not local.exists():
        raise errors.SnowflakeError(2003, "02000", errors.compilation(
            f"Specification file '{source.file}' does not exist on stage '{stage.display}' or not authorized."))
    return local.read_text()


def _initial_contents(ctx: Ctx, spec: ServiceSpec, target: Name) -> dict[str, str]:
    """Each block volume's `blockConfig.initialContents.fromSnapshot`, resolved relative to the service's
    database and schema (USAGE on the snapshot; CREATED; no larger than the volume): volume -> storage key."""
    sources = {}
    for volume in block_volumes.block_volumes(spec):
        initial = volume.block_config.initial_contents if volume.block_config else None
        if initial is None:
            continue
        snapshot = snapshots.usable(ctx, initial.from_snapshot, target.database, target.schema)
        snapshots.check_fits(snapshot, block_volumes.claim_size(volume), volume.name)
        sources[volume.name] = storage_key(snapshot)
    return sources


def _pin_images(ctx: Ctx, spec: ServiceSpec, target: Name) -> dict[str, dict[str, str]]:
    """Each container's image resolved against Snowport's registry (READ on its repository) and pinned to
    its digest now, as Snowflake does; an image missing from the repository stays unpinned and its
    container waits with `Failed to pull image`."""
    pinned: dict[str, dict[str, str]] = {}
    for container in spec.containers:
        try:
            ref = container.image_ref.qualified(target.database.lower(), target.schema.lower())
            database, schema, repo_name = ref.object_names()
        except ImageRefError as e:
            raise errors.invalid_value(f"Invalid image '{container.image}' in container '{container.name}': {e}") \
                from None
        repo = ctx.catalog.get("IMAGE REPOSITORY", repo_name, database, schema)
        shown = display(database, schema, repo_name)
        if repo is None or not ctx.auth.can_see(ctx.session, repo):
            raise errors.does_not_exist("Image Repository", shown)
        if not ctx.auth.has(ctx.session, repo, READ_IMAGE):
            raise errors.insufficient_privileges("image repository", shown)
        record = ctx.core.registry.resolve(storage_key(repo), ref.image.lower(), ref.reference)
        entry = {"name": ref.name, "tag": ref.tag or "latest"}
        if record is not None:
            entry["digest"] = record.digest
        pinned[container.name] = entry
    return pinned


def create(ctx: Ctx, parts: list[str], pool_name: str, source: SpecSource, values: dict[str, Any],
           if_not_exists: bool = False, job: dict[str, Any] | None = None) -> str:
    """CREATE SERVICE, and EXECUTE JOB SERVICE's creation of its job (`job`: the props that make the service
    a job, see commands/jobs.py): the same checks, spec parsing and image pinning for both."""
    return create_object(ctx, parts, pool_name, source, values, if_not_exists, job)[1]


def create_object(ctx: Ctx, parts: list[str], pool_name: str, source: SpecSource, values: dict[str, Any],
                  if_not_exists: bool = False, job: dict[str, Any] | None = None,
                  created: Any = None) -> tuple[CatalogObject | None, str]:
    """`created(service)`: runs once the creation committed, before the controller hears of it."""
    kind = JOB_SERVICE if job is not None else SERVICE
    allowed = JOB_PROPERTIES if job is not None else PROPERTIES
    target = lifecycle.resolve(ctx, kind, parts, kind.create_command)

    def build() -> CatalogObject:
        properties.only(values, allowed, "SERVICE")
        pool = ctx.catalog.get("COMPUTE POOL", pool_name)
        if pool is None or not ctx.auth.can_see(ctx.session, pool):
            raise errors.does_not_exist("Compute pool", display(pool_name))
        if not ctx.auth.has(ctx.session, pool, ("USAGE",)):
            raise errors.insufficient_privileges("compute pool", display(pool_name))
        if ctx.role == "ACCOUNTADMIN":
            raise errors.SnowflakeError(
                3001, "42501", "SQL access control error:\nServices cannot be owned by ACCOUNTADMIN; use another role.")
        text = _spec_text(ctx, source)
        spec = parse_spec(text, source.using if source.template else None)
        service_roles.require_bind(ctx, spec, ctx.role, target.shown)  # public endpoints: BIND for the owner
        _fits_a_node(spec, pool)
        stage_volumes = service_volumes.check(ctx, spec, target)
        if not ctx.core.runtime.ping():  # nothing would run it: refused rather than created to wait unseen
            raise errors.SnowflakeError(
                391001, "57P03", f"Cannot create service {target.shown}: the container engine behind compute "
                f"pool {pool.name} does not answer. Start the engine (scripts/docker-engine) and retry.")
        service_network.check_integrations(ctx, values.get("EXTERNAL_ACCESS_INTEGRATIONS"), ctx.role)
        service = lifecycle.new_object(ctx, SERVICE, target, props={
            "compute_pool": pool.name, "spec_text": text, "using": source.using if source.template else None,
            "spec_digest": hashlib.sha256(text.encode()).hexdigest(), "images": _pin_images(ctx, spec, target),
            "stage_volumes": stage_volumes,
            "suspended": False, "auto_resume": True, "created_by": ctx.session.user, "updated_on": time.time(),
            **secrets.bind_for_service(ctx, spec, target, values.get("EXTERNAL_ACCESS_INTEGRATIONS")),
            "block_sources": _initial_contents(ctx, spec, target),
            service_endpoints.PROP: service_endpoints.assign_ids(ctx.catalog, spec),
            **(job or {}),
        })
        service = _checked(properties.apply(service, values, "SERVICE", allowed, CONVERT))
        block_volumes.check_instances(spec, service)
        return service

    def start(tx: Transaction, service: CatalogObject) -> None:
        pool = ctx.catalog.get("COMPUTE POOL", service.props["compute_pool"])
        if pool is not None and pool.props.get("suspended") and pool.props.get("auto_resume", True):
            # AUTO_RESUME: a service submitted to a suspended pool resumes it (USAGE is enough)
            ctx.catalog.update(pool.with_props(suspended=False, updated_on=time.time()))
            tx.after_commit(lambda: ctx.core.observed.set(pool.id, state="STARTING", auto_suspended=None))
        tx.after_commit(lambda: ctx.core.observed.set(service.id, status="PENDING", instances=[]))
        if created is not None:
            tx.after_commit(lambda: created(service))
        tx.after_commit(lambda: _notify(ctx, service))

    return lifecycle.create(ctx, kind, target, build, if_not_exists=if_not_exists, after=start)


def _notify(ctx: Ctx, service: CatalogObject) -> None:
    if ctx.core.controllers is not None:
        ctx.core.controllers.notify(RECONCILER, service.id)
        ctx.core.controllers.notify("compute-pools", service.props["compute_pool"])
        ctx.core.controllers.notify(service_network.RECONCILER, service_network.KEY)


def notify(ctx: Ctx, service: CatalogObject) -> None:
    """Tell the service controller (and the pool's) that the service's desired state changed."""
    _notify(ctx, service)


def _target(ctx: Ctx, parts: list[str], command: str) -> Name:
    return lifecycle.resolve(ctx, SERVICE, parts, command)


def _stored_spec(service: CatalogObject) -> ServiceSpec:
    return parse_stored_spec(service.props["spec_text"], service.props.get("using"))


def _service_only(service: CatalogObject, command: str) -> CatalogObject:
    """A job runs once as it was submitted: it is not suspended, resumed, upgraded or re-sized."""
    if service.props.get("is_job"):
        raise errors.invalid_value(f"{command} is not supported for job service {service.name}; cancel it with "
                                   f"{service.name}!SPCS_CANCEL_JOB() or drop it.")
    return service


def drop(ctx: Ctx, parts: list[str], if_exists: bool = False, force: bool = False) -> str:
    """DROP SERVICE [IF EXISTS] s [FORCE]: a service with block volumes needs FORCE, which first snapshots
    the volumes whose `snapshotOnDelete` is on; the controller then deletes the pods and the volumes."""
    target = _target(ctx, parts, "DROP SERVICE")

    def guard(service: CatalogObject) -> None:
        if not force:
            ctx.require("DROP SERVICE", service, target.shown)  # who may not drop it learns nothing more
            block_volumes.refuse_drop_without_force(_stored_spec(service), service)

    def stop(tx: Transaction, service: CatalogObject) -> None:
        if force and block_volumes.has_block_volumes(_stored_spec(service)):
            snapshots.backup_on_delete(ctx, tx, service)
        tx.after_commit(lambda: _notify(ctx, service))

    return lifecycle.drop(ctx, SERVICE, target, if_exists, after=stop, guard=guard)


def _set_suspended(ctx: Ctx, parts: list[str], command: str, suspended: bool, if_exists: bool) -> str:
    def change(s: CatalogObject) -> CatalogObject:
        when = {"suspended_on": time.time()} if suspended else {"resumed_on": time.time()}
        return _service_only(s, command).with_props(suspended=suspended, updated_on=time.time(), **when)

    service = lifecycle.alter(ctx, SERVICE, _target(ctx, parts, "ALTER SERVICE"), command, change, if_exists)
    if service is not None:
        _notify(ctx, service)
    return lifecycle.SUCCESS


def auto_resume(ctx: Ctx, service: CatalogObject) -> bool:
    """Resume a suspended service whose AUTO_RESUME allows it, and its suspended pool whose AUTO_RESUME
    allows it, on first use (a service function call, a request to its endpoint): the change ALTER SERVICE
    RESUME makes, made for a caller that needs no OPERATE on it. True when both are (now) not suspended."""
    with ctx.catalog.transaction() as tx:
        current = ctx.catalog.by_id(service.id)
        if current is None or current.props.get("is_job"):
            return False
        pool = ctx.catalog.get("COMPUTE POOL", current.props["compute_pool"])
        if current.props.get("suspended") and not current.props.get("auto_resume", True):
            return False
        if pool is not None and pool.props.get("suspended") and not pool.props.get("auto_resume", True):
            return False
        if not current.props.get("suspended") and (pool is None or not pool.props.get("suspended")):
            return True
        if current.props.get("suspended"):
            current = ctx.catalog.update(current.with_props(suspended=False, updated_on=time.time(),
                                                            resumed_on=time.time()))
        if pool is not None and pool.props.get("suspended"):
            ctx.catalog.update(pool.with_props(suspended=False, updated_on=time.time()))
            tx.after_commit(lambda: ctx.core.observed.set(pool.id, state="STARTING", auto_suspended=None))
    _notify(ctx, current)
    return True


def suspend(ctx: Ctx, parts: list[str], if_exists: bool = False) -> str:
    return _set_suspended(ctx, parts, "ALTER SERVICE SUSPEND", True, if_exists)


def resume(ctx: Ctx, parts: list[str], if_exists: bool = False) -> str:
    return _set_suspended(ctx, parts, "ALTER SERVICE RESUME", False, if_exists)


def upgrade(ctx: Ctx, parts: list[str], source: SpecSource, if_exists: bool = False) -> str:
    """ALTER SERVICE ... FROM ...: the new spec is validated and its image tags re-resolved and pinned now
    (READ on the repositories, as at CREATE); the controller then replaces the instances one at a time,
    highest id first, keeping MIN_READY_INSTANCES ready (compute/rollout.py)."""
    target = _target(ctx, parts, "ALTER SERVICE FROM")

    def upgraded(service: CatalogObject) -> CatalogObject:
        _service_only(service, "ALTER SERVICE FROM")
        text = _spec_text(ctx, source)
        spec = parse_spec(text, source.using if source.template else None)
        service_roles.require_bind(ctx, spec, service.owner, target.shown, service_roles.UPGRADE_PUBLIC)
        pool = ctx.catalog.get("COMPUTE POOL", service.props["compute_pool"])
        if pool is not None:
            _fits_a_node(spec, pool)
        stage_volumes = service_volumes.check(ctx, spec, target)
        block_volumes.check_upgrade(_stored_spec(service), spec, service)
        return service.with_props(spec_text=text, using=source.using if source.template else None,
                                  spec_digest=hashlib.sha256(text.encode()).hexdigest(),
                                  images=_pin_images(ctx, spec, target), stage_volumes=stage_volumes,
                                  updated_on=time.time(), **service_roles.follow_upgrade(ctx, service, spec),
                                  **{service_endpoints.PROP: service_endpoints.assign_ids(
                                      ctx.catalog, spec, service_endpoints.ids_of(service))},
                                  **secrets.bind_for_service(ctx, spec, target,
                                                             service.props.get("external_access_integrations")))

    service = lifecycle.alter(ctx, SERVICE, target, "ALTER SERVICE FROM", upgraded, if_exists)
    if service is not None:
        _notify(ctx, service)
    return lifecycle.SUCCESS


def unset_properties(ctx: Ctx, parts: list[str], keys: list[str], if_exists: bool = False) -> str:
    """UNSET: MIN_INSTANCES back to 1, MAX_INSTANCES and MIN_READY_INSTANCES back to MIN_INSTANCES."""
    stored = {"EXTERNAL_ACCESS_INTEGRATIONS": "external_access_integrations"}

    def change(service: CatalogObject) -> CatalogObject:
        block_volumes.refuse_instance_change(_stored_spec(service), service, keys)
        return properties.unset(service, keys, "SERVICE", PROPERTIES, stored)

    return _alter_properties(ctx, parts, change, if_exists)


def set_properties(ctx: Ctx, parts: list[str], values: dict[str, Any], if_exists: bool = False) -> str:
    def change(service: CatalogObject) -> CatalogObject:
        block_volumes.refuse_instance_change(_stored_spec(service), service, list(values))
        if "EXTERNAL_ACCESS_INTEGRATIONS" in values:  # applies live: the network controller is told below
            service_network.check_integrations(ctx, _names(values["EXTERNAL_ACCESS_INTEGRATIONS"])[1], service.owner)
        return properties.apply(service, values, "SERVICE", PROPERTIES, CONVERT)

    return _alter_properties(ctx, parts, change, if_exists)


def restore_volume(ctx: Ctx, parts: list[str], volume: str, instances: list[int], snapshot_name: list[str],
                   if_exists: bool = False) -> str:
    """ALTER SERVICE s RESTORE VOLUME "v" INSTANCES 0,2 FROM SNAPSHOT snap (spcs-reference 3.3): the service
    must be suspended; each named instance gets a new volume made from the snapshot (its next claim
    generation, block_volumes.py) and the service resumes, those instances starting on the restored data.
    OPERATE on the service, USAGE on the snapshot."""
    target = _target(ctx, parts, "ALTER SERVICE RESTORE VOLUME")

    def restored(service: CatalogObject) -> CatalogObject:
        if not service.props.get("suspended"):
            raise errors.invalid_value(f"Service {service.name} must be suspended before RESTORE VOLUME; run ALTER "
                                       f"SERVICE {service.name} SUSPEND first.")
        found = next((v for v in _stored_spec(service).spec.volumes if v.name == volume), None)
        if found is None or found.kind != "block":
            raise errors.invalid_value(f"Block volume '{volume}' does not exist in service {service.name}.")
        if not instances:
            raise errors.invalid_value("RESTORE VOLUME needs at least one instance id.")
        for instance in instances:
            snapshots.check_instance(service, instance)
        snapshot = snapshots.usable(ctx, ".".join(snapshot_name), service.database, service.schema)
        snapshots.check_fits(snapshot, block_volumes.claim_size(found), volume)
        snapshots.check_encryption(snapshot, found)
        restores = {k: dict(v) for k, v in (service.props.get("block_restores") or {}).items()}
        mine = restores.setdefault(volume, {})
        for instance in instances:
            before = mine.get(str(instance), {}).get("generation", 0)
            mine[str(instance)] = {"generation": int(before) + 1, "snapshot": storage_key(snapshot)}
        return service.with_props(block_restores=restores, suspended=False, resumed_on=time.time(),
                                  updated_on=time.time())

    service = lifecycle.alter(ctx, SERVICE, target, "ALTER SERVICE RESTORE VOLUME", restored, if_exists)
    if service is not None:
        _notify(ctx, service)
    return lifecycle.SUCCESS


def _alter_properties(ctx: Ctx, parts: list[str], change: Any, if_exists: bool) -> str:
    """SET / UNSET: the changed service checked as at CREATE, then the controller told."""
    service = lifecycle.alter(ctx, SERVICE, _target(ctx, parts, "ALTER SERVICE"), "ALTER SERVICE",
                              lambda s: _checked(change(_service_only(s, "ALTER SERVICE SET / UNSET"))
                                                 .with_props(updated_on=time.time())), if_exists)
    if service is not None:
        _notify(ctx, service)
    return lifecycle.SUCCESS


# ---- observed state, as SHOW and the system functions present it -------------------------------
def status(ctx: Ctx, service: CatalogObject) -> str:
    if service.props.get("is_job"):
        return job_status(ctx.core.observed, service)
    if service.props.get("suspended"):
        return "SUSPENDED"
    pool = ctx.catalog.get("COMPUTE POOL", service.props["compute_pool"])
    if pool is not None and ctx.core.observed.value(pool.id, "state") == POOL_SUSPENDED:
        return "PENDING"
    return ctx.core.observed.value(service.id, "status", "PENDING")


JOB_TERMINAL = ("DONE", "FAILED", "CANCELLED", "INTERNAL_ERROR")


def job_status(observed: Any, job: CatalogObject) -> str:
    """A job's status as the controller computed it (spcs-reference 4.3); CANCELLING from the moment its
    cancel is asked for until the controller has stopped it, unless it had already ended."""
    current = observed.value(job.id, "status", "PENDING")
    if job.props.get("cancel_requested") and current not in JOB_TERMINAL:
        return "CANCELLING"
    return current


def containers(ctx: Ctx, service: CatalogObject) -> list[dict[str, Any]]:
    """One entry per container per instance, as the controller last saw them; while the engine does not
    answer, each says so (what it last saw may no longer be true)."""
    found = list(ctx.core.observed.value(service.id, "containers", []))
    engine_error = ctx.core.observed.value(service.id, "engine_error")
    if engine_error and not ctx.core.observed.value(service.id, "finished_on"):  # an ended job's stay as seen
        return [{**c, "status": "PENDING", "message": engine_error} for c in found]
    return found


@dataclass(frozen=True)
class ServiceRow:
    service: CatalogObject
    status: str
    current: int
    show_spec: bool = False
    upgrading: str = "false"
    target: int = 1  # MIN_INSTANCES, or the autoscaler's choice between MIN and MAX_INSTANCES


def _s(key: str, default: Any = None) -> Any:
    return lambda r: r.service.props.get(key, default)


def dns_name(service: CatalogObject) -> str:
    return service_network.dns_name(service)


_LEAD = (
    Col("name", value=lambda r: r.service.name),
    Col("status", value=lambda r: r.status),
    Col("database_name", value=lambda r: r.service.database),
    Col("schema_name", value=lambda r: r.service.schema),
    Col("owner", value=lambda r: r.service.owner),
    Col("compute_pool", value=_s("compute_pool")),
)
_TAIL = (
    Col("dns_name", value=lambda r: dns_name(r.service)),
    Col("current_instances", "fixed", lambda r: r.current),
    Col("target_instances", "fixed", lambda r: 0 if r.service.props.get("suspended") else r.target),
    Col("min_ready_instances", "fixed", _s("min_ready_instances", 1)),
    Col("min_instances", "fixed", _s("min_instances", 1)),
    Col("max_instances", "fixed", _s("max_instances", 1)),
    Col("auto_resume", value=lambda r: tf(r.service.props.get("auto_resume", True))),
    Col("external_access_integrations",
        value=lambda r: ("[" + ",".join(r.service.props["external_access_integrations"]) + "]")
        if r.service.props.get("external_access_integrations") else None),
    created_on(lambda r: r.service),
    Col("updated_on", "timestamp_ltz", lambda r: ts(r.service.props.get("updated_on"))),
    Col("resumed_on", "timestamp_ltz", lambda r: ts(r.service.props.get("resumed_on"))),
    Col("suspended_on", "timestamp_ltz", lambda r: ts(r.service.props.get("suspended_on"))),
    Col("auto_suspend_secs", "fixed", _s("auto_suspend_secs", 0)),
    Col("comment", value=lambda r: r.service.comment),
    Col("owner_role_type", value=lambda r: owner_role_type(r.service)),
    Col("query_warehouse", value=_s("query_warehouse")),
    Col("is_job", value=lambda r: tf(bool(r.service.props.get("is_job")))),
    Col("is_async_job", value=lambda r: tf(bool(r.service.props.get("is_async_job")))),
    Col("spec_digest", value=_s("spec_digest")),
    Col("is_upgrading", value=lambda r: r.upgrading),
    Col("managing_object_domain", value=lambda r: None),
    Col("managing_object_name", value=lambda r: None),
)
SHOW_COLUMNS = columns(*_LEAD, *_TAIL)
# SHOW JOB SERVICES has no is_job column, SHOW SERVICES EXCLUDE JOBS neither is_job nor is_async_job (3.5)
JOB_SHOW_COLUMNS = columns(*_LEAD, *(c for c in _TAIL if c.name != "is_job"))
EXCLUDE_JOBS_COLUMNS = columns(*_LEAD, *(c for c in _TAIL if c.name not in ("is_job", "is_async_job")))
DESCRIBE_COLUMNS = columns(*_LEAD, Col("spec", value=lambda r: r.service.props.get("spec_text") if r.show_spec
                                       else None), *_TAIL)


def _row(ctx: Ctx, service: CatalogObject, show_spec: bool = False) -> ServiceRow:
    ready = {c["instanceId"] for c in containers(ctx, service) if c.get("status") in ("READY", "PENDING", "FAILED")}
    upgrading = ctx.core.observed.value(service.id, "upgrading", False) and not service.props.get("suspended")
    return ServiceRow(service, status(ctx, service), len(ready), show_spec, tf(bool(upgrading)),
                      target_instances(ctx.core.observed, service))


def target_instances(observed: Any, service: CatalogObject) -> int:
    """The instance count to run: the autoscaler's choice (observed state) within [MIN, MAX_INSTANCES],
    else MIN_INSTANCES."""
    low = int(service.props.get("min_instances", 1))
    chosen = observed.value(service.id, "target_instances")
    return low if chosen is None else max(low, min(int(service.props.get("max_instances", low)), int(chosen)))


def show(ctx: Ctx, like: str | None, database: str | None, schema: str | None, jobs: str | None = None) -> Rows:
    """SHOW SERVICES; `jobs`: "ONLY" (SHOW JOB SERVICES) or "EXCLUDE" (SHOW SERVICES EXCLUDE JOBS)."""
    match = like_matcher(like)
    wanted = {None: lambda s: True, "ONLY": lambda s: bool(s.props.get("is_job")),
              "EXCLUDE": lambda s: not s.props.get("is_job")}[jobs]
    items = [_row(ctx, s) for s in ctx.catalog.list("SERVICE", database, schema)
             if match(s.name) and wanted(s) and ctx.auth.allows(ctx.session, "SHOW SERVICES", s)]
    return Rows({None: SHOW_COLUMNS, "ONLY": JOB_SHOW_COLUMNS, "EXCLUDE": EXCLUDE_JOBS_COLUMNS}[jobs], items)


def _visible(ctx: Ctx, parts: list[str], command: str) -> CatalogObject:
    target = _target(ctx, parts, command)
    service = lifecycle.existing(ctx, SERVICE, target)
    ctx.require(command, service, target.shown)
    return service


def describe(ctx: Ctx, parts: list[str]) -> Rows:
    service = _visible(ctx, parts, "DESCRIBE SERVICE")
    return Rows(DESCRIBE_COLUMNS, [_row(ctx, service, ctx.auth.owns(ctx.session, service))], describe=True)


CONTAINER_COLUMNS = columns(
    Col("database_name", value=lambda c: c["database"]), Col("schema_name", value=lambda c: c["schema"]),
    Col("service_name", value=lambda c: c["serviceName"]), Col("service_status", value=lambda c: c["serviceStatus"]),
    Col("instance_id", value=lambda c: c.get("instanceId")),
    Col("instance_status", value=lambda c: c.get("instanceStatus")),
    Col("container_name", value=lambda c: c.get("containerName")), Col("status", value=lambda c: c.get("status")),
    Col("message", value=lambda c: c.get("message")), Col("image_name", value=lambda c: c.get("image")),
    Col("image_digest", value=lambda c: c.get("imageDigest")),
    Col("restart_count", "fixed", lambda c: c.get("restartCount")),
    Col("start_time", value=lambda c: c.get("startTime")),
    Col("last_exit_code", "fixed", lambda c: c.get("lastExitCode")),
    Col("last_restart_time", value=lambda c: c.get("lastRestartTime")),
)


def show_containers(ctx: Ctx, parts: list[str]) -> Rows:
    service = _visible(ctx, parts, "SHOW SERVICE CONTAINERS IN SERVICE")
    state = status(ctx, service)
    base = {"database": service.database, "schema": service.schema, "serviceName": service.name,
            "serviceStatus": state}
    found = containers(ctx, service) if state != "SUSPENDED" else []
    return Rows(CONTAINER_COLUMNS, [{**base, **c} for c in found] or [base])


INSTANCE_COLUMNS = columns(
    Col("database_name", value=lambda i: i["database"]), Col("schema_name", value=lambda i: i["schema"]),
    Col("service_name", value=lambda i: i["serviceName"]), Col("service_status", value=lambda i: i["serviceStatus"]),
    Col("instance_id", value=lambda i: i.get("instanceId")), Col("status", value=lambda i: i.get("status")),
    Col("spec_digest", value=lambda i: i.get("specDigest")),
    Col("creation_time", value=lambda i: i.get("creationTime")), Col("start_time", value=lambda i: i.get("startTime")),
    Col("ip_address", value=lambda i: i.get("ipAddress")),
)


def show_instances(ctx: Ctx, parts: list[str]) -> Rows:
    """SHOW SERVICE INSTANCES IN SERVICE: one row per instance; during an upgrade an instance's
    spec_digest is the one it runs, so it lags the service's until the instance is replaced."""
    service = _visible(ctx, parts, "SHOW SERVICE INSTANCES IN SERVICE")
    state = status(ctx, service)
    base = {"database": service.database, "schema": service.schema, "serviceName": service.name,
            "serviceStatus": state}
    found = ctx.core.observed.value(service.id, "instances", []) if state != "SUSPENDED" else []
    return Rows(INSTANCE_COLUMNS, [{**base, **i} for i in found])


def _name_parts(name: str) -> list[str]:
    """A service name given as a string argument (`'db.schema.svc'`), split and normalised."""
    return [normalize(p) for p in name.split(".") if p]


def get_status(ctx: Ctx, name: str, timeout_seconds: float = 0) -> str:
    """SYSTEM$GET_SERVICE_STATUS: a JSON array, one object per container per instance."""
    service = _visible(ctx, _name_parts(name), "SYSTEM$GET_SERVICE_STATUS")
    deadline = time.time() + max(0.0, float(timeout_seconds))
    while True:
        found = containers(ctx, service)
        steady = found and all(c.get("status") in ("READY", "FAILED", "DONE") for c in found)
        if steady or time.time() >= deadline:
            break
        time.sleep(0.2)
    keys = ("status", "message", "containerName", "instanceId", "serviceName", "image", "restartCount", "startTime")
    return json.dumps([{k: c.get(k) if k != "serviceName" else service.name for k in keys} for c in found],
                      separators=(",", ":"))


REACHABLE_FROM = {"RUNNING": ("PENDING", "RUNNING"), "SUSPENDED": ("SUSPENDING", "SUSPENDED", "RUNNING", "PENDING",
                                                                 "FAILED"),
                  "PENDING": ("PENDING",), "FAILED": ("PENDING", "RUNNING", "FAILED"),
                  # jobs
                  "DONE": ("PENDING", "RUNNING"), "CANCELLED": ("PENDING", "RUNNING", "CANCELLING")}


def wait_for(ctx: Ctx, parts: list[str], wanted: str, timeout_seconds: float) -> str:
    """<service>!SPCS_WAIT_FOR('<status>', <seconds>): blocks until the service shows the status; an error
    naming the current status on timeout, or at once when the status cannot come (a suspended service
    does not start by waiting). Any of OWNERSHIP / USAGE / MONITOR / OPERATE (spcs-reference 3.14)."""
    service = _visible(ctx, parts, "SPCS_WAIT_FOR")
    wanted = wanted.upper()
    deadline = time.time() + max(0.0, float(timeout_seconds))
    while True:
        service = ctx.catalog.by_id(service.id) or service
        current = status(ctx, service)
        if current == wanted:
            return f"Service {service.name} reached status {wanted}."
        if current not in REACHABLE_FROM.get(wanted, (current,)) or time.time() >= deadline:
            raise errors.SnowflakeError(
                2143, "22000",
                f"Service {service.name} did not reach status {wanted}: its status is {current}.")
        time.sleep(0.2)


def wait_for_services(ctx: Ctx, timeout_seconds: Any, *names: str) -> str:
    """SYSTEM$WAIT_FOR_SERVICES(<seconds>, '<svc>' [, ...]): 'OK' once every service is RUNNING with no
    upgrade in progress; returns early with the failure when one is FAILED; an error on timeout."""
    if not names:
        raise errors.invalid_value("SYSTEM$WAIT_FOR_SERVICES needs at least one service name.")
    watched = [_visible(ctx, _name_parts(n), "SYSTEM$WAIT_FOR_SERVICES") for n in names]
    deadline = time.time() + max(0.0, float(timeout_seconds))
    while True:
        states = {s.name: status(ctx, s) for s in watched}
        failed = [n for n, st in states.items() if st == "FAILED"]
        if failed:
            return f"Service {failed[0]} is FAILED."
        upgrading = [s.name for s in watched if ctx.core.observed.value(s.id, "upgrading", False)]
        if all(st == "RUNNING" for st in states.values()) and not upgrading:
            return "OK"
        if time.time() >= deadline:
            waiting = ", ".join(f"{n} is {st}" for n, st in states.items() if st != "RUNNING" or n in upgrading)
            raise errors.SnowflakeError(2143, "22000",
                                        f"Timed out waiting for services to become ready: {waiting}.")
        time.sleep(0.2)


def get_logs(ctx: Ctx, name: str, instance: Any, container: str, lines: int | None = None,
             previous: bool = False, since: str | None = None, timestamps: bool = False) -> str:
    """SYSTEM$GET_SERVICE_LOGS (5 arguments, or the snow CLI's 7): the container's recent output."""
    service = _visible(ctx, _name_parts(name), "SYSTEM$GET_SERVICE_LOGS")
    known = {(str(c.get("instanceId")), c.get("containerName")): c for c in containers(ctx, service)}
    entry = known.get((str(instance), container))
    if entry is None:
        raise errors.invalid_value(f"Container '{container}' of instance {instance} not found in service "
                                   f"{service.name}.")
    if entry.get("status") == "PENDING" and not entry.get("startTime"):
        raise errors.SnowflakeError(
            2143, "22000", f"Container Status: PENDING, the container of service {service.name} has not started.")
    after = datetime.fromisoformat(since.replace("Z", "+00:00")) if since else None
    log_lines = ctx.core.runtime.logs(entry["podId"], container, since=after, tail=lines, previous=previous)
    rendered = [line.render() if timestamps else line.text for line in log_lines]
    text = "\n".join(rendered)
    return text[-100_000:]
