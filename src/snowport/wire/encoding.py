"""Result encodings the connector decodes: JSON rowsets (strings per cell) and Arrow IPC."""

from __future__ import annotations

import base64
import json
import math
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from fakesnow.arrow import to_ipc, to_sf

from snowport.sql.result import DML_DELETE, DML_INSERT, DML_UPDATE, Result

EPOCH_DATE = date(1970, 1, 1)
DML_TYPES = {DML_INSERT, DML_UPDATE, DML_DELETE, 0x3000, 0x3400, 0x3500}


def _fraction(dt: datetime | time) -> str:
    return f"{dt.microsecond * 1000:09d}"


def encode_cell(value: Any, sf_type: str, scale: int | None = None) -> str | None:
    """One JSON rowset cell as Snowflake sends it for the column's type."""
    if value is None:
        return None
    t = sf_type.lower()
    if t == "boolean":
        return "1" if value else "0"
    if t == "fixed":
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, Decimal) and scale:
            return f"{value:.{scale}f}"
        return str(value)
    if t == "real":
        f = float(value)
        if math.isnan(f):
            return "NaN"
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return repr(f)
    if t == "date":
        if isinstance(value, datetime):
            value = value.date()
        return str((value - EPOCH_DATE).days)
    if t == "time":
        return f"{value.hour * 3600 + value.minute * 60 + value.second}.{_fraction(value)}"
    if t.startswith("timestamp"):
        if not isinstance(value, datetime):
            return str(value)
        if value.tzinfo is None:
            seconds = int((value.replace(tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() // 1)
        else:
            seconds = int(value.timestamp() // 1)
        body = f"{seconds}.{_fraction(value)}"
        if t == "timestamp_tz":
            offset = value.utcoffset()
            minutes = 0 if offset is None else int(offset.total_seconds() // 60)
            return f"{body} {minutes + 1440}"
        return body
    if t == "binary":
        if isinstance(value, str):
            return value.encode().hex().upper()
        return bytes(value).hex().upper()
    if t in ("variant", "object", "array"):
        if isinstance(value, str):
            return value
        return json.dumps(value, indent=2)
    return str(value)


def arrow_ipc(result: Result) -> bytes:
    """Arrow IPC stream in the connector's layout (fakesnow's `to_sf`, with NULL timestamps kept)."""
    assert result.arrow is not None
    table = to_sf(result.arrow, result.rowtype)  # type: ignore[arg-type]
    for i, original in enumerate(result.arrow.columns):
        if pa.types.is_timestamp(original.type) and original.null_count:
            struct = table.column(i).combine_chunks()
            masked = pa.StructArray.from_arrays(
                struct.flatten(), fields=list(struct.type), mask=pc.is_null(original.combine_chunks())
            )
            table = table.set_column(i, table.schema.field(i), masked)
    return to_ipc(table).to_pybytes()


def json_rowset(result: Result) -> list[list[str | None]]:
    types = [(c["type"], c.get("scale")) for c in result.rowtype]
    return [[encode_cell(v, t, s) for v, (t, s) in zip(row, types, strict=True)] for row in result.python_rows()]


def result_payload(result: Result, prefer_arrow: bool) -> dict[str, Any]:
    """The rowset part of a query response: Arrow for engine results when the client takes it."""
    use_arrow = (
        prefer_arrow
        and result.arrow is not None
        and result.statement_type_id not in DML_TYPES
        and result.arrow.num_rows > 0
    )
    if use_arrow:
        ipc = arrow_ipc(result)
        return {"queryResultFormat": "arrow", "rowsetBase64": base64.b64encode(ipc).decode("ascii")}
    return {"queryResultFormat": "json", "rowset": json_rowset(result)}
