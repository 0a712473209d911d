"""Shared helpers for SHOW output: LIKE filtering and Snowflake's value conventions."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from snowport.catalog.store import CatalogObject


def like_matcher(pattern: str | None):
    """SHOW ... LIKE is case-insensitive with % and _ wildcards."""
    if pattern is None:
        return lambda _name: True
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    compiled = re.compile(f"^{regex}$", re.IGNORECASE | re.DOTALL)
    return lambda name: bool(compiled.match(name))


def ts(epoch: float | None) -> datetime | None:
    return None if not epoch else datetime.fromtimestamp(epoch, UTC)


def yn(flag: bool) -> str:
    return "Y" if flag else "N"


def tf(flag: bool) -> str:
    return "true" if flag else "false"


def owner_role_type(obj: CatalogObject) -> str:
    return "ROLE" if obj.owner else ""
