"""CREATE / ALTER / DROP / DESCRIBE / SHOW FUNCTION for service functions: parsed here, run by commands/functions.py.

A CREATE FUNCTION without `SERVICE =` is not a service function: it is left to the table-SQL path as
before (None is returned), so nothing Snowport does not implement is half-accepted here.
"""

from __future__ import annotations

from typing import Any

from sqlglot.tokens import TokenType

from snowport import errors
from snowport.commands import functions, tables
from snowport.commands.context import Ctx
from snowport.commands.function_types import SqlType, parse_type
from snowport.sql import render
from snowport.sql.lexer import Parser
from snowport.sql.result import Result

# words that end a RETURNS type: the clauses that may follow it
_CLAUSES = ("NOT", "NULL", "CALLED", "RETURNS", "STRICT", "VOLATILE", "IMMUTABLE", "SERVICE", "ENDPOINT", "COMMENT",
            "CONTEXT_HEADERS", "MAX_BATCH_ROWS", "MAX_BATCH_RETRIES", "ON_BATCH_FAILURE", "BATCH_TIMEOUT_SECS", "AS",
            "LANGUAGE", "RUNTIME_VERSION", "HANDLER", "PACKAGES", "IMPORTS", "EXTERNAL_ACCESS_INTEGRATIONS",
            "SECRETS", "MEMOIZABLE", "API_INTEGRATION", "HEADERS", "COMPRESSION", "REQUEST_TRANSLATOR",
            "RESPONSE_TRANSLATOR")
_TWO_WORD = {("DOUBLE", "PRECISION"), ("CHAR", "VARYING"), ("NCHAR", "VARYING")}


def _type(p: Parser) -> SqlType:
    """`FLOAT`, `NUMBER(10, 2)`, `DOUBLE PRECISION`, `VARCHAR(100)`."""
    first = p.next()
    if first.token_type in (TokenType.L_PAREN, TokenType.R_PAREN, TokenType.COMMA, TokenType.STRING):
        raise p.error(first)
    words = [first.text.upper()]
    if (words[0], p.peek_upper()) in _TWO_WORD:
        words.append(p.next().text.upper())
    if words == ["TABLE"]:
        raise errors.unsupported("CREATE FUNCTION ... RETURNS TABLE for a service function")
    params: list[int] = []
    if p.accept_punct(TokenType.L_PAREN):
        while not p.accept_punct(TokenType.R_PAREN):
            token = p.next()
            if token.token_type == TokenType.COMMA:
                continue
            if token.token_type != TokenType.NUMBER or not token.text.isdigit():
                raise p.error(token)
            params.append(int(token.text))
    return parse_type(words, params)


def _arguments(p: Parser) -> list[tuple[str, SqlType]]:
    """`( [ <name> <type> [ , ... ] ] )` of CREATE FUNCTION."""
    p.expect_punct(TokenType.L_PAREN)
    args: list[tuple[str, SqlType]] = []
    while not p.accept_punct(TokenType.R_PAREN):
        if args:
            p.expect_punct(TokenType.COMMA)
        name = p.identifier()
        args.append((name, _type(p)))
        if p.peek_upper() == "DEFAULT":
            raise errors.unsupported("argument DEFAULT values of a service function")
    return args


def types(p: Parser) -> list[SqlType]:
    """`( [ <type> [ , ... ] ] )` after a function's name in DROP / ALTER / DESCRIBE / GRANT."""
    p.expect_punct(TokenType.L_PAREN)
    found: list[SqlType] = []
    while not p.accept_punct(TokenType.R_PAREN):
        if found:
            p.expect_punct(TokenType.COMMA)
        found.append(_type(p))
    return found


def _service_name(p: Parser) -> list[str]:
    """SERVICE = name | 'name' (a string may hold a qualified name)."""
    token = p.peek()
    if token is not None and token.token_type == TokenType.STRING:
        return Parser(p.string()).qualified_name(3)
    return p.qualified_name(3)


def _endpoint(p: Parser) -> str:
    """ENDPOINT = name | 'name' | "name": endpoint names are matched as the spec spells them."""
    token = p.next()
    if token.token_type in (TokenType.STRING, TokenType.IDENTIFIER, TokenType.VAR) or token.text.isalnum():
        return token.text
    raise p.error(token)


