"""Block volumes and snapshots end to end, through the real connector and the real Docker engine.

A service with a block volume appends a line to a file on it at each start and prints the file, so its
logs tell what the volume held: the data survives a container kill, SUSPEND / RESUME, an upgrade and a
kill -9 of Snowport; each instance has its own volume; the size is enforced inside the container; a
snapshot restores into a second service (`fromSnapshot`) and into an instance (`RESTORE VOLUME`); the
spec rules of spcs-reference 8.4 refuse what they should; DROP SERVICE ... FORCE takes the
SYS_BACKUP_ON_DELETE snapshots and leaves nothing mounted.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from registry_helpers import ensure_base_image, ensure_engine, push_app_image, remove_test_images, runtime_scope
from snowflake.connector.errors import ProgrammingError

from conftest import ADMIN_PASSWORD, Server, start_server

IMAGE = "/blk_db/public/blk_repo/app:1"


def _spec(version: str, extra_block: str = "", word: str = "start") -> str:
    return f"""
spec:
  containers:
  - name: main
    image: {IMAGE}
    command: ["sh", "-c", "echo {word}-$VERSION-$SNOWFLAKE_SERVICE_INSTANCE_ID >> /data/log.txt; echo ---; cat /data/log.txt; sleep 3600"]
    env:
      VERSION: {version}
    volumeMounts:
    - name: data
      mountPath: /data
  volumes:
  - name: data
    source: block
    size: 1Gi
{extra_block}"""


STATE: dict[str, object] = {}


def _server() -> Server:
    return STATE["server"]  # type: ignore[return-value]


def _mounts(data_dir: Path) -> list[str]:
    """Mount points under the data dir's block storage (this machine's mount table)."""
    root = str(data_dir / "block")
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(root)]


def _unmount_all(data_dir: Path) -> None:
    for point in _mounts(data_dir):
        subprocess.run(["umount", "-l", point], capture_output=True)


def _containers(*filters: str) -> list[str]:
    out = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=snowport.managed={STATE['scope']}",
                          "--filter", "label=snowport.service", *filters], capture_output=True, text=True).stdout
    return out.split()


def _app(instance: int) -> str:
    """The running app container of an instance of the (only) running block service."""
    found = subprocess.run(["docker", "ps", "-q", "--filter", f"label=snowport.managed={STATE['scope']}",
                            "--filter", f"label=snowport.instance={instance}", "--filter", "name=-main$",
                            "--filter", f"label=snowport.service={STATE['service_id']}"],
                           capture_output=True, text=True).stdout.split()
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(scope="module")
def cur(tmp_path_factory):
    ensure_engine()
    ensure_base_image()
    server = start_server(tmp_path_factory.mktemp("block") / "data", SNOWPORT_SERVICE_TICK_SECONDS="0.5")
    STATE.update(server=server, scope=runtime_scope(server.data_dir))
    conn = server.connect()
    cursor = conn.cursor()
    for sql in ("CREATE ROLE BLK_ROLE", "GRANT CREATE DATABASE ON ACCOUNT TO ROLE BLK_ROLE",
                "GRANT CREATE COMPUTE POOL ON ACCOUNT TO ROLE BLK_ROLE", "GRANT ROLE BLK_ROLE TO USER ADMIN",
                "USE ROLE BLK_ROLE", "CREATE DATABASE BLK_DB", "CREATE IMAGE REPOSITORY BLK_DB.PUBLIC.BLK_REPO",
                "USE SCHEMA BLK_DB.PUBLIC",
                "CREATE COMPUTE POOL BLK_POOL MIN_NODES = 1 MAX_NODES = 2 INSTANCE_FAMILY = CPU_X64_XS"):
        cursor.execute(sql)
    push_app_image(server.port, "blk_db/public/blk_repo/app:1", tmp_path_factory.mktemp("push"), ADMIN_PASSWORD)
    yield cursor
    conn.close()
    _server().stop()
    for cid in _containers():
        subprocess.run(["docker", "rm", "-f", cid], capture_output=True)
    _unmount_all(server.data_dir)  # what a failed test left mounted; the tests assert the normal path leaves none
    remove_test_images()


def _status(cur, name: str) -> str:
    rows = cur.execute(f"SHOW SERVICES LIKE '{name}'").fetchall()
    return rows[0][1] if rows else "MISSING"


def _wait(cur, name: str, status: str, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while _status(cur, name) != status:
        assert time.time() < deadline, (name, _status(cur, name), cur.execute(
            f"SHOW SERVICE CONTAINERS IN SERVICE {name}").fetchall(), _server().log()[-4000:])
        time.sleep(0.3)


def _volume_log(cur, name: str, instance: int, expected: list[str], timeout: float = 90) -> list[str]:
    """Waits until the instance's current run printed `expected` as the lines of /data/log.txt (an older run
    may still be shown while its pod is being replaced)."""
    deadline = time.time() + timeout
    lines: list[str] = []
    while time.time() < deadline:
        try:
            logs = cur.execute(f"SELECT SYSTEM$GET_SERVICE_LOGS('{name}', {instance}, 'main')").fetchone()[0]
        except ProgrammingError:
            logs = ""  # the container has not started yet
        lines = logs.split("---\n", 1)[1].split() if "---\n" in logs else []
        if lines == expected:
            return lines
        time.sleep(0.3)
    raise AssertionError(f"{name}/{instance}: {lines} != {expected}\n{_server().log()[-4000:]}")


def _restarts(cur, instance: int) -> int:
    rows = cur.execute("SHOW SERVICE CONTAINERS IN SERVICE DB_SVC").fetchall()
    return next(r[11] or 0 for r in rows if r[4] == str(instance))


def _kill_and_wait_restarted(cur, instance: int) -> None:
    """`docker kill` of the instance's app container, then until Snowport has started it again."""
    before = _restarts(cur, instance)
    subprocess.run(["docker", "kill", _app(instance)], check=True, capture_output=True)
    deadline = time.time() + 90
    while not any(r[4] == str(instance) and r[7] == "READY" and (r[11] or 0) > before
                  for r in cur.execute("SHOW SERVICE CONTAINERS IN SERVICE DB_SVC").fetchall()):
        assert time.time() < deadline, cur.execute("SHOW SERVICE CONTAINERS IN SERVICE DB_SVC").fetchall()
        time.sleep(0.3)


