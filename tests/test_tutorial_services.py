"""The seed tutorial's service journey ("Build, Push, and Run", "Managing Services with SQL", "Stop the
Services and Suspend the Compute Pool") through the real connector, docker CLI and snow CLI, as
CONTAINER_USER_ROLE, plus the refusals a user meets on the way.

The image is built from the tutorial's own Dockerfile (tests/tutorial/jupyter-snowpark, copied verbatim:
Jupyter, pandas and Snowpark installed from PyPI during the build; cached by tag) and pushed with the docker
CLI; the spec is the tutorial's jupyter-snowpark.yaml, with its stage volume `@volumes/jupyter-snowpark`
(uid/gid 1000, the notebook user) and its public endpoint. The notebook server itself is driven through
its REST API from inside the container (the public endpoint's ingress comes with a later issue).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from registry_helpers import (
    ensure_base_image,
    ensure_engine,
    ensure_tutorial_jupyter_image,
    push_local_image,
    remove_server_pods,
    remove_test_images,
    runtime_scope,
)
from snowflake.connector.errors import ProgrammingError
from test_integrations import TUTORIAL_SETUP
from test_spec import JUPYTER

from conftest import ADMIN_PASSWORD, start_server

SPEC = JUPYTER  # the tutorial's jupyter-snowpark.yaml, as written
SERVICE = "CONTAINER_HOL_DB.PUBLIC.JUPYTER_SNOWPARK_SERVICE"


@pytest.fixture(scope="module")
def journey(tmp_path_factory):
    ensure_engine()
    ensure_base_image()
    server = start_server(tmp_path_factory.mktemp("tutorial-services") / "data",
                          SNOWPORT_SERVICE_TICK_SECONDS="0.5", SNOWPORT_WAREHOUSE_TICK_SECONDS="0.2")
    conn = server.connect()
    cur = conn.cursor()
    for statement in [s.strip() for s in TUTORIAL_SETUP.split(";") if s.strip()]:
        cur.execute(statement)
    yield server, cur, tmp_path_factory
    conn.close()
    server.stop()
    remove_server_pods(server.data_dir)
    remove_test_images()



def _snow(server, home: Path, *args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("snow", path=str(Path(sys.executable).parent)) or shutil.which("snow")
    assert exe, "the snow CLI (snowflake-cli) must be installed"
    home.mkdir(exist_ok=True)
    config = home / "config.toml"
    config.write_text(
        '[cli]\nignore_new_version_warning = true\n[connections.CONTAINER_hol]\n'
        f'account = "snowport"\nuser = "admin"\npassword = "{ADMIN_PASSWORD}"\nhost = "127.0.0.1"\n'
        f'port = {server.port}\nprotocol = "http"\nrole = "CONTAINER_USER_ROLE"\n'
        'warehouse = "CONTAINER_HOL_WH"\ndatabase = "CONTAINER_HOL_DB"\nschema = "PUBLIC"\n')
    config.chmod(0o600)
    env = dict(os.environ, SNOWFLAKE_HOME=str(home), HOME=str(home.parent))
    return subprocess.run([exe, *args], env=env, capture_output=True, text=True, timeout=180, cwd=home.parent)


def _status(cur) -> str:
    return cur.execute("SHOW SERVICES LIKE 'JUPYTER_SNOWPARK_SERVICE' IN SCHEMA CONTAINER_HOL_DB.PUBLIC"
                       ).fetchone()[1]


def _spec(server) -> str:
    return SPEC.replace("<repository_hostname>", f"127.0.0.1:{server.port}")


def _app_container(server) -> str:
    """The notebook's running container: this server's pod container named after the spec's container (the
    one it replaces, after a resume, may still be stopping)."""
    deadline = time.time() + 60
    while len(ids := subprocess.run(["docker", "ps", "-q", "--filter",
                                     f"label=snowport.managed={runtime_scope(server.data_dir)}", "--filter",
                                     "label=snowport.container=jupyter-snowpark"],
                                    capture_output=True, text=True).stdout.split()) != 1:
        assert time.time() < deadline, ids
        time.sleep(0.3)
    return ids[0]


def _until(check, timeout: float, what) -> None:
    deadline = time.time() + timeout
    while not check():
        assert time.time() < deadline, what()
        time.sleep(0.3)


def _jupyter(container: str, method: str, path: str, body: dict | None = None) -> dict | None:
    """A call to the notebook server's REST API from inside its container (the image has Python); None
    while the server does not answer."""
    script = """
