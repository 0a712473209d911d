"""UNDROP DATABASE | SCHEMA | TABLE: a dropped object comes back with its data, contents and grants,
through the real connector and across a restart; retention 0 drops for good; purge frees storage."""

from __future__ import annotations

import time

import pytest
from snowflake.connector.errors import ProgrammingError

from conftest import ADMIN_PASSWORD, start_server


@pytest.fixture()
def fresh(tmp_path):
    server = start_server(tmp_path / "data")
    yield server
    server.stop()


def _err(cur, sql) -> ProgrammingError:
    with pytest.raises(ProgrammingError) as info:
        cur.execute(sql)
    return info.value


def _names(cur, sql: str, column: int = 1) -> list[str]:
    return [r[column] for r in cur.execute(sql).fetchall()]


def test_undrop_table_brings_back_rows_and_grants_across_a_restart(fresh, tmp_path):
    cur = fresh.connect().cursor()
    cur.execute("CREATE WAREHOUSE UW")
    cur.execute("CREATE DATABASE UD")
    cur.execute("CREATE ROLE UR")
    cur.execute("CREATE TABLE UD.PUBLIC.T (A INT)")
    cur.execute("INSERT INTO UD.PUBLIC.T VALUES (1), (2), (3)")
    cur.execute("GRANT SELECT ON TABLE UD.PUBLIC.T TO ROLE UR")
    assert cur.execute("DROP TABLE UD.PUBLIC.T").fetchone() == ("T successfully dropped.",)
    assert _names(cur, "SHOW TABLES IN SCHEMA UD.PUBLIC") == []
    assert _err(cur, "SELECT * FROM UD.PUBLIC.T").errno == 2003
    # a new table may take the name meanwhile; UNDROP then refuses until the name is free again
    cur.execute("CREATE TABLE UD.PUBLIC.T (B VARCHAR)")
    e = _err(cur, "UNDROP TABLE UD.PUBLIC.T")
    assert (e.errno, e.sqlstate) == (2002, "42710")
    cur.execute("ALTER TABLE UD.PUBLIC.T RENAME TO T2")
    fresh.stop()
    restarted = start_server(fresh.data_dir, port=fresh.port)
    try:
        cur = restarted.connect().cursor()
        cur.execute("USE WAREHOUSE UW")
        assert cur.execute("UNDROP TABLE UD.PUBLIC.T").fetchone() == ("Table T successfully restored.",)
        assert cur.execute("SELECT SUM(A) FROM UD.PUBLIC.T").fetchone() == (6,)
        assert ("SELECT", "TABLE", "UD.PUBLIC.T") in [
            (r[1], r[2], r[3]) for r in cur.execute("SHOW GRANTS TO ROLE UR").fetchall()]
        assert sorted(_names(cur, "SHOW TABLES IN SCHEMA UD.PUBLIC")) == ["T", "T2"]
        e = _err(cur, "UNDROP TABLE UD.PUBLIC.T")
        assert (e.errno, e.sqlstate) == (2002, "42710")
    finally:
        restarted.stop()


def test_undrop_database_and_schema_restore_their_contents(fresh, tmp_path):
    cur = fresh.connect().cursor()
    cur.execute("CREATE WAREHOUSE UW")
    cur.execute("CREATE DATABASE UDB")
    cur.execute("CREATE SCHEMA UDB.S")
    cur.execute("CREATE TABLE UDB.S.T (A INT)")
    cur.execute("INSERT INTO UDB.S.T VALUES (7)")
    cur.execute("CREATE STAGE UDB.S.ST")
    local = tmp_path / "f.csv"
    local.write_text("1,2\n")
    cur.execute(f"PUT file://{local} @UDB.S.ST AUTO_COMPRESS=FALSE")

    assert cur.execute("DROP SCHEMA UDB.S").fetchone() == ("S successfully dropped.",)
    assert "S" not in _names(cur, "SHOW SCHEMAS IN DATABASE UDB")
    assert cur.execute("UNDROP SCHEMA UDB.S").fetchone() == ("Schema S successfully restored.",)
    assert cur.execute("SELECT A FROM UDB.S.T").fetchall() == [(7,)]
    assert [r[0] for r in cur.execute("LIST @UDB.S.ST").fetchall()] == ["st/f.csv"]

    assert cur.execute("DROP DATABASE UDB").fetchone() == ("UDB successfully dropped.",)
    assert "UDB" not in _names(cur, "SHOW DATABASES")
    e = _err(cur, "SELECT A FROM UDB.S.T")
    assert e.errno == 2003
    assert cur.execute("UNDROP DATABASE UDB").fetchone() == ("Database UDB successfully restored.",)
    assert cur.execute("SELECT A FROM UDB.S.T").fetchall() == [(7,)]
    assert [r[0] for r in cur.execute("LIST @UDB.S.ST").fetchall()] == ["st/f.csv"]