def _wait_no_pods() -> None:
    deadline = time.time() + 60
    while _containers("--filter", f"label=snowport.service={STATE['service_id']}"):
        assert time.time() < deadline, "a suspended service keeps no container"
        time.sleep(0.3)


def _refused(cur, sql: str, *words: str) -> str:
    with pytest.raises(ProgrammingError) as e:
        cur.execute(sql)
    for word in words:
        assert word in e.value.msg, e.value.msg
    return e.value.msg


def test_block_volume_needs_min_equal_max(cur):
    msg = _refused(cur, f"CREATE SERVICE BAD IN COMPUTE POOL BLK_POOL FROM SPECIFICATION $${_spec('v1')}$$ "
                        "MIN_INSTANCES = 1 MAX_INSTANCES = 2", "MIN_INSTANCES", "MAX_INSTANCES", "data")
    assert "block" in msg
    assert cur.execute("SHOW SERVICES LIKE 'BAD'").fetchall() == []
    _refused(cur, "CREATE SERVICE BAD IN COMPUTE POOL BLK_POOL FROM SPECIFICATION $$" +
             _spec("v1").replace("size: 1Gi", "size: 1500Mi") + "$$", "size")
    assert cur.execute("SHOW SERVICES LIKE 'BAD'").fetchall() == []


