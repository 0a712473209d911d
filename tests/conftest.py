"""Fixtures: a real `snowport up` process on a free port with a temporary data dir.

Tests talk to it only through the real clients (connector, Snowpark, snow CLI) or raw HTTP.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ["SNOWFLAKE_DISABLE_PLATFORM_DETECTION"] = "true"
os.environ.pop("HTTPS_PROXY", None)
os.environ.pop("HTTP_PROXY", None)

import snowflake.connector  # noqa: E402

ADMIN_PASSWORD = "test-admin-pw"
SNOWPORT = [sys.executable, "-m", "snowport"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    port: int
    data_dir: Path
    proc: subprocess.Popen
    log_path: Path
    env: dict

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connect(self, user: str = "admin", password: str = ADMIN_PASSWORD, **kwargs):
        params = dict(account="snowport", user=user, password=password, host="127.0.0.1", port=self.port,
                      protocol="http", login_timeout=20, network_timeout=60)
        params.update(kwargs)
        return snowflake.connector.connect(**params)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(2)  # Ctrl-C: clean shutdown
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_server(data_dir: Path, port: int | None = None, **env_overrides: str) -> Server:
    port = port or free_port()
    env = dict(os.environ, SNOWPORT_ADMIN_PASSWORD=ADMIN_PASSWORD, **env_overrides)
    log_path = data_dir.parent / f"{data_dir.name}-{port}.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [*SNOWPORT, "up", "--port", str(port), "--data-dir", str(data_dir)], stdout=log, stderr=log, env=env
        )
    server = Server(port, data_dir, proc, log_path, env)
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"snowport exited early:\n{server.log()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"snowport did not start:\n{server.log()}")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("snowport") / "data")
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def admin(server: Server):
    conn = server.connect()
    yield conn
    conn.close()


TUTORIAL_SETUP = [
    "USE ROLE ACCOUNTADMIN",
    "CREATE ROLE IF NOT EXISTS CONTAINER_USER_ROLE",
    "GRANT CREATE DATABASE ON ACCOUNT TO ROLE CONTAINER_USER_ROLE",
    "GRANT CREATE WAREHOUSE ON ACCOUNT TO ROLE CONTAINER_USER_ROLE",
    "GRANT CREATE COMPUTE POOL ON ACCOUNT TO ROLE CONTAINER_USER_ROLE",
    "GRANT CREATE INTEGRATION ON ACCOUNT TO ROLE CONTAINER_USER_ROLE",
    "GRANT MONITOR USAGE ON ACCOUNT TO  ROLE  CONTAINER_USER_ROLE",
    "GRANT BIND SERVICE ENDPOINT ON ACCOUNT TO ROLE CONTAINER_USER_ROLE",
    "GRANT IMPORTED PRIVILEGES ON DATABASE snowflake TO ROLE CONTAINER_USER_ROLE",
    "grant role CONTAINER_USER_ROLE to role ACCOUNTADMIN",
    "USE ROLE CONTAINER_USER_ROLE",
    "CREATE OR REPLACE DATABASE CONTAINER_HOL_DB",
    "CREATE OR REPLACE WAREHOUSE CONTAINER_HOL_WH\n  WAREHOUSE_SIZE = XSMALL\n  AUTO_SUSPEND = 120\n  AUTO_RESUME = TRUE",
    "CREATE STAGE IF NOT EXISTS specs\nENCRYPTION = (TYPE='SNOWFLAKE_SSE')",
    "CREATE STAGE IF NOT EXISTS volumes\nENCRYPTION = (TYPE='SNOWFLAKE_SSE')\nDIRECTORY = (ENABLE = TRUE)",
]

# The second setup block, without the objects later issues bring (network rule, integration, compute pool).
TUTORIAL_REGISTRY_SETUP = [
    "USE ROLE ACCOUNTADMIN",
    "USE ROLE CONTAINER_USER_ROLE",
    "CREATE IMAGE REPOSITORY CONTAINER_HOL_DB.PUBLIC.IMAGE_REPO",
    "SHOW IMAGE REPOSITORIES IN SCHEMA CONTAINER_HOL_DB.PUBLIC",
]

WEATHER_ROWS = [
    ("2023-03-21", "London", 15),
    ("2023-07-13", "Manchester", 20),
    ("2023-05-09", "Liverpool", 17),
    ("2023-09-17", "Cambridge", 19),
    ("2023-11-02", "Oxford", 13),
    ("2023-01-25", "Birmingham", 11),
    ("2023-08-30", "Newcastle", 21),
    ("2023-06-15", "Bristol", 16),
    ("2023-04-07", "Leeds", 18),
    ("2023-10-23", "Southampton", 12),
]

WEATHER_SQL = [
    "USE ROLE CONTAINER_USER_ROLE",
    "USE DATABASE CONTAINER_HOL_DB",
    "USE SCHEMA PUBLIC",
    "USE WAREHOUSE CONTAINER_HOL_WH",
    "CREATE OR REPLACE TABLE WEATHER (\n    DATE DATE,\n    LOCATION VARCHAR,\n    TEMP_C NUMBER,\n    TEMP_F NUMBER\n);",
    "INSERT INTO weather (DATE, LOCATION, TEMP_C, TEMP_F) \n    VALUES \n"
    + ",\n".join(f"        ('{d}', '{loc}', {t}, NULL)" for d, loc, t in WEATHER_ROWS)
    + ";",
]


@pytest.fixture(scope="session")
def tutorial(admin) -> None:
    """The tutorial's setup and WEATHER table, run once for tests that build on them."""
    cur = admin.cursor()
    for sql in TUTORIAL_SETUP + WEATHER_SQL:
        cur.execute(sql)
    cur.execute("USE ROLE ACCOUNTADMIN")


def new_user_with_role(admin, user: str, role: str, password: str) -> None:
    """As ACCOUNTADMIN: a fresh role with no privileges and a user whose default it is."""
    cur = admin.cursor()
    cur.execute("USE ROLE ACCOUNTADMIN")
    cur.execute(f"CREATE OR REPLACE ROLE {role}")
    cur.execute(f"CREATE OR REPLACE USER {user} PASSWORD = '{password}' DEFAULT_ROLE = {role}")
    cur.execute(f"GRANT ROLE {role} TO USER {user}")
