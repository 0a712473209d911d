"""Property values as statements give them, checked the way Snowflake checks them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from snowport import errors
from snowport.catalog.store import CatalogObject


def boolean(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.upper() in ("TRUE", "FALSE"):
        return value.upper() == "TRUE"
    raise errors.invalid_value(f"invalid value [{value}] for parameter '{field}'")


def days(key: str, most: int = 90) -> Callable[[Any], tuple[str, int]]:
    """A whole number of days from 0 to `most` (DATA_RETENTION_TIME_IN_DAYS and the like)."""
    def convert(value: Any) -> tuple[str, int]:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= most:
            raise errors.invalid_value(f"invalid value [{value}] for parameter '{key}'")
        return key.lower(), value
    return convert


def count(key: str) -> Callable[[Any], tuple[str, int]]:
    """A whole number ≥ 0 (MIN_NODES, MIN_INSTANCES, AUTO_SUSPEND_SECS and the like)."""
    def convert(value: Any) -> tuple[str, int]:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise errors.invalid_value(f"invalid value [{value}] for parameter '{key}'")
        return key.lower(), value
    return convert


def unknown(key: str, kind: str) -> errors.SnowflakeError:
    return errors.invalid_value(f"invalid property '{key}' for '{kind}'")


def only(props: dict[str, Any], allowed: set[str] | tuple[str, ...], kind: str) -> None:
    """Refuse the first property the kind does not have, before anything is applied."""
    for key in props:
        if key not in allowed:
            raise unknown(key, kind)


def apply(obj: CatalogObject, values: dict[str, Any], kind: str, allowed: tuple[str, ...],
          convert: dict[str, Callable[[Any], tuple[str, Any]]] | None = None) -> CatalogObject:
    """The object with SET properties applied; an unknown or bad one refuses them all, before any is applied.

    `convert` maps a property to (stored key, stored value); others are stored under their lower-case name."""
    only(values, allowed, kind)
    props = dict(obj.props)
    comment = obj.comment
    for key, value in values.items():
        if key == "COMMENT":
            comment = value
            continue
        stored_key, stored = convert[key](value) if convert and key in convert else (key.lower(), value)
        props[stored_key] = stored
    return obj.evolve(props=props, comment=comment)


def unset(obj: CatalogObject, keys: list[str], kind: str, allowed: tuple[str, ...],
          stored: dict[str, str] | None = None, defaults: dict[str, Any] | None = None) -> CatalogObject:
    """The object with UNSET properties back to their defaults (or gone)."""
    only(dict.fromkeys(keys), allowed, kind)
    props = dict(obj.props)
    for key in keys:
        name = (stored or {}).get(key, key.lower())
        if defaults and name in defaults:
            props[name] = defaults[name]
        else:
            props.pop(name, None)
    return obj.evolve(props=props, comment=None if "COMMENT" in keys else obj.comment)
