"""Content digests: `sha256:<hex>` and `sha512:<hex>`, parsed strictly, computed incrementally."""

from __future__ import annotations

import hashlib
import re

from snowport.registry.errors import RegistryError

_DIGEST = re.compile(r"^(sha256|sha512):([a-f0-9]+)$")
_LENGTH = {"sha256": 64, "sha512": 128}


def parse(digest: str) -> tuple[str, str]:
    m = _DIGEST.match(digest or "")
    if not m or len(m.group(2)) != _LENGTH[m.group(1)]:
        raise RegistryError("DIGEST_INVALID", "provided digest did not match uploaded content",
                            {"digest": digest, "reason": "invalid digest format"})
    return m.group(1), m.group(2)


def hasher(algorithm: str):
    return hashlib.sha512() if algorithm == "sha512" else hashlib.sha256()


def of(data: bytes, algorithm: str = "sha256") -> str:
    h = hasher(algorithm)
    h.update(data)
    return f"{algorithm}:{h.hexdigest()}"
