"""The catalog's own guarantees, on a real catalog file: all or nothing, no torn reads, observed state
apart from privilege caches, immutable objects, ids never reused."""

from __future__ import annotations

import threading

import pytest

from snowport.catalog.observed import ObservedState
from snowport.catalog.store import Catalog, CatalogObject, Grant


def _names(catalog: Catalog, kind: str) -> list[str]:
    return [o.name for o in catalog.list(kind)]


def test_a_failing_transaction_changes_nothing_in_memory_or_on_disk(tmp_path):
    path = tmp_path / "catalog.sqlite"
    catalog = Catalog(path)
    kept = catalog.create(CatalogObject(kind="WAREHOUSE", name="W", props={"auto_suspend": 60}))
    undone: list[str] = []
    with pytest.raises(RuntimeError), catalog.transaction() as tx:
        catalog.update(kept.with_props(auto_suspend=5))
        catalog.create(CatalogObject(kind="WAREHOUSE", name="W2"))
        catalog.grant(Grant("USAGE", kept.id, "ROLE", "PUBLIC"))
        tx.on_rollback(lambda: undone.append("engine file"))
        tx.after_commit(lambda: undone.append("never"))
        raise RuntimeError("the statement fails after doing work")
    assert undone == ["engine file"]
    assert catalog.get("WAREHOUSE", "W").props["auto_suspend"] == 60
    assert _names(catalog, "WAREHOUSE") == ["W"]
    assert catalog.grants(object_id=kept.id) == []
    catalog.close()
    reopened = Catalog(path)
    assert reopened.get("WAREHOUSE", "W").props["auto_suspend"] == 60
    assert _names(reopened, "WAREHOUSE") == ["W"]
    assert reopened.grants(object_id=kept.id) == []
    reopened.close()


def test_readers_never_see_half_a_transaction(tmp_path):
    catalog = Catalog(tmp_path / "catalog.sqlite")
    stop = threading.Event()
    torn: list[tuple[int, int]] = []

    def read() -> None:
        while not stop.is_set():
            seen = list(catalog.all_objects())  # one snapshot
            databases = sum(1 for o in seen if o.kind == "DATABASE")
            schemas = sum(1 for o in seen if o.kind == "SCHEMA")
            if databases != schemas:
                torn.append((databases, schemas))

    readers = [threading.Thread(target=read) for _ in range(2)]
    for r in readers:
        r.start()
    try:
        for i in range(150):
            with catalog.transaction():
                catalog.create(CatalogObject(kind="DATABASE", name=f"D{i}"))
                catalog.create(CatalogObject(kind="SCHEMA", name="PUBLIC", database=f"D{i}"))
    finally:
        stop.set()
        for r in readers:
            r.join()
    assert torn == []
    catalog.close()


def test_concurrent_writers_lose_no_update(tmp_path):
    catalog = Catalog(tmp_path / "catalog.sqlite")
    catalog.create(CatalogObject(kind="WAREHOUSE", name="W", props={"n": 0}))

    def bump(times: int) -> None:
        for _ in range(times):
            with catalog.transaction():  # read what you change inside the transaction
                wh = catalog.get("WAREHOUSE", "W")
                catalog.update(wh.with_props(n=wh.props["n"] + 1))

    threads = [threading.Thread(target=bump, args=(50,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert catalog.get("WAREHOUSE", "W").props["n"] == 200
    catalog.close()


def test_observed_state_leaves_privilege_caches_alone(tmp_path):
    catalog = Catalog(tmp_path / "catalog.sqlite")
    observed = ObservedState(catalog)
    wh = catalog.create(CatalogObject(kind="WAREHOUSE", name="W"))
    version = catalog.version
    observed.set(wh.id, state="SUSPENDED")
    catalog.update(wh.with_props(comment_like="props only"))
    assert catalog.version == version  # neither observed state nor a property change alters who may do what
    catalog.grant(Grant("USAGE", wh.id, "ROLE", "PUBLIC"))
    assert catalog.version > version
    assert ObservedState(catalog).value(wh.id, "state") == "SUSPENDED"  # written through
    catalog.close()


def test_objects_are_immutable_and_ids_are_never_reused(tmp_path):
    path = tmp_path / "catalog.sqlite"
    catalog = Catalog(path)
    a = catalog.create(CatalogObject(kind="STAGE", name="A", database="D", schema="S", props={"x": 1}))
    with pytest.raises(TypeError):
        a.props["x"] = 2  # type: ignore[index]
    with pytest.raises(AttributeError):
        a.name = "B"  # type: ignore[misc]
    catalog.drop(a)
    catalog.close()
    reopened = Catalog(path)
    b = reopened.create(CatalogObject(kind="STAGE", name="B", database="D", schema="S"))
    assert b.id > a.id  # a stage's files and observed state hang off its id
    reopened.close()
