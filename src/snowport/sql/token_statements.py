"""Parsing of the programmatic-access-token statements (the commands are in commands/access_tokens.py):

    ALTER USER [IF EXISTS] [<user>] ADD {PROGRAMMATIC ACCESS TOKEN | PAT} [IF NOT EXISTS] <name> [options]
    ALTER USER [IF EXISTS] [<user>] REMOVE {PROGRAMMATIC ACCESS TOKEN | PAT} [IF EXISTS] <name>
    ALTER USER [IF EXISTS] [<user>] ROTATE {PROGRAMMATIC ACCESS TOKEN | PAT} [IF EXISTS] <name>
        [EXPIRE_ROTATED_TOKEN_AFTER_HOURS = n]
    ALTER USER [IF EXISTS] [<user>] MODIFY {PROGRAMMATIC ACCESS TOKEN | PAT} <name>
        {RENAME TO <new> | SET ... | UNSET ...}
    SHOW USER {PROGRAMMATIC ACCESS TOKENS | PATS} [FOR USER <user>]
"""

from __future__ import annotations

from snowport.commands import access_tokens
from snowport.commands.context import Ctx
from snowport.sql import render
from snowport.sql.lexer import Parser
from snowport.sql.result import Result

ACTIONS = ("ADD", "REMOVE", "ROTATE", "MODIFY")


def _token_words(p: Parser, offset: int = 0) -> int:
    """How many words name the token kind at `offset` (PAT: 1, PROGRAMMATIC ACCESS TOKEN: 3), else 0."""
    if p.peek_upper(offset) == "PAT":
        return 1
    if [p.peek_upper(offset + k) for k in range(3)] == ["PROGRAMMATIC", "ACCESS", "TOKEN"]:
        return 3
    return 0


def is_token_action(p: Parser, offset: int = 0) -> bool:
    """ADD | REMOVE | ROTATE | MODIFY followed by PAT / PROGRAMMATIC ACCESS TOKEN at `offset`."""
    return p.peek_upper(offset) in ACTIONS and _token_words(p, offset + 1) > 0


def alter_user(ctx: Ctx, p: Parser, user: str | None, if_exists: bool) -> Result:
    """The rest of ALTER USER after the (optional) user name, at ADD/REMOVE/ROTATE/MODIFY."""
    action = p.next().text.upper()
    for _ in range(_token_words(p)):
        p.next()
    if action == "ADD":
        if_not_exists = p.accept("IF", "NOT", "EXISTS")
        name = p.identifier()
        options = p.properties()
        return render.outcome(access_tokens.add(ctx, user, name, options, if_exists, if_not_exists))
    token_if_exists = action in ("REMOVE", "ROTATE") and p.accept("IF", "EXISTS")
    name = p.identifier()
    if action == "REMOVE":
        p.expect_end()
        return render.outcome(access_tokens.remove(ctx, user, name, if_exists, token_if_exists))
    if action == "ROTATE":
        options = p.properties()
        return render.outcome(access_tokens.rotate(ctx, user, name, options, if_exists, token_if_exists))
    if p.accept("RENAME", "TO"):
        new_name = p.identifier()
        p.expect_end()
        return render.outcome(access_tokens.modify(ctx, user, name, new_name=new_name, if_exists=if_exists))
    if p.accept("SET"):
        return render.outcome(access_tokens.modify(ctx, user, name, values=p.properties(), if_exists=if_exists))
    if p.accept("UNSET"):
        keys = p.identifier_list()
        p.expect_end()
        return render.outcome(access_tokens.modify(ctx, user, name, unset=keys, if_exists=if_exists))
    raise p.error()


def is_show(p: Parser) -> bool:
    """At `USER PROGRAMMATIC ACCESS TOKENS` or `USER PATS` (after SHOW)."""
    return p.peek_upper() == "USER" and (
        p.peek_upper(1) == "PATS" or [p.peek_upper(k) for k in (1, 2, 3)] == ["PROGRAMMATIC", "ACCESS", "TOKENS"])


def show(ctx: Ctx, p: Parser) -> Result:
    p.expect("USER")
    if not p.accept("PATS"):
        p.expect("PROGRAMMATIC", "ACCESS", "TOKENS")
    user = None
    if p.accept("FOR", "USER"):
        user = p.identifier()
    p.expect_end()
    return render.rows(access_tokens.show(ctx, user))
