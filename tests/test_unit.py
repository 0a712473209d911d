"""Fast unit tests of the pieces every surface shares: identifiers, the lexer, statement splitting."""

from __future__ import annotations

import os

import pytest

from snowport import errors
from snowport.names import display, normalize, quote
from snowport.sql.lexer import Parser, split_statements
from snowport.wire.encoding import encode_cell


@pytest.mark.parametrize(("text", "name"), [("abc", "ABC"), ('"abc"', "abc"), ('"a""b"', 'a"b'), ("A_1$", "A_1$")])
def test_normalize(text, name):
    assert normalize(text) == name


def test_quote_and_display():
    assert quote("ABC") == "ABC"
    assert quote("abc") == '"abc"'
    assert quote('a"b') == '"a""b"'
    assert display("DB", "my schema", "T") == 'DB."my schema".T'


def test_split_statements_respects_strings_and_dollar_quotes():
    sql = "select 'a;b'; select $$x;y$$ ; -- trailing comment\n"
    assert split_statements(sql) == ["select 'a;b'", "select $$x;y$$"]
    assert split_statements("select 1") == ["select 1"]


def test_parser_names_and_properties():
    p = Parser("CREATE WAREHOUSE \"my wh\" WAREHOUSE_SIZE = XSMALL AUTO_SUSPEND = 120 comment = 'it''s'")
    p.expect("CREATE", "WAREHOUSE")
    assert p.identifier() == "my wh"
    assert p.properties() == {"WAREHOUSE_SIZE": "XSMALL", "AUTO_SUSPEND": 120, "COMMENT": "it's"}
    assert Parser("IDENTIFIER('db.s')").qualified_name() == ["DB", "S"]


def test_parser_syntax_error_position():
    p = Parser("GRANT ROLE\n  x TO FOO")
    p.expect("GRANT", "ROLE")
    p.identifier()
    p.expect("TO")
    with pytest.raises(errors.SnowflakeError) as info:
        p.accept_any("ROLE", "USER") or (_ for _ in ()).throw(p.error())
    assert info.value.code == 1003
    assert "line 2 at position 7 unexpected 'FOO'" in info.value.message


@pytest.mark.parametrize(
    ("value", "sf_type", "scale", "cell"),
    [
        (True, "boolean", None, "1"),
        (float("nan"), "real", None, "NaN"),
        (b"\x00\xff", "binary", None, "00FF"),
        (None, "text", None, None),
    ],
)
def test_encode_cell(value, sf_type, scale, cell):
    assert encode_cell(value, sf_type, scale) == cell


def test_redact_hides_secrets():
    from snowport.core import redact

    out = redact("CREATE USER u PASSWORD = 'it''s secret' DEFAULT_ROLE = R; alter user u set password=abc")
    assert "secret" not in out and "abc" not in out and "DEFAULT_ROLE = R" in out


def test_write_all_resumes_short_writevs(tmp_path, monkeypatch):
    """writev may write less than asked; _write_all must carry on from the exact byte, across piece boundaries."""
    from snowport.stages import storage

    real_writev = os.writev
    monkeypatch.setattr(storage.os, "writev", lambda fd, views: real_writev(fd, [bytes(b"".join(views)[:7])]))
    pieces = [b"abc", b"", b"defghij", b"k" * 20, b"lmnop"]
    path = tmp_path / "out.bin"
    with open(path, "wb", buffering=0) as f:
        storage._write_all(f.fileno(), pieces)
    assert path.read_bytes() == b"".join(pieces)


def test_privilege_docs_are_rendered_from_the_matrix():
    from pathlib import Path

    from snowport.security.matrix import render_markdown

    docs = Path(__file__).resolve().parent.parent / "docs" / "privileges.md"
    assert docs.read_text() == render_markdown(), "run: python -m snowport.security.matrix > docs/privileges.md"
