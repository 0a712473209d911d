"""The privilege matrix: for every command Snowport accepts, the privilege it needs and on what.

This table is the one place privileges are decided. Commands call `Authorizer.require(session,
command, obj)` with their row's key, `docs/privileges.md` is rendered from it, and
`tests/test_privilege_matrix.py` runs every row twice through the real connector: refused
without the privilege, allowed with it. A check written by hand next to a command drifts; a row
here cannot, because the test proves each one.

Rules every row shares (as in Snowflake):
- OWNERSHIP of the object always suffices, and is the only way for rows that list OWNERSHIP.
- Operating on an object inside a schema also needs a privilege on its database and schema
  (USAGE, or ownership); without it the object does not exist for the caller (002003).
- Replacing an object (CREATE OR REPLACE) needs the create privilege and OWNERSHIP of the
  object being replaced.
"""

from __future__ import annotations

from dataclasses import dataclass

# What a row's privilege is checked on.
ACCOUNT = "ACCOUNT"
NONE = "NONE"  # any role may run it; what it shows is filtered by visibility


@dataclass(frozen=True)
class Requirement:
    command: str
    on: str  # ACCOUNT, NONE, or the kind of object the command names (DATABASE, SCHEMA, TABLE, ...)
    privileges: tuple[str, ...]  # any one of them suffices; OWNERSHIP always does
    note: str = ""


def _rows(*rows: tuple) -> dict[str, Requirement]:
    table: dict[str, Requirement] = {}
    for row in rows:
        req = Requirement(*row)
        assert req.command not in table, req.command
        table[req.command] = req
    return table


OWN = ("OWNERSHIP",)
SEE = ("USAGE", "MONITOR", "OPERATE", "MODIFY", "READ", "WRITE", "SELECT", "INSERT", "UPDATE", "DELETE",
       "TRUNCATE", "REFERENCES")

