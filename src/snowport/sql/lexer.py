"""A token cursor for Snowport's own statements, built on sqlglot's Snowflake tokenizer.

Snowport parses account, security and (later) SPCS statements itself so that it controls the
syntax accepted and reports errors the way Snowflake does: `syntax error line L at position P
unexpected 'X'.`
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlglot.dialects.snowflake import Snowflake
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from snowport import errors
from snowport.names import normalize

_DIALECT = Snowflake()
# Snowflake's reserved keywords: not usable as unquoted identifiers.
RESERVED = frozenset("""ALL ALTER AND ANY AS BETWEEN BY CASE CAST CHECK COLUMN CONNECT CONSTRAINT CREATE CROSS CURRENT
CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER DELETE DISTINCT DROP ELSE EXISTS FALSE FOLLOWING FOR FROM FULL
GRANT GROUP HAVING ILIKE IN INCREMENT INNER INSERT INTERSECT INTO IS JOIN LATERAL LEFT LIKE LOCALTIME LOCALTIMESTAMP
MINUS NATURAL NOT NULL OF ON OR ORDER QUALIFY REGEXP REVOKE RIGHT RLIKE ROW ROWS SAMPLE SELECT SET SOME START TABLE
TABLESAMPLE THEN TO TRIGGER TRUE TRY_CAST UNION UNIQUE UPDATE USING VALUES WHEN WHENEVER WHERE WITH""".split())
_STRING_TYPES = {TokenType.STRING, TokenType.RAW_STRING, TokenType.NATIONAL_STRING}
_PUNCT = {
    TokenType.DOT,
    TokenType.COMMA,
    TokenType.L_PAREN,
    TokenType.R_PAREN,
    TokenType.EQ,
    TokenType.SEMICOLON,
    TokenType.PARAMETER,
    TokenType.STAR,
}


def tokenize(sql: str) -> list[Token]:
    try:
        return _DIALECT.tokenize(sql)
    except TokenError:
        # Unterminated strings, identifiers and comments: the statement ends where a token is still open.
        line = sql.count("\n") + 1
        raise errors.syntax_error(line, len(sql) - sql.rfind("\n") - 1, "<EOF>") from None


def split_statements(sql: str) -> list[str]:
    """Split on top-level semicolons, keeping each statement's text as written."""
    tokens = tokenize(sql)
    out: list[str] = []
    start = 0
    for t in tokens:
        if t.token_type == TokenType.SEMICOLON:
            piece = sql[start : t.start]
            if piece.strip():
                out.append(piece.strip())
            start = t.end + 1
    tail = sql[start:]
    if tail.strip() and _has_code(tail):
        out.append(tail.strip())
    return out


def _has_code(text: str) -> bool:
    return bool(tokenize(text))


@dataclass
class Word:
    """A token as Snowport's parser sees it."""

    token: Token

    @property
    def upper(self) -> str:
        return self.token.text.upper()

    @property
    def is_quoted_ident(self) -> bool:
        return self.token.token_type == TokenType.IDENTIFIER

    @property
    def is_string(self) -> bool:
        return self.token.token_type in _STRING_TYPES

    @property
    def is_punct(self) -> bool:
        return self.token.token_type in _PUNCT


