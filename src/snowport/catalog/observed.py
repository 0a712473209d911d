"""Observed state: what controllers and the server saw, kept apart from what users asked for.

A warehouse's running state, a user's last login, a table's load history and (later) each
service instance's status are written often and by the server itself. Keeping them out of the
desired-state snapshot means those writes never invalidate privilege caches, never wait for a
DDL statement's lock, and never make a failed statement's rollback lose a controller's update.
Rows are keyed by object id and removed with the object (see `Catalog.drop`).
"""

from __future__ import annotations

import json
import threading
from typing import Any

from sqlalchemy import delete, insert, select

from snowport.catalog.store import Catalog, observed_table


class ObservedState:
    """Per-object JSON documents, cached in memory and written through to the catalog file."""

    def __init__(self, catalog: Catalog) -> None:
        self._engine = catalog.sql_engine
        self._lock = threading.Lock()
        with self._engine.begin() as conn:
            self._state: dict[int, dict[str, Any]] = {
                row.object_id: json.loads(row.state or "{}") for row in conn.execute(select(observed_table))
            }

    def get(self, object_id: int) -> dict[str, Any]:
        """A copy of what was observed for the object ({} when nothing was)."""
        return dict(self._state.get(object_id, {}))

    def value(self, object_id: int, key: str, default: Any = None) -> Any:
        return self._state.get(object_id, {}).get(key, default)

    def set(self, object_id: int, **values: Any) -> None:
        """Merge values into the object's document (None removes a key)."""
        with self._lock:
            doc = dict(self._state.get(object_id, {}))
            for key, value in values.items():
                if value is None:
                    doc.pop(key, None)
                else:
                    doc[key] = value
            with self._engine.begin() as conn:
                conn.execute(delete(observed_table).where(observed_table.c.object_id == object_id))
                conn.execute(insert(observed_table).values(object_id=object_id, state=json.dumps(doc)))
            self._state[object_id] = doc

    def forget(self, object_id: int) -> None:
        """The object is gone for good (dropped, or purged after its retention)."""
        with self._lock:
            if self._state.pop(object_id, None) is not None:
                with self._engine.begin() as conn:
                    conn.execute(delete(observed_table).where(observed_table.c.object_id == object_id))
