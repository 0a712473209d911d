"""A small, level-triggered controller runner (Kubernetes controller-runtime, in miniature).

Background work is split into *reconcilers*, one per concern (warehouse auto-suspend, session
expiry, registry garbage collection, later compute pools and services). A reconciler names the
objects it manages right now (`keys()`) and brings one of them to its desired state
(`reconcile(key)`). The runner decides when:

* **Level-triggered.** Every `interval` seconds the runner lists a reconciler's keys and queues
  each of them (a *resync*); a reconcile looks at the object as it is now, not at an event, so a
  missed or duplicated trigger costs nothing. `notify(name, key)` queues one key at once, so a
  command that just created or changed an object can ask for prompt reconciliation.
* **A work queue that deduplicates.** A key queued several times before a worker takes it is
  reconciled once. A key queued while it is being reconciled is reconciled once more afterwards
  (the change may have come after the reconcile read the object), never concurrently.
* **Retries with backoff.** `reconcile` raising means "try again": the key is retried after an
  exponential delay with jitter (0.5 s doubling to 60 s by default), reset by the next success.
  Resyncs do not shorten a pending backoff; `notify` does (it reports a change, so a prompt try
  is worth it).
* **Isolation.** A small pool of worker threads (4 by default) takes keys from one queue shared
  by all reconcilers, so a failing key only delays itself and a slow key holds one worker, not
  the others. Listing keys is queued work too, so a slow `keys()` does not delay other resyncs.
* **A clean stop.** `stop(timeout)` takes no new work, lets in-flight reconciles finish and joins
  the threads, within the timeout.

Reconcile functions are synchronous and may block (garbage collection does disk I/O); they must
be idempotent and treat a key whose object has gone as done.

`status()` reports per reconciler counters and the keys currently failing, for SHOW output or a
console later.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

log = logging.getLogger("snowport.controllers")


@runtime_checkable
class Reconciler(Protocol):
    """One concern's controller.

    `name` identifies it (unique within a runner); `interval` is the resync period in seconds;
    `keys()` lists the objects it manages now; `reconcile(key)` brings one object to its desired
    state, is idempotent, and raises to ask for a retry with backoff. A reconciler may set
    `max_backoff` (seconds) to retry sooner than the runner's `max_delay`.
    """

    name: str
    interval: float

    def keys(self) -> Iterable[Hashable]: ...

    def reconcile(self, key: Hashable) -> None: ...


@dataclass(frozen=True)
class KeyFailure:
    """A key whose latest reconcile failed: how many times in a row, the error, the next try."""

    failures: int
    error: str
    retry_in: float | None  # seconds until the retry; None if not waiting on a backoff (queued or running)


@dataclass(frozen=True)
class ReconcilerStatus:
    """A snapshot of one reconciler's counters (totals since start)."""

    name: str
    interval: float
    reconciles: int  # reconcile calls, successful or not
    failures: int  # reconcile calls that raised
    resyncs: int  # key listings
    keys: int  # keys found by the last listing
    queued: int  # keys waiting for a worker
    in_flight: int  # keys being reconciled now
    list_error: str | None  # the last listing's error, if it failed
    errors: dict[Hashable, KeyFailure]  # keys whose latest reconcile failed


class _Resync:
    """The queue key that stands for "list this reconciler's keys"."""

    def __repr__(self) -> str:
        return "<resync>"


_RESYNC = _Resync()

_Item = tuple[str, Hashable]  # (reconciler name, key)


@dataclass
class _Counters:
    reconciles: int = 0
    failures: int = 0
    resyncs: int = 0
    keys: int = 0
    list_error: str | None = None
    errors: dict[Hashable, tuple[int, str]] = field(default_factory=dict)  # key -> (failures, error)


