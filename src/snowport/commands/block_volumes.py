"""Block volumes of a service: the spec rules of spcs-reference 8.4 and how each instance's volume is named.

One volume per (service, volume, instance id), made on the runtime as a *claim* (a PersistentVolumeClaim
in Kubernetes terms) that outlives the instance's pods: a restarted, suspended and resumed, or upgraded
instance gets the same claim back, so it finds its data. `ALTER SERVICE ... RESTORE VOLUME` moves the
restored instances to a new claim (the next *generation*) made from the snapshot; the controller then
replaces those instances' pods and deletes the old claims once no pod uses them.

What the catalog keeps on the service (its props):
* `block_sources`: volume name -> storage key of the `fromSnapshot` snapshot, resolved at CREATE;
* `block_restores`: volume name -> instance id -> {"generation": n, "snapshot": storage key}.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from snowport import errors
from snowport.catalog.store import CatalogObject
from snowport.spec import ServiceSpec
from snowport.spec.quantities import parse_size

SERVICE_LABEL = "snowport.service"
INSTANCE_LABEL = "snowport.instance"
VOLUME_LABEL = "snowport.block-volume"
SNAPSHOT_ON_DELETE = True  # the default for services (spcs-reference 8.4)
DELETE_AFTER = "7d"


@dataclass(frozen=True)
class BlockClaim:
    """One instance's volume as the runtime knows it."""

    name: str  # the claim: DNS-label-like, unique per (service, volume, instance, generation)
    volume: str  # as the spec names it (case-sensitive)
    instance: int
    size_bytes: int
    from_snapshot: str | None  # storage key of the snapshot it starts from, if any
    labels: dict[str, str]


def block_volumes(spec: ServiceSpec) -> list[Any]:
    return [v for v in spec.spec.volumes if v.kind == "block"]


def claim_name(service_id: int, volume: str, instance: int, generation: int) -> str:
    digest = hashlib.sha256(volume.encode()).hexdigest()[:10]
    return f"svc{service_id}-{instance}-{digest}-g{generation}"


def claim_size(volume: Any) -> int:
    return parse_size(volume.size)


def claim(service: CatalogObject, volume: Any, instance: int) -> BlockClaim:
    """The claim an instance of the service mounts for `volume` now."""
    restore = (service.props.get("block_restores") or {}).get(volume.name, {}).get(str(instance))
    generation = int(restore["generation"]) if restore else 0
    source = restore["snapshot"] if restore else (service.props.get("block_sources") or {}).get(volume.name)
    return BlockClaim(claim_name(service.id, volume.name, instance, generation), volume.name, instance,
                      claim_size(volume), source,
                      {SERVICE_LABEL: str(service.id), INSTANCE_LABEL: str(instance), VOLUME_LABEL: volume.name})


def claims(service: CatalogObject, spec: ServiceSpec, instance: int) -> list[BlockClaim]:
    return [claim(service, v, instance) for v in block_volumes(spec)]


def has_block_volumes(spec: ServiceSpec) -> bool:
    return bool(block_volumes(spec))


def check_instances(spec: ServiceSpec, service: CatalogObject) -> None:
    """spcs-reference 8.4: a service with block volumes runs a fixed number of instances."""
    if not has_block_volumes(spec):
        return
    low, high = service.props.get("min_instances", 1), service.props.get("max_instances", 1)
    if low != high:
        raise errors.invalid_value(
            f"Service {service.name} uses block volume '{block_volumes(spec)[0].name}': MIN_INSTANCES ({low}) "
            f"must equal MAX_INSTANCES ({high}) for a service with block volumes.")


def refuse_instance_change(spec: ServiceSpec, service: CatalogObject, keys: list[str]) -> None:
    """ALTER SERVICE SET/UNSET MIN_INSTANCES / MAX_INSTANCES: not for a service with block volumes."""
    touched = [k for k in keys if k.upper() in ("MIN_INSTANCES", "MAX_INSTANCES")]
    if touched and has_block_volumes(spec):
        raise errors.invalid_value(
            f"Cannot change {touched[0].upper()} of service {service.name}: it uses block volumes, whose "
            "instance count is fixed at creation.")


def _fixed(volume: Any) -> tuple[Any, ...]:
    config = volume.block_config
    return (volume.size, config.iops if config else None, config.throughput if config else None,
            (config.encryption if config else None) or "SNOWFLAKE_SSE")


def check_upgrade(old: ServiceSpec, new: ServiceSpec, service: CatalogObject) -> None:
    """spcs-reference 8.4: an upgrade cannot add, remove or resize block volumes (nor change iops,
    throughput or encryption)."""
    before = {v.name: _fixed(v) for v in block_volumes(old)}
    after = {v.name: _fixed(v) for v in block_volumes(new)}
    if before.keys() != after.keys():
        changed = sorted(before.keys() ^ after.keys())[0]
        raise errors.invalid_value(f"Cannot add or remove block volume '{changed}' of service {service.name} "
                                   "by upgrading it.")
    for name, fixed in before.items():
        if after[name] != fixed:
            raise errors.invalid_value(f"Cannot change the size, iops, throughput or encryption of block volume "
                                       f"'{name}' of service {service.name}.")


def refuse_drop_without_force(spec: ServiceSpec, service: CatalogObject) -> None:
    """spcs-reference 3.4: DROP SERVICE of a service with block volumes needs FORCE."""
    if has_block_volumes(spec):
        raise errors.invalid_value(
            f"Service {service.name} has block storage volumes; use DROP SERVICE {service.name} FORCE to drop it "
            "together with its volumes.")


def snapshot_on_delete(volume: Any) -> bool:
    config = volume.block_config
    return SNAPSHOT_ON_DELETE if config is None or config.snapshot_on_delete is None else config.snapshot_on_delete


def delete_after_seconds(volume: Any) -> float:
    """`snapshotDeleteAfter` (<hours>h | <days>d), default 7 days."""
    text = (volume.block_config.snapshot_delete_after if volume.block_config else None) or DELETE_AFTER
    return int(text[:-1]) * (3600 if text.endswith("h") else 86400)
