"""Image references in a spec, parsed (not resolved: the service command resolves them).

Accepted forms (spcs-reference 11.1):
- `/db/schema/repo/image[:tag][@sha256:<hex>]`: the account's registry implied;
- `db/schema/repo/image...`: the same without the leading slash;
- `<host>[:port]/db/schema/repo/image...`: the registry host written out (Snowport's or Snowflake's);
- `repo/image...`: a repository in the service's own database and schema (the docs show
  `my_repo/my_job_image:latest`; Snowflake's resolution rules for it are not documented).
The image name may have several path components (`db/schema/repo/team/app:1`), as in the registry,
where the first three parts name the IMAGE REPOSITORY object and the rest is the image.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from snowport.names import normalize

# OCI distribution path components, matched without regard to case (normalised to lower case below).
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$", re.IGNORECASE)
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-fA-F]{64}$")
_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
                   r"(?::[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?$")
DEFAULT_TAG = "latest"


class ImageRefError(ValueError):
    """A malformed image reference."""


@dataclass(frozen=True)
class ImageRef:
    """One parsed image reference. `database`/`schema` are None for the `repo/image` form."""

    host: str | None
    database: str | None
    schema: str | None
    repository: str
    image: str
    tag: str | None = None
    digest: str | None = None

    @classmethod
    def parse(cls, text: str) -> ImageRef:
        return parse_image(text)

    @property
    def reference(self) -> str:
        """What to ask the registry for: the digest when pinned, else the tag (default `latest`)."""
        return self.digest or self.tag or DEFAULT_TAG

    @property
    def repository_path(self) -> str:
        """`db/schema/repo` as the registry names it (lower case); needs a qualified reference."""
        if self.database is None or self.schema is None:
            raise ImageRefError(f"image '{self}' does not name its database and schema")
        return "/".join(p.lower() for p in (self.database, self.schema, self.repository))

    @property
    def name(self) -> str:
        """The registry's repository name for the image: `db/schema/repo/image` in lower case."""
        return f"{self.repository_path}/{self.image.lower()}"

    def qualified(self, database: str, schema: str) -> ImageRef:
        """The `repo/image` form placed in a database and schema (as written in a registry URL)."""
        if self.database is not None:
            return self
        return replace(self, database=database.lower(), schema=schema.lower())

    def normalized(self) -> ImageRef:
        """As the registry stores it: path components in lower case (tags keep their case),
        digest hex in lower case, host in lower case."""
        return ImageRef(
            host=self.host.lower() if self.host else None,
            database=self.database.lower() if self.database is not None else None,
            schema=self.schema.lower() if self.schema is not None else None,
            repository=self.repository.lower(),
            image=self.image.lower(),
            tag=self.tag,
            digest=self.digest.lower() if self.digest else None,
        )

    def object_names(self) -> tuple[str, str, str]:
        """(database, schema, repository) names of the IMAGE REPOSITORY object, mapped as the
        registry maps them (`registry/api.py`: `normalize` of each lower-case path part)."""
        if self.database is None or self.schema is None:
            raise ImageRefError(f"image '{self}' does not name its database and schema")
        return normalize(self.database.lower()), normalize(self.schema.lower()), normalize(self.repository.lower())

    def with_digest(self, digest: str) -> ImageRef:
        return replace(self, digest=digest)

    def url(self, host: str) -> str:
        """`<host>/db/schema/repo/image:tag` (the `image_name` Snowflake shows), no digest."""
        return f"{host}/{self.name}:{self.tag or DEFAULT_TAG}"

    def __str__(self) -> str:
        parts = [p for p in (self.database, self.schema) if p is not None] + [self.repository, self.image]
        text = "/".join(parts)
        if self.host:
            text = f"{self.host}/{text}"
        elif self.database is not None:
            text = "/" + text
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_image(text: str) -> ImageRef:
    """Parse an image reference; `ImageRefError` says what is wrong with a malformed one."""
    if not isinstance(text, str) or not text.strip():
        raise ImageRefError("image reference is empty")
    if text != text.strip() or any(c.isspace() for c in text):
        raise ImageRefError(f"invalid image reference '{text}': it contains whitespace")
    rest = text
    digest = None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST.match(digest):
            raise ImageRefError(f"invalid image reference '{text}': digest must be sha256:<64 hex digits>")
    leading_slash = rest.startswith("/")
    parts = rest[1:].split("/") if leading_slash else rest.split("/")
    host = None
    first = parts[0]
    if not leading_slash and len(parts) > 1 and ("." in first or ":" in first or first == "localhost"):
        if not _HOST.match(first):
            raise ImageRefError(f"invalid image reference '{text}': invalid registry host '{first}'")
        host = first
        parts = parts[1:]
    tag = None
    last = parts[-1]
    if ":" in last:
        last, tag = last.rsplit(":", 1)
        if not _TAG.match(tag):
            raise ImageRefError(f"invalid image reference '{text}': invalid tag '{tag}'")
        parts = [*parts[:-1], last]
    for part in parts:
        if not part:
            raise ImageRefError(f"invalid image reference '{text}': empty path component")
        if not _COMPONENT.match(part):
            raise ImageRefError(f"invalid image reference '{text}': invalid path component '{part}'")
    if len(parts) >= 4:
        return ImageRef(host, parts[0], parts[1], parts[2], "/".join(parts[3:]), tag, digest)
    if len(parts) == 2 and host is None and not leading_slash:
        return ImageRef(None, None, None, parts[0], parts[1], tag, digest)
    raise ImageRefError(
        f"invalid image reference '{text}': expected /<db>/<schema>/<repository>/<image>[:<tag>]"
    )
