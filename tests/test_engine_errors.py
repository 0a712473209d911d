"""Engine errors in Snowflake's words: each class of DuckDB failure reaches the client with Snowflake's
code, SQLSTATE and message, and no engine text (the connector raises IntegrityError for 100072, a
DatabaseError like the rest); plus the recogniser for known-but-unsupported statements."""

from __future__ import annotations

import re

import pytest
from snowflake.connector.errors import DatabaseError

from snowport.sql.unsupported import known_statement_kind

ENGINE_WORDS = ("Binder Error", "Catalog Error", "Conversion Error", "Constraint Error", "Invalid Input Error",
                "Out of Range Error", "Parser Error", "DuckDB", "duckdb", "Candidate", "LINE 1:", "fakesnow", "INT64")


# The connector prefixes `msg` with "<code> (<SQLSTATE>): " and sometimes the query id.
_PREFIX = re.compile(r"^\d{6} \([0-9A-Z]{5}\): (?:[0-9a-f-]{36}: )?")


def server_message(e: DatabaseError) -> str:
    assert _PREFIX.match(e.msg), e.msg
    return _PREFIX.sub("", e.msg, count=1)


@pytest.fixture(scope="module")
def conn(server, tutorial):
    c = server.connect(role="CONTAINER_USER_ROLE", database="CONTAINER_HOL_DB", schema="PUBLIC",
                       warehouse="CONTAINER_HOL_WH")
    cur = c.cursor()
    cur.execute("CREATE OR REPLACE TABLE EE_T (A INT, B VARCHAR NOT NULL, C INT PRIMARY KEY)")
    cur.execute("CREATE OR REPLACE TABLE EE_U (A INT, D VARCHAR)")
    cur.execute("INSERT INTO EE_T VALUES (1, 'x', 1)")
    yield c
    c.close()


CASES = [
    # unknown function
    ("SELECT convert_udf(1)", 2140, "42601", "SQL compilation error:\nUnknown function CONVERT_UDF"),
    # unknown table or view where the engine finds it missing: in a subquery, a CTE mistake
    ("SELECT * FROM (SELECT * FROM no_such_inner)", 2003, "42S02",
     "SQL compilation error:\nObject 'CONTAINER_HOL_DB.PUBLIC.NO_SUCH_INNER' does not exist or not authorized."),
    ("WITH x AS (SELECT 1 AS n) SELECT * FROM y", 2003, "42S02",
     "SQL compilation error:\nObject 'CONTAINER_HOL_DB.PUBLIC.Y' does not exist or not authorized."),
    # unknown column, with the position of the name in the statement
    ("SELECT nope FROM ee_t", 904, "42000", "SQL compilation error: error line 1 at position 7\ninvalid identifier 'NOPE'"),
    ("SELECT a,\n  ee_t.nope FROM ee_t", 904, "42000",
     "SQL compilation error: error line 2 at position 2\ninvalid identifier 'EE_T.NOPE'"),
    ("SELECT q.a FROM ee_t", 904, "42000", "SQL compilation error: error line 1 at position 7\ninvalid identifier 'Q.A'"),
    # ambiguous column
    ("SELECT a FROM ee_t, ee_u", 2028, "42601", "SQL compilation error:\nambiguous column name 'A'"),
    # values that do not convert; comparing incompatible values
    ("SELECT 'abc'::INT", 100038, "22018", "Numeric value 'abc' is not recognized"),
    ("SELECT a FROM ee_t WHERE b = 1", 100038, "22018", "Numeric value 'x' is not recognized"),
    ("SELECT 'abc'::DATE", 100040, "22007", "Date 'abc' is not recognized"),
    ("SELECT 'abc'::TIMESTAMP_NTZ", 100035, "22007", "Timestamp 'abc' is not recognized"),
    ("SELECT 'x' + 1", 1044, "42P13", "SQL compilation error:\nInvalid argument types for function '+': (VARCHAR, NUMBER)"),
    # arithmetic
    ("SELECT 1/0", 100051, "22012", "Division by zero"),
    ("SELECT a / 0 FROM ee_t", 100051, "22012", "Division by zero"),
    ("SELECT 99999999999999999999999999999999999999 * 100", 100046, "22003", "Number out of representable range"),
    # constraints
    ("INSERT INTO ee_t VALUES (2, NULL, 2)", 100072, "22000", "NULL result in a non-nullable column"),
    ("UPDATE ee_t SET b = NULL", 100072, "22000", "NULL result in a non-nullable column"),
    ("INSERT INTO ee_t VALUES (3, 'y', 1)", 200001, "22000",
     'Duplicate key value violates unique constraint "SYS_INDEX_EE_T_PRIMARY"'),
    ("INSERT INTO ee_t VALUES (1, 'z')", 2020, "21S01",
     "SQL compilation error:\nInsert value list does not match column list expecting 3 but got 2"),
    # wrong number of arguments (a count the parser accepts, the engine refuses)
    ("SELECT SUBSTR('abc')", 938, "22023",
     "SQL compilation error:\nnot enough arguments for function [SUBSTRING('abc')], expected 2, got 1"),
    # grouping
    ("SELECT a, COUNT(*) FROM ee_t", 979, "42601", "SQL compilation error: error line 1 at position 7\n"
     "'EE_T.A' in select clause is neither an aggregate nor in the group by clause."),
    # semi-structured
    ("SELECT PARSE_JSON('{bad')", 100069, "22P02", "Error parsing JSON: unexpected character, pos 2"),
    # Snowflake statements Snowport does not run yet: named, not a syntax error
    ("CREATE GATEWAY g FROM SPECIFICATION $$spec: {}$$", 2, "0A000",
     "SQL compilation error:\nUnsupported feature 'CREATE GATEWAY'."),
    ("UNDROP DYNAMIC TABLE dt", 2, "0A000", "SQL compilation error:\nUnsupported feature 'UNDROP DYNAMIC TABLE'."),
    # generic fallback: Snowflake's shape, no engine text
    ("SELECT a FROM ee_t ORDER BY 5", 2043, "02000",
     "SQL compilation error:\nObject does not exist, or operation cannot be performed."),
]