class ControllerRunner:
    """Runs reconcilers on a pool of worker threads; see the module docstring for the semantics."""

    def __init__(
        self,
        reconcilers: Sequence[Reconciler],
        *,
        workers: int = 4,
        base_delay: float = 0.5,
        max_delay: float = 60.0,
        jitter: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`jitter` is the fraction by which a backoff delay is randomly shortened (0 disables it)."""
        names = [r.name for r in reconcilers]
        if len(set(names)) != len(names):
            raise ValueError(f"reconciler names must be unique: {names}")
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self._reconcilers = {r.name: r for r in reconcilers}
        self._workers = workers
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._jitter = jitter
        self._clock = clock
        self._random = random.Random()

        self._cond = threading.Condition()
        self._ready: deque[_Item] = deque()  # FIFO of items a worker may take; none of them in flight
        self._queued: set[_Item] = set()  # the items in _ready, for deduplication
        self._active: set[_Item] = set()  # items being reconciled
        self._dirty: set[_Item] = set()  # items queued while in flight: run again once done
        self._delayed: list[tuple[float, int, _Item]] = []  # heap of (due, seq, item); stale entries skipped
        self._due: dict[_Item, float] = {}  # item -> due time of its live entry in _delayed
        self._attempts: dict[_Item, int] = {}  # consecutive failures per item, for the backoff
        self._seq = itertools.count()
        self._counters = {name: _Counters() for name in self._reconcilers}
        self._threads: list[threading.Thread] = []
        self._started = False
        self._stopping = False

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the workers and queue a first resync of every reconciler."""
        with self._cond:
            if self._started:
                raise RuntimeError("controller runner already started")
            self._started = True
            for name in self._reconcilers:
                self._enqueue((name, _RESYNC))
        for i in range(self._workers):
            # daemon threads: a reconcile stuck past stop()'s timeout must not keep the process alive
            thread = threading.Thread(target=self._work, name=f"snowport-controller-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> bool:
        """Take no new work, wait for in-flight reconciles and join the workers, within `timeout`
        seconds. Returns whether everything stopped in time (queued and delayed work is dropped;
        the next start's resync finds it again)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._stopping = True
            self._ready.clear()
            self._queued.clear()
            self._dirty.clear()
            self._delayed.clear()
            self._due.clear()
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in self._threads if t.is_alive()]
        if alive:
            with self._cond:
                busy = sorted(f"{name}:{key!r}" for name, key in self._active)
            log.warning("controllers did not stop within %.1fs; still running: %s", timeout, ", ".join(busy))
            return False
        return True

    # -- triggers ----------------------------------------------------------------------------

    def notify(self, reconciler: str, key: Hashable, after: float = 0.0) -> None:
        """Queue `key` of `reconciler` for reconciliation now (skipping any pending backoff), or `after`
        seconds (a follow-up, e.g. while an instance starts; an earlier pending time wins).

        Cheap and thread-safe; a no-op once the runner is stopping."""
        if reconciler not in self._reconcilers:
            raise KeyError(f"no reconciler named {reconciler!r}")
        with self._cond:
            if after > 0:
                self._schedule((reconciler, key), after)
                return
            self._drop_delayed((reconciler, key))
            self._enqueue((reconciler, key))

    def resync(self, reconciler: str) -> None:
        """List `reconciler`'s keys now instead of at its next interval."""
        self.notify(reconciler, _RESYNC)

    # -- observability -----------------------------------------------------------------------

    def status(self) -> dict[str, ReconcilerStatus]:
        """Per reconciler: counters, queue depth, and the keys whose latest reconcile failed."""
        now = self._clock()
        with self._cond:
            out = {}
            for name, reconciler in self._reconcilers.items():
                c = self._counters[name]
                errors = {}
                for key, (failures, error) in c.errors.items():
                    due = self._due.get((name, key))
                    errors[key] = KeyFailure(failures, error, None if due is None else max(0.0, due - now))
                out[name] = ReconcilerStatus(
                    name=name,
                    interval=reconciler.interval,
                    reconciles=c.reconciles,
                    failures=c.failures,
                    resyncs=c.resyncs,
                    keys=c.keys,
                    queued=sum(1 for n, k in self._queued if n == name and k is not _RESYNC),
                    in_flight=sum(1 for n, k in self._active if n == name and k is not _RESYNC),
                    list_error=c.list_error,
                    errors=errors,
                )
            return out

    # -- queue internals (all called with self._cond held) ------------------------------------

    def _enqueue(self, item: _Item) -> None:
        if self._stopping:
            return
        if item in self._active:
            self._dirty.add(item)
        elif item not in self._queued:
            self._queued.add(item)
            self._ready.append(item)
            self._cond.notify()

    def _schedule(self, item: _Item, delay: float) -> None:
        """Queue `item` after `delay` seconds (an earlier pending due time wins)."""
        if self._stopping:
            return
        due = self._clock() + delay
        if item in self._due and self._due[item] <= due:
            return
        self._due[item] = due
        heapq.heappush(self._delayed, (due, next(self._seq), item))
        self._cond.notify()

    def _drop_delayed(self, item: _Item) -> None:
        self._due.pop(item, None)  # its heap entry becomes stale and is skipped when it comes due

    def _promote_due(self) -> float | None:
        """Move delayed items that are due to the ready queue; return seconds until the next one."""
        now = self._clock()
        while self._delayed:
            due, _, item = self._delayed[0]
            if self._due.get(item) != due:
                heapq.heappop(self._delayed)  # stale: rescheduled or notified meanwhile
            elif due <= now:
                heapq.heappop(self._delayed)
                del self._due[item]
                self._enqueue(item)
            else:
                return due - now
        return None

    def _next_item(self) -> _Item | None:
        with self._cond:
            while True:
                if self._stopping:
                    return None
                wait = self._promote_due()
                if self._ready:
                    item = self._ready.popleft()
                    self._queued.discard(item)
                    self._active.add(item)
                    return item
                self._cond.wait(wait)

    def _backoff(self, attempts: int, cap: float | None = None) -> float:
        delay = min(self._max_delay if cap is None else cap, self._base_delay * 2 ** min(attempts - 1, 62))
        return delay * (1 - self._jitter * self._random.random())

    # -- workers -----------------------------------------------------------------------------

    def _work(self) -> None:
        while (item := self._next_item()) is not None:
            try:
                if item[1] is _RESYNC:
                    self._run_resync(item)
                else:
                    self._run_reconcile(item)
            finally:
                with self._cond:
                    self._active.discard(item)
                    if item in self._dirty:
                        self._dirty.discard(item)
                        self._enqueue(item)

    def _run_resync(self, item: _Item) -> None:
        name = item[0]
        reconciler = self._reconcilers[name]
        try:
            keys = list(dict.fromkeys(reconciler.keys()))
        except Exception as exc:
            with self._cond:
                attempts = self._attempts[item] = self._attempts.get(item, 0) + 1
                self._counters[name].list_error = f"{type(exc).__name__}: {exc}"
                self._schedule(item, min(self._backoff(attempts), reconciler.interval))
            log.warning("controller %s: listing keys failed", name, exc_info=attempts == 1)
            return
        with self._cond:
            self._attempts.pop(item, None)
            c = self._counters[name]
            c.resyncs += 1
            c.keys = len(keys)
            c.list_error = None
            for key in keys:
                if (name, key) not in self._due:  # a key waiting out a backoff keeps waiting
                    self._enqueue((name, key))
            self._schedule(item, reconciler.interval)

    def _run_reconcile(self, item: _Item) -> None:
        name, key = item
        try:
            self._reconcilers[name].reconcile(key)
        except Exception as exc:
            with self._cond:
                c = self._counters[name]
                c.reconciles += 1
                c.failures += 1
                attempts = self._attempts[item] = self._attempts.get(item, 0) + 1
                c.errors[key] = (attempts, f"{type(exc).__name__}: {exc}")
                delay = self._backoff(attempts, getattr(self._reconcilers[name], "max_backoff", None))
                if item not in self._dirty:  # notified meanwhile: it runs again at once instead
                    self._schedule(item, delay)
            # the traceback once per failure streak; afterwards one line per retry
            log.warning("controller %s: reconcile of %r failed (attempt %d, retry in %.1fs): %s",
                        name, key, attempts, delay, exc, exc_info=attempts == 1)
            return
        with self._cond:
            c = self._counters[name]
            c.reconciles += 1
            self._attempts.pop(item, None)
            c.errors.pop(key, None)
