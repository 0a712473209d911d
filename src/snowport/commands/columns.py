"""SHOW and DESCRIBE output described once per kind, for every surface.

A `Columns` is the ordered list of a kind's SHOW (or DESCRIBE) columns, each with its Snowflake
type and how to read it from a domain value. The SQL surface renders it as a rowset, the REST
API will render the same description as JSON bodies, so SQL and REST cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from snowport.catalog.store import CatalogObject


@dataclass(frozen=True)
class Col:
    name: str
    type: str = "text"  # text | fixed | timestamp_ltz | boolean
    value: Callable[[Any], Any] | None = None  # reads the column from a row's source value

    def read(self, item: Any) -> Any:
        if self.value is not None:
            return self.value(item)
        if isinstance(item, dict):
            return item.get(self.name)
        return getattr(item, self.name, None)


@dataclass(frozen=True)
class Columns:
    cols: tuple[Col, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.cols]

    def rows(self, items: Iterable[Any]) -> list[tuple[Any, ...]]:
        return [tuple(c.read(item) for c in self.cols) for item in items]

    def dicts(self, items: Iterable[Any]) -> list[dict[str, Any]]:
        """The same values keyed by column name (what a JSON surface sends)."""
        return [{c.name: c.read(item) for c in self.cols} for item in items]


def columns(*cols: Col) -> Columns:
    return Columns(tuple(cols))


@dataclass(frozen=True)
class Rows:
    """What a SHOW or DESCRIBE command returns: its column description and the values to render."""

    columns: Columns
    items: list[Any]
    describe: bool = False

    def tuples(self) -> list[tuple[Any, ...]]:
        return self.columns.rows(self.items)


# ---- Snowflake's value conventions in SHOW output ----------------------------------------
def like_matcher(pattern: str | None) -> Callable[[str], bool]:
    """SHOW ... LIKE is case-insensitive with % and _ wildcards."""
    if pattern is None:
        return lambda _name: True
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    compiled = re.compile(f"^{regex}$", re.IGNORECASE | re.DOTALL)
    return lambda name: bool(compiled.match(name))


def ts(epoch: float | None) -> datetime | None:
    return None if not epoch else datetime.fromtimestamp(epoch, UTC)


def yn(flag: Any) -> str:
    return "Y" if flag else "N"


def tf(flag: Any) -> str:
    return "true" if flag else "false"


def owner_role_type(obj: CatalogObject) -> str:
    return "ROLE" if obj.owner else ""


def created_on(of: Callable[[Any], CatalogObject] = lambda item: item) -> Col:
    """created_on of the row's object (`of` picks it out of a row that wraps it)."""
    return Col("created_on", "timestamp_ltz", lambda item: of(item).created_dt)


def schema_object(of: Callable[[Any], CatalogObject] = lambda item: item) -> tuple[Col, ...]:
    """The columns every schema object's SHOW starts with: created_on, name, database_name, schema_name."""
    return (created_on(of), Col("name", value=lambda item: of(item).name),
            Col("database_name", value=lambda item: of(item).database),
            Col("schema_name", value=lambda item: of(item).schema))


def name_col() -> Col:
    return Col("name", value=lambda o: o.name)


def owner_col() -> Col:
    return Col("owner", value=lambda o: o.owner)


def comment_col(empty: str | None = "") -> Col:
    return Col("comment", value=lambda o: o.comment if o.comment is not None else empty)


def owner_role_type_col() -> Col:
    return Col("owner_role_type", value=owner_role_type)
