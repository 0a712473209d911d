"""Secret values at rest: sealed with Fernet (AES-128-CBC + HMAC-SHA256) under a key kept apart from the catalog.

The catalog holds only the sealed form of a secret's values, so a copy of `catalog.sqlite` (a backup, a
bug report) reveals nothing; the key lives in its own file (`<data dir>/secrets.key`, mode 0600), created
on first use and never written anywhere else, never logged. Losing the key loses the secrets' values,
not the rest of the catalog.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

KEY_FILE = "secrets.key"


class SecretKeyError(Exception):
    """The key file cannot open what the catalog holds (replaced or corrupted key): names no value."""


class SecretBox:
    """Seals and opens a secret's values (a dict of strings) with one Fernet key."""

    def __init__(self, key_path: Path) -> None:
        self.key_path = key_path
        self._fernet = Fernet(_load_or_create(key_path))

    def seal(self, values: dict[str, str]) -> str:
        return self._fernet.encrypt(json.dumps(values, sort_keys=True).encode()).decode("ascii")

    def open(self, sealed: str) -> dict[str, str]:
        try:
            return json.loads(self._fernet.decrypt(sealed.encode("ascii")))
        except (InvalidToken, ValueError):
            raise SecretKeyError(f"the key in {self.key_path} does not open this secret") from None


def _load_or_create(path: Path) -> bytes:
    """The key, made on first use: written with O_EXCL and mode 0600 so no other user ever reads it and two
    processes starting together agree on one key."""
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as f:
        f.write(key)
        f.flush()
        os.fsync(f.fileno())
    return key


_BOXES: dict[Path, SecretBox] = {}
_LOCK = threading.Lock()


def box_for(data_dir: Path) -> SecretBox:
    """The box of a data dir (one key per Snowport data dir), shared by commands and controllers."""
    path = Path(data_dir).resolve() / KEY_FILE
    with _LOCK:
        box = _BOXES.get(path)
        if box is None:
            box = _BOXES[path] = SecretBox(path)
        return box