import http.cookiejar, json, sys, urllib.request as u
jar = http.cookiejar.CookieJar()
web = u.build_opener(u.HTTPCookieProcessor(jar))
web.open("http://127.0.0.1:8888/tree", timeout=10).read()  # the _xsrf cookie the server wants echoed back
xsrf = next((c.value for c in jar if c.name == "_xsrf"), "")
request = u.Request("http://127.0.0.1:8888" + sys.argv[1], method=sys.argv[2], data=sys.argv[3].encode() or None,
                    headers={"Content-Type": "application/json", "X-XSRFToken": xsrf})
print(web.open(request, timeout=10).read().decode())
"""
    done = subprocess.run(["docker", "exec", container, "python3", "-c", script, path, method,
                           json.dumps(body) if body is not None else ""], capture_output=True, text=True)
    return json.loads(done.stdout) if done.returncode == 0 else None


def _notebook_files(container: str) -> list[str] | None:
    listing = _jupyter(container, "GET", "/api/contents")
    return None if listing is None else sorted(item["name"] for item in listing["content"])


def _logs(cur) -> str:
    """The notebook container's last lines; "" while it has no container yet (just created or resumed)."""
    try:
        return cur.execute(f"CALL SYSTEM$GET_SERVICE_LOGS('{SERVICE}', '0', 'jupyter-snowpark',10);").fetchone()[0]
    except ProgrammingError as e:
        assert e.errno == 2025 and "not found" in e.msg, e
        return ""


