"""COPY INTO statements parsed into a typed `CopyStatement` (the command is in commands/copy.py)."""

from __future__ import annotations

import re

from snowport import errors
from snowport.commands.copy import CopyStatement, is_stage
from snowport.sql.lexer import Parser

_HEAD = re.compile(r"^\s*COPY\s+INTO\s+", re.I)
_COMMENT = re.compile(r"/\*.*?\*/|--[^\n]*", re.S)


def _take(text: str) -> tuple[str, str]:
    """Next operand: a quoted string, a (parenthesised query), or a run up to whitespace/paren."""
    text = text.lstrip()
    if not text:
        return "", ""
    if text[0] == "(":
        depth, quote = 0, None
        for i, c in enumerate(text):
            if quote:
                if c == quote:
                    quote = None
                continue
            if c in "'\"":
                quote = c
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    return text[: i + 1], text[i + 1 :]
        raise errors.syntax_error(1, len(text), "<EOF>")
    if text[0] == "'":
        end = text.find("'", 1)
        return (text, "") if end == -1 else (text[: end + 1], text[end + 1 :])
    m = re.match(r'(?:"[^"]*"|[^\s(])+', text)
    assert m
    return m.group(0), text[m.end():]


def parse(sql: str) -> CopyStatement:
    text = _COMMENT.sub(" ", sql).strip().rstrip(";")
    m = _HEAD.match(text)
    if not m:
        raise errors.syntax_error(1, 0, text.split()[0] if text.split() else "<EOF>")
    target, rest = _take(text[m.end():])
    columns = None
    if rest.lstrip().startswith("("):
        col_text, rest = _take(rest)
        columns = [p.qualified_name(1)[0] for p in [Parser(c) for c in col_text[1:-1].split(",")]]
    kw, rest = _take(rest)
    if kw.upper() != "FROM":
        raise errors.syntax_error(1, len(text) - len(rest) - len(kw), kw or "<EOF>")
    source, rest = _take(rest)
    if not source:
        raise errors.syntax_error(1, len(text), "<EOF>")
    options = {k.upper(): v for k, v in (Parser(rest).properties() if rest.strip() else {}).items()}
    target_parts = None if is_stage(target) else Parser(target).qualified_name(3)
    return CopyStatement(target, target_parts, columns, source, options)