class Parser:
    """Cursor over the tokens of one statement."""

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self.tokens = [t for t in tokenize(sql) if t.token_type != TokenType.SEMICOLON]
        self.i = 0

    # ---- inspection ----------------------------------------------------------------------
    def peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def peek_upper(self, offset: int = 0) -> str:
        t = self.peek(offset)
        if t is None or t.token_type in _STRING_TYPES or t.token_type == TokenType.IDENTIFIER:
            return ""
        return t.text.upper()

    def at_end(self) -> bool:
        return self.i >= len(self.tokens)

    def error(self, token: Token | None = None) -> errors.SnowflakeError:
        """A syntax error at `token` (default: the current token, or end of input)."""
        token = token or self.peek()
        if token is None:
            line = self.sql.count("\n") + 1
            last_nl = self.sql.rfind("\n")
            return errors.syntax_error(line, len(self.sql) - last_nl - 1, "<EOF>")
        line_start = self.sql.rfind("\n", 0, token.start) + 1
        return errors.syntax_error(token.line, token.start - line_start, self.sql[token.start : token.end + 1])

    # ---- consuming -----------------------------------------------------------------------
    def next(self) -> Token:
        t = self.peek()
        if t is None:
            raise self.error()
        self.i += 1
        return t

    def accept(self, *words: str) -> bool:
        """Consume the words if they come next (case-insensitive), else consume nothing."""
        for k, w in enumerate(words):
            if self.peek_upper(k) != w:
                return False
        self.i += len(words)
        return True

    def accept_any(self, *words: str) -> str | None:
        w = self.peek_upper()
        if w in words:
            self.i += 1
            return w
        return None

    def expect(self, *words: str) -> None:
        for w in words:
            if self.peek_upper() != w:
                raise self.error()
            self.i += 1

    def expect_end(self) -> None:
        if not self.at_end():
            raise self.error()

    def identifier(self) -> str:
        """One identifier, canonicalised (unquoted → upper case); IDENTIFIER('x') accepted."""
        t = self.peek()
        if t is None:
            raise self.error()
        if t.token_type == TokenType.IDENTIFIER:
            if not t.text:
                raise self.error(t)
            self.i += 1
            return t.text
        if t.token_type in _STRING_TYPES or t.token_type in _PUNCT or t.token_type == TokenType.NUMBER:
            raise self.error(t)
        if t.text.upper() == "IDENTIFIER" and self.peek(1) is not None and self.peek(1).token_type == TokenType.L_PAREN:
            self.i += 2
            s = self.next()
            if s.token_type not in _STRING_TYPES:
                raise self.error(s)
            self.expect_punct(TokenType.R_PAREN)
            return normalize(s.text)
        if t.text.upper() in RESERVED:
            raise self.error(t)
        self.i += 1
        return t.text.upper()

    def qualified_name(self, max_parts: int = 3) -> list[str]:
        """`a`, `a.b` or `a.b.c` (IDENTIFIER('a.b') too), as canonical parts."""
        t = self.peek()
        if (
            t is not None
            and t.text.upper() == "IDENTIFIER"
            and self.peek(1) is not None
            and self.peek(1).token_type == TokenType.L_PAREN
        ):
            self.i += 2
            s = self.next()
            if s.token_type not in _STRING_TYPES:
                raise self.error(s)
            self.expect_punct(TokenType.R_PAREN)
            return Parser(s.text).qualified_name(max_parts)
        parts = [self.identifier()]
        while self.peek() is not None and self.peek().token_type == TokenType.DOT and len(parts) < max_parts:
            self.i += 1
            parts.append(self.identifier())
        return parts

    def expect_punct(self, token_type: TokenType) -> None:
        t = self.peek()
        if t is None or t.token_type != token_type:
            raise self.error(t)
        self.i += 1

    def accept_punct(self, token_type: TokenType) -> bool:
        t = self.peek()
        if t is not None and t.token_type == token_type:
            self.i += 1
            return True
        return False

    def identifier_list(self) -> list[str]:
        """`a, b, c` to the end of the statement (UNSET's keys); at least one."""
        keys = []
        while not self.at_end():
            keys.append(self.identifier())
            self.accept_punct(TokenType.COMMA)
        if not keys:
            raise self.error()
        return keys

    def string(self) -> str:
        t = self.next()
        if t.token_type not in _STRING_TYPES:
            raise self.error(t)
        return t.text

    def value(self) -> Any:
        """A property value: string, number, boolean, NULL, identifier word, or (list)."""
        t = self.peek()
        if t is None:
            raise self.error()
        if t.token_type == TokenType.L_PAREN:
            nxt = self.peek(2)
            if nxt is not None and nxt.token_type in (TokenType.EQ, TokenType.FARROW):
                # a nested option list: FILE_FORMAT = (TYPE = CSV SKIP_HEADER = 1)
                self.i += 1
                nested: dict[str, Any] = {}
                while not self.accept_punct(TokenType.R_PAREN):
                    self.accept_punct(TokenType.COMMA)
                    key = self.identifier()
                    if not (self.accept_punct(TokenType.EQ) or self.accept_punct(TokenType.FARROW)):
                        raise self.error()
                    nested[key] = self.value()
                return nested
            self.i += 1
            items: list[Any] = []
            while not self.accept_punct(TokenType.R_PAREN):
                items.append(self.value())
                self.accept_punct(TokenType.COMMA)
            return items
        self.i += 1
        if t.token_type in _STRING_TYPES:
            return t.text
        if t.token_type == TokenType.NUMBER:
            return int(t.text) if t.text.isdigit() else float(t.text)
        if t.token_type == TokenType.DASH:
            n = self.next()
            return -int(n.text) if n.text.isdigit() else -float(n.text)
        if t.token_type == TokenType.IDENTIFIER:
            return self._dotted(t.text)
        if t.token_type in _PUNCT:
            raise self.error(t)
        up = t.text.upper()
        if up == "TRUE":
            return True
        if up == "FALSE":
            return False
        if up == "NULL":
            return None
        return self._dotted(up)

    def _dotted(self, first: str) -> str:
        """An identifier value, with the rest of a qualified name (`db.schema.rule`) when one follows."""
        parts = [first]
        while self.peek() is not None and self.peek().token_type == TokenType.DOT:
            self.i += 1
            nxt = self.next()
            parts.append(nxt.text if nxt.token_type == TokenType.IDENTIFIER else nxt.text.upper())
        return ".".join(parts)

    def properties(self, stop_words: tuple[str, ...] = ()) -> dict[str, Any]:
        """`KEY = value` pairs (commas optional) until the end or a stop word."""
        props: dict[str, Any] = {}
        while not self.at_end() and self.peek_upper() not in stop_words:
            self.accept_punct(TokenType.COMMA)
            if self.at_end():
                break
            key_token = self.peek()
            key = self.identifier()
            if not (self.accept_punct(TokenType.EQ) or self.accept_punct(TokenType.FARROW)):
                raise self.error(key_token if self.peek() is None else self.peek())
            props[key] = self.value()
        return props
