"""The OCI distribution API v2 under /v2/ (distribution-spec 1.1), over RegistryStore and RegistryAuth.

Names are `<db>/<schema>/<repository>/<image...>` in lower case; the first three parts name the
IMAGE REPOSITORY object whose privileges decide pull (READ) and push (WRITE). As in CNCF
Distribution, the action a request needs follows its HTTP method: GET/HEAD pull, POST/PUT/PATCH
push, DELETE delete.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from snowport.commands.kinds import storage_key
from snowport.names import normalize
from snowport.registry import digests
from snowport.registry.auth import Principal, RegistryAuth, basic_credentials
from snowport.registry.errors import RegistryError
from snowport.registry.store import MAX_MANIFEST, RegistryStore

_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_NAME = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_ROUTES = [
    ("upload_start", re.compile(r"^(?P<name>.+)/blobs/uploads/?$")),
    ("upload", re.compile(r"^(?P<name>.+)/blobs/uploads/(?P<ref>[^/]+)$")),
    ("blob", re.compile(r"^(?P<name>.+)/blobs/(?P<ref>[^/]+)$")),
    ("manifest", re.compile(r"^(?P<name>.+)/manifests/(?P<ref>[^/]+)$")),
    ("tags", re.compile(r"^(?P<name>.+)/tags/list$")),
    ("referrers", re.compile(r"^(?P<name>.+)/referrers/(?P<ref>[^/]+)$")),
]
_TAG = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$")
WRITE_BUFFER = 8 << 20
API_HEADERS = {"Docker-Distribution-API-Version": "registry/2.0"}
METHOD_ACTION = {"GET": "pull", "HEAD": "pull", "POST": "push", "PUT": "push", "PATCH": "push", "DELETE": "delete"}
SCOPE_ACTIONS = {"pull": "pull", "push": "pull,push", "delete": "delete"}  # what a challenge asks for
_CONTENT_RANGE = re.compile(r"^(?:bytes )?(\d+)-(\d+)$")
MAX_RANGES = 100


class LargeFileResponse(FileResponse):
    chunk_size = 8 * 1024 * 1024


class BlobResponse(LargeFileResponse):
    """A blob with the byte ranges already checked by `byte_ranges` (none: the whole blob, status 200)."""

    def __init__(self, path, ranges: list[tuple[int, int]], headers: dict[str, str]) -> None:
        super().__init__(path, media_type="application/octet-stream", headers=headers)
        self.ranges = ranges

    def _parse_range_header(self, http_range: str, file_size: int) -> list[tuple[int, int]]:
        return self.ranges


def byte_ranges(header: str | None, size: int) -> list[tuple[int, int]]:
    """RFC 9110 14.2: the satisfiable ranges of a `Range` header as (start, end exclusive), merged.

    A header that is not a valid `bytes` range set (bad syntax, another unit, `500-0`) is ignored: []
    means the whole blob with 200. A valid set of which no range is satisfiable raises 416."""
    if not header:
        return []
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or not spec.strip():
        return []
    parts = [p.strip() for p in spec.split(",")]
    if len(parts) > MAX_RANGES:
        return []
    ranges = []
    for part in parts:
        first, dash, last = part.partition("-")
        first, last = first.strip(), last.strip()
        if not dash or (first and not first.isdigit()) or (last and not last.isdigit()) or not (first or last):
            return []  # invalid syntax: ignore the whole header
        if first:
            start = int(first)
            if last and int(last) < start:
                return []  # an inverted range makes the header invalid, not unsatisfiable
            end = min(int(last) + 1, size) if last else size
        else:
            start, end = max(size - int(last), 0), size
            if int(last) == 0:
                continue  # a zero-length suffix is unsatisfiable
        if start < size:
            ranges.append((start, end))
    if not ranges:
        raise RegistryError("RANGE_INVALID", "requested range not satisfiable", {"size": size}, status=416,
                            headers={"Content-Range": f"bytes */{size}"})
    ranges.sort()
    merged = [ranges[0]]
    for start, end in ranges[1:]:
        if start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


class RegistryApi:
    def __init__(self, core, store: RegistryStore, auth: RegistryAuth) -> None:
        self.core = core
        self.store = store
        self.auth = auth

    def routes(self) -> list[Route]:
        methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
        return [
            Route("/v2/", self.dispatch, methods=methods),
            Route("/v2/{rest:path}", self.dispatch, methods=methods),
            Route("/login", self.login, methods=["GET"]),
        ]

    # ---- plumbing ------------------------------------------------------------------------
    async def dispatch(self, request: Request) -> Response:
        rest = request.path_params.get("rest", "")
        try:
            if rest in ("", "/"):
                self._principal(request, scope=None)
                return JSONResponse({}, headers=API_HEADERS)
            if rest == "token":
                return await self.token(request)
            if rest == "_catalog":
                return await self.catalog(request, self._principal(request, scope=None))
            for kind, pattern in _ROUTES:
                m = pattern.match(rest)
                if m:
                    name, ref = m.group("name"), m.groupdict().get("ref")
                    return await getattr(self, f"_{kind}")(request, name, ref)
            raise RegistryError("NAME_INVALID", "invalid repository name", status=404)
        except RegistryError as e:
            e.headers.update(API_HEADERS)
            return e.response()

    def _challenge(self, request: Request, scope: str | None, error: str | None = None) -> dict[str, str]:
        """`WWW-Authenticate: Bearer realm=...,service=...,scope=...[,error=...]` (RFC 6750, Docker token flow)."""
        realm = f"{request.url.scheme}://{request.headers.get('host') or request.url.netloc}/v2/token"
        value = f'Bearer realm="{realm}",service="snowport"'
        if scope:
            value += f',scope="{scope}"'
        if error:
            value += f',error="{error}"'
        return {"WWW-Authenticate": value}

    def _principal(self, request: Request, scope: str | None) -> Principal:
        header = request.headers.get("authorization", "")
        if header.startswith("Bearer "):
            try:
                return self.auth.principal_from_bearer(header[7:])
            except RegistryError as e:  # expired or forged: say where to get a fresh one
                e.headers.update(self._challenge(request, scope, "invalid_token"))
                raise
        creds = basic_credentials(header)
        if creds is not None:
            try:
                return self.auth.principal_from_basic(*creds)
            except RegistryError as e:
                e.headers.update(self._challenge(request, scope))
                raise
        raise RegistryError("UNAUTHORIZED", "authentication required", headers=self._challenge(request, scope))

    def repository(self, name: str):
        """The IMAGE REPOSITORY object a name lives in, or None."""
        parts = name.split("/")
        if len(parts) < 4:
            return None
        return self.core.catalog.get("IMAGE REPOSITORY", normalize(parts[2]), normalize(parts[0]),
                                     normalize(parts[1]))

    def _authorize(self, request: Request, name: str, action: str, also: tuple[str, ...] = ()) -> tuple[str, str]:
        """(repository key, image name) when the caller may do `action` (or one of `also`) on `name`.

        A token that lacks the action gets 401 with a challenge naming the scope to ask for, as long as
        the user's roles would grant it; 403 DENIED only when they would not."""
        if not _NAME.match(name) or len(name.split("/")) < 4:
            raise RegistryError("NAME_INVALID", "invalid repository name", {"name": name})
        scope = f"repository:{name}:{SCOPE_ACTIONS[action]}"
        principal = self._principal(request, scope)
        repo = self.repository(name)
        wanted = {action, *also}
        if not self.auth.granted(principal, name, repo, wanted):
            possible = self.auth.possible(principal, repo, wanted)
            if possible:
                needed = action if action in possible else sorted(possible)[0]
                scope = f"repository:{name}:{SCOPE_ACTIONS[needed]}"
                raise RegistryError("UNAUTHORIZED", "authentication required",
                                    [{"Type": "repository", "Name": name, "Action": needed}],
                                    headers=self._challenge(request, scope, "insufficient_scope"))
            raise RegistryError("DENIED", "requested access to the resource is denied", {"name": name})
        if repo is None:
            raise RegistryError("NAME_UNKNOWN", "repository name not known to registry", {"name": name})
        parts = name.split("/")
        return storage_key(repo), "/".join(parts[3:])

    # ---- token endpoints -----------------------------------------------------------------------
    async def token(self, request: Request) -> Response:
        creds = basic_credentials(request.headers.get("authorization", ""))
        if creds is None:
            raise RegistryError("UNAUTHORIZED", "authentication required")
        principal = await run_in_threadpool(self.auth.principal_from_basic, *creds)
        scopes = [v for k, v in request.query_params.multi_items() if k == "scope"]
        expanded = []
        for scope in scopes:  # several scopes may share one parameter, separated by spaces
            expanded += scope.split(" ")
        return JSONResponse(self.auth.issue(principal, expanded, self.repository), headers=API_HEADERS)

    async def login(self, request: Request) -> Response:
        """`GET /login` with Basic `0sessiontoken:<json>`: the snow CLI's bearer-token exchange."""
        try:
            creds = basic_credentials(request.headers.get("authorization", ""))
            if creds is None:
                raise RegistryError("UNAUTHORIZED", "authentication required")
            principal = await run_in_threadpool(self.auth.principal_from_basic, *creds)
        except RegistryError as e:
            return e.response()
        return JSONResponse({"token": self.auth.issue(principal, [], self.repository)["token"]})

    async def catalog(self, request: Request, principal: Principal) -> Response:
        names = []
        for repo in self.core.catalog.list("IMAGE REPOSITORY"):
            base = f"{repo.database}/{repo.schema}/{repo.name}".lower()
            if principal.access is None and not self.auth.allowed_actions(principal.session, repo, {"pull"}):
                continue
            for image in self.store.image_names(storage_key(repo)):
                full = f"{base}/{image}"
                if principal.access is not None and "pull" not in principal.access.get(full, set()) and not \
                        self.auth.allowed_actions(principal.session, repo, {"pull"}):
                    continue
                names.append(full)
        page, link = _paginate(sorted(names), request, "/v2/_catalog")
        return JSONResponse({"repositories": page}, headers={**API_HEADERS, **link})

    # ---- blobs ---------------------------------------------------------------------------------
    async def _blob(self, request: Request, name: str, ref: str) -> Response:
        if request.method == "DELETE":
            repo, _ = self._authorize(request, name, "delete")
            digests.parse(ref)
            if not self.store.unlink(repo, ref):
                raise RegistryError("BLOB_UNKNOWN", "blob unknown to registry", {"digest": ref})
            return Response(status_code=202, headers=API_HEADERS)
        if request.method not in ("GET", "HEAD"):
            raise RegistryError("UNSUPPORTED", "the operation is unsupported", status=405)
        repo, _ = self._authorize(request, name, "pull")
        digests.parse(ref)
        size = self.store.blob_size(repo, ref)
        if size is None:
            raise RegistryError("BLOB_UNKNOWN", "blob unknown to registry", {"digest": ref})
        headers = {**API_HEADERS, "Docker-Content-Digest": ref}
        if request.method == "HEAD":
            return Response(headers={**headers, "Content-Length": str(size), "Accept-Ranges": "bytes",
                                     "Content-Type": "application/octet-stream"})
        ranges = byte_ranges(request.headers.get("range"), size)
        return BlobResponse(self.store.blob_path(ref), ranges, headers)

    async def _upload_start(self, request: Request, name: str, _ref: None) -> Response:
        if request.method != "POST":
            raise RegistryError("UNSUPPORTED", "the operation is unsupported", status=405)
        repo, _ = self._authorize(request, name, "push")
        q = request.query_params
        mount, source = q.get("mount"), q.get("from")
        if mount and source:
            digests.parse(mount)
            source_repo = self.repository(source)
            principal = self._principal(request, None)
            readable = source_repo is not None and (
                (principal.access is not None and "pull" in principal.access.get(source, set()))
                or self.auth.allowed_actions(principal.session, source_repo, {"pull"}))
            if readable and self.store.blob_size(storage_key(source_repo), mount) is not None:
                self.store.link(repo, mount)
                return Response(status_code=201, headers={**API_HEADERS, "Location": f"/v2/{name}/blobs/{mount}",
                                                          "Docker-Content-Digest": mount})
        digest = q.get("digest")
        if digest:  # monolithic upload in one POST
            digests.parse(digest)
            body = await request.body()
            await run_in_threadpool(self.store.put_blob_bytes, repo, digest, body)
            return Response(status_code=201, headers={**API_HEADERS, "Location": f"/v2/{name}/blobs/{digest}",
                                                      "Docker-Content-Digest": digest})
        upload = self.store.start_upload(repo)
        return Response(status_code=202, headers=self._upload_headers(name, upload))

    def _upload_headers(self, name: str, upload) -> dict[str, str]:
        return {**API_HEADERS, "Location": f"/v2/{name}/blobs/uploads/{upload.id}",
                "Range": f"0-{max(upload.offset - 1, 0)}", "Docker-Upload-UUID": upload.id,
                "OCI-Chunk-Min-Length": "0"}

    async def _upload(self, request: Request, name: str, upload_id: str) -> Response:
        if request.method == "POST":
            raise RegistryError("UNSUPPORTED", "the operation is unsupported", status=405)
        # status needs pull, cancel delete (or push: whoever may upload may abandon the upload)
        also = ("push",) if request.method == "DELETE" else ()
        repo, _ = self._authorize(request, name, METHOD_ACTION[request.method], also)
        upload = self.store.get_upload(repo, upload_id)
        if request.method in ("GET", "HEAD"):
            return Response(status_code=204, headers=self._upload_headers(name, upload))
        if request.method == "DELETE":
            self.store.cancel_upload(upload)
            return Response(status_code=204, headers=API_HEADERS)
        content_range = request.headers.get("content-range")
        if content_range and not self._range_continues(content_range, request.headers.get("content-length"),
                                                       upload.offset):
            async for _ in request.stream():  # drain the refused chunk; the upload stays as it was
                pass
            raise RegistryError("RANGE_INVALID", "invalid content range", {"offset": upload.offset}, status=416,
                                headers=self._upload_headers(name, upload))
        await self._receive(request, upload)
        if request.method == "PATCH":
            return Response(status_code=202, headers=self._upload_headers(name, upload))
        digest = request.query_params.get("digest", "")
        digests.parse(digest)
        await run_in_threadpool(self.store.finish_upload, upload, digest)
        return Response(status_code=201, headers={**API_HEADERS, "Location": f"/v2/{name}/blobs/{digest}",
                                                  "Docker-Content-Digest": digest})

    @staticmethod
    def _range_continues(content_range: str, content_length: str | None, offset: int) -> bool:
        """A chunk's `Content-Range: <start>-<end>` (PATCH or the final PUT) must start at the upload's
        offset, not be inverted, and span the body's length when that is known."""
        m = _CONTENT_RANGE.match(content_range.strip())
        if not m:
            return False
        start, end = int(m.group(1)), int(m.group(2))
        if start != offset or end < start:
            return False
        if content_length and content_length.isdigit() and int(content_length) > 0:
            return int(content_length) == end - start + 1
        return True

    async def _receive(self, request: Request, upload) -> None:
        """Append the request body to the upload, hashing and writing off the event loop."""
        loop = asyncio.get_running_loop()
        with upload.lock:
            with open(upload.path, "ab", buffering=0) as f:
                buffer = bytearray()
                pending = None
                async for chunk in request.stream():
                    buffer += chunk
                    if len(buffer) >= WRITE_BUFFER:
                        if pending is not None:
                            await pending
                        pending = loop.run_in_executor(None, self.store.append, upload, buffer, f)
                        buffer = bytearray()
                if pending is not None:
                    await pending
                if buffer:
                    self.store.append(upload, buffer, f)

    # ---- manifests -------------------------------------------------------------------------------
    async def _manifest(self, request: Request, name: str, ref: str) -> Response:
        if request.method in ("POST", "PATCH"):
            raise RegistryError("UNSUPPORTED", "the operation is unsupported", status=405)
        if request.method == "PUT":
            repo, image = self._authorize(request, name, "push")
            if not (_TAG.match(ref) or ref.startswith(("sha256:", "sha512:"))):
                raise RegistryError("MANIFEST_INVALID", "manifest invalid", {"reason": "invalid tag"})
            body = await request.body()
            if len(body) > MAX_MANIFEST:
                raise RegistryError("SIZE_INVALID", "manifest too large", status=413)
            media_type = request.headers.get("content-type", "")
            digest = await run_in_threadpool(self.store.put_manifest, repo, image, ref, media_type, body)
            headers = {**API_HEADERS, "Location": f"/v2/{name}/manifests/{digest}", "Docker-Content-Digest": digest}
            subject = (json.loads(body).get("subject") or {}).get("digest")
            if subject:
                headers["OCI-Subject"] = subject
            return Response(status_code=201, headers=headers)
        if request.method == "DELETE":
            repo, image = self._authorize(request, name, "delete")
            found = (self.store.delete_manifest(repo, image, ref) if ref.startswith(("sha256:", "sha512:"))
                     else self.store.delete_tag(repo, image, ref))
            if not found:
                raise RegistryError("MANIFEST_UNKNOWN", "manifest unknown", {"reference": ref})
            return Response(status_code=202, headers=API_HEADERS)
        repo, image = self._authorize(request, name, "pull")
        record = self.store.resolve(repo, image, ref)
        if record is None:
            raise RegistryError("MANIFEST_UNKNOWN", "manifest unknown", {"reference": ref})
        headers = {**API_HEADERS, "Docker-Content-Digest": record.digest, "Content-Type": record.media_type,
                   "Content-Length": str(record.size)}
        if request.method == "HEAD":
            return Response(headers=headers)
        body = await run_in_threadpool(self.store.blob_path(record.digest).read_bytes)
        return Response(body, headers=headers, media_type=record.media_type)

    async def _tags(self, request: Request, name: str, _ref: None) -> Response:
        if request.method not in ("GET", "HEAD"):
            raise RegistryError("UNSUPPORTED", "the operation is unsupported", status=405)
        repo, image = self._authorize(request, name, "pull")
        names = self.store.tags(repo, image)
        if not names and not self.store.image_names(repo).count(image):
            raise RegistryError("NAME_UNKNOWN", "repository name not known to registry", {"name": name})
        page, link = _paginate(names, request, f"/v2/{name}/tags/list")
        return JSONResponse({"name": name, "tags": page}, headers={**API_HEADERS, **link})

    async def _referrers(self, request: Request, name: str, ref: str) -> Response:
        if request.method not in ("GET", "HEAD"):
            raise RegistryError("UNSUPPORTED", "the operation is unsupported", status=405)
        repo, image = self._authorize(request, name, "pull")
        digests.parse(ref)
        wanted = request.query_params.get("artifactType")
        manifests: list[dict[str, Any]] = []
        for r in self.store.referrers(repo, image, ref):
            if wanted and r.artifact_type != wanted:
                continue
            entry: dict[str, Any] = {"mediaType": r.media_type, "digest": r.digest, "size": r.size}
            if r.artifact_type:
                entry["artifactType"] = r.artifact_type
            if r.annotations:
                entry["annotations"] = r.annotations
            manifests.append(entry)
        headers = dict(API_HEADERS)
        if wanted:
            headers["OCI-Filters-Applied"] = "artifactType"
        return JSONResponse({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                             "manifests": manifests}, headers=headers,
                            media_type="application/vnd.oci.image.index.v1+json")


def _paginate(items: list[str], request: Request, path: str) -> tuple[list[str], dict[str, str]]:
    """`n`/`last` pagination with a Link header to the next page, as the spec describes."""
    last = request.query_params.get("last")
    if last:
        items = [i for i in items if i > last]
    n = request.query_params.get("n")
    if n is None:
        return items, {}
    try:
        count = max(int(n), 0)
    except ValueError:
        raise RegistryError("UNSUPPORTED", "invalid n", status=400) from None
    page = items[:count]
    if len(items) > count and page:
        return page, {"Link": f'<{path}?{urlencode({"n": count, "last": page[-1]})}>; rel="next"'}
    return page, {}
