"""Property values as statements give them, checked the way Snowflake checks them."""

from __future__ import annotations

from typing import Any

from snowport import errors


def boolean(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.upper() in ("TRUE", "FALSE"):
        return value.upper() == "TRUE"
    raise errors.invalid_value(f"invalid value [{value}] for parameter '{field}'")


def unknown(key: str, kind: str) -> errors.SnowflakeError:
    return errors.invalid_value(f"invalid property '{key}' for '{kind}'")


def only(props: dict[str, Any], allowed: set[str] | tuple[str, ...], kind: str) -> None:
    """Refuse the first property the kind does not have, before anything is applied."""
    for key in props:
        if key not in allowed:
            raise unknown(key, kind)
