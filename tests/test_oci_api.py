"""The OCI distribution API, spec behaviours one by one, with raw HTTP (as conformance suites do)."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest

from conftest import ADMIN_PASSWORD, new_user_with_role

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def api(server, admin, tutorial):
    cur = admin.cursor()
    cur.execute("USE ROLE ACCOUNTADMIN")
    cur.execute("CREATE DATABASE IF NOT EXISTS OCI_DB")
    cur.execute("CREATE IMAGE REPOSITORY IF NOT EXISTS OCI_DB.PUBLIC.REPO_A")
    cur.execute("CREATE IMAGE REPOSITORY IF NOT EXISTS OCI_DB.PUBLIC.REPO_B")
    client = httpx.Client(base_url=server.url, auth=httpx.BasicAuth("admin", ADMIN_PASSWORD), timeout=30)
    yield client
    client.close()


A = "oci_db/public/repo_a/app"
B = "oci_db/public/repo_b/app"


def _push_blob(api, name: str, data: bytes) -> str:
    digest = sha256(data)
    r = api.post(f"/v2/{name}/blobs/uploads/", params={"digest": digest}, content=data)
    assert r.status_code == 201, r.text
    assert r.headers["docker-content-digest"] == digest
    return digest


def _manifest(config: str, config_size: int, layers: list[tuple[str, int]], subject: dict | None = None) -> bytes:
    doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": config_size},
           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": s}
                      for d, s in layers]}
    if subject:
        doc["subject"] = subject
        doc["artifactType"] = "application/vnd.example.sbom"
    return json.dumps(doc).encode()


def test_monolithic_head_get_and_range(api):
    data = b"0123456789" * 100
    digest = _push_blob(api, A, data)
    head = api.head(f"/v2/{A}/blobs/{digest}")
    assert head.status_code == 200 and head.headers["content-length"] == str(len(data))
    assert api.get(f"/v2/{A}/blobs/{digest}").content == data
    part = api.get(f"/v2/{A}/blobs/{digest}", headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == data[10:20]
    assert api.head(f"/v2/{B}/blobs/{digest}").status_code == 404  # not linked to the other repository


def test_chunked_upload_status_and_out_of_order(api):
    data = bytes(range(256)) * 40
    start = api.post(f"/v2/{A}/blobs/uploads/")
    assert start.status_code == 202
    location = start.headers["location"]
    first = api.patch(location, content=data[:4000], headers={"Content-Range": "0-3999",
                                                              "Content-Type": "application/octet-stream"})
    assert first.status_code == 202 and first.headers["range"] == "0-3999"
    bad = api.patch(location, content=data[5000:6000], headers={"Content-Range": "5000-5999"})
    assert bad.status_code == 416
    status = api.get(location)
    assert status.status_code == 204 and status.headers["range"] == "0-3999"
    second = api.patch(location, content=data[4000:], headers={"Content-Range": f"4000-{len(data) - 1}"})
    assert second.status_code == 202
    done = api.put(location, params={"digest": sha256(data)})
    assert done.status_code == 201 and done.headers["docker-content-digest"] == sha256(data)
    assert api.get(f"/v2/{A}/blobs/{sha256(data)}").content == data


def test_streamed_upload_with_final_chunk_and_sha512(api):
    data = b"streamed" * 1000
    location = api.post(f"/v2/{A}/blobs/uploads/").headers["location"]
    api.patch(location, content=data[:3000])
    digest = "sha512:" + hashlib.sha512(data).hexdigest()
    done = api.put(location, params={"digest": digest}, content=data[3000:])
    assert done.status_code == 201
    assert api.head(f"/v2/{A}/blobs/{digest}").status_code == 200


def test_digest_mismatch_stores_nothing(api):
    data = b"the real bytes"
    wrong = sha256(b"other bytes")
    r = api.post(f"/v2/{A}/blobs/uploads/", params={"digest": wrong}, content=data)
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "DIGEST_INVALID"
    location = api.post(f"/v2/{A}/blobs/uploads/").headers["location"]
    r = api.put(location, params={"digest": wrong}, content=data)
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "DIGEST_INVALID"
    assert api.head(f"/v2/{A}/blobs/{wrong}").status_code == 404
    assert api.head(f"/v2/{A}/blobs/{sha256(data)}").status_code == 404
    assert api.put(f"/v2/{A}/blobs/uploads/nonexistent", params={"digest": wrong}).status_code == 404


def test_cancel_upload(api):
    location = api.post(f"/v2/{A}/blobs/uploads/").headers["location"]
    assert api.delete(location).status_code == 204
    r = api.get(location)
    assert r.status_code == 404 and r.json()["errors"][0]["code"] == "BLOB_UPLOAD_UNKNOWN"


def test_manifests_tags_index_referrers_and_deletes(api):
    config = b'{"architecture":"amd64","os":"linux"}'
    layer = b"layer-bytes" * 50
    config_digest, layer_digest = _push_blob(api, A, config), _push_blob(api, A, layer)
    missing = sha256(b"never uploaded")
    bad = api.put(f"/v2/{A}/manifests/broken", content=_manifest(config_digest, len(config), [(missing, 5)]),
                  headers={"Content-Type": OCI_MANIFEST})
    assert bad.status_code == 400 and bad.json()["errors"][0]["code"] == "MANIFEST_BLOB_UNKNOWN"

    body = _manifest(config_digest, len(config), [(layer_digest, len(layer))])
    put = api.put(f"/v2/{A}/manifests/v1", content=body, headers={"Content-Type": OCI_MANIFEST})
    assert put.status_code == 201 and put.headers["docker-content-digest"] == sha256(body)
    got = api.get(f"/v2/{A}/manifests/{sha256(body)}", headers={"Accept": OCI_MANIFEST})
    assert got.content == body and got.headers["content-type"] == OCI_MANIFEST
    assert api.head(f"/v2/{A}/manifests/v1").headers["docker-content-digest"] == sha256(body)
    wrong_digest = api.put(f"/v2/{A}/manifests/{sha256(b'x')}", content=body, headers={"Content-Type": OCI_MANIFEST})
    assert wrong_digest.status_code == 400
    for tag in ("v2", "v3", "latest"):
        api.put(f"/v2/{A}/manifests/{tag}", content=body, headers={"Content-Type": OCI_MANIFEST})

    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": sha256(body), "size": len(body),
         "platform": {"architecture": "amd64", "os": "linux"}}]}).encode()
    assert api.put(f"/v2/{A}/manifests/multi", content=index, headers={"Content-Type": OCI_INDEX}).status_code == 201

    empty = _push_blob(api, A, b"{}")
    sbom = _manifest(empty, 2, [(layer_digest, len(layer))],
                     subject={"mediaType": OCI_MANIFEST, "digest": sha256(body), "size": len(body)})
    r = api.put(f"/v2/{A}/manifests/{sha256(sbom)}", content=sbom, headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 201 and r.headers["oci-subject"] == sha256(body)
    referrers = api.get(f"/v2/{A}/referrers/{sha256(body)}").json()
    assert [m["digest"] for m in referrers["manifests"]] == [sha256(sbom)]
    assert referrers["manifests"][0]["artifactType"] == "application/vnd.example.sbom"
    filtered = api.get(f"/v2/{A}/referrers/{sha256(body)}", params={"artifactType": "other/type"})
    assert filtered.json()["manifests"] == [] and filtered.headers["oci-filters-applied"] == "artifactType"

    assert api.get(f"/v2/{A}/tags/list").json() == {"name": A, "tags": ["latest", "multi", "v1", "v2", "v3"]}
    page = api.get(f"/v2/{A}/tags/list", params={"n": 2})
    assert page.json()["tags"] == ["latest", "multi"] and 'rel="next"' in page.headers["link"]
    assert api.get(f"/v2/{A}/tags/list", params={"n": 2, "last": "multi"}).json()["tags"] == ["v1", "v2"]

    assert api.delete(f"/v2/{A}/manifests/v3").status_code == 202
    assert "v3" not in api.get(f"/v2/{A}/tags/list").json()["tags"]
    assert api.delete(f"/v2/{A}/manifests/{sha256(index)}").status_code == 202
    missing_manifest = api.get(f"/v2/{A}/manifests/multi")
    assert missing_manifest.status_code == 404 and missing_manifest.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    assert api.delete(f"/v2/{A}/blobs/{empty}").status_code == 202
    assert api.head(f"/v2/{A}/blobs/{empty}").status_code == 404


def test_cross_repository_mount(api, server, admin):
    data = b"mount me" * 100
    digest = _push_blob(api, A, data)
    r = api.post(f"/v2/{B}/blobs/uploads/", params={"mount": digest, "from": A})
    assert r.status_code == 201 and api.head(f"/v2/{B}/blobs/{digest}").status_code == 200
    # A caller who cannot read the source gets an ordinary upload session instead of the blob.
    cur = admin.cursor()
    new_user_with_role(admin, "MOUNTER", "B_WRITER", "mounter-pw")
    cur.execute("GRANT USAGE ON DATABASE OCI_DB TO ROLE B_WRITER")
    cur.execute("GRANT USAGE ON SCHEMA OCI_DB.PUBLIC TO ROLE B_WRITER")
    cur.execute("GRANT READ, WRITE ON IMAGE REPOSITORY OCI_DB.PUBLIC.REPO_B TO ROLE B_WRITER")
    other = _push_blob(api, A, b"secret layer")
    with httpx.Client(base_url=server.url, auth=httpx.BasicAuth("mounter", "mounter-pw")) as mounter:
        r = mounter.post(f"/v2/{B}/blobs/uploads/", params={"mount": other, "from": A})
        assert r.status_code == 202
        assert mounter.head(f"/v2/{B}/blobs/{other}").status_code == 404
        assert mounter.head(f"/v2/{A}/blobs/{other}").status_code == 403
        catalog = mounter.get("/v2/_catalog").json()["repositories"]
        assert all(name.startswith("oci_db/public/repo_b/") for name in catalog)
    assert A in api.get("/v2/_catalog").json()["repositories"]


def test_bad_names_and_unknown_repositories(api):
    assert api.get("/v2/Not_Lower/x/y/z/tags/list").json()["errors"][0]["code"] == "NAME_INVALID"
    r = api.get("/v2/oci_db/public/no_such_repo/app/tags/list")
    assert r.status_code in (403, 404)
    assert api.get("/v2/oci_db/public/repo_a/app/blobs/sha256:abc").json()["errors"][0]["code"] == "DIGEST_INVALID"


def test_concurrent_pushes_of_the_same_layer(api):
    from concurrent.futures import ThreadPoolExecutor

    data = b"shared layer " * 200_000
    digest = sha256(data)

    def push(_i: int) -> int:
        location = api.post(f"/v2/{A}/blobs/uploads/").headers["location"]
        api.patch(location, content=data)
        return api.put(location, params={"digest": digest}).status_code

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(push, range(4))) == [201] * 4
    assert hashlib.sha256(api.get(f"/v2/{A}/blobs/{digest}").content).hexdigest() == digest[7:]


def test_garbage_collection_online(tmp_path):
    import time

    from conftest import start_server

    server = start_server(tmp_path / "data", SNOWPORT_REGISTRY_GC_INTERVAL_SECONDS="0.5",
                          SNOWPORT_REGISTRY_GC_GRACE_SECONDS="0")
    try:
        cur = server.connect().cursor()
        cur.execute("CREATE DATABASE GC_DB")
        cur.execute("CREATE IMAGE REPOSITORY KEEP")
        cur.execute("CREATE IMAGE REPOSITORY GONE")
        with httpx.Client(base_url=server.url, auth=httpx.BasicAuth("admin", ADMIN_PASSWORD)) as client:
            kept = _push_blob(client, "gc_db/public/keep/app", b"kept")
            dropped = _push_blob(client, "gc_db/public/gone/app", b"dropped")
            blobs = server.data_dir / "registry" / "blobs" / "sha256"
            cur.execute("DROP IMAGE REPOSITORY GONE")
            deadline = time.time() + 10
            while (blobs / dropped[7:9] / dropped[7:]).exists() and time.time() < deadline:
                # pushes keep going while the collector runs; what they finish stays
                _push_blob(client, "gc_db/public/keep/app", f"live {time.time()}".encode())
                time.sleep(0.1)
            assert not (blobs / dropped[7:9] / dropped[7:]).exists()
            assert (blobs / kept[7:9] / kept[7:]).exists()
            assert client.get(f"/v2/gc_db/public/keep/app/blobs/{kept}").content == b"kept"
    finally:
        server.stop()
