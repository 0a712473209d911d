"""What a pod gets from its service's secrets (spcs-reference 9.2): environment variables and secret files.

Environment-variable secrets take the values sealed into the service at CREATE SERVICE (or at its last
upgrade): they do not follow ALTER SECRET, as in Snowflake, and the pod spec (and its digest) stays the
same. Directory secrets are files the controller writes from the secret's current values into a host
directory mounted read-only at `directoryPath`: `username` and `password` (PASSWORD), `secret_string`
(GENERIC_STRING), `access_token` (OAUTH2). A file is replaced by a rename inside the mounted directory,
so a running container sees the new value at once and never half of one, and the mount (its host path)
does not change, so neither does the pod spec's digest: ALTER SECRET restarts nothing.

The directories live under `<data dir>/secret-files` (mode 0700, so no other host user reaches them);
the files are readable inside the container whatever user it runs as. Nothing here logs a value.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from snowport.commands.secrets import values_of
from snowport.names import display
from snowport.runtime import Volume, VolumeKind, VolumeMount
from snowport.security.secret_box import box_for

ROOT = "secret-files"


@dataclass
class PodSecrets:
    """Per container name: the env variables and mounts its secrets add; the pod's secret volumes."""

    env: dict[str, dict[str, str]] = field(default_factory=dict)
    mounts: dict[str, tuple[VolumeMount, ...]] = field(default_factory=dict)
    volumes: tuple[Volume, ...] = ()


def service_dir(data_dir: Path, service_id: int) -> Path:
    return Path(data_dir) / ROOT / str(service_id)


def for_pod(core: Any, service: Any, spec: Any) -> PodSecrets:
    """The secrets part of one instance's pod; writes (or refreshes) the service's secret files."""
    out = PodSecrets()
    if not any(c.secrets for c in spec.containers):
        return out
    data_dir = Path(core.settings.data_dir)
    box = box_for(data_dir)
    sealed_env = service.props.get("secret_env")
    out.env = box.open(sealed_env) if sealed_env else {}
    refs = {(r["container"], r["index"]): r for r in service.props.get("secret_refs") or []}
    volumes: list[Volume] = []
    for ci, container in enumerate(spec.containers):
        mounts = []
        for si, item in enumerate(container.secrets):
            if item.directory_path is None:
                continue
            name = f"snowflake-secret-{ci}-{si}"
            directory = service_dir(data_dir, service.id) / f"{ci}-{si}"
            secret = _secret(core, refs.get((container.name, si)))
            _write_files(directory, values_of(data_dir, secret) if secret is not None else None)
            volumes.append(Volume(name, VolumeKind.HOST, host_path=str(directory)))
            mounts.append(VolumeMount(name, item.directory_path, read_only=True))
        if mounts:
            out.mounts[container.name] = tuple(mounts)
    out.volumes = tuple(volumes)
    return out


def _secret(core: Any, ref: Mapping[str, Any] | None) -> Any:
    """The secret a spec entry was bound to at CREATE SERVICE: by id (follows a rename), else by name
    (a secret created again with CREATE OR REPLACE); None once it is gone (its files stay as they were)."""
    if ref is None:
        return None
    secret = core.catalog.by_id(ref["id"])
    if secret is not None and secret.kind == "SECRET":
        return secret
    for candidate in core.catalog.list("SECRET"):
        if _qualified(candidate) == ref.get("name"):
            return candidate
    return None


def _qualified(secret: Any) -> str:
    return display(secret.database, secret.schema, secret.name)


def _write_files(directory: Path, values: Mapping[str, str] | None) -> None:
    """Each value as a file of the directory, replaced atomically and only when it changed."""
    root = directory.parent.parent
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o700)
    directory.parent.mkdir(mode=0o700, exist_ok=True)
    directory.mkdir(mode=0o755, exist_ok=True)
    for key, value in (values or {}).items():
        path = directory / key
        data = value.encode()
        try:
            if path.read_bytes() == data:
                continue
        except FileNotFoundError:
            pass
        partial = directory / f".{key}.new"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        partial.chmod(0o644)
        os.replace(partial, path)  # in the mounted directory: the container sees the new file, never half of it
    if values is not None:  # a secret replaced by one of another type: the old type's files go
        for stale in directory.iterdir():
            if stale.name not in values and not stale.name.startswith("."):
                stale.unlink(missing_ok=True)


def forget(data_dir: Path, service_id: int) -> None:
    """A dropped service's secret files go with it."""
    shutil.rmtree(service_dir(data_dir, service_id), ignore_errors=True)
