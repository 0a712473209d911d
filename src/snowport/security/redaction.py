"""Secret literals kept out of what Snowport records about a statement: query history and error messages.

A statement such as `CREATE SECRET s TYPE = PASSWORD USERNAME = 'u' PASSWORD = 'p'` carries the value
in its text. The text is recorded (the query store behind /monitoring/queries, RESULT_SCAN ids) and a
syntax error may quote the token at fault, so both go through here first: the string literal after
each secret-bearing property (`PASSWORD = '...'`, `SECRET_STRING = $$...$$`, ...) becomes '****'.
"""

from __future__ import annotations

import re

from sqlglot.dialects.snowflake import Snowflake
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

MASK = "'****'"
# Properties whose value is a credential, in any statement (CREATE/ALTER SECRET, USER, integrations).
SECRET_PROPERTIES = frozenset({
    "PASSWORD", "SECRET_STRING", "OAUTH_REFRESH_TOKEN", "OAUTH_CLIENT_SECRET", "OAUTH_ACCESS_TOKEN", "TOKEN",
    "PRIVATE_KEY", "RSA_PUBLIC_KEY", "RSA_PUBLIC_KEY_2", "API_KEY",
})
_STRINGS = {TokenType.STRING, TokenType.RAW_STRING, TokenType.NATIONAL_STRING}
_BARE = {TokenType.VAR, TokenType.NUMBER}  # `SET PASSWORD = abc`: Snowflake takes an unquoted value too
_DIALECT = Snowflake()
# When the text does not tokenize (an unterminated literal): everything after a secret property goes.
_FALLBACK = re.compile(r"\b(" + "|".join(sorted(SECRET_PROPERTIES, key=len, reverse=True)) + r")(\s*(?:=>?)\s*)(.*)",
                       re.I | re.S)


# In CREATE / ALTER SECRET every literal is masked but these properties' values (shown by DESCRIBE anyway).
CLEAR_IN_SECRETS = frozenset({"COMMENT", "USERNAME", "OAUTH_REFRESH_TOKEN_EXPIRY_TIME", "TYPE", "ALGORITHM"})


def _is_secret_statement(tokens: list[Token], start: int) -> bool:
    """`CREATE [OR REPLACE] SECRET` or `ALTER SECRET` begins at `start`."""
    words = [t.text.upper() for t in tokens[start:start + 4]]
    if words[:1] == ["ALTER"]:
        return words[1:2] == ["SECRET"]
    if words[:1] != ["CREATE"]:
        return False
    rest = words[3:4] if words[1:3] == ["OR", "REPLACE"] else words[1:2]
    return rest == ["SECRET"]


# A statement none of these words occurs in carries no secret: most statements skip the tokenizer.
_HINTS = ("SECRET", "PASSWORD", "TOKEN", "PRIVATE_KEY", "RSA_PUBLIC_KEY", "API_KEY")


def _spans(sql: str) -> list[Token] | None:
    """The string tokens that may be a secret value; None when the text does not tokenize.

    In CREATE/ALTER SECRET: every literal except the values of CLEAR_IN_SECRETS (so a value given with a
    typo, `PASSWORD 'x'` without `=`, is masked too). Elsewhere: the literal after a secret property."""
    upper = sql.upper()
    if not any(hint in upper for hint in _HINTS):
        return []
    try:
        tokens = _DIALECT.tokenize(sql)
    except TokenError:
        return None
    found = []
    in_secret = False
    for i, token in enumerate(tokens):
        if i == 0 or tokens[i - 1].token_type == TokenType.SEMICOLON:
            in_secret = _is_secret_statement(tokens, i)
        assigned = i >= 2 and tokens[i - 1].token_type in (TokenType.EQ, TokenType.FARROW)
        if token.token_type not in _STRINGS and not (assigned and token.token_type in _BARE):
            continue
        key = tokens[i - 2] if assigned else tokens[i - 1] if i >= 1 else None
        key_word = key.text.upper() if key is not None and key.token_type not in _STRINGS else ""
        if token.token_type in _BARE and key_word not in SECRET_PROPERTIES:
            continue  # a bare word is a value only as `PASSWORD = abc`
        if (in_secret and key_word not in CLEAR_IN_SECRETS) or key_word in SECRET_PROPERTIES:
            found.append(token)
    return found


def redact(sql: str) -> str:
    """The statement text with every secret literal replaced by '****' (fit for history and logs)."""
    spans = _spans(sql)
    if spans == []:
        return sql
    if spans is None:
        return _FALLBACK.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", sql)
    out, last = [], 0
    for token in spans:
        out.append(sql[last:token.start])
        out.append(MASK)
        last = token.end + 1
    out.append(sql[last:])
    return "".join(out)


def secret_literals(sql: str) -> list[str]:
    """The secret values a statement carries, as written and as unescaped (longest first)."""
    spans = _spans(sql)
    if spans is None:
        m = _FALLBACK.search(sql)
        return [m.group(3).strip()] if m and m.group(3).strip() else []
    values = {v for t in spans for v in (t.text, sql[t.start:t.end + 1]) if v}
    return sorted(values, key=len, reverse=True)


def scrub(message: str, sql: str) -> str:
    """An error message about `sql` with any secret literal of it masked (a syntax error quotes the token
    at fault; nothing else should ever echo a value, this is the backstop)."""
    for value in secret_literals(sql):
        if len(value) >= 4:
            message = message.replace(value, "****")
        else:  # too short to mask everywhere without mangling the message: only where it is quoted
            message = message.replace(f"'{value}'", MASK)
    return message