def test_nothing_to_undrop_and_retention_zero(fresh):
    cur = fresh.connect().cursor()
    e = _err(cur, "UNDROP DATABASE NEVER_WAS")
    assert (e.errno, e.sqlstate) == (2003, "02000")
    assert "Database 'NEVER_WAS' does not exist or not authorized." in e.msg
    cur.execute("CREATE DATABASE GONE DATA_RETENTION_TIME_IN_DAYS = 0")
    cur.execute("CREATE TABLE GONE.PUBLIC.T (A INT)")
    cur.execute("DROP TABLE GONE.PUBLIC.T")
    assert _err(cur, "UNDROP TABLE GONE.PUBLIC.T").errno == 2003
    cur.execute("DROP DATABASE GONE")
    assert _err(cur, "UNDROP DATABASE GONE").errno == 2003
    assert not list((fresh.data_dir / "duckdb").glob("GONE*"))


def test_undrop_needs_ownership_of_the_dropped_object(fresh):
    admin = fresh.connect().cursor()
    admin.execute("CREATE DATABASE OWNED")
    admin.execute("CREATE ROLE CREATOR")
    admin.execute("GRANT CREATE DATABASE ON ACCOUNT TO ROLE CREATOR")
    admin.execute("CREATE USER UNDROPPER PASSWORD = 'u-pw' DEFAULT_ROLE = CREATOR")
    admin.execute("GRANT ROLE CREATOR TO USER UNDROPPER")
    admin.execute("DROP DATABASE OWNED")
    other = fresh.connect(user="undropper", password="u-pw").cursor()
    e = _err(other, "UNDROP DATABASE OWNED")
    assert (e.errno, e.sqlstate) == (3001, "42501")
    assert "OWNED" not in _names(admin, "SHOW DATABASES")
    assert admin.execute("UNDROP DATABASE OWNED").fetchone() == ("Database OWNED successfully restored.",)


def test_purge_after_retention_frees_engine_storage(tmp_path):
    """The dropped-object controller's work, run in-process with a clock past the retention period."""
    from snowport.commands import lifecycle
    from snowport.config import Settings
    from snowport.core import Snowport

    core = Snowport(Settings(data_dir=tmp_path / "data", admin_password=ADMIN_PASSWORD))
    try:
        user, role = core.authenticate("admin", ADMIN_PASSWORD, None)
        session = core.open_session(user, role, None, None, None)
        for sql in ("CREATE WAREHOUSE PW", "CREATE DATABASE PDB", "CREATE TABLE PDB.PUBLIC.T (A INT)",
                    "DROP TABLE PDB.PUBLIC.T", "CREATE DATABASE PDB2", "DROP DATABASE PDB2"):
            record = core.run(session, sql)
            assert record.error is None, (sql, record.error)
        hidden = core.engine.duck.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '_snowport_dropped_%'").fetchone()
        assert hidden == (1,)
        assert len(core.catalog.dropped_records()) == 2
        assert lifecycle.purge_expired(core, time.time()) == 0  # still within the day
        assert lifecycle.purge_expired(core, time.time() + 2 * 86400) == 2
        assert core.catalog.dropped_records() == []
        assert core.engine.duck.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '_snowport_dropped_%'").fetchone() == (0,)
        assert not list((tmp_path / "data" / "duckdb" / ".dropped").glob("*.db"))
        assert core.run(session, "UNDROP TABLE PDB.PUBLIC.T").error.code == 2003
    finally:
        core.close()
