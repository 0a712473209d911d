"""Presigned stage-file URLs: the plain-HTTP PUT/GET the connector sends after a PUT/GET statement.

No Authorization header arrives here (the connector sends none to presigned URLs); the signed
token in the path is the credential, and names the one file and operation it allows.
"""

from __future__ import annotations

import logging
from pathlib import Path

import jwt
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from snowport.core import Snowport
from snowport.errors import SnowflakeError
from snowport.stages.tokens import FileGrant

log = logging.getLogger("snowport.files")


class StageFiles:
    def __init__(self, core: Snowport) -> None:
        self.core = core

    def routes(self) -> list[Route]:
        return [
            Route("/stage-files/{token}", self.upload, methods=["PUT"]),
            Route("/stage-files/{token}", self.download, methods=["GET"]),
        ]

    def _grant(self, request: Request, op: str) -> FileGrant | Response:
        grant = self._check(request.path_params["token"], op)
        return Response(status_code=grant) if isinstance(grant, int) else grant

    def _check(self, token: str, op: str) -> FileGrant | int:
        """The grant a presigned token carries for `op`, or the status that refuses it."""
        try:
            grant = self.core.signer.verify(token)
        except SnowflakeError:
            try:
                jwt.decode(token, options={"verify_signature": False})
                expired = True
            except jwt.PyJWTError:
                expired = False
            # 400 makes the connector ask for a fresh URL; a forged token just fails.
            return 400 if expired else 403
        if grant.op != op:
            return 403
        return grant

    async def upload(self, request: Request) -> Response:
        grant = self._grant(request, "put")
        if isinstance(grant, Response):
            await request.body()
            return grant
        try:
            stored = await self.core.stages.write_stream(grant.key, grant.path, request.stream(), grant.overwrite)
        except SnowflakeError as e:
            log.info("upload refused: %s", e.message)
            return Response(status_code=403)
        if stored is None:
            log.info("kept existing %s/%s (OVERWRITE = FALSE)", grant.key, grant.path)
        return Response(status_code=200)

    async def download(self, request: Request) -> Response:
        status, path = self.resolve_download(request.path_params["token"])
        if path is None:
            return Response(status_code=status)
        return LargeFileResponse(path, media_type="application/octet-stream")

    def resolve_download(self, token: str) -> tuple[int, Path | None]:
        """What a presigned GET answers: (200, the file) or (the refusal's status, None). The one rule for
        both the ASGI route and the sendfile listener (stages/file_server.py)."""
        grant = self._check(token, "get")
        if isinstance(grant, int):
            return grant, None
        try:
            path = self.core.stages.file_path(grant.key, grant.path)
        except SnowflakeError:
            return 403, None
        return (200, path) if path.is_file() else (404, None)


class LargeFileResponse(FileResponse):
    """FileResponse reading 8 MB at a time: far fewer thread hops than the default 64 KB for big files."""

    chunk_size = 8 * 1024 * 1024