def test_data_persists_across_restarts_suspend_resume_upgrade_and_a_snowport_crash(cur):
    cur.execute(f"CREATE SERVICE DB_SVC IN COMPUTE POOL BLK_POOL FROM SPECIFICATION $${_spec('v1')}$$ "
                "MIN_INSTANCES = 2 MAX_INSTANCES = 2")
    _wait(cur, "DB_SVC", "RUNNING")
    # one volume per instance id
    _volume_log(cur, "DB_SVC", 0, ["start-v1-0"])
    _volume_log(cur, "DB_SVC", 1, ["start-v1-1"])
    any_app = _containers("--filter", "name=-main$", "--filter", "label=snowport.instance=0")[0]
    STATE["service_id"] = subprocess.run(["docker", "inspect", "-f", '{{index .Config.Labels "snowport.service"}}',
                                          any_app], capture_output=True, text=True).stdout.strip()
    data_dir = _server().data_dir
    assert len(_mounts(data_dir)) == 2, "each instance's volume is loop-mounted on the host"

    # the size is enforced inside the container: writing past 1Gi fails, and the file system stays usable
    fill = subprocess.run(["docker", "exec", _app(0), "sh", "-c",
                           "busybox dd if=/dev/zero of=/data/fill bs=1M count=1100; echo rc=$?"],
                          capture_output=True, text=True, timeout=120)
    assert "No space left on device" in fill.stdout + fill.stderr, fill
    assert "rc=0" not in fill.stdout
    subprocess.run(["docker", "exec", _app(0), "sh", "-c", "rm /data/fill"], check=True, timeout=60)

    # the instance count is fixed; DROP needs FORCE
    _refused(cur, "ALTER SERVICE DB_SVC SET MIN_INSTANCES = 3 MAX_INSTANCES = 3", "MIN_INSTANCES", "block")
    _refused(cur, "ALTER SERVICE DB_SVC SET MAX_INSTANCES = 3", "MAX_INSTANCES")
    _refused(cur, "ALTER SERVICE DB_SVC UNSET MIN_INSTANCES", "MIN_INSTANCES")
    _refused(cur, "DROP SERVICE DB_SVC", "FORCE")
    cur.execute("ALTER SERVICE DB_SVC SET COMMENT = 'other properties still change'")
    assert _status(cur, "DB_SVC") == "RUNNING"
    # an upgrade may not add, remove or resize a block volume
    _refused(cur, "ALTER SERVICE DB_SVC FROM SPECIFICATION $$" + _spec("v1").replace("size: 1Gi", "size: 2Gi") + "$$",
             "data")

    # a container killed behind Snowport's back comes back on the same volume
    _kill_and_wait_restarted(cur, 0)
    _volume_log(cur, "DB_SVC", 0, ["start-v1-0", "start-v1-0"], timeout=90)

    # SUSPEND / RESUME: the pods go, the volumes stay and are re-attached to the same instance ids
    cur.execute("ALTER SERVICE DB_SVC SUSPEND")
    _wait(cur, "DB_SVC", "SUSPENDED")
    _wait_no_pods()
    cur.execute("ALTER SERVICE DB_SVC RESUME")
    _wait(cur, "DB_SVC", "RUNNING")
    _volume_log(cur, "DB_SVC", 0, ["start-v1-0"] * 3)
    _volume_log(cur, "DB_SVC", 1, ["start-v1-1"] * 2)

    # upgrade: new pods, same volumes
    cur.execute(f"ALTER SERVICE DB_SVC FROM SPECIFICATION $${_spec('v2')}$$")
    _volume_log(cur, "DB_SVC", 0, ["start-v1-0"] * 3 + ["start-v2-0"], timeout=120)
    _volume_log(cur, "DB_SVC", 1, ["start-v1-1"] * 2 + ["start-v2-1"], timeout=120)
    _wait(cur, "DB_SVC", "RUNNING")

    # kill -9 of Snowport: the restarted server adopts the pods; the mounts are still there
    running = _app(0)
    _server().proc.kill()
    _server().proc.wait()
    restarted = start_server(data_dir, port=_server().port, SNOWPORT_SERVICE_TICK_SECONDS="0.5")
    STATE["server"] = restarted
    again = restarted.connect().cursor()
    for sql in ("USE ROLE BLK_ROLE", "USE SCHEMA BLK_DB.PUBLIC"):
        again.execute(sql)
    time.sleep(3)
    assert _status(again, "DB_SVC") == "RUNNING"
    assert _app(0) == running, "adopted, not recreated"
    assert len(_mounts(data_dir)) == 2
    STATE["cur"] = again

    # a volume no longer mounted on the host (as after a reboot) is mounted again before its container
    # is recreated; the data is there
    [mount0] = [m for m in _mounts(data_dir) if f"/svc{STATE['service_id']}-0-" in m]
    subprocess.run(["umount", "-l", mount0], check=True)
    assert len(_mounts(data_dir)) == 1
    _kill_and_wait_restarted(again, 0)
    _volume_log(again, "DB_SVC", 0, ["start-v1-0"] * 3 + ["start-v2-0"] * 2)
    assert len(_mounts(data_dir)) == 2


def _show_snapshots(cur, like: str) -> list[dict]:
    rows = cur.execute(f"SHOW SNAPSHOTS LIKE '{like}'").fetchall()
    return [dict(zip([d[0] for d in cur.description], r, strict=True)) for r in rows]


