"""Directory tables and COPY INTO: CSV and Parquet staged, loaded, unloaded, counted."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from snowflake.connector.errors import ProgrammingError


@pytest.fixture(scope="module")
def cur(server, tutorial):
    c = server.connect(role="CONTAINER_USER_ROLE", database="CONTAINER_HOL_DB", schema="PUBLIC",
                       warehouse="CONTAINER_HOL_WH")
    cursor = c.cursor()
    cursor.execute("CREATE OR REPLACE STAGE loads DIRECTORY = (ENABLE = TRUE)")
    yield cursor
    c.close()


def test_csv_and_parquet_round_trip(cur, tmp_path):
    csv = tmp_path / "weather.csv"
    csv.write_text("DATE,LOCATION,TEMP_C\n" + "".join(f"2024-01-{d:02d},City {d},{d}\n" for d in range(1, 21)))
    parquet = tmp_path / "weather.parquet"
    pq.write_table(pa.table({"date": pa.array([f"2024-02-{d:02d}" for d in range(1, 13)]),
                             "location": [f"P{d}" for d in range(1, 13)], "temp_c": list(range(1, 13))}), parquet)
    cur.execute(f"PUT file://{csv} @loads/in/ AUTO_COMPRESS=TRUE")
    cur.execute(f"PUT file://{parquet} @loads/in/ AUTO_COMPRESS=FALSE")
    cur.execute("ALTER STAGE loads REFRESH")
    directory = cur.execute("SELECT RELATIVE_PATH, SIZE FROM DIRECTORY(@loads) ORDER BY 1").fetchall()
    assert [p for p, _ in directory] == ["in/weather.csv.gz", "in/weather.parquet"]

    cur.execute("CREATE OR REPLACE TABLE LOADED (DATE DATE, LOCATION VARCHAR, TEMP_C NUMBER)")
    rows = cur.execute("COPY INTO LOADED FROM @loads/in/ FILE_FORMAT = (TYPE = CSV SKIP_HEADER = 1) "
                       "PATTERN = '.*[.]csv[.]gz'").fetchall()
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [("loads/in/weather.csv.gz", "LOADED", 20, 20)]
    rows = cur.execute("COPY INTO LOADED FROM @loads/in/weather.parquet FILE_FORMAT = (TYPE = PARQUET) "
                       "MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE").fetchall()
    assert [(r[1], r[3]) for r in rows] == [("LOADED", 12)]
    assert cur.execute("SELECT count(*), sum(TEMP_C) FROM LOADED").fetchone() == (32, 210 + 78)
    # Files already loaded are skipped unless FORCE = TRUE.
    assert cur.execute("COPY INTO LOADED FROM @loads/in/ FILE_FORMAT = (TYPE = CSV SKIP_HEADER = 1) "
                       "PATTERN = '.*csv.*'").fetchall() == [("Copy executed with 0 files processed.",)]

    # Unload both ways and load the unloaded files into fresh tables: the counts match.
    assert cur.execute("COPY INTO @loads/out/csv/ FROM LOADED").fetchone()[0] == 32
    assert cur.execute("COPY INTO @loads/out/pq/ FROM (SELECT * FROM LOADED WHERE TEMP_C > 10) "
                       "FILE_FORMAT = (TYPE = PARQUET)").fetchone()[0] == 12
    listed = [r[0] for r in cur.execute("LS @loads/out/").fetchall()]
    assert listed == ["loads/out/csv/data_0_0_0.csv.gz", "loads/out/pq/data_0_0_0.snappy.parquet"]
    cur.execute("CREATE OR REPLACE TABLE RELOADED LIKE LOADED")
    cur.execute("COPY INTO RELOADED FROM @loads/out/csv/ FILE_FORMAT = (TYPE = CSV)")
    cur.execute("COPY INTO RELOADED FROM @loads/out/pq/ FILE_FORMAT = (TYPE = PARQUET) "
                "MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE")
    assert cur.execute("SELECT count(*) FROM RELOADED").fetchone() == (44,)
    assert cur.execute("SELECT count(*) FROM (SELECT * FROM LOADED EXCEPT SELECT * FROM RELOADED)").fetchone() == (0,)


def test_on_error(cur, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("2024-03-01,ok,1\nnot-a-date,bad,2\n2024-03-03,ok,x\n2024-03-04,ok,4\n")
    cur.execute(f"PUT file://{bad} @loads/bad/ AUTO_COMPRESS=FALSE")
    cur.execute("CREATE OR REPLACE TABLE STRICT_T (D DATE, S VARCHAR, N NUMBER)")
    with pytest.raises(ProgrammingError) as info:
        cur.execute("COPY INTO STRICT_T FROM @loads/bad/ FILE_FORMAT = (TYPE = CSV)")
    assert info.value.errno == 100038 and "line 2" in info.value.msg
    assert cur.execute("SELECT count(*) FROM STRICT_T").fetchone() == (0,)
    row = cur.execute("COPY INTO STRICT_T FROM @loads/bad/ FILE_FORMAT = (TYPE = CSV) ON_ERROR = SKIP_FILE").fetchone()
    assert (row[1], row[3], row[5]) == ("LOAD_FAILED", 0, 2)
    row = cur.execute("COPY INTO STRICT_T FROM @loads/bad/ FILE_FORMAT = (TYPE = CSV) ON_ERROR = CONTINUE").fetchone()
    assert (row[1], row[2], row[3], row[5]) == ("PARTIALLY_LOADED", 4, 2, 2)
    assert cur.execute("SELECT count(*) FROM STRICT_T").fetchone() == (2,)
    with pytest.raises(ProgrammingError) as info:
        cur.execute("COPY INTO STRICT_T FROM @loads/in/weather.parquet FILE_FORMAT = (TYPE = PARQUET)")
    assert "MATCH_BY_COLUMN_NAME" in info.value.msg


def test_copy_needs_privileges(server, admin, cur):
    from conftest import new_user_with_role

    new_user_with_role(admin, "ERIN", "LOADER", "erin-pw")
    cur.execute("GRANT USAGE ON DATABASE CONTAINER_HOL_DB TO ROLE LOADER")
    cur.execute("GRANT USAGE ON SCHEMA CONTAINER_HOL_DB.PUBLIC TO ROLE LOADER")
    cur.execute("GRANT USAGE ON WAREHOUSE CONTAINER_HOL_WH TO ROLE LOADER")
    erin = server.connect(user="erin", password="erin-pw", database="CONTAINER_HOL_DB", schema="PUBLIC",
                          warehouse="CONTAINER_HOL_WH").cursor()
    with pytest.raises(ProgrammingError) as info:
        erin.execute("COPY INTO LOADED FROM @loads/in/ FILE_FORMAT = (TYPE = CSV SKIP_HEADER = 1) FORCE = TRUE")
    assert info.value.errno == 2003
    cur.execute("GRANT INSERT ON TABLE LOADED TO ROLE LOADER")
    with pytest.raises(ProgrammingError) as info:
        erin.execute("COPY INTO LOADED FROM @loads/in/ FILE_FORMAT = (TYPE = CSV SKIP_HEADER = 1) FORCE = TRUE")
    assert "Stage 'CONTAINER_HOL_DB.PUBLIC.LOADS' does not exist or not authorized." in info.value.msg
    cur.execute("GRANT READ ON STAGE loads TO ROLE LOADER")
    rows = erin.execute("COPY INTO LOADED FROM @loads/in/ FILE_FORMAT = (TYPE = CSV SKIP_HEADER = 1) "
                        "PATTERN = '.*csv.*' FORCE = TRUE").fetchall()
    assert rows[0][3] == 20


def test_query_staged_files(cur, tmp_path):
    f = tmp_path / "people.csv"
    f.write_text("1,ann,2024-01-01\n2,bob,2024-01-02\n3,cy,2024-01-03\n")
    cur.execute(f"PUT file://{f} @loads/q/ AUTO_COMPRESS=TRUE")
    rows = cur.execute("SELECT $1::INT AS ID, $2 AS NAME, METADATA$FILENAME FROM @loads/q/ ORDER BY 1").fetchall()
    assert rows == [(1, "ann", "loads/q/people.csv.gz"), (2, "bob", "loads/q/people.csv.gz"),
                    (3, "cy", "loads/q/people.csv.gz")]
    assert cur.execute("SELECT count(*) FROM @loads/q/people.csv.gz t WHERE t.$2 LIKE '%n%'").fetchone() == (1,)
    cur.execute("CREATE OR REPLACE TABLE PEOPLE AS SELECT $1::INT AS ID, $2::VARCHAR AS NAME FROM @loads/q/")
    assert cur.execute("SELECT count(*) FROM PEOPLE").fetchone() == (3,)


def test_json_load(cur, tmp_path):
    f = tmp_path / "events.json"
    f.write_text("\n".join(json.dumps({"id": i, "kind": "click" if i % 2 else "view", "meta": {"n": i}})
                           for i in range(6)) + "\n")
    cur.execute(f"PUT file://{f} @loads/json/ AUTO_COMPRESS=TRUE")
    cur.execute("CREATE OR REPLACE TABLE EVENTS (ID NUMBER, KIND VARCHAR)")
    row = cur.execute("COPY INTO EVENTS FROM @loads/json/ FILE_FORMAT = (TYPE = JSON) "
                      "MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE").fetchone()
    assert (row[1], row[3]) == ("LOADED", 6)
    assert cur.execute("SELECT count(*) FROM EVENTS WHERE KIND = 'click'").fetchone() == (3,)
    cur.execute("CREATE OR REPLACE TABLE RAW_EVENTS (V VARIANT)")
    cur.execute("COPY INTO RAW_EVENTS FROM @loads/json/ FILE_FORMAT = (TYPE = JSON)")
    assert cur.execute("SELECT V:meta.n::INT FROM RAW_EVENTS ORDER BY 1 DESC LIMIT 1").fetchone() == (5,)
