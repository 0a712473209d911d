"""PUT, GET, LIST and REMOVE statements parsed into typed commands (file paths are not SQL tokens)."""

from __future__ import annotations

from typing import Any

from snowport import errors
from snowport.sql.lexer import Parser
from snowport.stages.locations import StageRef, TransferCommand, local_path, parse_stage_ref, take_token


def parse_transfer(sql: str) -> TransferCommand:
    text = sql.strip().rstrip(";").strip()
    keyword, rest = take_token(text)
    kind = keyword.upper()
    first, rest = take_token(rest)
    second, rest = take_token(rest)
    if not first or not second:
        raise errors.syntax_error(1, len(sql), "<EOF>")
    if kind == "PUT":
        local, stage = local_path(first), parse_stage_ref(second)
    else:
        stage, local = parse_stage_ref(first), local_path(second)
    options = Parser(rest).properties() if rest.strip() else {}
    return TransferCommand(kind, local, stage, {k.upper(): v for k, v in options.items()})


def parse_stage_command(sql: str) -> tuple[StageRef, dict[str, Any]]:
    """`LIST|LS|REMOVE|RM @stage[/path] [PATTERN = '...']` → (stage, options)."""
    text = sql.strip().rstrip(";").strip()
    _keyword, rest = take_token(text)
    ref_text, rest = take_token(rest)
    if not ref_text:
        raise errors.syntax_error(1, len(sql), "<EOF>")
    options = Parser(rest).properties() if rest.strip() else {}
    return parse_stage_ref(ref_text), {k.upper(): v for k, v in options.items()}
