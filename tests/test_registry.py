"""The image registry through the real docker CLI and engine, skopeo, the snow CLI and raw OCI calls."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import subprocess
import time

import httpx
import pytest
from registry_helpers import build_app_image, docker, ensure_base_image, ensure_engine, remove_test_images

from conftest import ADMIN_PASSWORD, new_user_with_role, start_server


@pytest.fixture(scope="module", autouse=True)
def _clean_images():
    yield
    remove_test_images()


@pytest.fixture(scope="module")
def repo_url(server, admin, tutorial):
    ensure_engine()
    ensure_base_image()
    cur = server.connect(role="CONTAINER_USER_ROLE", database="CONTAINER_HOL_DB", schema="PUBLIC").cursor()
    cur.execute("CREATE IMAGE REPOSITORY IF NOT EXISTS CONTAINER_HOL_DB.PUBLIC.IMAGE_REPO")  # as the tutorial
    cur.execute("SHOW IMAGE REPOSITORIES IN SCHEMA CONTAINER_HOL_DB.PUBLIC")
    names = [d.name for d in cur.description]
    row = dict(zip(names, cur.fetchone(), strict=True))
    assert names[:5] == ["created_on", "name", "database_name", "schema_name", "repository_url"]
    assert row["repository_url"] == f"127.0.0.1:{server.port}/container_hol_db/public/image_repo"
    assert (row["name"], row["owner"]) == ("IMAGE_REPO", "CONTAINER_USER_ROLE")
    return row["repository_url"]


def _login(server, config, user="admin", password=ADMIN_PASSWORD):
    return docker("login", f"127.0.0.1:{server.port}", "-u", user, "--password-stdin", config=config,
                  input=password, check=False)


def _digest_of_push(output: str) -> str:
    for line in output.splitlines():
        if "digest: sha256:" in line:
            return line.split("digest: ")[1].split()[0]
    raise AssertionError(output)


def test_push_pull_run_and_list(server, repo_url, tmp_path, admin):
    config = tmp_path / "docker-admin"
    assert _login(server, config).returncode == 0
    expected = build_app_image(tmp_path / "build", "snowport-test/convert-api:dev", config)
    image = f"{repo_url}/convert-api:dev"
    docker("tag", "snowport-test/convert-api:dev", image, config=config)
    digest = _digest_of_push(docker("push", image, config=config).stdout)
    docker("rmi", image, "snowport-test/convert-api:dev", config=config)
    docker("pull", image, config=config)
    assert docker("run", "--rm", image, config=config).stdout.strip() == expected
    docker("rmi", image, config=config)
    by_digest = f"{repo_url}/convert-api@{digest}"
    docker("pull", by_digest, config=config)
    assert docker("run", "--rm", by_digest, config=config).stdout.strip() == expected

    cur = admin.cursor()
    cur.execute("USE ROLE CONTAINER_USER_ROLE")
    cur.execute("SHOW IMAGES IN IMAGE REPOSITORY CONTAINER_HOL_DB.PUBLIC.IMAGE_REPO")
    names = [d.name for d in cur.description]
    assert names == ["created_on", "image_name", "tags", "digest", "image_path"]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    assert {"image_name": "convert-api", "tags": "dev", "digest": digest,
            "image_path": "container_hol_db/public/image_repo/convert-api:dev"}.items() <= rows[0].items()
    listed = cur.execute("CALL SYSTEM$REGISTRY_LIST_IMAGES('/CONTAINER_HOL_DB/PUBLIC/IMAGE_REPO')").fetchone()[0]
    assert "convert-api" in json.loads(listed)["images"]
    cur.execute("USE ROLE ACCOUNTADMIN")


def test_skopeo_both_ways(server, repo_url, tmp_path):
    config = tmp_path / "docker"
    build_app_image(tmp_path / "build", "snowport-test/skopeo-src:1", config)
    creds = f"admin:{ADMIN_PASSWORD}"
    subprocess.run(["skopeo", "copy", "--dest-tls-verify=false", "--dest-creds", creds,
                    "docker-daemon:snowport-test/skopeo-src:1", f"docker://{repo_url}/skopeo:one"],
                   check=True, capture_output=True, timeout=300)
    oci_dir = tmp_path / "oci"
    subprocess.run(["skopeo", "copy", "--src-tls-verify=false", "--src-creds", creds,
                    f"docker://{repo_url}/skopeo:one", f"oci:{oci_dir}:one"], check=True, capture_output=True,
                   timeout=300)
    subprocess.run(["skopeo", "copy", "--dest-tls-verify=false", "--dest-creds", creds, f"oci:{oci_dir}:one",
                    f"docker://{repo_url}/skopeo:two"], check=True, capture_output=True, timeout=300)
    tags = subprocess.run(["skopeo", "list-tags", "--tls-verify=false", "--creds", creds,
                           f"docker://{repo_url}/skopeo"], check=True, capture_output=True, text=True, timeout=60)
    assert json.loads(tags.stdout)["Tags"] == ["one", "two"]


def test_privileges(server, repo_url, admin, tmp_path):
    owner = server.connect(role="CONTAINER_USER_ROLE", database="CONTAINER_HOL_DB", schema="PUBLIC").cursor()
    new_user_with_role(admin, "PULLER", "IMAGE_READER", "puller-pw")
    new_user_with_role(admin, "OUTSIDER", "NO_IMAGES", "outsider-pw")
    for role in ("IMAGE_READER", "NO_IMAGES"):
        owner.execute(f"GRANT USAGE ON DATABASE CONTAINER_HOL_DB TO ROLE {role}")
        owner.execute(f"GRANT USAGE ON SCHEMA CONTAINER_HOL_DB.PUBLIC TO ROLE {role}")
    owner.execute("GRANT READ ON IMAGE REPOSITORY CONTAINER_HOL_DB.PUBLIC.IMAGE_REPO TO ROLE IMAGE_READER")

    admin_config = tmp_path / "admin"
    _login(server, admin_config)
    build_app_image(tmp_path / "build", "snowport-test/priv:1", admin_config)
    image = f"{repo_url}/priv:1"
    docker("tag", "snowport-test/priv:1", image, config=admin_config)
    docker("push", image, config=admin_config)
    docker("rmi", image, config=admin_config)

    reader = tmp_path / "reader"
    assert _login(server, reader, "puller", "puller-pw").returncode == 0
    docker("pull", image, config=reader)
    docker("tag", image, f"{repo_url}/priv:pushed-by-reader", config=reader)
    push = docker("push", f"{repo_url}/priv:pushed-by-reader", config=reader, check=False)
    assert push.returncode != 0 and "denied" in (push.stdout + push.stderr), push.stdout + push.stderr
    docker("rmi", image, f"{repo_url}/priv:pushed-by-reader", config=reader)

    outsider = tmp_path / "outsider"
    assert _login(server, outsider, "outsider", "outsider-pw").returncode == 0
    pull = docker("pull", image, config=outsider, check=False)
    assert pull.returncode != 0 and ("denied" in pull.stderr or "unauthorized" in pull.stderr), pull.stderr
    docker("tag", "snowport-test/priv:1", f"{repo_url}/priv:outsider", config=outsider)
    push = docker("push", f"{repo_url}/priv:outsider", config=outsider, check=False)
    assert push.returncode != 0
    docker("rmi", f"{repo_url}/priv:outsider", config=outsider)

    bad = _login(server, tmp_path / "bad", "admin", "wrong-password")
    assert bad.returncode != 0 and "unauthorized" in bad.stderr.lower(), bad.stderr
    # Anonymous requests get the Bearer challenge.
    r = httpx.get(f"{server.url}/v2/")
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith('Bearer realm="')
    assert r.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_snow_registry_token_and_docker_login(server, repo_url, tmp_path):
    from test_clients import _snow, _snow_env

    env = _snow_env(tmp_path, server)
    out = subprocess.run([_snow(), "spcs", "image-registry", "token", "--format", "JSON"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr + out.stdout
    token = json.loads(out.stdout)
    assert token["token"] and token["expires_in"] > 0
    config = tmp_path / "docker-token"
    login = docker("login", f"127.0.0.1:{server.port}", "-u", "0sessiontoken", "--password-stdin", config=config,
                   input=out.stdout, check=False)
    assert login.returncode == 0, login.stderr
    docker("pull", f"{repo_url}/convert-api:dev", config=config)
    url = subprocess.run([_snow(), "spcs", "image-registry", "url"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert url.returncode == 0 and url.stdout.strip() == f"127.0.0.1:{server.port}", url.stderr
    # `snow spcs image-registry login` runs docker login itself with a fresh session token.
    config = tmp_path / "docker-snow-login"
    login = subprocess.run([_snow(), "spcs", "image-registry", "login"], env=dict(env, DOCKER_CONFIG=str(config)),
                           capture_output=True, text=True, timeout=120)
    assert login.returncode == 0, login.stderr + login.stdout
    docker("pull", f"{repo_url}/convert-api:dev", config=config)


def test_crash_during_push(tmp_path):
    ensure_engine()
    ensure_base_image()
    data_dir = tmp_path / "data"
    server = start_server(data_dir)
    config = tmp_path / "docker"
    try:
        cur = server.connect().cursor()
        cur.execute("CREATE DATABASE CRASH_DB")
        cur.execute("CREATE IMAGE REPOSITORY CRASH_REPO")
        repo = f"127.0.0.1:{server.port}/crash_db/public/crash_repo"
        assert _login(server, config).returncode == 0
        expected = build_app_image(tmp_path / "build", "snowport-test/big:1", config, big_mb=150)
        docker("tag", "snowport-test/big:1", f"{repo}/big:1", config=config)
        env = dict(os.environ, DOCKER_CONFIG=str(config))
        push = subprocess.Popen(["docker", "push", f"{repo}/big:1"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        uploads = data_dir / "registry" / "uploads"

        def big_upload_in_progress() -> bool:
            for p in uploads.glob("*"):
                try:
                    if p.stat().st_size > 20_000_000:
                        return True
                except FileNotFoundError:  # finished (renamed into the blob store) meanwhile
                    pass
            return False

        deadline = time.time() + 120
        while time.time() < deadline and not big_upload_in_progress():
            time.sleep(0.02)
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait()
        push.wait(120)
        assert push.returncode != 0
    finally:
        server.stop()
    # Whatever is in the blob store is complete: every file hashes to its name.
    for blob in (data_dir / "registry" / "blobs" / "sha256").rglob("*"):
        if blob.is_file():
            assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name

    server = start_server(data_dir, port=server.port)
    try:
        assert list((data_dir / "registry" / "uploads").iterdir()) == []
        auth = httpx.BasicAuth("admin", ADMIN_PASSWORD)
        tags = httpx.get(f"{server.url}/v2/crash_db/public/crash_repo/big/tags/list", auth=auth)
        assert tags.status_code == 404 and tags.json()["errors"][0]["code"] == "NAME_UNKNOWN"
        # The same push succeeds after the restart, and the image runs.
        assert _login(server, config).returncode == 0
        digest = _digest_of_push(docker("push", f"{repo}/big:1", config=config).stdout)
        docker("rmi", f"{repo}/big:1", "snowport-test/big:1", config=config)
        assert docker("run", "--rm", f"{repo}/big@{digest}", config=config).stdout.strip() == expected
        docker("rmi", f"{repo}/big@{digest}", config=config, check=False)
    finally:
        server.stop()


def test_registry_tokens_expire(tmp_path):
    server = start_server(tmp_path / "data", SNOWPORT_REGISTRY_TOKEN_TTL_SECONDS="2")
    try:
        cur = server.connect().cursor()
        cur.execute("CREATE DATABASE TTL_DB")
        cur.execute("CREATE IMAGE REPOSITORY TTL_REPO")
        auth = httpx.BasicAuth("admin", ADMIN_PASSWORD)
        name = "ttl_db/public/ttl_repo/app"
        token = httpx.get(f"{server.url}/v2/token", params={"service": "snowport", "scope": f"repository:{name}:pull"},
                          auth=auth).json()["token"]
        bearer = {"Authorization": f"Bearer {token}"}
        fresh = httpx.get(f"{server.url}/v2/{name}/tags/list", headers=bearer)
        assert fresh.json()["errors"][0]["code"] == "NAME_UNKNOWN"  # authorised; the image is just not there
        time.sleep(3.5)
        expired = httpx.get(f"{server.url}/v2/{name}/tags/list", headers=bearer)
        assert expired.status_code == 401 and expired.json()["errors"][0]["code"] == "UNAUTHORIZED"
    finally:
        server.stop()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
