"""Parsing `@stage/path` references and the PUT/GET command text.

These statements carry local paths (`file:///tmp/a b.csv`, globs, Windows-style backslashes from
the CLI) that no SQL tokenizer handles, so they are split by hand before the options are
parsed as ordinary `KEY = value` pairs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlparse

from snowport import errors
from snowport.names import normalize

_COMMENT = re.compile(r"/\*.*?\*/|--[^\n]*", re.S)


@dataclass
class StageRef:
    kind: str  # NAMED | USER | TABLE
    parts: list[str]  # qualified name (NAMED: stage, TABLE: table); empty for USER
    path: str  # the path inside the stage, as written (may end with '/')
    text: str  # the reference as written, for messages


def parse_stage_ref(text: str) -> StageRef:
    """`@name[/path]`, `@db.sch.name/path`, `@"quoted"/p`, `@~/p`, `@%table/p` (quotes around it allowed)."""
    raw = text.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        raw = raw[1:-1]
    if not raw.startswith("@"):
        raise errors.SnowflakeError(1003, "42000", errors.compilation(
            f"syntax error line 1 at position 0 unexpected '{raw[:20]}'."))
    body = raw[1:]
    if body.startswith("~"):
        rest = body[1:]
        return StageRef("USER", [], rest.lstrip("/"), raw)
    kind = "NAMED"
    if body.startswith("%"):
        kind, body = "TABLE", body[1:]
    parts: list[str] = []
    i = 0
    current = ""
    while i < len(body):
        c = body[i]
        if c == '"':
            end = i + 1
            while True:
                end = body.find('"', end)
                if end == -1:
                    raise _bad_name(raw)
                if end + 1 < len(body) and body[end + 1] == '"':
                    end += 2
                    continue
                break
            current += body[i : end + 1]
            i = end + 1
            continue
        if c == ".":
            parts.append(current)
            current = ""
        elif c == "/":
            break
        else:
            current += c
        i += 1
    parts.append(current)
    path = body[i + 1 :] if i < len(body) else ""
    for p in parts:
        if not p or not (p.startswith('"') or re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", p)):
            raise _bad_name(raw)
    if len(parts) > 3:
        raise _bad_name(raw)
    return StageRef(kind, [normalize(p) for p in parts], unquote(path), raw)


def _bad_name(raw: str) -> errors.SnowflakeError:
    return errors.SnowflakeError(1003, "42000", errors.compilation(
        f"syntax error line 1 at position 0 unexpected '{raw[:40]}'."))


def _skip_space_and_comments(text: str) -> str:
    """Drop whitespace and comments before the next token (not inside one: `/tmp/*.csv` holds `/*`)."""
    while True:
        text = text.lstrip()
        m = _COMMENT.match(text)
        if not m:
            return text
        text = text[m.end():]


def take_token(text: str) -> tuple[str, str]:
    """The next whitespace-separated token (a quoted one may hold spaces) and the rest."""
    text = _skip_space_and_comments(text)
    if not text:
        return "", ""
    if text[0] == "'":
        end = 1
        while True:
            end = text.find("'", end)
            if end == -1:
                return text, ""
            if end + 1 < len(text) and text[end + 1] == "'":
                end += 2
                continue
            return text[: end + 1], text[end + 1 :]
    m = re.match(r"\S+", text)
    assert m
    return m.group(0), text[m.end():]


def local_path(token: str) -> str:
    """`file:///abs/p`, `'file:///a b'`, `file://name.gz` (the connector's per-file re-request)."""
    if len(token) >= 2 and token[0] == token[-1] == "'":
        token = token[1:-1].replace("''", "'").replace("\\\\", "\\")
    if not token.lower().startswith("file://"):
        raise errors.SnowflakeError(1003, "42000", errors.compilation(
            f"syntax error line 1 at position 4 unexpected '{token[:40]}'."))
    url = urlparse(token)
    path = url.path
    if url.netloc and url.netloc.lower() != "localhost":
        path = url.netloc + path
    return path


@dataclass
class TransferCommand:
    kind: str  # PUT | GET
    local: str
    stage: StageRef
    options: dict[str, Any]


def is_transfer(sql: str) -> bool:
    """PUT/GET statements, recognised before any SQL tokenizer sees their file paths."""
    word, _ = take_token(sql)
    return word.upper() in ("PUT", "GET")