def test_snapshots_restore_into_a_new_service_and_into_an_instance(cur):
    cur = STATE.get("cur", cur)
    _refused(cur, 'CREATE SNAPSHOT S_BAD FROM SERVICE DB_SVC VOLUME "data" INSTANCE 2', "instance", "2")
    _refused(cur, 'CREATE SNAPSHOT S_BAD FROM SERVICE DB_SVC VOLUME "DATA" INSTANCE 0', "DATA")
    _refused(cur, 'CREATE SNAPSHOT S_BAD FROM SERVICE NO_SUCH VOLUME "data" INSTANCE 0', "NO_SUCH")
    assert _show_snapshots(cur, "S_BAD") == []

    assert cur.execute('CREATE SNAPSHOT SNAP0 FROM SERVICE DB_SVC VOLUME "data" INSTANCE 0 COMMENT = \'first\''
                       ).fetchall() == [("Snapshot SNAP0 successfully created.",)]
    [row] = _show_snapshots(cur, "SNAP0")
    assert list(row) == ["name", "state", "database_name", "schema_name", "service_name", "volume_name", "instance",
                         "size", "comment", "owner", "owner_role_type", "created_on", "updated_on", "encryption"]
    assert (row["state"], row["database_name"], row["service_name"], row["volume_name"], row["instance"],
            row["size"], row["comment"], row["owner"], row["encryption"]) == (
        "CREATED", "BLK_DB", "BLK_DB.PUBLIC.DB_SVC", "data", 0, 1, "first", "BLK_ROLE", "SNOWFLAKE_SSE")
    cur.execute("ALTER SNAPSHOT SNAP0 SET COMMENT = 'second'")
    described = cur.execute("DESCRIBE SNAPSHOT SNAP0").fetchall()
    assert described[0][0] == "SNAP0" and described[0][8] == "second"
    cur.execute("ALTER SNAPSHOT SNAP0 UNSET COMMENT")
    assert _show_snapshots(cur, "SNAP0")[0]["comment"] is None
    _refused(cur, 'CREATE SNAPSHOT SNAP0 FROM SERVICE DB_SVC VOLUME "data" INSTANCE 0', "already exists")
    assert cur.execute('CREATE SNAPSHOT IF NOT EXISTS SNAP0 FROM SERVICE DB_SVC VOLUME "data" INSTANCE 0'
                       ).fetchall()[0][0].endswith("already exists, statement succeeded.")

    # fromSnapshot: a second service starts on a copy of instance 0's volume
    copy_spec = _spec("v1", "    blockConfig:\n      initialContents:\n        fromSnapshot: SNAP0\n"
                      "      snapshotOnDelete: false\n", word="copy")
    _refused(cur, "CREATE SERVICE COPY_SVC IN COMPUTE POOL BLK_POOL FROM SPECIFICATION $$" +
             copy_spec.replace("SNAP0", "NO_SNAP") + "$$", "NO_SNAP")
    cur.execute(f"CREATE SERVICE COPY_SVC IN COMPUTE POOL BLK_POOL FROM SPECIFICATION $${copy_spec}$$")
    history = ["start-v1-0"] * 3 + ["start-v2-0"] * 2
    _volume_log(cur, "COPY_SVC", 0, [*history, "copy-v1-0"], timeout=90)

    # RESTORE VOLUME: instance 1 of DB_SVC gets instance 0's data; the service must be suspended first
    restore = 'ALTER SERVICE DB_SVC RESTORE VOLUME "data" INSTANCES 1 FROM SNAPSHOT SNAP0'
    _refused(cur, restore, "SUSPEND")
    cur.execute("ALTER SERVICE DB_SVC SUSPEND")
    _wait(cur, "DB_SVC", "SUSPENDED")
    _wait_no_pods()
    _refused(cur, 'ALTER SERVICE DB_SVC RESTORE VOLUME "data" INSTANCES 0, 2 FROM SNAPSHOT SNAP0', "instance")
    assert cur.execute(restore).fetchall() == [("Statement executed successfully.",)]
    _wait(cur, "DB_SVC", "RUNNING")  # resumed by the restore
    _volume_log(cur, "DB_SVC", 1, [*history, "start-v2-1"], timeout=90)
    _volume_log(cur, "DB_SVC", 0, [*history, "start-v2-0"])
    deadline = time.time() + 30
    while len(_mounts(_server().data_dir)) != 3:  # DB_SVC's two (the restored one new) and COPY_SVC's
        assert time.time() < deadline, _mounts(_server().data_dir)
        time.sleep(0.3)


