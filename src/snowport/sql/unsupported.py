"""Statements that are valid Snowflake SQL but that Snowport does not run (yet).

`known_statement_kind` names such a statement's kind in Snowflake's wording ('CREATE COMPUTE POOL',
'SHOW SERVICES', 'EXECUTE JOB SERVICE', ...) so the dispatcher can answer
`000002 Unsupported feature '<kind>'` instead of a syntax error that sends the user hunting for a
typo. It reads only the first words, after any leading comments, with one compiled regex.
"""

from __future__ import annotations

import re

# Object kinds Snowport has no commands for, longest first so that e.g. EXTERNAL ACCESS INTEGRATION
# wins over a shorter kind sharing its first word.
_KINDS = (
    "COMPUTE POOL", "SERVICE", "SECRET", "NETWORK RULE", "NETWORK POLICY", "EXTERNAL ACCESS INTEGRATION",
    "API INTEGRATION", "SECURITY INTEGRATION", "STORAGE INTEGRATION", "NOTIFICATION INTEGRATION",
    "CATALOG INTEGRATION", "INTEGRATION", "FUNCTION", "EXTERNAL FUNCTION", "PROCEDURE", "TASK", "STREAM", "PIPE",
    "SEQUENCE", "FILE FORMAT", "SNAPSHOT", "GATEWAY", "ALERT", "TAG", "MASKING POLICY", "ROW ACCESS POLICY",
    "PASSWORD POLICY", "SESSION POLICY", "AUTHENTICATION POLICY", "AGGREGATION POLICY", "PROJECTION POLICY",
    "DYNAMIC TABLE", "EXTERNAL TABLE", "HYBRID TABLE", "ICEBERG TABLE", "EVENT TABLE", "MATERIALIZED VIEW",
    "SHARE", "REPLICATION GROUP", "FAILOVER GROUP", "RESOURCE MONITOR", "CONNECTION", "NOTEBOOK", "STREAMLIT",
    "APPLICATION PACKAGE", "APPLICATION", "MODEL", "GIT REPOSITORY", "DATABASE ROLE", "SEMANTIC VIEW",
    "CORTEX SEARCH SERVICE", "EXTERNAL VOLUME", "ORGANIZATION LISTING", "LISTING",
)
# What SHOW lists for them.
_PLURALS = (
    "COMPUTE POOLS", "SERVICES", "JOB SERVICES", "SECRETS", "NETWORK RULES", "NETWORK POLICIES",
    "EXTERNAL ACCESS INTEGRATIONS", "API INTEGRATIONS", "SECURITY INTEGRATIONS", "STORAGE INTEGRATIONS",
    "NOTIFICATION INTEGRATIONS", "CATALOG INTEGRATIONS", "INTEGRATIONS", "FUNCTIONS", "USER FUNCTIONS",
    "EXTERNAL FUNCTIONS", "PROCEDURES", "USER PROCEDURES", "TASKS", "STREAMS", "PIPES", "SEQUENCES", "FILE FORMATS",
    "SNAPSHOTS", "GATEWAYS", "ENDPOINTS", "SERVICE CONTAINERS", "SERVICE INSTANCES", "ALERTS", "TAGS",
    "MASKING POLICIES", "ROW ACCESS POLICIES", "PASSWORD POLICIES", "SESSION POLICIES", "POLICIES",
    "DYNAMIC TABLES", "EXTERNAL TABLES", "HYBRID TABLES", "ICEBERG TABLES", "EVENT TABLES", "MATERIALIZED VIEWS",
    "SHARES", "REPLICATION GROUPS", "FAILOVER GROUPS", "RESOURCE MONITORS", "CONNECTIONS", "NOTEBOOKS",
    "STREAMLITS", "APPLICATION PACKAGES", "APPLICATIONS", "MODELS", "GIT REPOSITORIES", "DATABASE ROLES",
    "SEMANTIC VIEWS", "CORTEX SEARCH SERVICES", "EXTERNAL VOLUMES", "LISTINGS",
)
# Kinds UNDROP restores in Snowflake; Snowport runs UNDROP DATABASE | SCHEMA | TABLE itself (sql/dispatch.py).
_UNDROP = ("DATABASE", "SCHEMA", "TABLE", "DYNAMIC TABLE", "ICEBERG TABLE", "EXTERNAL VOLUME", "NOTEBOOK", "TAG",
           "ACCOUNT")


def _alternatives(words: tuple[str, ...]) -> str:
    ordered = sorted(words, key=len, reverse=True)
    return "|".join(w.replace(" ", r"\s+") for w in ordered)


_LEADING_COMMENTS = r"^\s*(?:(?:--[^\n]*(?:\n|$)|//[^\n]*(?:\n|$)|/\*.*?\*/)\s*)*"
_STATEMENT = re.compile(
    _LEADING_COMMENTS
    + r"(?:"
    + r"(?P<create>CREATE)\s+(?:OR\s+(?:REPLACE|ALTER)\s+)?"
    + r"(?:(?:SECURE|TEMPORARY|TEMP|VOLATILE|TRANSIENT|LOCAL|GLOBAL|AGGREGATE|RECURSIVE)\s+)*"
    + r"(?P<create_kind>" + _alternatives(_KINDS) + r")"
    + r"|(?P<verb>ALTER|DROP|DESCRIBE|DESC)\s+(?P<kind>" + _alternatives(_KINDS) + r")"
    + r"|(?P<undrop>UNDROP)\s+(?P<undrop_kind>" + _alternatives(_UNDROP) + r")"
    + r"|(?P<show>SHOW)\s+(?:TERSE\s+)?(?P<plural>" + _alternatives(_PLURALS) + r")"
    + r"|(?P<execute>EXECUTE\s+(?:JOB\s+SERVICE|TASK|ALERT|IMMEDIATE)|CALL)"
    + r")(?![A-Za-z0-9_$])",
    re.IGNORECASE | re.DOTALL,
)


def known_statement_kind(sql: str) -> str | None:
    """Snowflake's name for the kind of a valid statement Snowport does not implement, else None."""
    m = _STATEMENT.match(sql)
    if m is None:
        return None
    if m["create"]:
        words = f"CREATE {m['create_kind']}"
    elif m["verb"]:
        verb = m["verb"].upper()
        words = f"{'DESCRIBE' if verb == 'DESC' else verb} {m['kind']}"
    elif m["undrop"]:
        words = f"UNDROP {m['undrop_kind']}"
    elif m["show"]:
        words = f"SHOW {m['plural']}"
    else:
        words = m["execute"]
    return " ".join(words.upper().split())


__all__ = ["known_statement_kind"]
