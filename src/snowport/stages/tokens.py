"""Presigned URL tokens: short-lived, signed capsules naming one file and one operation.

The URLs carry no Authorization header (the connector sends none to GCS presigned URLs), so
the token itself is the credential: HS256-signed, bound to a stage key, a path, an operation
and an expiry, and useless for anything else.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

from snowport.errors import SnowflakeError


@dataclass
class FileGrant:
    op: str  # "put" | "get"
    key: str
    path: str
    overwrite: bool = False


class UrlSigner:
    def __init__(self, key: bytes, ttl_seconds: int = 3600) -> None:
        self._key = key
        self._ttl = ttl_seconds

    def sign(self, grant: FileGrant) -> str:
        claims = {"op": grant.op, "k": grant.key, "p": grant.path, "o": grant.overwrite,
                  "exp": int(time.time()) + self._ttl, "aud": "stage-file"}
        return jwt.encode(claims, self._key, algorithm="HS256")

    def verify(self, token: str) -> FileGrant:
        try:
            c = jwt.decode(token, self._key, algorithms=["HS256"], audience="stage-file")
        except jwt.PyJWTError:
            raise SnowflakeError(390400, "08001", "The presigned URL is invalid or has expired.") from None
        return FileGrant(c["op"], c["k"], c["p"], bool(c.get("o")))
