"""Stages through the real connector, snow CLI and snowflake.core, from a client directory outside the
server's data dir: PUT/GET/LS/REMOVE, OVERWRITE, globs and PATTERN, privileges, bad input."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from snowflake.connector.errors import Error, ProgrammingError

from conftest import new_user_with_role

SPEC = "spec:\n  containers:\n  - name: main\n    image: /container_hol_db/public/image_repo/app:latest\n"


@pytest.fixture(scope="module")
def conn(server, tutorial):
    c = server.connect(role="CONTAINER_USER_ROLE", database="CONTAINER_HOL_DB", schema="PUBLIC",
                       warehouse="CONTAINER_HOL_WH")
    cur = c.cursor()
    cur.execute("CREATE STAGE IF NOT EXISTS specs\nENCRYPTION = (TYPE='SNOWFLAKE_SSE')")
    cur.execute("CREATE STAGE IF NOT EXISTS volumes\nENCRYPTION = (TYPE='SNOWFLAKE_SSE')\nDIRECTORY = (ENABLE = TRUE)")
    yield c
    c.close()


@pytest.fixture()
def client_dir(tmp_path, server):
    d = tmp_path / "client"
    d.mkdir()
    assert server.data_dir not in d.parents
    return d


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _ls(cur, target: str) -> dict[str, tuple[int, str]]:
    return {name: (size, md5) for name, size, md5, _ in cur.execute(f"LS {target}").fetchall()}


def test_put_ls_get_spec(conn, client_dir):
    cur = conn.cursor()
    spec = client_dir / "convert-api.yaml"
    spec.write_text(SPEC)
    rows = cur.execute(f"PUT file://{spec} @specs AUTO_COMPRESS=FALSE OVERWRITE=TRUE").fetchall()
    assert rows == [("convert-api.yaml", "convert-api.yaml", len(SPEC), len(SPEC), "NONE", "NONE", "UPLOADED", "")]
    assert _ls(cur, "@CONTAINER_HOL_DB.PUBLIC.SPECS")["specs/convert-api.yaml"] == (len(SPEC), _md5(SPEC.encode()))
    out = client_dir / "out"
    out.mkdir()
    assert cur.execute(f"GET @specs/convert-api.yaml file://{out}/").fetchall() == [
        ("convert-api.yaml", len(SPEC), "DOWNLOADED", "")]
    assert (out / "convert-api.yaml").read_text() == SPEC


@pytest.mark.parametrize("compress", [False, True])
def test_hundred_megabytes(conn, client_dir, compress):
    cur = conn.cursor()
    data = os.urandom(50 * 1024 * 1024) + bytes(50 * 1024 * 1024)  # random and compressible halves
    src = client_dir / "big.bin"
    src.write_bytes(data)
    cur.execute(f"PUT file://{src} @volumes/big/ AUTO_COMPRESS={compress} OVERWRITE=TRUE PARALLEL=4")
    name = "volumes/big/big.bin" + (".gz" if compress else "")
    listed = _ls(cur, "@volumes/big/")
    stored_size = listed[name][0]
    assert (stored_size < len(data)) if compress else (listed[name] == (len(data), _md5(data)))
    out = client_dir / "back"
    out.mkdir()
    cur.execute(f"GET @volumes/big/{Path(name).name} file://{out}/ PARALLEL=4")
    got = (out / Path(name).name).read_bytes()
    assert len(got) == stored_size and _md5(got) == listed[name][1]
    assert (gzip.decompress(got) if compress else got) == data
    cur.execute("REMOVE @volumes/big/")


def test_overwrite_false_keeps_existing_file(conn, client_dir):
    cur = conn.cursor()
    f = client_dir / "keep.txt"
    f.write_text("version 1")
    cur.execute(f"PUT file://{f} @specs/keep/ AUTO_COMPRESS=FALSE OVERWRITE=TRUE")
    f.write_text("version 2, longer")
    cur.execute(f"PUT file://{f} @specs/keep/ AUTO_COMPRESS=FALSE OVERWRITE=FALSE")
    assert _ls(cur, "@specs/keep/")["specs/keep/keep.txt"] == (9, _md5(b"version 1"))
    cur.execute(f"PUT file://{f} @specs/keep/ AUTO_COMPRESS=FALSE OVERWRITE=TRUE")
    assert _ls(cur, "@specs/keep/")["specs/keep/keep.txt"][0] == len("version 2, longer")


def test_globs_and_pattern(conn, client_dir):
    cur = conn.cursor()
    for name in ("a.csv", "b.csv", "c.json", "d.txt"):
        (client_dir / name).write_text(name)
    rows = cur.execute(f"PUT file://{client_dir}/*.csv @specs/glob/ AUTO_COMPRESS=FALSE").fetchall()
    assert sorted(r[0] for r in rows) == ["a.csv", "b.csv"]
    cur.execute(f"PUT 'file://{client_dir}/c.json' @specs/glob/ AUTO_COMPRESS=FALSE")
    assert sorted(_ls(cur, "@specs/glob/")) == ["specs/glob/a.csv", "specs/glob/b.csv", "specs/glob/c.json"]
    assert [r[0] for r in cur.execute("LIST @specs/glob PATTERN = '.*[.]json'").fetchall()] == ["specs/glob/c.json"]
    out = client_dir / "dl"
    out.mkdir()
    got = cur.execute(f"GET @specs/glob/ file://{out} PATTERN = '.*b[.]csv'").fetchall()
    assert [r[0] for r in got] == ["b.csv"] and sorted(os.listdir(out)) == ["b.csv"]
    removed = cur.execute("RM @specs/glob PATTERN = '.*[.]csv'").fetchall()
    assert sorted(r[0] for r in removed) == ["specs/glob/a.csv", "specs/glob/b.csv"]
    assert sorted(_ls(cur, "@specs/glob/")) == ["specs/glob/c.json"]


def test_user_and_table_stages(conn, client_dir):
    cur = conn.cursor()
    f = client_dir / "mine.txt"
    f.write_text("mine")
    cur.execute(f"PUT file://{f} @~/notes/ AUTO_COMPRESS=FALSE OVERWRITE=TRUE")
    assert "notes/mine.txt" in _ls(cur, "@~")
    cur.execute(f"PUT file://{f} @%weather AUTO_COMPRESS=FALSE OVERWRITE=TRUE")
    assert list(_ls(cur, "@%weather")) == ["mine.txt"]
    cur.execute("REMOVE @%weather")


def test_show_describe_alter_drop_stage(conn):
    cur = conn.cursor()
    cur.execute("CREATE OR REPLACE STAGE tmp_stage COMMENT = 'scratch'")
    rows = cur.execute("SHOW STAGES LIKE 'TMP%'").fetchall()
    names = [d.name for d in cur.description]
    row = dict(zip(names, rows[0], strict=True))
    assert (row["name"], row["database_name"], row["schema_name"], row["owner"], row["comment"], row["type"],
            row["directory_enabled"]) == ("TMP_STAGE", "CONTAINER_HOL_DB", "PUBLIC", "CONTAINER_USER_ROLE",
                                          "scratch", "INTERNAL", "N")
    desc = {(r[0], r[1]): r[3] for r in cur.execute("DESC STAGE tmp_stage").fetchall()}
    assert desc[("DIRECTORY", "ENABLE")] == "false"
    cur.execute("ALTER STAGE tmp_stage SET DIRECTORY = (ENABLE = TRUE)")
    assert cur.execute("SHOW STAGES LIKE 'TMP%'").fetchall()[0][-1] == "Y"
    cur.execute("DROP STAGE tmp_stage")
    assert cur.execute("SHOW STAGES LIKE 'TMP%'").fetchall() == []


def test_stage_privileges(server, admin, conn, client_dir):
    new_user_with_role(admin, "DAVE", "STAGE_READER", "dave-pw")
    owner = conn.cursor()
    owner.execute("GRANT USAGE ON DATABASE CONTAINER_HOL_DB TO ROLE STAGE_READER")
    owner.execute("GRANT USAGE ON SCHEMA CONTAINER_HOL_DB.PUBLIC TO ROLE STAGE_READER")
    dave = server.connect(user="dave", password="dave-pw", database="CONTAINER_HOL_DB", schema="PUBLIC")
    cur = dave.cursor()
    f = client_dir / "x.txt"
    f.write_text("x")
    for sql in ("LS @specs", f"GET @specs/convert-api.yaml file://{client_dir}/"):
        with pytest.raises(ProgrammingError) as info:
            cur.execute(sql)
        assert (info.value.errno, info.value.sqlstate) == (2003, "02000")
        assert "Stage 'CONTAINER_HOL_DB.PUBLIC.SPECS' does not exist or not authorized." in info.value.msg
    owner.execute("GRANT READ ON STAGE specs TO ROLE STAGE_READER")
    assert "specs/convert-api.yaml" in _ls(cur, "@specs")
    for sql in (f"PUT file://{f} @specs", "REMOVE @specs/convert-api.yaml"):
        with pytest.raises(ProgrammingError) as info:
            cur.execute(sql)
        assert (info.value.errno, info.value.sqlstate) == (3001, "42501")
        assert "Insufficient privileges to operate on stage 'CONTAINER_HOL_DB.PUBLIC.SPECS'" in info.value.msg
    assert "specs/x.txt" not in _ls(conn.cursor(), "@specs")
    owner.execute("GRANT WRITE ON STAGE specs TO ROLE STAGE_READER")
    cur.execute(f"PUT file://{f} @specs AUTO_COMPRESS=FALSE")
    cur.execute("REMOVE @specs/x.txt")
    dave.close()


@pytest.mark.parametrize(
    ("sql", "errno", "text"),
    [
        ("PUT file://{f} @no_such_stage", 2003, "Stage 'CONTAINER_HOL_DB.PUBLIC.NO_SUCH_STAGE' does not exist"),
        ("GET @specs/no-such-file.yaml file://{d}/", 253006, "does not exist"),
        ("PUT file://{f} @specs/../escape/", 1003, "invalid stage path"),
        ("LIST @specs/a/../../b", 1003, "invalid stage path"),
        ("PUT file://{f} @1bad", 1003, "syntax error"),
        ("LIST @'unterminated", 1003, "syntax error"),
        ("PUT file://{f} @specs AUTO_COMPRESS=maybe", 1481, "AUTO_COMPRESS"),
    ],
)
def test_bad_stage_input(conn, client_dir, server, sql, errno, text):
    f = client_dir / "bad.txt"
    f.write_text("bad")
    before = sorted(p.relative_to(server.data_dir) for p in (server.data_dir / "stages").rglob("*") if p.is_file()
                    and p.suffix != ".sqlite" and "index.sqlite" not in p.name)
    with pytest.raises(Error) as info:
        conn.cursor().execute(sql.format(f=f, d=client_dir))
    assert info.value.errno == errno, info.value.msg
    assert text in info.value.msg
    after = sorted(p.relative_to(server.data_dir) for p in (server.data_dir / "stages").rglob("*") if p.is_file()
                   and p.suffix != ".sqlite" and "index.sqlite" not in p.name)
    assert after == before


def test_snow_stage_copy_both_ways(tmp_path, server, conn):
    from test_clients import _snow, _snow_env

    env = _snow_env(tmp_path, server)
    env["SNOWFLAKE_CONNECTIONS_SNOWPORT_ROLE"] = "CONTAINER_USER_ROLE"
    env["SNOWFLAKE_CONNECTIONS_SNOWPORT_DATABASE"] = "CONTAINER_HOL_DB"
    env["SNOWFLAKE_CONNECTIONS_SNOWPORT_SCHEMA"] = "PUBLIC"
    work = tmp_path / "work"
    work.mkdir()
    (work / "jupyter-snowpark.yaml").write_text(SPEC + "# cli\n")
    run = subprocess.run([_snow(), "stage", "copy", "./jupyter-snowpark.yaml", "@specs", "--overwrite"], cwd=work,
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr + run.stdout
    assert _ls(conn.cursor(), "@specs")["specs/jupyter-snowpark.yaml"][0] == len(SPEC) + 6
    back = tmp_path / "back"
    run = subprocess.run([_snow(), "stage", "copy", "@specs/jupyter-snowpark.yaml", str(back)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr + run.stdout
    assert (back / "jupyter-snowpark.yaml").read_text() == SPEC + "# cli\n"
    run = subprocess.run([_snow(), "stage", "list-files", "@specs", "--format", "json"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "specs/jupyter-snowpark.yaml" in {r["name"] for r in json.loads(run.stdout)}


def test_snowflake_core_stage_resource(conn, client_dir):
    from snowflake.core import Root

    f = client_dir / "core.yaml"
    f.write_text(SPEC)
    stage = Root(conn).databases["CONTAINER_HOL_DB"].schemas["PUBLIC"].stages["SPECS"]
    stage.put(str(f), "/core", auto_compress=False, overwrite=True)
    assert "specs/core/core.yaml" in _ls(conn.cursor(), "@specs/core/")
    out = client_dir / "core-out"
    stage.get("/core/core.yaml", str(out))
    assert (out / "core.yaml").read_text() == SPEC
    shutil.rmtree(out)


def test_source_compression_keeps_compressed_files(conn, client_dir):
    cur = conn.cursor()
    raw = b"already compressed " * 100
    src = client_dir / "pre.csv.gz"
    src.write_bytes(gzip.compress(raw))
    row = cur.execute(f"PUT file://{src} @specs/pre/ SOURCE_COMPRESSION=GZIP OVERWRITE=TRUE").fetchone()
    assert (row[1], row[4], row[5], row[6]) == ("pre.csv.gz", "GZIP", "GZIP", "UPLOADED")
    assert _ls(cur, "@specs/pre/")["specs/pre/pre.csv.gz"] == (src.stat().st_size, _md5(src.read_bytes()))


def test_temporary_stage_ends_with_its_session(server, tutorial, client_dir):
    """CREATE TEMPORARY STAGE: dropped, with its files, when the session that made it logs out; other
    sessions' stages stay."""
    def connect():
        return server.connect(role="CONTAINER_USER_ROLE", database="CONTAINER_HOL_DB", schema="PUBLIC",
                              warehouse="CONTAINER_HOL_WH")

    (client_dir / "t.txt").write_text("temporary")
    keeper, short_lived = connect(), connect()
    try:
        keeper.cursor().execute("CREATE STAGE IF NOT EXISTS lasting_stage")
        cur = short_lived.cursor()
        cur.execute("CREATE TEMPORARY STAGE session_stage")
        cur.execute(f"PUT file://{client_dir}/t.txt @session_stage AUTO_COMPRESS=FALSE")
        shown = {r[1]: r[10] for r in keeper.cursor().execute("SHOW STAGES").fetchall()}
        assert shown["SESSION_STAGE"] == "INTERNAL TEMPORARY"
        assert shown["LASTING_STAGE"] == "INTERNAL"
        stage_dirs = {p.name for p in (server.data_dir / "stages").iterdir() if p.name.startswith("stage-")}
        short_lived.close()  # logs out: the session ends
        names = [r[1] for r in keeper.cursor().execute("SHOW STAGES").fetchall()]
        assert "SESSION_STAGE" not in names and "LASTING_STAGE" in names
        with pytest.raises(ProgrammingError) as e:
            keeper.cursor().execute("LS @session_stage")
        assert e.value.errno == 2003
        left = {p.name for p in (server.data_dir / "stages").iterdir() if p.name.startswith("stage-")}
        assert len(stage_dirs - left) == 1  # the temporary stage's files went with it
    finally:
        keeper.close()