MATRIX: dict[str, Requirement] = _rows(
    # ---- users -------------------------------------------------------------------------------
    ("CREATE USER", ACCOUNT, ("CREATE USER",)),
    ("CREATE OR REPLACE USER", "USER", OWN, "and CREATE USER on the account"),
    ("ALTER USER", "USER", OWN, "a user may SET/UNSET its own PASSWORD and DEFAULT_* properties"),
    ("ALTER USER RENAME", "USER", OWN),
    ("DROP USER", "USER", OWN),
    ("DESCRIBE USER", "USER", ("MONITOR",), "a user may describe itself"),
    ("SHOW USERS", ACCOUNT, ("MANAGE GRANTS", "CREATE USER")),
    # ---- users' programmatic credentials (security/credentials.py) --------------------------------------
    ("ALTER USER SET RSA_PUBLIC_KEY", "USER", ("MODIFY PROGRAMMATIC AUTHENTICATION METHODS",),
     "SET/UNSET RSA_PUBLIC_KEY[_2]; a user may set its own keys"),
    ("ALTER USER ADD PROGRAMMATIC ACCESS TOKEN", "USER", ("MODIFY PROGRAMMATIC AUTHENTICATION METHODS",),
     "a user manages its own tokens"),
    ("ALTER USER REMOVE PROGRAMMATIC ACCESS TOKEN", "USER", ("MODIFY PROGRAMMATIC AUTHENTICATION METHODS",),
     "a user manages its own tokens"),
    ("ALTER USER ROTATE PROGRAMMATIC ACCESS TOKEN", "USER", ("MODIFY PROGRAMMATIC AUTHENTICATION METHODS",),
     "a user manages its own tokens"),
    ("ALTER USER MODIFY PROGRAMMATIC ACCESS TOKEN", "USER", ("MODIFY PROGRAMMATIC AUTHENTICATION METHODS",),
     "a user manages its own tokens"),
    ("SHOW USER PROGRAMMATIC ACCESS TOKENS", "USER", ("MODIFY PROGRAMMATIC AUTHENTICATION METHODS",),
     "a user may list its own tokens"),
    # ---- roles -------------------------------------------------------------------------------
    ("CREATE ROLE", ACCOUNT, ("CREATE ROLE",)),
    ("CREATE OR REPLACE ROLE", "ROLE", OWN, "and CREATE ROLE on the account"),
    ("ALTER ROLE", "ROLE", OWN),
    ("ALTER ROLE RENAME", "ROLE", OWN),
    ("DROP ROLE", "ROLE", OWN, "objects the role owned pass to the dropping role"),
    ("SHOW ROLES", NONE, ()),
    ("USE ROLE", "ROLE", ("USAGE",), "the role must be granted to the user, directly or through other roles"),
    ("USE SECONDARY ROLES", NONE, ()),
    # ---- grants ------------------------------------------------------------------------------
    ("GRANT ROLE", "ROLE", OWN, "or MANAGE GRANTS on the account"),
    ("REVOKE ROLE", "ROLE", OWN, "or MANAGE GRANTS on the account"),
    ("GRANT PRIVILEGE", "OBJECT", OWN, "or MANAGE GRANTS on the account, or the privilege WITH GRANT OPTION"),
    ("REVOKE PRIVILEGE", "OBJECT", OWN, "or MANAGE GRANTS on the account, or the privilege WITH GRANT OPTION"),
    ("GRANT ON ACCOUNT", ACCOUNT, ("MANAGE GRANTS",), "or the privilege WITH GRANT OPTION"),
    ("GRANT OWNERSHIP", "OBJECT", OWN, "or MANAGE GRANTS on the account"),
    ("GRANT ON FUTURE", "SCHEMA", OWN, "OWNERSHIP of the schema or database, or MANAGE GRANTS on the account"),
    ("GRANT ON ALL", "SCHEMA", OWN, "as GRANT PRIVILEGE, for each object"),
    ("SHOW GRANTS TO ROLE", "ROLE", ("USAGE",), "the role is active in the session, or MANAGE GRANTS"),
    ("SHOW GRANTS TO USER", "USER", OWN, "a user may show its own grants; or MANAGE GRANTS"),
    ("SHOW GRANTS ON", "OBJECT", SEE, "any privilege on the object; ON ACCOUNT needs MANAGE GRANTS"),
    ("SHOW GRANTS OF ROLE", NONE, ()),
    # ---- databases ---------------------------------------------------------------------------
    ("CREATE DATABASE", ACCOUNT, ("CREATE DATABASE",)),
    ("CREATE OR REPLACE DATABASE", "DATABASE", OWN, "and CREATE DATABASE on the account"),
    ("ALTER DATABASE", "DATABASE", ("MODIFY",)),
    ("ALTER DATABASE RENAME", "DATABASE", OWN),
    ("DROP DATABASE", "DATABASE", OWN),
    ("UNDROP DATABASE", "DATABASE", OWN, "and CREATE DATABASE on the account; the name must be free"),
    ("DESCRIBE DATABASE", "DATABASE", ("USAGE", "MONITOR", "MODIFY", "CREATE SCHEMA")),
    ("SHOW DATABASES", NONE, ()),
    ("USE DATABASE", "DATABASE", ("USAGE", "MONITOR")),
    # ---- schemas -----------------------------------------------------------------------------
    ("CREATE SCHEMA", "DATABASE", ("CREATE SCHEMA",)),
    ("CREATE OR REPLACE SCHEMA", "SCHEMA", OWN, "and CREATE SCHEMA on the database"),
    ("ALTER SCHEMA", "SCHEMA", ("MODIFY",)),
    ("DROP SCHEMA", "SCHEMA", OWN),
    ("UNDROP SCHEMA", "SCHEMA", OWN, "and CREATE SCHEMA on the database; the name must be free"),
    ("DESCRIBE SCHEMA", "SCHEMA", ("USAGE", "MONITOR", "MODIFY")),
    ("SHOW SCHEMAS", "DATABASE", ("USAGE", "MONITOR", "CREATE SCHEMA")),
    ("USE SCHEMA", "SCHEMA", ("USAGE",)),
    # ---- warehouses --------------------------------------------------------------------------
    ("CREATE WAREHOUSE", ACCOUNT, ("CREATE WAREHOUSE",)),
    ("CREATE OR REPLACE WAREHOUSE", "WAREHOUSE", OWN, "and CREATE WAREHOUSE on the account"),
    ("ALTER WAREHOUSE", "WAREHOUSE", ("MODIFY",)),
    ("ALTER WAREHOUSE RENAME", "WAREHOUSE", OWN),
    ("ALTER WAREHOUSE SUSPEND", "WAREHOUSE", ("OPERATE",)),
    ("ALTER WAREHOUSE RESUME", "WAREHOUSE", ("OPERATE",)),
    ("ALTER WAREHOUSE ABORT ALL QUERIES", "WAREHOUSE", ("OPERATE",)),
    ("DROP WAREHOUSE", "WAREHOUSE", OWN),
    ("DESCRIBE WAREHOUSE", "WAREHOUSE", ("USAGE", "MONITOR", "OPERATE", "MODIFY")),
    ("SHOW WAREHOUSES", NONE, ()),
    ("USE WAREHOUSE", "WAREHOUSE", ("USAGE",)),
    # ---- tables and views --------------------------------------------------------------------
    ("CREATE TABLE", "SCHEMA", ("CREATE TABLE",)),
    ("CREATE OR REPLACE TABLE", "TABLE", OWN, "and CREATE TABLE on the schema"),
    ("CREATE TABLE AS SELECT", "SCHEMA", ("CREATE TABLE",), "and SELECT on every table it reads"),
    ("CREATE VIEW", "SCHEMA", ("CREATE VIEW",), "and SELECT on every table it reads"),
    ("ALTER TABLE", "TABLE", OWN),
    ("ALTER TABLE RENAME", "TABLE", OWN),
    ("DROP TABLE", "TABLE", OWN),
    ("DROP VIEW", "VIEW", OWN),
    ("UNDROP TABLE", "TABLE", OWN, "and CREATE TABLE on the schema; the name must be free"),
    ("SELECT", "TABLE", ("SELECT",)),
    ("INSERT", "TABLE", ("INSERT",)),
    ("UPDATE", "TABLE", ("UPDATE",)),
    ("DELETE", "TABLE", ("DELETE",)),
    ("TRUNCATE TABLE", "TABLE", ("TRUNCATE",)),
    ("MERGE", "TABLE", ("INSERT", "UPDATE"), "INSERT for WHEN NOT MATCHED, UPDATE for WHEN MATCHED"),
    ("DESCRIBE TABLE", "TABLE", ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES")),
    ("SHOW TABLES", "SCHEMA", ("USAGE",), "lists the tables the role has any privilege on"),
    # ---- stages ------------------------------------------------------------------------------
    ("CREATE STAGE", "SCHEMA", ("CREATE STAGE",)),
    ("CREATE OR REPLACE STAGE", "STAGE", OWN, "and CREATE STAGE on the schema"),
    ("ALTER STAGE", "STAGE", OWN),
    ("ALTER STAGE RENAME", "STAGE", OWN),
    ("ALTER STAGE REFRESH", "STAGE", ("WRITE",)),
    ("DROP STAGE", "STAGE", OWN),
    ("DESCRIBE STAGE", "STAGE", ("USAGE", "READ", "WRITE")),
    ("SHOW STAGES", "SCHEMA", ("USAGE",), "lists the stages the role has any privilege on"),
    ("PUT", "STAGE", ("WRITE",)),
    ("GET", "STAGE", ("READ", "WRITE")),
    ("LIST", "STAGE", ("READ", "WRITE")),
    ("REMOVE", "STAGE", ("WRITE",)),
    ("SELECT FROM STAGE", "STAGE", ("READ", "WRITE")),
    ("COPY INTO TABLE", "TABLE", ("INSERT",), "and READ on the stage"),
    ("COPY INTO STAGE", "STAGE", ("WRITE",), "and SELECT on the tables the query reads"),
    # ---- image repositories ------------------------------------------------------------------
    ("CREATE IMAGE REPOSITORY", "SCHEMA", ("CREATE IMAGE REPOSITORY",)),
    ("CREATE OR REPLACE IMAGE REPOSITORY", "IMAGE REPOSITORY", OWN, "and CREATE IMAGE REPOSITORY on the schema"),
    ("DROP IMAGE REPOSITORY", "IMAGE REPOSITORY", OWN),
    ("SHOW IMAGE REPOSITORIES", "IMAGE REPOSITORY", ("READ", "WRITE", "SERVICE READ", "SERVICE WRITE"),
     "lists the repositories the role may read"),
    ("SHOW IMAGES", "IMAGE REPOSITORY", ("READ", "WRITE", "SERVICE READ", "SERVICE WRITE")),
    ("SYSTEM$REGISTRY_LIST_IMAGES", "IMAGE REPOSITORY", ("READ", "WRITE", "SERVICE READ", "SERVICE WRITE")),
    # ---- compute pools (spcs-reference 13.2) ----------------------------------------------
    ("CREATE COMPUTE POOL", ACCOUNT, ("CREATE COMPUTE POOL",)),
    ("ALTER COMPUTE POOL", "COMPUTE POOL", ("MODIFY",), "SET / UNSET"),
    ("ALTER COMPUTE POOL SUSPEND", "COMPUTE POOL", ("OPERATE",)),
    ("ALTER COMPUTE POOL RESUME", "COMPUTE POOL", ("OPERATE",)),
    ("ALTER COMPUTE POOL STOP ALL", "COMPUTE POOL", ("OPERATE",), "drops every service and job in the pool"),
    ("DROP COMPUTE POOL", "COMPUTE POOL", OWN, "only once no service or job runs on it"),
    ("SHOW COMPUTE POOLS", "COMPUTE POOL", ("USAGE", "MONITOR", "OPERATE", "MODIFY"),
     "lists the pools the role has any of these on"),
    ("DESCRIBE COMPUTE POOL", "COMPUTE POOL", ("MONITOR",)),
    ("SHOW NODES IN COMPUTE POOL", "COMPUTE POOL", ("USAGE",)),
    ("SHOW COMPUTE POOL INSTANCE FAMILIES", NONE, ()),
    # ---- services (spcs-reference 13.2) ------------------------------------------------------
    ("CREATE SERVICE", "SCHEMA", ("CREATE SERVICE",),
     "and USAGE on the compute pool, READ on the spec's stage, image repositories and secrets, USAGE on "
     "integrations"),
    ("ALTER SERVICE", "SERVICE", OWN, "SET / UNSET; SET EXTERNAL_ACCESS_INTEGRATIONS: and USAGE on each"),
    ("ALTER SERVICE SUSPEND", "SERVICE", ("OPERATE",)),
    ("ALTER SERVICE RESUME", "SERVICE", ("OPERATE",)),
    ("ALTER SERVICE FROM", "SERVICE", ("OPERATE",), "upgrade; READ on the image repositories as at CREATE"),
    ("DROP SERVICE", "SERVICE", OWN, "FORCE (needed with block volumes) needs the same"),
    ("SHOW SERVICES", "SERVICE", ("USAGE", "MONITOR", "OPERATE"), "lists the services the role has any of these on"),
    ("DESCRIBE SERVICE", "SERVICE", ("USAGE", "MONITOR", "OPERATE"), "the spec only for the owner"),
    ("SHOW SERVICE CONTAINERS IN SERVICE", "SERVICE", ("MONITOR",)),
    ("SHOW SERVICE INSTANCES IN SERVICE", "SERVICE", ("MONITOR",)),
    ("SHOW ENDPOINTS IN SERVICE", "SERVICE", ("USAGE",), "jobs too; ingress_url only for public endpoints"),
    ("SYSTEM$GET_SERVICE_STATUS", "SERVICE", ("MONITOR",)),
    ("SYSTEM$GET_SERVICE_LOGS", "SERVICE", ("MONITOR",)),
    ("SYSTEM$WAIT_FOR_SERVICES", "SERVICE", ("MONITOR",)),
    ("SYSTEM$GET_SERVICE_DNS_DOMAIN", "SCHEMA", ("USAGE",), "`<hash>.svc.spcs.internal` of '[db.]schema'"),
    ("SPCS_WAIT_FOR", "SERVICE", ("USAGE", "MONITOR", "OPERATE"), "CALL <service>!SPCS_WAIT_FOR('<status>', <s>)"),
    ("SPCS_GET_LOGS", "SERVICE", ("MONITOR",), "as `<service>!SPCS_GET_LOGS()`; after DROP: the former owner role"),
    ("SPCS_GET_EVENTS", "SERVICE", ("MONITOR",), "as `<service>!SPCS_GET_EVENTS()`; after DROP: the former owner role"),
    # ---- service roles and public endpoints (spcs-reference 3.10, 6.1, 13) ---------------------
    ("GRANT SERVICE ROLE", "SERVICE", OWN, "only the service's owner; TO ROLE (account roles) only"),
    ("REVOKE SERVICE ROLE", "SERVICE", OWN, "only the service's owner"),
    ("SHOW ROLES IN SERVICE", "SERVICE", ("USAGE",)),
    ("SHOW GRANTS TO SERVICE ROLE", "SERVICE", ("USAGE",), "USAGE on each endpoint the service role includes"),
    ("SHOW GRANTS OF SERVICE ROLE", "SERVICE", ("USAGE",), "the account roles the service role is granted to"),
    ("CREATE SERVICE WITH PUBLIC ENDPOINT", ACCOUNT, ("BIND SERVICE ENDPOINT",),
     "held by the role that will own the service (its primary role); EXECUTE JOB SERVICE too"),
    ("ALTER SERVICE FROM WITH PUBLIC ENDPOINT", ACCOUNT, ("BIND SERVICE ENDPOINT",),
     "held by the service's owner role, whoever upgrades it"),
    # ---- secrets (spcs-reference 9, 13) -------------------------------------------------------
    ("CREATE SECRET", "SCHEMA", ("CREATE SECRET",), "OAUTH2: and USAGE on its API_AUTHENTICATION integration"),
    ("CREATE OR REPLACE SECRET", "SECRET", OWN, "and CREATE SECRET on the schema"),
    ("ALTER SECRET", "SECRET", OWN, "SET / UNSET"),
    ("ALTER SECRET RENAME", "SECRET", OWN),
    ("DROP SECRET", "SECRET", OWN),
    ("DESCRIBE SECRET", "SECRET", ("USAGE",), "never shows a value"),
    ("SHOW SECRETS", "SCHEMA", ("USAGE",), "lists the secrets the role has any privilege on; never a value"),
    ("USE SECRET IN SERVICE", "SECRET", ("READ",), "at CREATE SERVICE / ALTER SERVICE FROM, for each secret the "
     "spec names"),
    ("ALTER SERVICE RESTORE VOLUME", "SERVICE", ("OPERATE",),
     "and USAGE on the snapshot; the service must be suspended"),
    # ---- snapshots of block volumes (spcs-reference 8.5) -------------------------------------
    ("CREATE SNAPSHOT", "SCHEMA", ("CREATE SNAPSHOT",), "and OPERATE on the service"),
    ("CREATE OR REPLACE SNAPSHOT", "SNAPSHOT", OWN, "and CREATE SNAPSHOT on the schema, OPERATE on the service"),
    ("ALTER SNAPSHOT", "SNAPSHOT", OWN, "SET / UNSET COMMENT"),
    ("DROP SNAPSHOT", "SNAPSHOT", OWN),
    ("DESCRIBE SNAPSHOT", "SNAPSHOT", ("USAGE",)),
    ("SHOW SNAPSHOTS", "SNAPSHOT", ("USAGE",), "lists the snapshots the role owns or may use"),
    # ---- job services (spcs-reference 4, 13.2) ----------------------------------------------
    ("EXECUTE JOB SERVICE", "SCHEMA", ("CREATE SERVICE",),
     "and USAGE on the compute pool, READ on the spec's stage and image repositories, USAGE on integrations"),
    ("SPCS_CANCEL_JOB", "SERVICE", ("OPERATE",), "as `<job>!SPCS_CANCEL_JOB()` (SELECT or CALL)"),
    ("GET_JOB_HISTORY", NONE, (), "`SNOWFLAKE.SPCS.GET_JOB_HISTORY(...)`: only the current role's jobs"),
    # ---- network rules and integrations ------------------------------------------------------
    ("CREATE NETWORK RULE", "SCHEMA", ("CREATE NETWORK RULE",)),
    ("CREATE OR REPLACE NETWORK RULE", "NETWORK RULE", OWN, "and CREATE NETWORK RULE on the schema"),
    ("ALTER NETWORK RULE", "NETWORK RULE", OWN),
    ("ALTER NETWORK RULE RENAME", "NETWORK RULE", OWN),
    ("DROP NETWORK RULE", "NETWORK RULE", OWN),
    ("DESCRIBE NETWORK RULE", "NETWORK RULE", OWN),
    ("SHOW NETWORK RULES", "SCHEMA", ("USAGE",), "lists the rules the role owns"),
    ("CREATE INTEGRATION", ACCOUNT, ("CREATE INTEGRATION",), "EXTERNAL ACCESS and SECURITY integrations"),
    ("CREATE OR REPLACE INTEGRATION", "INTEGRATION", OWN, "and CREATE INTEGRATION on the account"),
    ("ALTER INTEGRATION", "INTEGRATION", OWN),
    ("DROP INTEGRATION", "INTEGRATION", OWN),
    ("DESCRIBE INTEGRATION", "INTEGRATION", ("USAGE",)),
    ("SHOW INTEGRATIONS", "INTEGRATION", ("USAGE",), "lists the integrations the role may use"),
    # ---- service functions (spcs-reference 7, 13) ----------------------------------------------
    ("CREATE FUNCTION", "SCHEMA", ("CREATE FUNCTION",),
     "and the creating role may use the endpoint (it owns the service, or holds a service role with the endpoint)"),
    ("CREATE OR REPLACE FUNCTION", "FUNCTION", OWN, "and CREATE FUNCTION on the schema, the endpoint as at CREATE"),
    ("ALTER FUNCTION", "FUNCTION", OWN, "SET / UNSET, and CREATE OR ALTER of an existing function"),
    ("ALTER FUNCTION RENAME", "FUNCTION", OWN),
    ("DROP FUNCTION", "FUNCTION", OWN),
    ("DESCRIBE FUNCTION", "FUNCTION", ("USAGE",)),
    ("SHOW USER FUNCTIONS", "SCHEMA", ("USAGE",), "SHOW FUNCTIONS too; lists the functions the role has any "
     "privilege on"),
    ("USE FUNCTION", "FUNCTION", ("USAGE",), "calling a service function from SQL; the function owner's roles must "
     "still be allowed the endpoint"),
    # ---- session -----------------------------------------------------------------------------
    ("ALTER SESSION", NONE, ()),
    ("CALL", NONE, (), "system functions only; each needs what its own row says"),
)


def requirement(command: str) -> Requirement:
    return MATRIX[command]


def render_markdown() -> str:
    """docs/privileges.md: the matrix as users read it."""
    lines = [
        "# Privileges each command needs",
        "",
        "Generated from `src/snowport/security/matrix.py` (`python -m snowport.security.matrix > docs/privileges.md`);",
        "`tests/test_privilege_matrix.py` proves every row through the real connector: refused without the",
        "privilege, allowed with it.",
        "",
        "- OWNERSHIP of the object always suffices; rows that list only OWNERSHIP need it.",
        "- An object inside a schema also needs USAGE (or ownership) on its database and schema; without it",
        "  the object does not exist for the caller (002003).",
        "- CREATE OR REPLACE needs the create privilege and OWNERSHIP of the object it replaces.",
        "- A refusal is `003001 (42501) SQL access control error: Insufficient privileges to operate on ...`;",
        "  GRANT and REVOKE are refused as Snowflake does, with `003102 Grant not executed: Insufficient",
        "  privileges.` and `003103 Revoke not executed: Insufficient privileges.`",
        "- Commands marked `nothing` run for any role; what they show is filtered to what the role may see.",
        "",
        "| command | checked on | privilege (any one) | also |",
        "|---|---|---|---|",
    ]
    for req in MATRIX.values():
        on = {"NONE": "nothing", "OBJECT": "the object named"}.get(req.on, req.on.lower())
        privileges = ", ".join(req.privileges) or "none"
        lines.append(f"| `{req.command}` | {on} | {privileges} | {req.note} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")
