"""Snowflake identifier rules, in one place for every surface.

Unquoted identifiers fold to upper case, quoted ones keep their case (with `""` as an escaped
quote), and partial names resolve against the session's current database and schema.
"""

from __future__ import annotations

import re

_SIMPLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


def normalize(text: str) -> str:
    """Canonical name of one identifier as a user typed it (quoted or not)."""
    text = text.strip()
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text[1:-1].replace('""', '"')
    return text.upper()


def is_simple(name: str) -> bool:
    """True when the canonical name can be written unquoted (upper case, plain characters)."""
    return bool(_SIMPLE.match(name)) and name == name.upper()


def quote(name: str) -> str:
    """How to write a canonical name back into SQL so it resolves to itself."""
    return name if is_simple(name) else '"' + name.replace('"', '""') + '"'


def display(*parts: str) -> str:
    """The dotted form Snowflake prints in messages: plain parts bare, others quoted."""
    return ".".join(quote(p) for p in parts if p)
