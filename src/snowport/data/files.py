"""DuckDB table functions that read one staged file (CSV, JSON, Parquet) with Snowflake's format options."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def read_sql(path: Path, fmt: dict[str, Any]) -> str:
    """A DuckDB table function reading one file."""
    p = sql_str(str(path))
    if fmt["TYPE"] == "PARQUET":
        return f"read_parquet({p})"
    if fmt["TYPE"] == "JSON":
        return f"read_json_auto({p}, format='auto')"
    delimiter = str(fmt.get("FIELD_DELIMITER", ","))
    quote = fmt.get("FIELD_OPTIONALLY_ENCLOSED_BY")
    quote = '"' if quote in (None, "NONE") else str(quote)
    skip = int(fmt.get("SKIP_HEADER", 0))
    return (f"read_csv({p}, header=false, skip={skip}, delim={sql_str(delimiter)}, quote={sql_str(quote)}, "
            f"escape={sql_str(quote)}, all_varchar=true, auto_detect=true, compression='auto', "
            f"null_padding=false, strict_mode=false)")
