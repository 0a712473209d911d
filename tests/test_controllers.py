"""The controller runner: dedupe, backoff, isolation of failing and slow keys, notify, clean stop.

Unit tests drive the runner with small reconcilers defined here; one integration test checks
that a real server with a short tick still stops cleanly with its controllers running.
(Warehouse auto-suspend through the connector is covered in test_warehouses.py.)
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator

import pytest

from snowport.compute.controllers import (
    REGISTRY_GC,
    SESSIONS,
    WAREHOUSES,
    SessionReconciler,
    WarehouseReconciler,
    build_runner,
)
from snowport.compute.runner import ControllerRunner, Reconciler
from snowport.config import Settings

from conftest import start_server

WAIT = 5.0  # generous upper bound for events that normally fire within milliseconds


class Recorder:
    """A reconciler whose behaviour per call is a function; records calls and concurrency."""

    def __init__(self, name: str = "test", interval: float = 3600.0, keys: Iterable[Hashable] = (),
                 action: Callable[[Hashable, int], None] | None = None) -> None:
        self.name = name
        self.interval = interval
        self.key_list = list(keys)
        self.action = action
        self.calls: Counter[Hashable] = Counter()
        self.times: dict[Hashable, list[float]] = {}
        self.listings = 0
        self.listed = threading.Event()
        self.max_concurrent: Counter[Hashable] = Counter()
        self._running: Counter[Hashable] = Counter()
        self._lock = threading.Lock()

    def keys(self) -> list[Hashable]:
        self.listings += 1
        self.listed.set()
        return list(self.key_list)

    def reconcile(self, key: Hashable) -> None:
        with self._lock:
            self.calls[key] += 1
            n = self.calls[key]
            self.times.setdefault(key, []).append(time.monotonic())
            self._running[key] += 1
            self.max_concurrent[key] = max(self.max_concurrent[key], self._running[key])
        try:
            if self.action:
                self.action(key, n)
        finally:
            with self._lock:
                self._running[key] -= 1


@pytest.fixture
def make_runner() -> Iterator[Callable[..., ControllerRunner]]:
    runners: list[ControllerRunner] = []

    def make(*reconcilers: Reconciler, **options) -> ControllerRunner:
        runner = ControllerRunner(list(reconcilers), **options)
        runners.append(runner)
        runner.start()
        return runner

    yield make
    for runner in runners:
        runner.stop(2)


def wait_for(predicate: Callable[[], bool], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


def idle(runner: ControllerRunner, name: str = "test") -> bool:
    status = runner.status()[name]
    return status.queued == 0 and status.in_flight == 0


def test_reconciler_protocol():
    assert isinstance(Recorder(), Reconciler)


def test_a_key_queued_several_times_is_reconciled_once(make_runner):
    release = threading.Event()

    def action(key, _n):
        if key == "block":
            release.wait(WAIT)

    rec = Recorder(action=action)
    runner = make_runner(rec, workers=1)
    runner.notify("test", "block")
    assert wait_for(lambda: rec.calls["block"] == 1)
    for _ in range(5):
        runner.notify("test", "a")
    assert runner.status()["test"].queued == 1
    release.set()
    assert wait_for(lambda: idle(runner))
    assert rec.calls == Counter({"block": 1, "a": 1})


def test_backoff_doubles_up_to_the_cap_and_resets_on_success(make_runner):
    fail_until = {"k": 4}
    done = threading.Event()

    def action(key, n):
        if n < fail_until[key]:
            raise RuntimeError(f"attempt {n} failed")
        done.set()

    rec = Recorder(action=action)
    runner = make_runner(rec, base_delay=0.1, max_delay=0.25, jitter=0)
    runner.notify("test", "k")
    assert wait_for(lambda: rec.calls["k"] == 3)
    failing = runner.status()["test"].errors["k"]
    assert failing.failures == 3 and failing.error == "RuntimeError: attempt 3 failed"
    assert done.wait(WAIT)
    t = rec.times["k"]
    gaps = [b - a for a, b in zip(t, t[1:], strict=False)]
    assert 0.09 <= gaps[0] < 0.2  # 0.1
    assert 0.19 <= gaps[1] < 0.35  # 0.2
    assert 0.24 <= gaps[2] < 0.38  # capped at 0.25 (uncapped: 0.4)
    assert wait_for(lambda: idle(runner))
    status = runner.status()["test"]
    assert (status.reconciles, status.failures, status.errors) == (4, 3, {})

    # a success resets the backoff: the next failure is retried after the base delay again
    done.clear()
    fail_until["k"] = 6
    runner.notify("test", "k")
    assert done.wait(WAIT)
    t = rec.times["k"]
    assert 0.09 <= t[5] - t[4] < 0.2


def test_a_reconciler_can_cap_its_own_backoff_below_the_runners(make_runner):
    """The service controller retries a failed start within seconds although the runner allows a minute."""
    done = threading.Event()

    def action(_key, n):
        if n < 4:
            raise RuntimeError("no")
        done.set()

    rec = Recorder(action=action)
    rec.max_backoff = 0.12
    runner = make_runner(rec, base_delay=0.1, max_delay=60, jitter=0)
    runner.notify("test", "k")
    assert done.wait(WAIT)
    t = rec.times["k"]
    assert 0.11 <= t[3] - t[2] < 0.3  # capped at 0.12 (uncapped: 0.4)


def test_backoff_jitter_only_shortens_the_delay(make_runner):
    done = threading.Event()

    def action(_key, n):
        if n < 4:
            raise RuntimeError("no")
        done.set()

    rec = Recorder(action=action)
    runner = make_runner(rec, base_delay=0.05, max_delay=0.1, jitter=0.5)
    runner.notify("test", "k")
    assert done.wait(WAIT)
    t = rec.times["k"]
    gaps = [b - a for a, b in zip(t, t[1:], strict=False)]
    assert 0.024 <= gaps[0] < 0.1
    assert 0.049 <= gaps[2] < 0.15


def test_a_failing_key_does_not_stall_the_others(make_runner):
    def action(key, _n):
        if key == "bad":
            raise ValueError("broken object")

    rec = Recorder(interval=0.02, keys=["bad", "good1", "good2"], action=action)
    runner = make_runner(rec, workers=1, base_delay=0.3, jitter=0)
    assert wait_for(lambda: rec.calls["good1"] >= 5 and rec.calls["good2"] >= 5)
    # resyncs keep reconciling the good keys; the bad one waits out its backoff
    assert rec.calls["bad"] <= 2
    status = runner.status()["test"]
    assert list(status.errors) == ["bad"]
    assert status.errors["bad"].error == "ValueError: broken object"


def test_a_slow_key_does_not_block_the_others(make_runner):
    release = threading.Event()
    fast_done = threading.Event()

    def action(key, _n):
        if key == "slow":
            release.wait(WAIT)
        elif key == "fast3":
            fast_done.set()

    rec = Recorder(action=action)
    runner = make_runner(rec, workers=2)
    runner.notify("test", "slow")
    assert wait_for(lambda: rec.calls["slow"] == 1)
    for key in ("fast1", "fast2", "fast3"):
        runner.notify("test", key)
    assert fast_done.wait(WAIT)
    assert not release.is_set() and runner.status()["test"].in_flight == 1
    release.set()


def test_the_same_key_is_never_reconciled_concurrently(make_runner):
    release = threading.Event()
    second = threading.Event()

    def action(_key, n):
        if n == 1:
            release.wait(WAIT)
        else:
            second.set()

    rec = Recorder(action=action)
    runner = make_runner(rec, workers=4)
    runner.notify("test", "a")
    assert wait_for(lambda: rec.calls["a"] == 1)
    for _ in range(5):
        runner.notify("test", "a")  # while in flight: remembered, not started on another worker
    time.sleep(0.05)
    assert rec.calls["a"] == 1
    release.set()
    assert second.wait(WAIT)  # the change noticed meanwhile gets one more reconcile
    assert wait_for(lambda: idle(runner))
    assert rec.calls["a"] == 2 and rec.max_concurrent["a"] == 1


def test_notify_and_resync_act_promptly(make_runner):
    reconciled = threading.Event()
    rec = Recorder(interval=3600, action=lambda key, _n: reconciled.set())
    runner = make_runner(rec)
    assert rec.listed.wait(WAIT)  # the first resync runs at start
    started = time.monotonic()
    runner.notify("test", "x")
    assert reconciled.wait(WAIT)
    assert time.monotonic() - started < 0.5

    reconciled.clear()
    rec.listed.clear()
    rec.key_list = ["y"]
    runner.resync("test")  # lists now instead of in an hour
    assert rec.listed.wait(WAIT) and reconciled.wait(WAIT)
    assert rec.calls == Counter({"x": 1, "y": 1})
    with pytest.raises(KeyError):
        runner.notify("nope", "x")


def test_notify_skips_a_pending_backoff(make_runner):
    ok = threading.Event()

    def action(_key, n):
        if n == 1:
            raise RuntimeError("first try fails")
        ok.set()

    rec = Recorder(action=action)
    runner = make_runner(rec, base_delay=30, jitter=0)
    runner.notify("test", "k")
    assert wait_for(lambda: "k" in runner.status()["test"].errors)
    assert runner.status()["test"].errors["k"].retry_in > 20
    runner.notify("test", "k")
    assert ok.wait(WAIT)
    assert runner.status()["test"].errors == {}


def test_notify_after_a_delay_follows_up_once(make_runner):
    """A follow-up asked for several times runs once, at the earliest time asked for, not at once."""
    rec = Recorder()
    runner = make_runner(rec)
    asked = time.monotonic()
    runner.notify("test", "k", after=0.3)
    runner.notify("test", "k", after=0.2)
    assert wait_for(lambda: rec.calls["k"] == 1)
    assert 0.19 <= rec.times["k"][0] - asked < 0.3
    time.sleep(0.4)
    assert rec.calls["k"] == 1


def test_periodic_resync_per_reconciler(make_runner):
    fast = Recorder("fast", interval=0.02, keys=["a"])
    slow = Recorder("slow", interval=3600, keys=["b"])
    runner = make_runner(fast, slow)
    assert wait_for(lambda: fast.calls["a"] >= 4)
    assert slow.calls["b"] == 1 and slow.listings == 1
    status = runner.status()
    assert status["fast"].resyncs >= 4 and status["fast"].keys == 1 and status["slow"].resyncs == 1


def test_a_failing_listing_is_retried_and_reported(make_runner):
    class Flaky(Recorder):
        def keys(self):
            if self.listings < 2:
                self.listings += 1
                raise OSError("catalog unavailable")
            return super().keys()

    rec = Flaky(interval=3600, keys=["k"])
    runner = make_runner(rec, base_delay=0.02, jitter=0)
    assert wait_for(lambda: rec.calls["k"] == 1)
    assert runner.status()["test"].list_error is None


def test_stop_waits_for_in_flight_work(make_runner):
    started = threading.Event()
    finished = threading.Event()

    def action(key, _n):
        started.set()
        time.sleep(0.2)
        finished.set()

    rec = Recorder(action=action)
    runner = make_runner(rec, workers=1)
    runner.notify("test", "a")
    runner.notify("test", "b")  # queued behind a: dropped by stop, never started
    assert started.wait(WAIT)
    t0 = time.monotonic()
    assert runner.stop(5) is True
    assert finished.is_set() and time.monotonic() - t0 < 1
    assert not any(t.name.startswith("snowport-controller") for t in threading.enumerate())
    runner.notify("test", "c")  # a no-op after stop
    time.sleep(0.02)
    assert rec.calls == Counter({"a": 1})


def test_stop_returns_within_its_timeout_when_a_reconcile_hangs(make_runner):
    release = threading.Event()
    rec = Recorder(action=lambda _key, _n: release.wait(WAIT))
    runner = make_runner(rec)
    runner.notify("test", "stuck")
    assert wait_for(lambda: rec.calls["stuck"] == 1)
    t0 = time.monotonic()
    assert runner.stop(0.2) is False
    assert 0.15 < time.monotonic() - t0 < 1
    release.set()


def test_server_reconcilers_over_a_real_core(tmp_path):
    """The reconcilers against a real Snowport (in-process, real catalog and sessions), no stand-ins."""
    from snowport.core import Snowport

    settings = Settings(data_dir=tmp_path / "data", admin_password="pw", warehouse_tick_seconds=0.5,
                        registry_gc_interval_seconds=42)
    core = Snowport(settings)
    try:
        user, role = core.authenticate("admin", "pw", None)
        session = core.open_session(user, role, None, None, None)
        assert core.run(session, "CREATE WAREHOUSE WH1 AUTO_SUSPEND = 1").error is None
        wh = WarehouseReconciler(core, 1.0)
        assert wh.keys() == ["WH1"]
        wh.reconcile("WH1")  # just used: stays started
        assert core.run(session, "SHOW WAREHOUSES").result.rows[0][1] == "STARTED"
        time.sleep(1.1)
        wh.reconcile("WH1")
        assert core.run(session, "SHOW WAREHOUSES").result.rows[0][1] == "SUSPENDED"

        idle = core.open_session(user, role, None, None, None)
        idle.master_expires = time.time() - 1
        rec = SessionReconciler(core, 1.0)
        assert rec.keys() == [idle.id]
        rec.reconcile(session.id)  # still alive: left alone
        rec.reconcile(idle.id)
        rec.reconcile(idle.id)  # already closed: nothing to do
        rec.reconcile(99999)
        assert core.sessions.by_id(idle.id) is None and core.sessions.by_id(session.id) is not None

        status = build_runner(core, settings).status()
        assert {name: status[name].interval for name in (WAREHOUSES, SESSIONS, REGISTRY_GC)} == {
            WAREHOUSES: 0.5, SESSIONS: 0.5, REGISTRY_GC: 42}
    finally:
        core.close()


def test_server_with_a_short_tick_runs_and_stops_cleanly(tmp_path):
    server = start_server(tmp_path / "data", SNOWPORT_WAREHOUSE_TICK_SECONDS="0.1",
                          SNOWPORT_REGISTRY_GC_INTERVAL_SECONDS="0.2")
    try:
        conn = server.connect()
        cur = conn.cursor()
        cur.execute("CREATE WAREHOUSE WH_TICK AUTO_SUSPEND = 1")
        time.sleep(0.5)  # a few ticks of every controller while the server is in use
        assert cur.execute("SELECT 1").fetchone() == (1,)
        conn.close()
    finally:
        t0 = time.monotonic()
        server.stop()
    assert server.proc.returncode == 0
    assert time.monotonic() - t0 < 5
    log = server.log()
    assert "Traceback" not in log and "did not stop" not in log and "failed" not in log