def test_drop_force_snapshots_first_and_leaves_nothing_mounted(cur):
    cur = STATE.get("cur", cur)
    data_dir = _server().data_dir
    assert cur.execute("DROP SERVICE DB_SVC FORCE").fetchall() == [("DB_SVC successfully dropped.",)]
    backups = _show_snapshots(cur, "SYS_BACKUP_ON_DELETE%")
    assert sorted((b["service_name"], b["volume_name"], b["instance"], b["state"]) for b in backups) == [
        ("BLK_DB.PUBLIC.DB_SVC", "data", 0, "CREATED"), ("BLK_DB.PUBLIC.DB_SVC", "data", 1, "CREATED")]
    assert cur.execute("DROP SERVICE COPY_SVC FORCE").fetchall() == [("COPY_SVC successfully dropped.",)]
    assert len(_show_snapshots(cur, "SYS_BACKUP_ON_DELETE%")) == 2, "COPY_SVC has snapshotOnDelete: false"
    deadline = time.time() + 60
    while _containers() or _mounts(data_dir) or list((data_dir / "block" / "volumes").iterdir()):
        assert time.time() < deadline, (_containers(), _mounts(data_dir))
        time.sleep(0.3)

    # a backup restores like any snapshot
    backup = next(b["name"] for b in backups if b["instance"] == 0)
    cur.execute("CREATE SERVICE BACK IN COMPUTE POOL BLK_POOL FROM SPECIFICATION $$" + _spec(
        "v3", f"    blockConfig:\n      initialContents:\n        fromSnapshot: BLK_DB.PUBLIC.{backup}\n") + "$$")
    history = ["start-v1-0"] * 3 + ["start-v2-0"] * 2
    _volume_log(cur, "BACK", 0, [*history, "start-v2-0", "start-v3-0"])
    cur.execute("DROP SERVICE BACK FORCE")
    for snapshot in ("SNAP0", *(b["name"] for b in backups)):
        cur.execute(f"DROP SNAPSHOT {snapshot}")
    assert _show_snapshots(cur, "%") == [s for s in _show_snapshots(cur, "%") if s["service_name"].endswith(".BACK")]
    deadline = time.time() + 60
    while _containers() or _mounts(data_dir):
        assert time.time() < deadline, (_containers(), _mounts(data_dir))
        time.sleep(0.3)
    for backup in _show_snapshots(cur, "%"):
        cur.execute(f"DROP SNAPSHOT {backup['name']}")
    assert not list((data_dir / "block" / "snapshots").glob("*.img")), "dropped snapshots free their bytes"


def test_loop_storage_on_its_own(tmp_path):
    """runtime/block.py without a server: a claim is made once, mounted on demand, sized exactly; a snapshot
    restores into a larger volume (the file system grows); deleting unmounts and frees everything."""
    from snowport.runtime.block import BlockVolumeError, LoopBlockStorage

    store = LoopBlockStorage(tmp_path / "block")
    try:
        gib = 1024 ** 3
        assert store.ensure("a-0", gib, {"who": "a"}) is True
        assert store.ensure("a-0", gib, {"who": "a"}) is False, "made once"
        mnt = Path(store.mounted("a-0"))
        assert store.mounted("a-0") == str(mnt) and str(mnt.parent) in _mounts(tmp_path)
        assert sorted(p.name for p in mnt.parent.iterdir()) == ["data", "lost+found"]
        (mnt / "kept.txt").write_text("kept\n")
        assert store.snapshot("a-0", "snap-a") == gib
        assert (tmp_path / "block" / "snapshots" / "snap-a.img").stat().st_blocks * 512 < 200 * 1024 ** 2, "sparse"
        store.ensure("b-0", 2 * gib, {"who": "b"}, from_snapshot="snap-a")
        grown = Path(store.mounted("b-0"))
        assert (grown / "kept.txt").read_text() == "kept\n"
        total = os.statvfs(grown).f_blocks * os.statvfs(grown).f_frsize
        assert 1.9 * gib < total <= 2 * gib, total
        assert sorted(store.list({"who": "b"})) == ["b-0"]
        with pytest.raises(BlockVolumeError, match="larger"):
            LoopBlockStorage(tmp_path / "block").ensure("c-0", gib // 2, {}, from_snapshot="snap-a")
        assert not store.exists("c-0"), "a failed claim leaves nothing behind"
        store.unmount("a-0")
        assert not mnt.exists(), "the directory containers bind-mount exists only while mounted"
        store.delete("a-0")
        store.delete("b-0")
        store.delete_snapshot("snap-a")
        assert _mounts(tmp_path) == [] and store.list() == {}
    finally:
        store.release_all()
