"""Snowpark and the snow CLI against Snowport, unchanged."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from snowflake.snowpark import Session
from snowflake.snowpark import functions as F

from conftest import ADMIN_PASSWORD


@pytest.fixture(scope="module")
def session(server, tutorial):
    s = Session.builder.configs({
        "account": "snowport", "user": "admin", "password": ADMIN_PASSWORD, "host": "127.0.0.1",
        "port": server.port, "protocol": "http", "role": "CONTAINER_USER_ROLE", "database": "CONTAINER_HOL_DB",
        "schema": "PUBLIC", "warehouse": "CONTAINER_HOL_WH",
    }).create()
    yield s
    s.close()


def test_snowpark_session(session, capsys):
    assert session.get_current_role() == '"CONTAINER_USER_ROLE"'
    assert session.get_current_database() == '"CONTAINER_HOL_DB"'
    assert session.get_current_schema() == '"PUBLIC"'
    assert session.get_current_warehouse() == '"CONTAINER_HOL_WH"'
    assert session.get_current_account().upper() == '"SNOWPORT"'  # the client echoes the account it was given
    assert session.get_current_user().upper() == '"ADMIN"'
    assert session.sql("select current_role(), 1 + 1 as two").collect()[0]["TWO"] == 2
    session.table("weather").show()
    out = capsys.readouterr().out
    assert "LOCATION" in out and "London" in out
    df = session.table("weather")
    assert df.count() == 10
    warm = df.filter(F.col("temp_c") > 18).select("location").sort("location").collect()
    assert [r["LOCATION"] for r in warm] == ["Cambridge", "Manchester", "Newcastle"]
    assert df.to_pandas()["TEMP_C"].sum() == 162


def test_snowpark_dataframe_writes(session):
    df = session.create_dataframe([[1, "a"], [2, "b"]], schema=["x", "y"])
    df.write.save_as_table("SNOWPARK_T", mode="overwrite")
    assert sorted(session.table("SNOWPARK_T").collect()) == [(1, "a"), (2, "b")]


def _snow() -> str:
    exe = shutil.which("snow", path=str(Path(sys.executable).parent)) or shutil.which("snow")
    assert exe, "the snow CLI (snowflake-cli) must be installed"
    return exe


def _snow_env(tmp_path: Path, server) -> dict:
    home = tmp_path / "snowhome"
    home.mkdir(exist_ok=True)
    config = home / "config.toml"
    config.write_text(
        'default_connection_name = "snowport"\n[cli]\nignore_new_version_warning = true\n'
        "[connections.snowport]\n"
        f'account = "snowport"\nuser = "admin"\npassword = "{ADMIN_PASSWORD}"\nhost = "127.0.0.1"\n'
        f'port = {server.port}\nprotocol = "http"\nwarehouse = "CONTAINER_HOL_WH"\n'
    )
    config.chmod(0o600)
    return dict(os.environ, SNOWFLAKE_HOME=str(home), HOME=str(tmp_path))


def test_snow_sql(tmp_path, server, tutorial):
    env = _snow_env(tmp_path, server)
    out = subprocess.run([_snow(), "sql", "-q", "select current_role()", "--format", "json"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr + out.stdout
    assert json.loads(out.stdout) == [{"CURRENT_ROLE()": "ACCOUNTADMIN"}]
    out = subprocess.run([_snow(), "sql", "-q", "use role container_user_role; select count(*) as n from "
                          "container_hol_db.public.weather", "--format", "json"], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr + out.stdout
    assert json.loads(out.stdout)[-1] == [{"N": 10}]


def test_snow_connection_test(tmp_path, server, tutorial):
    env = _snow_env(tmp_path, server)
    out = subprocess.run([_snow(), "connection", "test"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr + out.stdout
    assert "OK" in out.stdout