@pytest.mark.parametrize(("sql", "errno", "sqlstate", "message"), CASES, ids=[c[0] for c in CASES])
def test_engine_error_in_snowflake_words(conn, sql, errno, sqlstate, message):
    cur = conn.cursor()
    with pytest.raises(DatabaseError) as info:
        cur.execute(sql)
    e = info.value
    assert (e.errno, e.sqlstate, server_message(e)) == (errno, sqlstate, message)
    assert not any(word in e.msg for word in ENGINE_WORDS), e.msg
    assert cur.execute("SELECT 1").fetchone() == (1,)


def test_generic_execution_error_keeps_engine_text_out(conn):
    cur = conn.cursor()
    with pytest.raises(DatabaseError) as info:
        cur.execute("SELECT SQRT(-1)")  # Snowflake reports an error for a negative input too
    e = info.value
    assert (e.errno, e.sqlstate) == (100097, "22000")
    assert server_message(e).startswith("SQL execution error:\nStatement failed during execution; incident ")
    assert "square root" not in e.msg


def test_failed_statements_change_nothing_and_server_keeps_serving(conn):
    cur = conn.cursor()
    assert cur.execute("SELECT a, b, c FROM ee_t").fetchall() == [(1, "x", 1)]
    assert cur.execute("SELECT DIV0(1, 0), 7 / 2").fetchone() == (0, 3.5)
    assert cur.execute("SELECT count(*) FROM weather").fetchone() == (10,)