def test_the_tutorials_service_journey(journey):
    server, cur, factory = journey
    # Build, Push: the tutorial's Dockerfile, `docker login`, `docker tag`, `docker push`
    image, _seconds = ensure_tutorial_jupyter_image()
    push_local_image(server.port, image, "container_hol_db/public/image_repo/python-jupyter-snowpark:dev",
                     factory.mktemp("push"), ADMIN_PASSWORD)

    work = factory.mktemp("jupyter-snowpark")
    (work / "jupyter-snowpark.yaml").write_text(_spec(server))
    copied = _snow(server, work / "snowhome", "stage", "copy", str(work / "jupyter-snowpark.yaml"), "@specs",
                   "--overwrite", "--connection", "CONTAINER_hol")
    assert copied.returncode == 0, copied.stdout + copied.stderr
    cur.execute("USE ROLE CONTAINER_USER_ROLE")
    assert [r[0] for r in cur.execute("LS @CONTAINER_HOL_DB.PUBLIC.SPECS").fetchall()] == [
        "specs/jupyter-snowpark.yaml"]

    cur.execute("use role CONTAINER_user_role")
    cur.execute("USE DATABASE CONTAINER_HOL_DB")
    cur.execute("create service CONTAINER_HOL_DB.PUBLIC.jupyter_snowpark_service\n    in compute pool "
                "CONTAINER_HOL_POOL\n    from @specs\n    specification_file='jupyter-snowpark.yaml'\n"
                "    external_access_integrations = (ALLOW_ALL_EAI);")
    _until(lambda: _status(cur) == "RUNNING", 120, lambda: _status(cur))
    status = json.loads(cur.execute(f"CALL SYSTEM$GET_SERVICE_STATUS('{SERVICE}');").fetchone()[0])
    assert [(s["status"], s["message"], s["containerName"], s["instanceId"], s["serviceName"]) for s in status] == [
        ("READY", "Running", "jupyter-snowpark", "0", "JUPYTER_SNOWPARK_SERVICE")]
    _until(lambda: "Jupyter Server" in _logs(cur) and "is running at" in _logs(cur), 90, lambda: _logs(cur))

    # Upload and Modify a Jupyter Notebook: the folder exists on the stage, and files go both ways, live
    container = _app_container(server)
    _until(lambda: _notebook_files(container) is not None, 60, lambda: _logs(cur))
    assert _notebook_files(container) == []
    # "Use the service": the public endpoint's ingress_url answers with Jupyter (programmatic access here;
    # the browser login is tests/test_ingress.py)
    [endpoint] = [r for r in cur.execute(f"SHOW ENDPOINTS IN SERVICE {SERVICE}").fetchall() if r[5]]
    token = {"Authorization": f'Snowflake Token="{cur.connection.rest.token}"'}

    def lab() -> str:
        answer = httpx.get(f"http://{endpoint[5]}/lab", headers=token, timeout=60, follow_redirects=True)
        return f"{answer.status_code} {answer.text[:300]}"
    _until(lambda: lab().startswith("200") and "JupyterLab" in lab(), 30, lab)
    notebook = work / "sample_notebook.ipynb"
    empty = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    notebook.write_text(json.dumps({"cells": [{"cell_type": "code", "execution_count": None, "id": "c1",
                                               "metadata": {}, "outputs": [], "source": "print('hi')"}],
                                    "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    copied = _snow(server, work / "snowhome", "stage", "copy", str(notebook), "@volumes/jupyter-snowpark",
                   "--overwrite", "--connection", "CONTAINER_hol")
    assert copied.returncode == 0, copied.stdout + copied.stderr
    assert _notebook_files(container) == ["sample_notebook.ipynb"]
    opened = _jupyter(container, "GET", "/api/contents/sample_notebook.ipynb")
    assert opened["content"]["cells"][0]["source"] == "print('hi')"
    # saved in Jupyter (as the notebook user, uid 1000): it shows up on the stage
    opened["content"]["cells"][0]["source"] = "print('modified in jupyter')"
    for name, content in (("sample_notebook.ipynb", opened["content"]), ("new_notebook.ipynb", empty)):
        assert _jupyter(container, "PUT", f"/api/contents/{name}", {"type": "notebook", "content": content})
    # (Jupyter keeps its own state under $HOME, the mount, too: .local/share/jupyter, .ipynb_checkpoints)
    assert sorted(r[0] for r in cur.execute("ls @volumes/jupyter-snowpark pattern='.*[.]ipynb'").fetchall()
                  if "/." not in r[0]) == [
        "volumes/jupyter-snowpark/new_notebook.ipynb", "volumes/jupyter-snowpark/sample_notebook.ipynb"]
    (work / "back").mkdir()
    cur.execute(f"GET @volumes/jupyter-snowpark/sample_notebook.ipynb file://{work / 'back'}")
    saved = json.loads((work / "back" / "sample_notebook.ipynb").read_text())
    assert "".join(saved["cells"][0]["source"]) == "print('modified in jupyter')"

    cur.execute(f"ALTER SERVICE {SERVICE} SUSPEND ;")
    _until(lambda: _status(cur) == "SUSPENDED", 60, lambda: _status(cur))
    cur.execute(f"ALTER SERVICE {SERVICE} RESUME ;")
    _until(lambda: _status(cur) == "RUNNING", 120, lambda: _status(cur))
    # a new container, the same files: they live on the stage
    container = _app_container(server)
    _until(lambda: _logs(cur).count("is running at") >= 1, 90, lambda: _logs(cur))
    _until(lambda: _notebook_files(container) == ["new_notebook.ipynb", "sample_notebook.ipynb"], 30,
           lambda: _notebook_files(container))

    # Stop the Services and Suspend the Compute Pool
    cur.execute("USE ROLE CONTAINER_USER_ROLE")
    cur.execute("ALTER COMPUTE POOL CONTAINER_HOL_POOL STOP ALL")
    assert cur.execute("SHOW SERVICES IN SCHEMA CONTAINER_HOL_DB.PUBLIC").fetchall() == []
    cur.execute("ALTER COMPUTE POOL CONTAINER_HOL_POOL SUSPEND")
    _until(lambda: cur.execute("SHOW COMPUTE POOLS LIKE 'CONTAINER_HOL_POOL'").fetchone()[1] == "SUSPENDED", 30,
           lambda: cur.execute("SHOW COMPUTE POOLS LIKE 'CONTAINER_HOL_POOL'").fetchall())
    cur.execute("ALTER COMPUTE POOL CONTAINER_HOL_POOL RESUME")
    _until(lambda: cur.execute("SHOW COMPUTE POOLS LIKE 'CONTAINER_HOL_POOL'").fetchone()[1] in ("IDLE", "ACTIVE"),
           30, lambda: cur.execute("SHOW COMPUTE POOLS LIKE 'CONTAINER_HOL_POOL'").fetchall())


@pytest.mark.parametrize(("setup", "errno", "text"), [
    # with no privilege at all on it, the object is not even visible: Snowflake's "does not exist or not authorized"
    (["REVOKE USAGE ON COMPUTE POOL CONTAINER_HOL_POOL FROM ROLE OUTSIDER"], 2003,
     "Compute pool 'CONTAINER_HOL_POOL' does not exist or not authorized."),
    (["REVOKE READ ON IMAGE REPOSITORY CONTAINER_HOL_DB.PUBLIC.IMAGE_REPO FROM ROLE OUTSIDER"], 2003,
     "Image Repository 'CONTAINER_HOL_DB.PUBLIC.IMAGE_REPO' does not exist or not authorized."),
    (["REVOKE READ ON STAGE CONTAINER_HOL_DB.PUBLIC.VOLUMES FROM ROLE OUTSIDER"], 2003,
     "Stage 'CONTAINER_HOL_DB.PUBLIC.VOLUMES' does not exist or not authorized."),
])
def test_refusals_create_nothing(journey, setup, errno, text):
    """No USAGE on the pool, no READ on the repository or on the volume's stage: refused by name, nothing created. (A user of its
    own: the admin's other roles would lend it their privileges as secondary roles, as in Snowflake.)"""
    server, cur, _factory = journey
    cur.execute("USE ROLE ACCOUNTADMIN")
    for sql in ["CREATE ROLE IF NOT EXISTS OUTSIDER",
                "CREATE USER IF NOT EXISTS OUTSIDER_USER PASSWORD = 'outsider-pw' DEFAULT_ROLE = OUTSIDER",
                "GRANT ROLE OUTSIDER TO USER OUTSIDER_USER",
                "GRANT USAGE ON DATABASE CONTAINER_HOL_DB TO ROLE OUTSIDER",
                "GRANT USAGE ON SCHEMA CONTAINER_HOL_DB.PUBLIC TO ROLE OUTSIDER",
                "GRANT CREATE SERVICE ON SCHEMA CONTAINER_HOL_DB.PUBLIC TO ROLE OUTSIDER",
                "GRANT USAGE ON COMPUTE POOL CONTAINER_HOL_POOL TO ROLE OUTSIDER",
                "GRANT BIND SERVICE ENDPOINT ON ACCOUNT TO ROLE OUTSIDER",  # the spec has a public endpoint
                "GRANT READ ON IMAGE REPOSITORY CONTAINER_HOL_DB.PUBLIC.IMAGE_REPO TO ROLE OUTSIDER",
                "GRANT READ ON STAGE CONTAINER_HOL_DB.PUBLIC.VOLUMES TO ROLE OUTSIDER", *setup]:
        cur.execute(sql)
    outsider = server.connect(user="OUTSIDER_USER", password="outsider-pw")
    try:
        with pytest.raises(ProgrammingError) as info:
            outsider.cursor().execute(f"CREATE SERVICE CONTAINER_HOL_DB.PUBLIC.REFUSED IN COMPUTE POOL "
                                      f"CONTAINER_HOL_POOL FROM SPECIFICATION $${_spec(server)}$$")
    finally:
        outsider.close()
    assert (info.value.errno, text in info.value.msg) == (errno, True), info.value.msg
    assert cur.execute("SHOW SERVICES LIKE 'REFUSED' IN ACCOUNT").fetchall() == []


def test_accountadmin_cannot_own_a_service(journey):
    server, cur, _factory = journey
    cur.execute("USE ROLE ACCOUNTADMIN")
    with pytest.raises(ProgrammingError) as info:
        cur.execute(f"CREATE SERVICE CONTAINER_HOL_DB.PUBLIC.ADMINS IN COMPUTE POOL CONTAINER_HOL_POOL "
                    f"FROM SPECIFICATION $${_spec(server)}$$")
    assert info.value.errno == 3001 and "cannot be owned by ACCOUNTADMIN" in info.value.msg
    assert cur.execute("SHOW SERVICES LIKE 'ADMINS' IN ACCOUNT").fetchall() == []
