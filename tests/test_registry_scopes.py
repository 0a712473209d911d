"""Registry behaviours of issue 10 over raw HTTP (httpx), and with docker and skopeo where a client is involved:
scope challenges (401 naming the scope, 403 only without the privilege), Content-Range on the final PUT,
invalid and unsatisfiable Range on blob GET, manifests with non-distributable layers, and the
repository's own namespace."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import uuid

import httpx
import pytest
from registry_helpers import BASE_IMAGE, docker, ensure_base_image, ensure_engine, remove_test_images

from conftest import ADMIN_PASSWORD, new_user_with_role

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
REPO = "scope_db/public/repo"
NAME = f"{REPO}/app"
SCOPE_ACTIONS = {"pull": "pull", "push": "pull,push", "delete": "delete"}


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def api(server, admin, tutorial):
    cur = admin.cursor()
    cur.execute("USE ROLE ACCOUNTADMIN")
    cur.execute("CREATE DATABASE IF NOT EXISTS SCOPE_DB")
    cur.execute("CREATE IMAGE REPOSITORY IF NOT EXISTS SCOPE_DB.PUBLIC.REPO")
    # a reader (READ) and a writer (READ, WRITE) that do not own the repository
    for user, role, privileges in (("SCOPE_READER", "SCOPE_READ", "READ"), ("SCOPE_WRITER", "SCOPE_WRITE", "READ, WRITE")):
        new_user_with_role(admin, user, role, "scope-pw")
        cur.execute(f"GRANT USAGE ON DATABASE SCOPE_DB TO ROLE {role}")
        cur.execute(f"GRANT USAGE ON SCHEMA SCOPE_DB.PUBLIC TO ROLE {role}")
        cur.execute(f"GRANT {privileges} ON IMAGE REPOSITORY SCOPE_DB.PUBLIC.REPO TO ROLE {role}")
    client = httpx.Client(base_url=server.url, auth=httpx.BasicAuth("admin", ADMIN_PASSWORD), timeout=60)
    yield client
    client.close()


def _push_blob(api, name: str, data: bytes) -> str:
    r = api.post(f"/v2/{name}/blobs/uploads/", params={"digest": sha256(data)}, content=data)
    assert r.status_code == 201, r.text
    return sha256(data)


def _manifest(config: bytes, layers: list[dict], media_type: str = OCI_MANIFEST, config_type: str = OCI_CONFIG,
              **extra) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": media_type,
                       "config": {"mediaType": config_type, "digest": sha256(config), "size": len(config)},
                       "layers": layers, **extra}).encode()


def _token(server, user: str, password: str, *scopes: str) -> str:
    r = httpx.get(f"{server.url}/v2/token", params={"service": "snowport", "scope": list(scopes)},
                  auth=httpx.BasicAuth(user, password))
    assert r.status_code == 200, r.text
    return r.json()["token"]


def _challenge(response: httpx.Response) -> dict[str, str]:
    value = response.headers.get("www-authenticate", "")
    assert value.startswith("Bearer "), (response.status_code, response.headers, response.text)
    return dict(re.findall(r'(\w+)="([^"]*)"', value))


# ---- 1. scopes: 401 with the needed scope, 403 only without the privilege ----------------------------------


def _fixtures(api) -> dict[str, str]:
    """Fresh things for one walk: a tagged manifest, its layer, a spare blob, two uploads."""
    config, layer = b'{"os":"linux"}', f"layer {uuid.uuid4()}".encode()
    _push_blob(api, NAME, config)
    layer_digest = _push_blob(api, NAME, layer)
    body = _manifest(config, [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest,
                               "size": len(layer)}])
    for tag in ("v1", "v2"):
        assert api.put(f"/v2/{NAME}/manifests/{tag}", content=body,
                       headers={"Content-Type": OCI_MANIFEST}).status_code == 201
    spare = _push_blob(api, NAME, f"spare {uuid.uuid4()}".encode())
    uploads = [api.post(f"/v2/{NAME}/blobs/uploads/").headers["location"] for _ in range(2)]
    return {"manifest": sha256(body), "body": body.decode(), "layer": layer_digest, "spare": spare,
            "upload": uploads[0], "upload2": uploads[1]}


def _routes(f: dict[str, str]) -> list[tuple[str, str, dict, str | None, tuple[str, ...]]]:
    """Every /v2/ route: (method, url, request kwargs, action needed, other actions that also do)."""
    chunk = b"0123456789"
    return [
        ("GET", "/v2/", {}, None, ()),
        ("GET", "/v2/_catalog", {}, None, ()),
        ("GET", f"/v2/{NAME}/tags/list", {}, "pull", ()),
        ("HEAD", f"/v2/{NAME}/manifests/v1", {}, "pull", ()),
        ("GET", f"/v2/{NAME}/manifests/{f['manifest']}", {}, "pull", ()),
        ("GET", f"/v2/{NAME}/referrers/{f['manifest']}", {}, "pull", ()),
        ("HEAD", f"/v2/{NAME}/blobs/{f['layer']}", {}, "pull", ()),
        ("GET", f"/v2/{NAME}/blobs/{f['layer']}", {}, "pull", ()),
        ("POST", f"/v2/{NAME}/blobs/uploads/", {}, "push", ()),
        ("GET", f["upload"], {}, "pull", ()),
        ("PATCH", f["upload"], {"content": chunk, "headers": {"Content-Range": "0-9"}}, "push", ()),
        ("PUT", f["upload"], {"params": {"digest": sha256(chunk)}}, "push", ()),
        ("DELETE", f["upload2"], {}, "delete", ("push",)),
        ("PUT", f"/v2/{NAME}/manifests/v3", {"content": f["body"], "headers": {"Content-Type": OCI_MANIFEST}},
         "push", ()),
        ("DELETE", f"/v2/{NAME}/manifests/v2", {}, "delete", ()),
        ("DELETE", f"/v2/{NAME}/blobs/{f['spare']}", {}, "delete", ()),
    ]


# who: user, password, the actions their privileges allow on the repository
USERS = [("admin", ADMIN_PASSWORD, {"pull", "push", "delete"}),
         ("scope_writer", "scope-pw", {"pull", "push"}),
         ("scope_reader", "scope-pw", {"pull"})]


@pytest.mark.parametrize("user,password,privileges", USERS, ids=[u[0] for u in USERS])
@pytest.mark.parametrize("scope", ["pull", "push", "delete"])
def test_every_route_with_each_single_scope(api, server, user, password, privileges, scope):
    f = _fixtures(api)
    token = _token(server, user, password, f"repository:{NAME}:{scope}")
    granted = {scope} & privileges
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        for method, url, kwargs, needed, also in _routes(f):
            r = client.request(method, url, **kwargs)
            where = f"{user} with {scope}: {method} {url} -> {r.status_code} {r.text[:200]}"
            if needed is None or needed in granted or set(also) & granted:
                assert 200 <= r.status_code < 300, where
            elif ({needed, *also} & privileges):
                assert r.status_code == 401, where
                challenge = _challenge(r)
                asked = needed if needed in privileges else sorted(set(also) & privileges)[0]
                assert challenge["scope"] == f"repository:{NAME}:{SCOPE_ACTIONS[asked]}", where
                assert challenge["realm"] == f"{server.url}/v2/token" and challenge["service"] == "snowport"
                assert challenge["error"] == "insufficient_scope", where
                assert r.headers["docker-distribution-api-version"] == "registry/2.0"
                if method != "HEAD":
                    assert r.json()["errors"][0]["code"] == "UNAUTHORIZED", where
            else:  # the user's privileges can never allow it
                assert r.status_code == 403, where
                if method != "HEAD":
                    assert r.json()["errors"][0]["code"] == "DENIED", where


def test_pull_only_token_upgraded_through_the_challenge(api, server):
    """What containerd and containers/image do: on 401 with error=insufficient_scope, ask the realm for the
    challenge's scope and retry. The issue's example: upload status and chunks with a pull-only token."""
    location = api.post(f"/v2/{NAME}/blobs/uploads/").headers["location"]
    token = _token(server, "scope_writer", "scope-pw", f"repository:{NAME}:pull")
    bearer = {"Authorization": f"Bearer {token}"}
    status = httpx.get(f"{server.url}{location}", headers=bearer)
    assert status.status_code == 204 and status.headers["range"] == "0-0"  # status needs pull only
    refused = httpx.patch(f"{server.url}{location}", content=b"abc", headers=bearer)
    assert refused.status_code == 401
    challenge = _challenge(refused)
    assert challenge["scope"] == f"repository:{NAME}:pull,push"
    upgraded = httpx.get(challenge["realm"], params={"service": challenge["service"], "scope": challenge["scope"]},
                         auth=httpx.BasicAuth("scope_writer", "scope-pw")).json()["token"]
    bearer = {"Authorization": f"Bearer {upgraded}"}
    assert httpx.patch(f"{server.url}{location}", content=b"abc", headers=bearer).status_code == 202
    done = httpx.put(f"{server.url}{location}", params={"digest": sha256(b"abc")}, headers=bearer)
    assert done.status_code == 201
    # an expired or forged token gets a challenge too, so the client knows where to get a fresh one
    forged = httpx.get(f"{server.url}/v2/{NAME}/tags/list", headers={"Authorization": "Bearer not-a-token"})
    assert forged.status_code == 401 and _challenge(forged)["error"] == "invalid_token"
    # Basic credentials are the user's whole privileges: nothing to upgrade, so 403
    reader = httpx.delete(f"{server.url}/v2/{NAME}/manifests/v1", auth=httpx.BasicAuth("scope_reader", "scope-pw"))
    assert reader.status_code == 403 and "www-authenticate" not in reader.headers


# ---- 2. the final PUT honours Content-Range ------------------------------------------------------------------


def test_final_put_with_a_wrong_content_range_gets_416_and_the_upload_goes_on(api):
    data = bytes(range(256)) * 12  # 3072 bytes
    location = api.post(f"/v2/{NAME}/blobs/uploads/").headers["location"]
    assert api.patch(location, content=data[:1024], headers={"Content-Range": "0-1023"}).status_code == 202
    # the case: the rest sent as 2048-3066 while the upload is at 1024
    bad = api.put(location, params={"digest": sha256(data)}, content=data[1024:2043],
                  headers={"Content-Range": "2048-3066"})
    assert bad.status_code == 416, bad.text
    assert bad.headers["range"] == "0-1023" and bad.headers["location"] == location
    assert bad.headers["docker-distribution-api-version"] == "registry/2.0"
    assert bad.json()["errors"][0]["code"] == "RANGE_INVALID"
    for content_range, body in (("1024-1000", data[1024:1049]),  # inverted
                                ("1024-3071", data[1024:2048]),  # longer than the body
                                ("bytes=1024-", data[1024:])):  # not a Content-Range
        r = api.put(location, params={"digest": sha256(data)}, content=body, headers={"Content-Range": content_range})
        assert r.status_code == 416, (content_range, r.text)
    assert api.patch(location, content=data[1024:1100], headers={"Content-Range": "1024-1199"}).status_code == 416
    status = api.get(location)
    assert status.status_code == 204 and status.headers["range"] == "0-1023"
    assert api.patch(location, content=data[1024:2048], headers={"Content-Range": "1024-2047"}).status_code == 202
    done = api.put(location, params={"digest": sha256(data)}, content=data[2048:],
                   headers={"Content-Range": f"2048-{len(data) - 1}"})
    assert done.status_code == 201, done.text
    assert api.get(f"/v2/{NAME}/blobs/{sha256(data)}").content == data


# ---- 3. Range on blob GET ---------------------------------------------------------------------------------------


def test_invalid_and_unsatisfiable_ranges(api):
    data = bytes(range(256)) * 4  # 1024 bytes
    digest = _push_blob(api, NAME, data)
    url = f"/v2/{NAME}/blobs/{digest}"

    def get(range_header: str) -> httpx.Response:
        r = api.get(url, headers={"Range": range_header})
        assert r.headers["docker-distribution-api-version"] == "registry/2.0", r.headers
        assert not r.headers.get("content-type", "").startswith("text/plain"), (range_header, r.text)
        return r

    for invalid in ("bytes=500-0", "bytes=abc", "bytes=", "bytes=1-2-3", "items=0-5", "0-5", "bytes=--5",
                    "bytes=0-1,5-2"):  # RFC 9110: an invalid Range is ignored
        r = get(invalid)
        assert r.status_code == 200 and r.content == data, invalid
        assert r.headers["docker-content-digest"] == digest
    for unsatisfiable in ("bytes=1024-", "bytes=5000-6000", "bytes=-0", "bytes=2000-2001,3000-"):
        r = get(unsatisfiable)
        assert r.status_code == 416, unsatisfiable
        assert r.headers["content-range"] == "bytes */1024"
        assert r.json()["errors"][0]["code"] == "RANGE_INVALID"
    for satisfiable, expected, content_range in (("bytes=10-19", data[10:20], "bytes 10-19/1024"),
                                                 ("bytes=-10", data[-10:], "bytes 1014-1023/1024"),
                                                 ("bytes=1000-5000", data[1000:], "bytes 1000-1023/1024"),
                                                 ("bytes=0-0,5000-", data[:1], "bytes 0-0/1024"),
                                                 ("Bytes = 3-4", data[3:5], "bytes 3-4/1024")):
        r = get(satisfiable)
        assert r.status_code == 206 and r.content == expected, satisfiable
        assert r.headers["content-range"] == content_range
        assert r.headers["docker-content-digest"] == digest
    multi = get("bytes=0-1,10-11")
    assert multi.status_code == 206 and multi.headers["content-type"].startswith("multipart/byteranges")
    empty = _push_blob(api, NAME, b"")
    r = api.get(f"/v2/{NAME}/blobs/{empty}", headers={"Range": "bytes=0-"})
    assert r.status_code == 416 and r.headers["content-range"] == "bytes */0"


# ---- 4. manifests with non-distributable layers ------------------------------------------------------------------


def test_manifests_with_non_distributable_layers(api, server):
    config = b'{"architecture":"amd64","os":"windows"}'
    _push_blob(api, NAME, config)
    never_pushed = sha256(b"a windows base layer, never pushed")
    foreign = {"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "digest": never_pushed,
               "size": 1234, "urls": ["https://example.invalid/layer"]}
    nondistributable = {"mediaType": "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                        "digest": sha256(b"another"), "size": 5}
    with_urls = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha256(b"third"), "size": 5,
                 "urls": ["https://example.invalid/third"]}
    cases = [("foreign", DOCKER_MANIFEST, "application/vnd.docker.container.image.v1+json", [foreign]),
             ("nondist", OCI_MANIFEST, OCI_CONFIG, [nondistributable]),
             ("urls", OCI_MANIFEST, OCI_CONFIG, [with_urls])]
    for tag, media_type, config_type, layers in cases:
        body = _manifest(config, layers, media_type, config_type)
        r = api.put(f"/v2/{NAME}/manifests/{tag}", content=body, headers={"Content-Type": media_type})
        assert r.status_code == 201, (tag, r.text)
        assert api.get(f"/v2/{NAME}/manifests/{tag}", headers={"Accept": media_type}).content == body
        # the layer stays absent: clients fetch it from its URLs
        assert api.head(f"/v2/{NAME}/blobs/{layers[0]['digest']}").status_code == 404
    # ordinary layers that are missing are still refused, and so is a missing config
    ordinary = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha256(b"missing"), "size": 7}
    r = api.put(f"/v2/{NAME}/manifests/bad", content=_manifest(config, [foreign, ordinary]),
                headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "MANIFEST_BLOB_UNKNOWN"
    assert r.json()["errors"][0]["detail"]["digest"] == ordinary["digest"]
    r = api.put(f"/v2/{NAME}/manifests/bad", content=_manifest(b"{}", [foreign]), headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "MANIFEST_BLOB_UNKNOWN"
    # skopeo reads such an image (manifest and config) without touching the foreign layer
    out = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--creds", f"admin:{ADMIN_PASSWORD}",
                          f"docker://127.0.0.1:{server.port}/{NAME}:foreign"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    inspected = json.loads(out.stdout)
    assert inspected["Os"] == "windows" and inspected["Layers"] == [never_pushed]


# ---- the repository's own namespace --------------------------------------------------------------------------


def test_repository_namespace_without_an_image_name_is_invalid(api):
    for url in (f"/v2/{REPO}/tags/list", f"/v2/{REPO}/manifests/latest", f"/v2/{REPO}/blobs/uploads/"):
        r = api.request("POST" if url.endswith("/uploads/") else "GET", url)
        assert r.status_code == 400 and r.json()["errors"][0]["code"] == "NAME_INVALID", (url, r.text)


# ---- with the real clients ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def images(api):
    ensure_engine()
    ensure_base_image()
    yield
    remove_test_images()


def _oci_layout(tmp_path, tag: str):
    """A real image (built by docker) as an OCI layout by skopeo: (manifest bytes, manifest, blob dir)."""
    build = tmp_path / "build"
    build.mkdir()
    token = hashlib.sha256(str(tmp_path).encode()).hexdigest()[:16]
    (build / "Dockerfile").write_text(f"FROM {BASE_IMAGE}\nRUN head -c 3000000 /dev/urandom > /noise.bin\n"
                                      f'RUN echo {token} > /app.txt\nCMD ["/bin/cat", "/app.txt"]\n')
    docker("build", "-q", "-t", tag, str(build), config=tmp_path / "docker")
    layout = tmp_path / "oci"
    subprocess.run(["skopeo", "copy", f"docker-daemon:{tag}", f"oci:{layout}:x"], check=True, capture_output=True,
                   timeout=300)
    index = json.loads((layout / "index.json").read_text())
    blobs = layout / "blobs" / "sha256"
    raw = (blobs / index["manifests"][0]["digest"][7:]).read_bytes()
    return raw, json.loads(raw), blobs, token


def test_push_resumes_after_416_then_docker_and_skopeo_pull(api, server, images, tmp_path):
    """A chunked push whose final PUT is refused with 416 finds its offset (upload status) and resumes;
    the image then pulls and runs with docker and copies with skopeo."""
    raw, manifest, blobs, token = _oci_layout(tmp_path, "snowport-test/resume:1")
    name = f"{REPO}/resumed"
    for descriptor in [manifest["config"], *manifest["layers"]]:
        data = (blobs / descriptor["digest"][7:]).read_bytes()
        half = len(data) // 2
        location = api.post(f"/v2/{name}/blobs/uploads/").headers["location"]
        assert api.patch(location, content=data[:half], headers={"Content-Range": f"0-{half - 1}"}).status_code == 202
        wrong = api.put(location, params={"digest": descriptor["digest"]}, content=data[half + 1:],
                        headers={"Content-Range": f"{half + 1}-{len(data) - 1}"})  # one byte skipped
        assert wrong.status_code == 416, wrong.text
        offset = int(api.get(location).headers["range"].split("-")[1]) + 1
        assert offset == half
        done = api.put(location, params={"digest": descriptor["digest"]}, content=data[offset:],
                       headers={"Content-Range": f"{offset}-{len(data) - 1}"})
        assert done.status_code == 201, done.text
    put = api.put(f"/v2/{name}/manifests/v1", content=raw, headers={"Content-Type": manifest["mediaType"]})
    assert put.status_code == 201, put.text

    config = tmp_path / "docker"
    login = docker("login", f"127.0.0.1:{server.port}", "-u", "admin", "--password-stdin", config=config,
                   input=ADMIN_PASSWORD, check=False)
    assert login.returncode == 0, login.stderr
    image = f"127.0.0.1:{server.port}/{name}:v1"
    docker("pull", image, config=config)
    assert docker("run", "--rm", image, config=config).stdout.strip() == token
    docker("rmi", image, config=config)
    out = subprocess.run(["skopeo", "copy", "--src-tls-verify=false", "--src-creds", f"admin:{ADMIN_PASSWORD}",
                          f"docker://{image}", f"oci:{tmp_path / 'copied'}:v1"], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr


def test_clients_under_the_scope_rules(api, server, images, tmp_path):
    """docker and skopeo push, pull and delete as before: a reader pushing is denied (403, it can never push),
    a writer pushes and pulls with tokens it gets through the challenges, skopeo deletes as the owner."""
    ensure_base_image()
    port = server.port
    image = f"127.0.0.1:{port}/{REPO}/clients:1"
    writer, reader = tmp_path / "writer", tmp_path / "reader"
    for config, user in ((writer, "scope_writer"), (reader, "scope_reader")):
        login = docker("login", f"127.0.0.1:{port}", "-u", user, "--password-stdin", config=config, input="scope-pw",
                       check=False)
        assert login.returncode == 0, login.stderr
    docker("tag", BASE_IMAGE, image, config=writer)
    docker("push", image, config=writer)
    docker("rmi", image, config=writer)
    docker("pull", image, config=reader)
    docker("tag", image, f"127.0.0.1:{port}/{REPO}/clients:by-reader", config=reader)
    denied = docker("push", f"127.0.0.1:{port}/{REPO}/clients:by-reader", config=reader, check=False)
    assert denied.returncode != 0 and "denied" in denied.stderr + denied.stdout, denied.stderr
    docker("rmi", image, f"127.0.0.1:{port}/{REPO}/clients:by-reader", config=reader)
    # the repository URL itself names no image: docker is told the name is invalid
    bare = f"127.0.0.1:{port}/{REPO}:latest"
    docker("tag", BASE_IMAGE, bare, config=writer)
    refused = docker("push", bare, config=writer, check=False)
    docker("rmi", bare, config=writer)
    assert refused.returncode != 0 and "invalid" in (refused.stderr + refused.stdout).lower(), refused.stderr

    def skopeo(*args: str, creds: str) -> subprocess.CompletedProcess:
        return subprocess.run(["skopeo", *args, "--tls-verify=false", "--creds", creds], capture_output=True,
                              text=True, timeout=120)

    writer_delete = skopeo("delete", f"docker://{image}", creds="scope_writer:scope-pw")
    assert writer_delete.returncode != 0 and "denied" in writer_delete.stderr.lower(), writer_delete.stderr
    assert skopeo("delete", f"docker://{image}", creds=f"admin:{ADMIN_PASSWORD}").returncode == 0
    gone = skopeo("inspect", f"docker://{image}", creds="scope_reader:scope-pw")
    assert gone.returncode != 0 and "manifest unknown" in gone.stderr.lower(), gone.stderr
