"""Quantities in a spec ("About units" in the specification reference), parsed exactly.

Binary units `Ki Mi Gi` (x1024^n), decimal units `k M G` (x1000^n) and the fractional `m` (x0.001).
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, Decimal, InvalidOperation

_UNITS = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(1000),
    "M": Decimal(1000) ** 2,
    "G": Decimal(1000) ** 3,
    "Ki": Decimal(1024),
    "Mi": Decimal(1024) ** 2,
    "Gi": Decimal(1024) ** 3,
}
_QUANTITY = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(Ki|Mi|Gi|k|M|G|m)?\s*$")
# "When specifying memory, a unit is required ... The supported units are: M, Mi, G, Gi." (containers.resources)
MEMORY_UNITS = ("M", "Mi", "G", "Gi")
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def as_text(value: object) -> str:
    """A scalar as the text it stands for: YAML numbers and booleans become the strings they read as."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, str):
        return value
    raise ValueError("must be a string or a number")


def split_quantity(value: object) -> tuple[Decimal, str]:
    """(number, unit) of a quantity such as `2G`, `0.5`, `500m`, `5Gi`."""
    if isinstance(value, bool):
        raise ValueError(f"invalid quantity '{as_text(value)}'")
    match = _QUANTITY.match(as_text(value))
    if not match:
        raise ValueError(f"invalid quantity '{as_text(value)}'")
    try:
        number = Decimal(match.group(1))
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise ValueError(f"invalid quantity '{as_text(value)}'") from None
    return number, match.group(2) or ""


def parse_quantity(value: object) -> Decimal:
    """The exact value of a quantity in base units (bytes, cores, ...)."""
    number, unit = split_quantity(value)
    return number * _UNITS[unit]


def parse_memory(value: object) -> int:
    """Bytes of a container memory amount; a unit among M, Mi, G, Gi is required (`2G`, `0.5Gi`)."""
    number, unit = split_quantity(value)
    if unit not in MEMORY_UNITS:
        raise ValueError(f"invalid memory '{as_text(value)}': a unit is required, one of M, Mi, G, Gi")
    return int((number * _UNITS[unit]).to_integral_value(ROUND_CEILING))


def parse_cpu(value: object) -> int:
    """Millicores of a CPU amount: `1` is one vCPU, `0.5` and `500m` are half of one."""
    number, unit = split_quantity(value)
    if unit not in ("", "m"):
        raise ValueError(f"invalid cpu '{as_text(value)}': use vCPUs (0.5) or millicores (500m)")
    millis = number * _UNITS[unit] * 1000
    if millis != millis.to_integral_value():
        raise ValueError(f"invalid cpu '{as_text(value)}': finer than 1m")
    return int(millis)


def parse_size(value: object) -> int:
    """Bytes of a volume size in any unit of "About units" (`2G`, `5Gi`, `1000000`)."""
    number, unit = split_quantity(value)
    if unit == "m":
        raise ValueError(f"invalid size '{as_text(value)}': 'm' is not a unit of bytes")
    size = number * _UNITS[unit]
    if size != size.to_integral_value():
        raise ValueError(f"invalid size '{as_text(value)}': not a whole number of bytes")
    return int(size)


def parse_duration(value: object) -> int:
    """Seconds of a duration such as `1h30m`, `45s`, `7d`, `12h`."""
    text = as_text(value).strip()
    match = _DURATION.match(text)
    if not text or not match:
        raise ValueError(f"invalid duration '{text}': use d, h, m and s units, e.g. 1h30m")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds
