"""Stage volumes end to end, through the real connector, the docker CLI and a real engine
(spcs-reference 8.3): both spellings (`source: "@stage/path"` with uid/gid, and `source: stage` with
`stageConfig.name`) mount the stage's files as a directory; a file PUT appears in the running container and
a file the container writes appears in LIST and comes back byte for byte from GET; without WRITE the mount
is read-only; without READ, CREATE SERVICE is refused; bad mounts are refused with nothing created."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time

import pytest
from registry_helpers import push_app_image
from service_helpers import engine_server
from snowflake.connector.errors import ProgrammingError

from conftest import ADMIN_PASSWORD

IMAGE = "/svol_db/public/svol_repo/app:1"
SPEC = f"""
spec:
  containers:
  - name: main
    image: {IMAGE}
    command: ["sh", "-c", "sleep 3600"]
    volumeMounts:
    - name: legacy
      mountPath: /data/legacy
    - name: current
      mountPath: /data/current
  volumes:
  - name: legacy
    source: "@vol/legacy"
    uid: 1000
    gid: 1000
  - name: current
    source: stage
    stageConfig:
      name: "@svol_db.public.vol/current/deeper"
"""


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    yield from engine_server(tmp_path_factory, "stage-volumes", SNOWPORT_SERVICE_TICK_SECONDS="1")


@pytest.fixture(scope="module")
def cur(svc, tmp_path_factory):
    conn = svc.connect()
    cursor = conn.cursor()
    for sql in ("CREATE ROLE SVOL_ROLE", "CREATE ROLE SVOL_READER", "CREATE ROLE SVOL_NOBODY",
                "GRANT ROLE SVOL_NOBODY TO USER ADMIN", "GRANT CREATE DATABASE ON ACCOUNT TO ROLE SVOL_ROLE",
                "GRANT CREATE COMPUTE POOL ON ACCOUNT TO ROLE SVOL_ROLE", "GRANT ROLE SVOL_ROLE TO USER ADMIN",
                "GRANT ROLE SVOL_READER TO USER ADMIN", "USE ROLE SVOL_ROLE", "CREATE DATABASE SVOL_DB",
                "CREATE IMAGE REPOSITORY SVOL_DB.PUBLIC.SVOL_REPO", "CREATE STAGE SVOL_DB.PUBLIC.VOL",
                "CREATE COMPUTE POOL SVOL_POOL MIN_NODES = 1 MAX_NODES = 1 INSTANCE_FAMILY = CPU_X64_S",
                # the reader may run services and read the stage, but not write to it
                "GRANT USAGE ON DATABASE SVOL_DB TO ROLE SVOL_READER",
                "GRANT USAGE, CREATE SERVICE ON SCHEMA SVOL_DB.PUBLIC TO ROLE SVOL_READER",
                "GRANT USAGE ON COMPUTE POOL SVOL_POOL TO ROLE SVOL_READER",
                "GRANT READ ON IMAGE REPOSITORY SVOL_DB.PUBLIC.SVOL_REPO TO ROLE SVOL_READER",
                "GRANT READ ON STAGE SVOL_DB.PUBLIC.VOL TO ROLE SVOL_READER",
                # ... and this one everything but the stage
                "GRANT USAGE ON DATABASE SVOL_DB TO ROLE SVOL_NOBODY",
                "GRANT USAGE, CREATE SERVICE ON SCHEMA SVOL_DB.PUBLIC TO ROLE SVOL_NOBODY",
                "GRANT USAGE ON COMPUTE POOL SVOL_POOL TO ROLE SVOL_NOBODY",
                "GRANT READ ON IMAGE REPOSITORY SVOL_DB.PUBLIC.SVOL_REPO TO ROLE SVOL_NOBODY",
                "USE SCHEMA SVOL_DB.PUBLIC", "USE SECONDARY ROLES NONE"):
        cursor.execute(sql)
    push_app_image(svc.port, IMAGE.lstrip("/"), tmp_path_factory.mktemp("push"), ADMIN_PASSWORD)
    yield cursor
    conn.close()


def _container(svc, service: str) -> str:
    """The running app container of `service` (found by the environment Snowport gives it)."""
    deadline = time.time() + 60
    while time.time() < deadline:
        for cid in subprocess.run(["docker", "ps", "-q", "--filter", "label=snowport.service"],
                                  capture_output=True, text=True).stdout.split():
            info = json.loads(subprocess.run(["docker", "inspect", cid], capture_output=True, text=True).stdout
                              or "[{}]")
            env = info[0].get("Config", {}).get("Env") or [] if info else []
            if "SNOWFLAKE_DATABASE=SVOL_DB" in env and f"SNOWFLAKE_SERVICE_NAME={service}" in env:
                return cid
        time.sleep(0.2)
    raise AssertionError(f"no running container for {service}")


def _exec(cid: str, script: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "exec", cid, "sh", "-c", script], capture_output=True, text=True, check=check)


def _wait_running(cur, name: str) -> None:
    deadline = time.time() + 90
    while cur.execute(f"SHOW SERVICES LIKE '{name}'").fetchone()[1] != "RUNNING":
        assert time.time() < deadline, cur.execute(f"SHOW SERVICE CONTAINERS IN SERVICE {name}").fetchall()
        time.sleep(0.3)


def _listed(cur, location: str) -> dict[str, tuple[int, str]]:
    return {r[0]: (r[1], r[2]) for r in cur.execute(f"LIST {location}").fetchall()}


def test_round_trip_both_ways_with_both_spellings(svc, cur, tmp_path):
    cur.execute(f"CREATE SERVICE VOLS IN COMPUTE POOL SVOL_POOL FROM SPECIFICATION $${SPEC}$$")
    _wait_running(cur, "VOLS")
    cid = _container(svc, "VOLS")
    # like Snowflake, the mounted folders exist on the stage from the start; uid/gid own the legacy one
    assert _exec(cid, "busybox stat -c %u:%g /data/legacy").stdout.strip() == "1000:1000"

    for mount, location in (("/data/legacy", "@vol/legacy"), ("/data/current", "@vol/current/deeper")):
        # the stage -> the container: a file PUT while the container runs appears in it, no restart
        local = tmp_path / f"put-{mount.rsplit('/', 1)[1]}.txt"
        local.write_text(f"put into {location}\n")
        cur.execute(f"PUT file://{local} {location} AUTO_COMPRESS = FALSE")
        assert _exec(cid, f"cat {mount}/{local.name}").stdout == f"put into {location}\n"
        if mount == "/data/legacy":  # with uid/gid, what a PUT brings belongs to that user too
            assert _exec(cid, f"busybox stat -c %u:%g {mount}/{local.name}").stdout.strip() == "1000:1000"

        # the container -> the stage: LIST shows the file with its size and md5; GET returns the same bytes
        _exec(cid, f"mkdir -p {mount}/out && head -c 300000 /dev/urandom > {mount}/out/written.bin")
        inside = _exec(cid, f"busybox md5sum {mount}/out/written.bin").stdout.split()[0]
        listed = _listed(cur, location)
        name = "vol/" + location[len("@vol/"):] + "/out/written.bin"
        assert listed[name] == (300000, inside), listed
        got = tmp_path / "got" / mount.rsplit("/", 1)[1]
        got.mkdir(parents=True)
        cur.execute(f"GET {location}/out/written.bin file://{got}")
        assert hashlib.md5((got / "written.bin").read_bytes()).hexdigest() == inside

        # REMOVE of everything under the mount keeps the mounted folder: later writes still reach the stage
        cur.execute(f"REMOVE {location}")
        assert _listed(cur, location) == {}
        _exec(cid, f"echo again > {mount}/after-remove.txt")
        assert "vol/" + location[len("@vol/"):] + "/after-remove.txt" in _listed(cur, location)

    assert cur.execute("SHOW SERVICE CONTAINERS IN SERVICE VOLS").fetchone()[  # no restart along the way
        [d[0] for d in cur.description].index("restart_count")] == 0
    cur.execute("DROP SERVICE VOLS")


def test_without_write_the_mount_is_read_only(svc, cur, tmp_path):
    local = tmp_path / "shared.txt"
    local.write_text("readable\n")
    cur.execute(f"PUT file://{local} @vol/legacy AUTO_COMPRESS = FALSE")
    cur.execute("USE ROLE SVOL_READER")
    try:
        cur.execute(f"CREATE SERVICE READER IN COMPUTE POOL SVOL_POOL FROM SPECIFICATION $${SPEC}$$")
        _wait_running(cur, "READER")
        cid = _container(svc, "READER")
        assert _exec(cid, "cat /data/legacy/shared.txt").stdout == "readable\n"
        refused = _exec(cid, "echo no > /data/legacy/nope.txt", check=False)
        assert refused.returncode != 0 and "Read-only file system" in refused.stderr, refused
        cur.execute("DROP SERVICE READER")
    finally:
        cur.execute("USE ROLE SVOL_ROLE")
    assert "vol/legacy/nope.txt" not in _listed(cur, "@vol/legacy")


def _refused(cur, spec: str) -> ProgrammingError:
    with pytest.raises(ProgrammingError) as e:
        cur.execute(f"CREATE SERVICE BAD IN COMPUTE POOL SVOL_POOL FROM SPECIFICATION $${spec}$$")
    assert cur.execute("SHOW SERVICES LIKE 'BAD'").fetchall() == []  # nothing created
    return e.value


def test_bad_mounts_are_refused_with_nothing_created(svc, cur):
    unknown = _refused(cur, SPEC.replace("- name: current\n      mountPath", "- name: nowhere\n      mountPath"))
    assert unknown.errno == 2025 and "volume 'nowhere' is not declared" in unknown.msg, unknown.msg
    missing = _refused(cur, SPEC.replace("@vol/legacy", "@no_such_stage/x"))
    assert missing.errno == 2003 and "NO_SUCH_STAGE" in missing.msg, missing.msg
    user_stage = _refused(cur, SPEC.replace("@vol/legacy", "@~/x"))
    assert user_stage.errno == 2025 and "only named internal stages" in user_stage.msg, user_stage.msg
    cur.execute("USE ROLE SVOL_NOBODY")
    try:  # no READ on the stage: to this role the stage does not exist
        no_read = _refused(cur, SPEC)
        assert no_read.errno == 2003 and "VOL" in no_read.msg, no_read.msg
    finally:
        cur.execute("USE ROLE SVOL_ROLE")
