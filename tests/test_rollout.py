"""The rollout plan of one service (compute/rollout.py): pure decisions, no engine."""

from __future__ import annotations

from snowport.compute.rollout import PodView, plan


def pods(*specs: tuple[int, bool, bool]) -> list[PodView]:
    return [PodView(f"p{i}-{'new' if fresh else 'old'}", i, fresh, ready) for i, fresh, ready in specs]


def test_missing_instances_are_created_and_unwanted_ones_deleted():
    todo = plan(pods((0, True, True), (3, True, True)), [0, 1], min_ready=1)
    assert todo.create == (1,) and todo.delete == ("p3-new",) and not todo.upgrading


def test_upgrade_starts_with_the_highest_instance_in_place_when_enough_stay_ready():
    todo = plan(pods((0, False, True), (1, False, True), (2, False, True)), [0, 1, 2], min_ready=2)
    assert todo.delete == ("p2-old",) and todo.create == (2,) and todo.upgrading


def test_upgrade_surges_when_replacing_in_place_would_drop_below_min_ready():
    todo = plan(pods((0, False, True), (1, False, True)), [0, 1], min_ready=2)
    assert todo.delete == () and todo.create == (1,)


def test_one_instance_at_a_time_until_the_replaced_one_is_ready():
    waiting = plan(pods((0, False, True), (1, False, True), (2, True, False)), [0, 1, 2], min_ready=1)
    assert waiting.delete == () and waiting.create == ()
    next_one = plan(pods((0, False, True), (1, False, True), (2, True, True)), [0, 1, 2], min_ready=1)
    assert next_one.create == (1,) and next_one.delete == ("p1-old",)


def test_a_ready_surge_pod_retires_the_old_one():
    todo = plan(pods((0, False, True), (0, True, True)), [0], min_ready=1)
    assert todo.delete == ("p0-old",) and todo.create == ()


def test_a_pod_whose_id_cannot_change_is_replaced_in_place():
    todo = plan(pods((0, False, True)), [0], min_ready=1, replaced_in_place=frozenset({0}))
    assert todo.delete == ("p0-old",) and todo.create == (0,)
