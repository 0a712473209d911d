"""Table data: DuckDB files per database, Snowflake SQL translated by fakesnow."""
