"""The Snowflake wire protocol the connector, Snowpark and the snow CLI speak."""
