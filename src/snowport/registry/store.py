"""Registry storage: content-addressed blobs on disk and an index of links, manifests and tags.

Blobs live once, by digest, under `<data>/registry/blobs/<alg>/<hex>`; a repository sees a blob
only when it is linked to it (pushed there, mounted, or referenced by its manifests). Uploads
stream into `<data>/registry/uploads/<uuid>` and reach the blob store by an atomic rename after
their digest is verified, so nothing partial is ever visible and a crash leaves only upload
files, which are removed at start and by the online garbage collector.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, Column, Float, MetaData, String, Table, Text, create_engine, delete, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from snowport.registry import digests
from snowport.registry.errors import RegistryError

_meta = MetaData()
links_t = Table(
    "blob_links",
    _meta,
    Column("repo", String(255), primary_key=True),
    Column("digest", String(200), primary_key=True),
    Column("created_on", Float, nullable=False),
)
manifests_t = Table(
    "manifests",
    _meta,
    Column("repo", String(255), primary_key=True),
    Column("image", String(512), primary_key=True),
    Column("digest", String(200), primary_key=True),
    Column("media_type", String(255), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("subject", String(200)),
    Column("artifact_type", String(255)),
    Column("annotations", Text),
    Column("created_on", Float, nullable=False),
)
tags_t = Table(
    "tags",
    _meta,
    Column("repo", String(255), primary_key=True),
    Column("image", String(512), primary_key=True),
    Column("tag", String(128), primary_key=True),
    Column("digest", String(200), nullable=False),
    Column("updated_on", Float, nullable=False),
)
blobs_t = Table(
    "blobs",
    _meta,
    Column("digest", String(200), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("created_on", Float, nullable=False),
)

MANIFEST_TYPES = {
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}
INDEX_TYPES = {"application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"}
MAX_MANIFEST = 4 * 1024 * 1024


def non_distributable(descriptor: dict) -> bool:
    """A layer clients fetch from its `urls`, not from the registry (OCI non-distributable, Docker foreign):
    a manifest may reference it without the blob having been pushed."""
    media_type = str(descriptor.get("mediaType") or "")
    return bool(descriptor.get("urls")) or "nondistributable" in media_type or "foreign" in media_type


@dataclass
class Upload:
    id: str
    repo: str
    path: Path
    offset: int = 0
    started: float = field(default_factory=time.time)
    hashers: dict[str, Any] = field(default_factory=dict)  # incremental sha256/sha512 while bytes arrive
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class ManifestRecord:
    image: str
    digest: str
    media_type: str
    size: int
    created_on: float
    subject: str | None
    artifact_type: str | None
    annotations: dict | None


class RegistryStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.blob_root = root / "blobs"
        self.upload_root = root / "uploads"
        shutil.rmtree(self.upload_root, ignore_errors=True)  # uploads cut off by a crash
        self.upload_root.mkdir(parents=True, exist_ok=True)
        self.blob_root.mkdir(parents=True, exist_ok=True)
        self._engine = create_engine(f"sqlite:///{root / 'index.sqlite'}")
        _meta.create_all(self._engine)
        self._uploads: dict[str, Upload] = {}
        self._lock = threading.RLock()

    # ---- blobs ---------------------------------------------------------------------------
    def blob_path(self, digest: str) -> Path:
        algorithm, hexdigest = digests.parse(digest)
        return self.blob_root / algorithm / hexdigest[:2] / hexdigest

    def blob_size(self, repo: str, digest: str) -> int | None:
        """Size of a blob the repository may see, else None (one indexed query: this is on every pull)."""
        with self._engine.begin() as conn:
            row = conn.execute(
                select(blobs_t.c.size)
                .join(links_t, links_t.c.digest == blobs_t.c.digest)
                .where((links_t.c.repo == repo) & (blobs_t.c.digest == digest))
            ).first()
        if row is None or not self.blob_path(digest).exists():
            return None
        return int(row.size)

    def link(self, repo: str, digest: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                sqlite_insert(links_t).values(repo=repo, digest=digest, created_on=time.time()).on_conflict_do_nothing()
            )

    def unlink(self, repo: str, digest: str) -> bool:
        with self._engine.begin() as conn:
            return (
                conn.execute(delete(links_t).where((links_t.c.repo == repo) & (links_t.c.digest == digest))).rowcount
                > 0
            )

    def _commit_blob(self, source: Path, digest: str, size: int, repo: str) -> None:
        """Move a verified file into the blob store (or drop it if the blob exists) and link it."""
        target = self.blob_path(digest)
        with self._lock:
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                source.unlink(missing_ok=True)
            else:
                os.replace(source, target)
            with self._engine.begin() as conn:
                conn.execute(
                    sqlite_insert(blobs_t)
                    .values(digest=digest, size=size, created_on=time.time())
                    .on_conflict_do_nothing()
                )
                conn.execute(
                    sqlite_insert(links_t)
                    .values(repo=repo, digest=digest, created_on=time.time())
                    .on_conflict_do_nothing()
                )

    def put_blob_bytes(self, repo: str, digest: str, data: bytes) -> None:
        algorithm, _ = digests.parse(digest)
        if digests.of(data, algorithm) != digest:
            raise RegistryError("DIGEST_INVALID", "provided digest did not match uploaded content")
        tmp = self.upload_root / f"direct-{uuid.uuid4().hex}"
        tmp.write_bytes(data)
        self._commit_blob(tmp, digest, len(data), repo)

    # ---- uploads -------------------------------------------------------------------------
    def start_upload(self, repo: str) -> Upload:
        upload = Upload(uuid.uuid4().hex, repo, self.upload_root / uuid.uuid4().hex)
        upload.path.touch()
        upload.hashers = {"sha256": digests.hasher("sha256")}
        self._uploads[upload.id] = upload
        return upload

    def get_upload(self, repo: str, upload_id: str) -> Upload:
        upload = self._uploads.get(upload_id)
        if upload is None or upload.repo != repo or not upload.path.exists():
            raise RegistryError("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", {"uuid": upload_id})
        return upload

    def append(self, upload: Upload, chunk: bytes, f: Any) -> None:
        f.write(chunk)
        for h in upload.hashers.values():
            h.update(chunk)
        upload.offset += len(chunk)

    def finish_upload(self, upload: Upload, digest: str) -> None:
        """Verify the digest of everything uploaded and make the blob visible in the repository."""
        algorithm, _ = digests.parse(digest)
        h = upload.hashers.get(algorithm)
        if h is None:  # e.g. sha512 asked at the end: hash the file once
            h = digests.hasher(algorithm)
            with open(upload.path, "rb") as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
        actual = f"{algorithm}:{h.hexdigest()}"
        self._uploads.pop(upload.id, None)
        if actual != digest:
            upload.path.unlink(missing_ok=True)
            raise RegistryError(
                "DIGEST_INVALID",
                "provided digest did not match uploaded content",
                {"expected": digest, "actual": actual},
            )
        self._commit_blob(upload.path, digest, upload.offset, upload.repo)

    def cancel_upload(self, upload: Upload) -> None:
        self._uploads.pop(upload.id, None)
        upload.path.unlink(missing_ok=True)

    # ---- manifests and tags ----------------------------------------------------------------
    def put_manifest(self, repo: str, image: str, reference: str, media_type: str, body: bytes) -> str:
        """Validate and store a manifest; returns its digest."""
        algorithm = digests.parse(reference)[0] if reference.startswith(("sha256:", "sha512:")) else "sha256"
        digest = digests.of(body, algorithm)
        if reference.startswith(("sha256:", "sha512:")) and reference != digest:
            raise RegistryError(
                "DIGEST_INVALID",
                "provided digest did not match uploaded content",
                {"expected": reference, "actual": digest},
            )
        try:
            doc = json.loads(body)
        except ValueError:
            raise RegistryError("MANIFEST_INVALID", "manifest invalid", {"reason": "not JSON"}) from None
        if not isinstance(doc, dict):
            raise RegistryError("MANIFEST_INVALID", "manifest invalid", {"reason": "not a JSON object"})
        media_type = media_type.split(";")[0].strip() or doc.get("mediaType") or ""
        if media_type not in MANIFEST_TYPES:
            media_type = doc.get("mediaType") or (
                "application/vnd.oci.image.index.v1+json"
                if "manifests" in doc
                else "application/vnd.oci.image.manifest.v1+json"
            )
        if doc.get("mediaType") and doc["mediaType"] != media_type:
            raise RegistryError("MANIFEST_INVALID", "manifest invalid", {"reason": "mediaType does not match"})
        self._check_references(repo, image, doc, media_type)
        subject = (doc.get("subject") or {}).get("digest")
        artifact_type = doc.get("artifactType") or (doc.get("config") or {}).get("mediaType")
        tmp = self.upload_root / f"manifest-{uuid.uuid4().hex}"
        tmp.write_bytes(body)
        self._commit_blob(tmp, digest, len(body), repo)
        now = time.time()
        with self._engine.begin() as conn:
            conn.execute(
                sqlite_insert(manifests_t)
                .values(
                    repo=repo,
                    image=image,
                    digest=digest,
                    media_type=media_type,
                    size=len(body),
                    subject=subject,
                    artifact_type=artifact_type,
                    annotations=json.dumps(doc.get("annotations")),
                    created_on=now,
                )
                .on_conflict_do_nothing()
            )
            if not reference.startswith(("sha256:", "sha512:")):
                conn.execute(
                    sqlite_insert(tags_t)
                    .values(repo=repo, image=image, tag=reference, digest=digest, updated_on=now)
                    .on_conflict_do_update(
                        index_elements=["repo", "image", "tag"], set_={"digest": digest, "updated_on": now}
                    )
                )
        return digest

    def _check_references(self, repo: str, image: str, doc: dict, media_type: str) -> None:
        if media_type in INDEX_TYPES:
            for m in doc.get("manifests") or []:
                d = m.get("digest", "")
                if self.manifest(repo, image, d) is None and self.blob_size(repo, d) is None:
                    raise RegistryError(
                        "MANIFEST_BLOB_UNKNOWN", "manifest references a manifest not in the repository", {"digest": d}
                    )
            return
        config = doc.get("config") or {}
        for ref in [config] + list(doc.get("layers") or []):
            d = ref.get("digest") if isinstance(ref, dict) else None
            if not d:
                raise RegistryError("MANIFEST_INVALID", "manifest invalid", {"reason": "missing digest"})
            if self.blob_size(repo, d) is None and (ref is config or not non_distributable(ref)):
                raise RegistryError("MANIFEST_BLOB_UNKNOWN", "blob unknown to registry", {"digest": d})

    def resolve(self, repo: str, image: str, reference: str) -> ManifestRecord | None:
        digest = reference
        if not reference.startswith(("sha256:", "sha512:")):
            with self._engine.begin() as conn:
                row = conn.execute(
                    select(tags_t.c.digest).where(
                        (tags_t.c.repo == repo) & (tags_t.c.image == image) & (tags_t.c.tag == reference)
                    )
                ).first()
            if row is None:
                return None
            digest = row.digest
        return self.manifest(repo, image, digest)

    def manifest(self, repo: str, image: str, digest: str) -> ManifestRecord | None:
        with self._engine.begin() as conn:
            row = conn.execute(
                select(manifests_t).where(
                    (manifests_t.c.repo == repo) & (manifests_t.c.image == image) & (manifests_t.c.digest == digest)
                )
            ).first()
        if row is None:
            return None
        return ManifestRecord(
            row.image,
            row.digest,
            row.media_type,
            row.size,
            row.created_on,
            row.subject,
            row.artifact_type,
            json.loads(row.annotations or "null"),
        )

    def delete_manifest(self, repo: str, image: str, digest: str) -> bool:
        with self._engine.begin() as conn:
            n = conn.execute(
                delete(manifests_t).where(
                    (manifests_t.c.repo == repo) & (manifests_t.c.image == image) & (manifests_t.c.digest == digest)
                )
            ).rowcount
            conn.execute(
                delete(tags_t).where((tags_t.c.repo == repo) & (tags_t.c.image == image) & (tags_t.c.digest == digest))
            )
        return n > 0

    def delete_tag(self, repo: str, image: str, tag: str) -> bool:
        with self._engine.begin() as conn:
            return (
                conn.execute(
                    delete(tags_t).where((tags_t.c.repo == repo) & (tags_t.c.image == image) & (tags_t.c.tag == tag))
                ).rowcount
                > 0
            )

    def tags(self, repo: str, image: str) -> list[str]:
        with self._engine.begin() as conn:
            rows = conn.execute(select(tags_t.c.tag).where((tags_t.c.repo == repo) & (tags_t.c.image == image))).all()
        return sorted(r.tag for r in rows)

    def referrers(self, repo: str, image: str, digest: str) -> list[ManifestRecord]:
        with self._engine.begin() as conn:
            rows = conn.execute(
                select(manifests_t).where(
                    (manifests_t.c.repo == repo) & (manifests_t.c.image == image) & (manifests_t.c.subject == digest)
                )
            ).all()
        return [
            ManifestRecord(
                r.image,
                r.digest,
                r.media_type,
                r.size,
                r.created_on,
                r.subject,
                r.artifact_type,
                json.loads(r.annotations or "null"),
            )
            for r in rows
        ]

    def images(self, repo: str) -> list[tuple[str, str, str, float]]:
        """(image, tag, digest, updated_on) for every tag in the repository."""
        with self._engine.begin() as conn:
            rows = conn.execute(select(tags_t).where(tags_t.c.repo == repo)).all()
        return sorted((r.image, r.tag, r.digest, r.updated_on) for r in rows)

    def image_names(self, repo: str) -> list[str]:
        with self._engine.begin() as conn:
            rows = conn.execute(select(manifests_t.c.image).where(manifests_t.c.repo == repo).distinct()).all()
        return sorted(r.image for r in rows)

    def drop_repository(self, repo: str) -> None:
        with self._engine.begin() as conn:
            for table in (links_t, manifests_t, tags_t):
                conn.execute(delete(table).where(table.c.repo == repo))

    # ---- garbage collection ----------------------------------------------------------------
    def collect_garbage(self, grace_seconds: float = 3600, stale_upload_seconds: float = 86400) -> dict[str, int]:
        """Delete blobs no repository links (older than the grace period) and abandoned uploads.

        Runs online: it holds the same lock as blob commits, and a blob is linked in the same step
        that makes it visible, so a push in progress never loses a blob it has finished uploading.
        """
        removed_blobs = removed_uploads = 0
        cutoff = time.time() - grace_seconds
        with self._lock:
            with self._engine.begin() as conn:
                linked = {r.digest for r in conn.execute(select(links_t.c.digest).distinct())}
                candidates = conn.execute(select(blobs_t).where(blobs_t.c.created_on < cutoff)).all()
                for row in candidates:
                    if row.digest in linked:
                        continue
                    self.blob_path(row.digest).unlink(missing_ok=True)
                    conn.execute(delete(blobs_t).where(blobs_t.c.digest == row.digest))
                    removed_blobs += 1
        stale = time.time() - stale_upload_seconds
        for upload in list(self._uploads.values()):
            if upload.started < stale:
                self.cancel_upload(upload)
                removed_uploads += 1
        return {"blobs": removed_blobs, "uploads": removed_uploads}
