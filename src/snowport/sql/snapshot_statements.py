"""SNAPSHOT statements and ALTER SERVICE ... RESTORE VOLUME, parsed into calls of commands/snapshots.py and
commands/services.py (spcs-reference 3.3 and 8.5). Volume names are case-sensitive: write them quoted."""

from __future__ import annotations

from sqlglot.tokens import TokenType

from snowport import errors
from snowport.commands import services, snapshots
from snowport.commands.context import Ctx
from snowport.sql import render
from snowport.sql.lexer import Parser
from snowport.sql.result import Result


def _instance(p: Parser) -> int:
    value = p.value()
    if not isinstance(value, int) or isinstance(value, bool):
        raise p.error()
    return value


def create(ctx: Ctx, p: Parser, or_replace: bool) -> Result:
    """CREATE [OR REPLACE] SNAPSHOT [IF NOT EXISTS] n FROM SERVICE s VOLUME "v" INSTANCE i [COMMENT = '...']
    [[WITH] TAG (...)] (tags are accepted and not kept)."""
    if_not_exists = p.accept("IF", "NOT", "EXISTS")
    parts = p.qualified_name(3)
    p.expect("FROM", "SERVICE")
    service = p.qualified_name(3)
    p.expect("VOLUME")
    volume = p.identifier()
    p.expect("INSTANCE")
    instance = _instance(p)
    comment = None
    while not p.at_end():
        if p.accept("COMMENT"):
            p.expect_punct(TokenType.EQ)
            comment = p.string()
        elif p.accept("WITH") or p.peek_upper() == "TAG":
            p.expect("TAG")
            p.value()
        else:
            raise p.error()
    return render.outcome(snapshots.create(ctx, parts, service, volume, instance, comment, or_replace,
                                           if_not_exists))


def drop(ctx: Ctx, p: Parser) -> Result:
    if_exists = p.accept("IF", "EXISTS")
    parts = p.qualified_name(3)
    p.expect_end()
    return render.outcome(snapshots.drop(ctx, parts, if_exists))


def alter(ctx: Ctx, p: Parser) -> Result:
    """ALTER SNAPSHOT [IF EXISTS] n SET COMMENT = '...' | UNSET COMMENT."""
    if_exists = p.accept("IF", "EXISTS")
    parts = p.qualified_name(3)
    if p.accept("SET"):
        return render.outcome(snapshots.set_properties(ctx, parts, p.properties(), if_exists))
    if p.accept("UNSET"):
        return render.outcome(snapshots.unset_properties(ctx, parts, p.identifier_list(), if_exists))
    if p.peek_upper() == "RENAME":
        raise errors.unsupported("ALTER SNAPSHOT ... RENAME TO")
    raise p.error()


def describe(ctx: Ctx, p: Parser) -> Result:
    parts = p.qualified_name(3)
    p.expect_end()
    return render.rows(snapshots.describe(ctx, parts))


def restore_volume(ctx: Ctx, p: Parser, parts: list[str], if_exists: bool) -> Result:
    """ALTER SERVICE s RESTORE VOLUME "v" INSTANCES 0,2 FROM SNAPSHOT snap (after RESTORE was read)."""
    p.expect("VOLUME")
    volume = p.identifier()
    p.expect("INSTANCES")
    instances = [_instance(p)]
    while p.accept_punct(TokenType.COMMA):
        instances.append(_instance(p))
    p.expect("FROM", "SNAPSHOT")
    snapshot = p.qualified_name(3)
    p.expect_end()
    return render.outcome(services.restore_volume(ctx, parts, volume, instances, snapshot, if_exists))