# ---- known-but-unsupported statements -------------------------------------------------------
@pytest.mark.parametrize(("sql", "kind"), [
    ("CREATE COMPUTE POOL p MIN_NODES=1 MAX_NODES=1 INSTANCE_FAMILY=CPU_X64_XS", "CREATE COMPUTE POOL"),
    ("create or replace compute  pool p", "CREATE COMPUTE POOL"),
    ("-- set up\n/* the pool */ CREATE COMPUTE POOL IF NOT EXISTS p", "CREATE COMPUTE POOL"),
    ("// note\nALTER COMPUTE POOL p SUSPEND", "ALTER COMPUTE POOL"),
    ("DROP COMPUTE POOL IF EXISTS p", "DROP COMPUTE POOL"),
    ("SHOW COMPUTE POOLS", "SHOW COMPUTE POOLS"),
    ("show terse services in account", "SHOW SERVICES"),
    ("DESC SERVICE s", "DESCRIBE SERVICE"),
    ("DESCRIBE COMPUTE POOL p", "DESCRIBE COMPUTE POOL"),
    ("CREATE SERVICE echo IN COMPUTE POOL p FROM @specs SPEC='echo.yaml'", "CREATE SERVICE"),
    ("SHOW ENDPOINTS IN SERVICE echo", "SHOW ENDPOINTS"),
    ("SHOW SERVICE CONTAINERS IN SERVICE echo", "SHOW SERVICE CONTAINERS"),
    ("EXECUTE JOB SERVICE IN COMPUTE POOL p FROM @specs SPEC='job.yaml' NAME=j", "EXECUTE JOB SERVICE"),
    ("CREATE SECRET s TYPE = PASSWORD USERNAME = 'u' PASSWORD = 'p'", "CREATE SECRET"),
    ("CREATE OR REPLACE NETWORK RULE r MODE = EGRESS TYPE = HOST_PORT VALUE_LIST = ('x.com')", "CREATE NETWORK RULE"),
    ("CREATE EXTERNAL ACCESS INTEGRATION i ALLOWED_NETWORK_RULES = (r) ENABLED = TRUE",
     "CREATE EXTERNAL ACCESS INTEGRATION"),
    ("create secure function f() returns int as '1'", "CREATE FUNCTION"),
    ("CREATE OR REPLACE TEMPORARY PROCEDURE p() RETURNS INT LANGUAGE SQL AS '1'", "CREATE PROCEDURE"),
    ("CREATE TASK t WAREHOUSE = w AS SELECT 1", "CREATE TASK"),
    ("CREATE STREAM s ON TABLE t", "CREATE STREAM"),
    ("CREATE PIPE p AS COPY INTO t FROM @s", "CREATE PIPE"),
    ("CREATE SEQUENCE seq1", "CREATE SEQUENCE"),
    ("CREATE FILE FORMAT ff TYPE = CSV", "CREATE FILE FORMAT"),
    ("CREATE SNAPSHOT snap FROM SERVICE s VOLUME 'v' INSTANCE 0", "CREATE SNAPSHOT"),
    ("CREATE GATEWAY g FROM SPECIFICATION $$x$$", "CREATE GATEWAY"),
    ("UNDROP TABLE t", "UNDROP TABLE"),
    ("undrop database d", "UNDROP DATABASE"),
    ("SHOW USER FUNCTIONS", "SHOW USER FUNCTIONS"),
    ("CALL p()", "CALL"),
    ("CREATE MATERIALIZED VIEW mv AS SELECT 1", "CREATE MATERIALIZED VIEW"),
])
def test_known_statement_kind(sql, kind):
    assert known_statement_kind(sql) == kind


@pytest.mark.parametrize("sql", [
    "CREATE TABLE t (a INT)", "CREATE DATABASE d", "CREATE STAGE s", "CREATE IMAGE REPOSITORY r", "SELECT 1",
    "SHOW TABLES", "DROP TABLE t", "ALTER WAREHOUSE w SUSPEND", "CREATE COMPUTE", "CREATE SERVICES x",
    "CREATE SERVICE_X", "select 'CREATE COMPUTE POOL p'", "-- CREATE COMPUTE POOL p\nSELECT 1", "", "   ",
    "CREATE VIEW v AS SELECT 1", "DESCRIBE TABLE t", "SHOW COMPUTE", "UNDROP", "EXECUTE", "CREATE OR REPLACE USER u",
])
def test_not_a_known_unsupported_statement(sql):
    assert known_statement_kind(sql) is None
