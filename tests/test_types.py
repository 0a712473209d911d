"""Every Snowflake type through the connector, in JSON and in Arrow, gives Snowflake's Python values."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

import pytest
from snowflake.connector.errors import NotSupportedError

UTC = datetime.UTC

TYPES_SQL = """
SELECT
  123::NUMBER(10,0) AS N0,
  12.34::NUMBER(10,2) AS N2,
  -0.5::NUMBER(38,3) AS N3,
  1.5::FLOAT AS F,
  'héllo'::VARCHAR AS S,
  TRUE AS B,
  FALSE AS B2,
  '2024-01-03'::DATE AS D,
  '01:02:03.5'::TIME AS TM,
  '2024-01-02 03:04:05.123456'::TIMESTAMP_NTZ AS TNTZ,
  '2024-01-02 03:04:05'::TIMESTAMP_TZ AS TTZ,
  '2024-01-02 03:04:05'::TIMESTAMP_LTZ AS TLTZ,
  TO_BINARY('48656C6C6F', 'HEX') AS BIN,
  PARSE_JSON('{"k": 1}') AS V,
  OBJECT_CONSTRUCT('a', 1) AS O,
  ARRAY_CONSTRUCT(1, 2) AS A,
  NULL AS NUL
"""


@pytest.fixture(scope="module", params=["JSON", "ARROW"])
def cursor(request, server, admin, tutorial):
    conn = server.connect(role="CONTAINER_USER_ROLE", database="CONTAINER_HOL_DB", schema="PUBLIC",
                          warehouse="CONTAINER_HOL_WH")
    cur = conn.cursor()
    cur.execute(f"ALTER SESSION SET PYTHON_CONNECTOR_QUERY_RESULT_FORMAT = '{request.param}'")
    yield cur, request.param
    conn.close()


def test_select_literals(cursor):
    cur, fmt = cursor
    cur.execute(TYPES_SQL)
    assert cur._query_result_format == fmt.lower()
    row = dict(zip([d.name for d in cur.description], cur.fetchone(), strict=True))
    assert row["N0"] == 123 and isinstance(row["N0"], int)
    assert row["N2"] == Decimal("12.34")
    assert row["N3"] == Decimal("-0.500")
    assert row["F"] == 1.5
    assert row["S"] == "héllo"
    assert row["B"] is True and row["B2"] is False
    assert row["D"] == datetime.date(2024, 1, 3)
    assert row["TM"] == datetime.time(1, 2, 3, 500000)
    assert row["TNTZ"] == datetime.datetime(2024, 1, 2, 3, 4, 5, 123456)
    assert row["TNTZ"].tzinfo is None
    assert row["TTZ"] == datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert row["TTZ"].utcoffset() == datetime.timedelta(0)
    assert row["TLTZ"] == datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert row["BIN"] == b"Hello"
    assert json.loads(row["V"]) == {"k": 1}
    assert json.loads(row["O"]) == {"a": 1}
    assert json.loads(row["A"]) == [1, 2]
    assert row["NUL"] is None
    type_codes = {d.name: d.type_code for d in cur.description}
    assert type_codes["N0"] == 0 and type_codes["F"] == 1 and type_codes["S"] == 2 and type_codes["D"] == 3
    assert type_codes["BIN"] == 11 and type_codes["TM"] == 12 and type_codes["B"] == 13


def test_table_round_trip(cursor):
    cur, fmt = cursor
    table = f"TYPES_{fmt}"
    cur.execute(f"""CREATE OR REPLACE TABLE {table} (N NUMBER(12,2), I INT, F FLOAT, S VARCHAR, B BOOLEAN, D DATE,
                    TM TIME, TS TIMESTAMP_NTZ, BIN BINARY, V VARIANT)""")
    cur.execute(f"""INSERT INTO {table} SELECT 1.25, 7, -2.5, 'x', TRUE, '2000-02-29'::DATE, '23:59:59'::TIME,
                    '1999-12-31 23:59:59.5'::TIMESTAMP_NTZ, TO_BINARY('00FF', 'HEX'), PARSE_JSON('[1, "a"]')""")
    assert cur.rowcount == 1
    cur.execute(f"INSERT INTO {table} (N) VALUES (NULL)")
    cur.execute(f"SELECT * FROM {table} ORDER BY I NULLS LAST")
    rows = cur.fetchall()
    assert rows[0][:9] == (Decimal("1.25"), 7, -2.5, "x", True, datetime.date(2000, 2, 29), datetime.time(23, 59, 59),
                           datetime.datetime(1999, 12, 31, 23, 59, 59, 500000), b"\x00\xff")
    assert json.loads(rows[0][9]) == [1, "a"]
    assert rows[1] == (None,) * 10


def test_bindings(cursor, server):
    cur, fmt = cursor
    conn = server.connect(role="CONTAINER_USER_ROLE", database="CONTAINER_HOL_DB", schema="PUBLIC",
                          warehouse="CONTAINER_HOL_WH", paramstyle="qmark")
    qcur = conn.cursor()
    table = f"BIND_{fmt}"
    qcur.execute(f"CREATE OR REPLACE TABLE {table} (I INT, S VARCHAR, D DATE, F FLOAT, T TIMESTAMP_NTZ, B BINARY)")
    ts = datetime.datetime(2024, 1, 2, 3, 4, 5, 123456)
    qcur.execute(f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?, ?)",
                 (1, "it's", datetime.date(2024, 1, 2), 1.5, ts, b"\x01\xff"))
    qcur.executemany(f"INSERT INTO {table} (I, S) VALUES (?, ?)", [(2, "b"), (3, "c"), (4, None)])
    assert qcur.rowcount == 3
    assert qcur.execute(f"SELECT * FROM {table} WHERE I = ?", (1,)).fetchall() == [
        (1, "it's", datetime.date(2024, 1, 2), 1.5, ts, b"\x01\xff")]
    assert qcur.execute(f"SELECT count(*) FROM {table} WHERE S IS NULL").fetchone() == (1,)
    conn.close()
    # pyformat (the default) interpolates client-side, escaping quotes with a backslash.
    cur.execute(f"SELECT S FROM {table} WHERE S = %s", ("it's",))
    assert cur.fetchall() == [("it's",)]
    # numeric and named paramstyles
    conn = server.connect(role="CONTAINER_USER_ROLE", database="CONTAINER_HOL_DB", schema="PUBLIC",
                          warehouse="CONTAINER_HOL_WH", paramstyle="numeric")
    assert conn.cursor().execute(f"SELECT I FROM {table} WHERE I = :1 OR S = :2 ORDER BY I", (2, "c")).fetchall() == [
        (2,), (3,)]
    conn.close()


def test_pandas_fetch_needs_arrow(cursor):
    cur, fmt = cursor
    cur.execute("SELECT * FROM WEATHER ORDER BY DATE")
    if fmt != "ARROW":
        with pytest.raises(NotSupportedError):  # as with Snowflake: pandas fetches need Arrow results
            cur.fetch_pandas_all()
        return
    df = cur.fetch_pandas_all()
    assert list(df.columns) == ["DATE", "LOCATION", "TEMP_C", "TEMP_F"]
    assert len(df) == 10 and df["TEMP_C"].sum() == 162
