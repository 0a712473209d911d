"""Values between the data engine's Arrow arrays and the external-function JSON (spcs-reference 7.3).

Arguments: numbers as JSON numbers, strings, booleans, NULL as null, dates and times as strings,
BINARY as hex (BINARY_OUTPUT_FORMAT's default), VARIANT / OBJECT / ARRAY as native JSON. Results come
back as the engine type the UDF is registered with (`result_engine_type`): FLOAT, BOOLEAN and VARCHAR
directly, every other type as text that the statement casts to the declared type, so NUMBER keeps its
exact digits and dates parse the way the engine parses them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pyarrow as pa

from snowport.commands.function_types import SqlType

DIRECT = {"FLOAT": ("DOUBLE", pa.float64()), "BOOLEAN": ("BOOLEAN", pa.bool_()), "VARCHAR": ("VARCHAR", pa.string())}


def result_engine_type(t: SqlType) -> tuple[str, bool]:
    """(the UDF's engine return type, whether the statement casts it to the declared type)."""
    if t.name in DIRECT:
        return DIRECT[t.name][0], False
    return "VARCHAR", True


def _number(scale: int) -> Callable[[Any], Any]:
    def convert(v: Any) -> Any:
        if v is None:
            return None
        if isinstance(v, Decimal):
            return int(v) if scale == 0 or v == v.to_integral_value() else float(v)
        return v
    return convert


def _text(v: Any) -> Any:
    return None if v is None else str(v)


def _hex(v: Any) -> Any:
    return None if v is None else bytes(v).hex().upper()


def _json(v: Any) -> Any:
    return None if v is None else json.loads(v) if isinstance(v, str) else v


def to_json(array: pa.Array | pa.ChunkedArray, t: SqlType) -> list[Any]:
    """One argument column as JSON-ready Python values."""
    values = array.to_pylist()
    if t.name in ("FLOAT", "VARCHAR", "BOOLEAN"):
        return values
    convert: Callable[[Any], Any]
    if t.name == "NUMBER":
        convert = _number(t.scale or 0)
    elif t.name == "BINARY":
        convert = _hex
    elif t.name in ("VARIANT", "OBJECT", "ARRAY"):
        convert = _json
    else:
        convert = _text
    return [convert(v) for v in values]


def _as_text(v: Any) -> Any:
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    return json.dumps(v)


def _as_float(v: Any) -> Any:
    return None if v is None else float(v)


def _as_bool(v: Any) -> Any:
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, str):
        return v.strip().lower() in ("true", "t", "yes", "y", "on", "1")
    return bool(v)


def to_arrow(values: list[Any], t: SqlType) -> pa.Array:
    """The service's results as the UDF's return array (see `result_engine_type`)."""
    if t.name == "FLOAT":
        try:
            return pa.array(values, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            return pa.array([_as_float(v) for v in values], pa.float64())
    if t.name == "BOOLEAN":
        return pa.array([_as_bool(v) for v in values], pa.bool_())
    if t.name in ("VARIANT", "OBJECT", "ARRAY"):
        return pa.array([None if v is None else json.dumps(v) for v in values], pa.string())
    return pa.array([_as_text(v) for v in values], pa.string())
