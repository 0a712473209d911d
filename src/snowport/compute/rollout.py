"""Which pods to delete and which instances to (re)create: one service's rollout as a pure decision.

The service controller lists a service's pods, marks each as *fresh* (it runs the spec the catalog holds
now) or *stale* (an older spec: the service was upgraded with ALTER SERVICE ... FROM), and asks `plan`
what to do next. Kept apart from the controller so the rules can be tested without an engine:

* Pods of instances no longer wanted (scale-in, suspend, drop) are deleted.
* A missing instance is created; a fresh pod that is ready retires the stale pods of its instance.
* An upgrade replaces **one instance at a time, highest instance id first** (spcs-reference 3.3). In
  place (stale pod deleted, then the fresh one created: TERMINATING -> PENDING -> READY) when the other
  ready instances still make MIN_READY_INSTANCES; otherwise the fresh pod is started beside the stale one
  and the stale one is removed once the fresh one is ready, so readiness never drops below
  MIN_READY_INSTANCES during an upgrade.
* While a replaced instance is not ready yet, the rollout waits. (A new spec that never gets ready
  therefore stops the rollout with the remaining instances on the old spec, as Kubernetes does.)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PodView:
    """What the plan needs to know of one pod."""

    pod_id: str
    instance: int
    fresh: bool  # runs the current spec
    ready: bool


@dataclass(frozen=True)
class Plan:
    delete: tuple[str, ...]  # pod ids, deleted before anything is created
    create: tuple[int, ...]  # instances whose fresh pod is created
    upgrading: bool  # some wanted instance still runs an older spec


def plan(pods: Iterable[PodView], wanted: Sequence[int], min_ready: int,
         replaced_in_place: frozenset[int] = frozenset()) -> Plan:
    """`replaced_in_place`: instances whose fresh pod has the stale pod's id (only the pod spec, not the
    service spec, changed), so it cannot start beside it."""
    by_instance: dict[int, list[PodView]] = {}
    delete: list[str] = []
    for pod in pods:
        if pod.instance in wanted:
            by_instance.setdefault(pod.instance, []).append(pod)
        else:
            delete.append(pod.pod_id)
    create: list[int] = []
    candidates: list[int] = []
    in_flight = False
    ready_now = sum(1 for i in wanted if any(p.ready for p in by_instance.get(i, ())))
    rolling = any(not p.fresh for i in wanted for p in by_instance.get(i, ()))
    for instance in wanted:
        mine = by_instance.get(instance, [])
        fresh = [p for p in mine if p.fresh]
        stale = [p for p in mine if not p.fresh]
        if fresh and any(p.ready for p in fresh):
            delete.extend(p.pod_id for p in stale)
        elif fresh:
            in_flight = in_flight or rolling
        elif not stale:
            create.append(instance)
        else:
            candidates.append(instance)
    if candidates and not in_flight:
        instance = max(candidates)
        stale = by_instance[instance]
        without = ready_now - (1 if any(p.ready for p in stale) else 0)
        if without >= min_ready or instance in replaced_in_place:
            delete.extend(p.pod_id for p in stale)
        create.append(instance)
    return Plan(tuple(delete), tuple(create), rolling)


def revision(parts: Sequence[object]) -> str:
    """A short stable id of a service spec version, part of its pods' ids (so old and new can coexist)."""
    return hashlib.sha256(json.dumps(list(parts), sort_keys=True, default=str).encode()).hexdigest()[:8]
