"""Specification templates (spcs-reference 3.2): `{{ var }}`, `{{ var | default(value[, true]) }}`
filled from `USING (var => value, ...)`.

Values (as the SQL layer hands them over):
- a string is JSON text when it parses as JSON (`'"/path/file.txt"'`, `'{"SERVER_PORT": 8000}'`,
  `'["-n", 2]'`, `'111'`, `'true'`), else an alphanumeric literal (`'blah123'`); a literal with other
  characters is refused, since "values with `/` or `:` must be JSON strings";
- numbers, booleans, lists and dicts are used as they are.
A string renders as its text, a number as written, a boolean as `true`/`false`, a list or an object
as JSON (a YAML flow collection), so `env: {{ env_values }}` and `args: {{ ARGS }}` work.
Variable names are case-sensitive; every variable without a default must have a value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from snowport.spec.errors import SpecError

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")
_EXPRESSION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_$]*)\s*(?:\|\s*default\s*\((.*)\))?\s*$", re.DOTALL)
_LITERAL_TOKEN = re.compile(
    r"""\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|(-?[0-9]+(?:\.[0-9]+)?)|(true|false|True|False|none|None|null))\s*"""
)
_PLAIN_LITERAL = re.compile(r"^[A-Za-z0-9_.+-]+$")
_MISSING = object()


def render_template(text: str, using: Mapping[str, Any]) -> str:
    """The spec text with every placeholder replaced; SpecError names a missing variable and its line."""
    values = {name: _value(name, value) for name, value in using.items()}

    def substitute(match: re.Match[str]) -> str:
        line = text.count("\n", 0, match.start()) + 1
        expression = _EXPRESSION.match(match.group(1))
        if not expression:
            raise SpecError(None, f"invalid template expression '{match.group(0)}'", line)
        name, args = expression.group(1), expression.group(2)
        value = values.get(name, _MISSING)
        if args is not None:
            default, use_for_empty = _default_args(args, match.group(0), line)
            if value is _MISSING or (use_for_empty and value == ""):
                value = default
        if value is _MISSING:
            raise SpecError(None, f"template variable '{name}' has no value: give it in USING or a default", line)
        return _render(value)

    return _PLACEHOLDER.sub(substitute, text)


def _value(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        pass
    stripped = value.strip()
    if stripped and not _PLAIN_LITERAL.match(stripped):
        raise SpecError(
            None, f"USING value for '{name}' must be an alphanumeric literal or JSON text "
            f"(write a string with '/' or ':' as a JSON string, in double quotes)"
        )
    return stripped


def _default_args(args: str, placeholder: str, line: int) -> tuple[Any, bool]:
    found: list[Any] = []
    rest = args
    while rest.strip():
        match = _LITERAL_TOKEN.match(rest)
        if not match:
            raise SpecError(None, f"invalid default in template expression '{placeholder}'", line)
        single, double, number, word = match.groups()
        if single is not None or double is not None:
            found.append((single if single is not None else double).replace("\\'", "'").replace('\\"', '"'))
        elif number is not None:
            found.append(json.loads(number))
        else:
            found.append({"true": True, "false": False}.get(word.lower()))
        rest = rest[match.end():]
        if rest.startswith(","):
            rest = rest[1:]
        elif rest.strip():
            raise SpecError(None, f"invalid default in template expression '{placeholder}'", line)
    if len(found) not in (1, 2) or (len(found) == 2 and not isinstance(found[1], bool)):
        raise SpecError(None, f"invalid default in template expression '{placeholder}': "
                        "use default(<value>) or default(<value>, true)", line)
    return found[0], len(found) == 2 and found[1]


def _render(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        return value
    return json.dumps(value)