def create(ctx: Ctx, p: Parser, or_replace: bool, or_alter: bool) -> Result | None:
    """After `CREATE [OR REPLACE | OR ALTER] FUNCTION`; None when it is not a service function."""
    if_not_exists = p.accept("IF", "NOT", "EXISTS")
    parts = p.qualified_name(3)
    args = _arguments(p)
    p.expect("RETURNS")
    returns = _type(p)
    d = functions.Definition(parts, args, returns, path="", service=[], endpoint="")
    seen: set[str] = set()
    path: str | None = None
    while not p.at_end():
        token = p.peek()
        word = p.peek_upper()
        if word in seen and word not in ("NOT", "NULL"):
            raise p.error(token)
        seen.add(word)
        if p.accept("NOT", "NULL"):
            d.not_null = True
        elif p.accept("NULL"):
            d.not_null = False
        elif p.accept("CALLED", "ON", "NULL", "INPUT"):
            d.null_handling = functions.CALLED_ON_NULL
        elif p.accept("RETURNS", "NULL", "ON", "NULL", "INPUT") or p.accept("STRICT"):
            d.null_handling = functions.RETURNS_NULL_ON_NULL
        elif word in ("VOLATILE", "IMMUTABLE"):
            d.volatility = p.next().text.upper()
        elif p.accept("SERVICE"):
            p.expect_punct(TokenType.EQ)
            d.service = _service_name(p)
        elif p.accept("ENDPOINT"):
            p.expect_punct(TokenType.EQ)
            d.endpoint = _endpoint(p)
        elif word == "AS":
            p.next()
            path = p.string()
        elif word in ("LANGUAGE", "HANDLER", "API_INTEGRATION", "RUNTIME_VERSION", "PACKAGES", "IMPORTS"):
            return None  # not a service function: the table-SQL path answers as before
        else:
            key_token = p.peek()
            key = p.identifier()
            if not p.accept_punct(TokenType.EQ):
                raise p.error(key_token)
            d.settings[key] = p.value()
    if not d.service:
        return None
    if not d.endpoint:
        raise errors.SnowflakeError(1003, "42000", errors.compilation(
            "A service function needs ENDPOINT = <endpoint name> with SERVICE = <service name>."))
    if path is None:
        raise errors.SnowflakeError(1003, "42000", errors.compilation(
            "A service function needs AS '<http path>' (the path its endpoint serves, e.g. AS '/convert')."))
    d.path = path
    return render.outcome(functions.create(ctx, d, or_replace, or_alter, if_not_exists))


def drop(ctx: Ctx, p: Parser) -> Result:
    if_exists = p.accept("IF", "EXISTS")
    parts = p.qualified_name(3)
    arg_types = types(p)
    p.expect_end()
    return render.outcome(functions.drop(ctx, parts, arg_types, if_exists))


def _alter_values(p: Parser) -> dict[str, Any]:
    """SET's `KEY = value` pairs; SERVICE and ENDPOINT keep their names as written."""
    values: dict[str, Any] = {}
    while not p.at_end():
        p.accept_punct(TokenType.COMMA)
        if p.at_end():
            break
        key_token = p.peek()
        key = p.identifier()
        if not p.accept_punct(TokenType.EQ):
            raise p.error(key_token)
        if key == "SERVICE":
            values[key] = ".".join(_service_name(p))
        elif key == "ENDPOINT":
            values[key] = _endpoint(p)
        else:
            values[key] = p.value()
    return values


def alter(ctx: Ctx, p: Parser) -> Result:
    if_exists = p.accept("IF", "EXISTS")
    parts = p.qualified_name(3)
    arg_types = types(p)
    if p.accept("RENAME", "TO"):
        new = p.qualified_name(3)
        p.expect_end()
        return render.outcome(functions.rename(ctx, parts, arg_types, new, if_exists))
    if p.accept("SET"):
        return render.outcome(functions.set_properties(ctx, parts, arg_types, _alter_values(p), if_exists))
    if p.accept("UNSET"):
        return render.outcome(functions.unset_properties(ctx, parts, arg_types, p.identifier_list(), if_exists))
    if p.peek_upper() in ("SECURE", "API_INTEGRATION", "HEADERS"):
        raise errors.unsupported(f"ALTER FUNCTION ... SET {p.peek_upper()}")
    raise p.error()


def describe(ctx: Ctx, p: Parser) -> Result:
    parts = p.qualified_name(3)
    arg_types = types(p)
    p.expect_end()
    return render.rows(functions.describe(ctx, parts, arg_types))


def show(ctx: Ctx, like: str | None, in_kind: str | None, in_parts: list[str]) -> Result:
    """SHOW [USER] FUNCTIONS [LIKE] [IN ...], scoped as SHOW of other schema objects (the current database
    when no IN is given, the account with no current database)."""
    if in_kind is None:
        in_kind, in_parts = ("DATABASE", [ctx.session.database]) if ctx.session.database else ("ACCOUNT", [])
    database, schema = tables.show_scope(ctx, in_kind, in_parts, "SHOW USER FUNCTIONS")
    return render.rows(functions.show(ctx, like, database, schema))
