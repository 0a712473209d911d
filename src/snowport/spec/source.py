"""Spec text (YAML, or JSON, which YAML reads too) to plain values, keeping where each field was.

The YAML is composed into nodes (`yaml.compose` with a SafeLoader), then turned into values by hand so
that every field path records its line: a mapping entry the line of its key, a list item the line it
starts on. Field paths are kept twice: normalised (aliases resolved: `container` -> `containers`), to
look them up from a validation error, and as written, to show the user.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from snowport.spec.errors import SpecError

Path = tuple[str | int, ...]

# Singular forms seen in official examples (specification-reference, spec.endpoints example:
# `container:` / `endpoint:`), accepted as aliases of the documented plural fields.
ALIASES: dict[Path, dict[str, str]] = {("spec",): {"container": "containers", "endpoint": "endpoints"}}

# Values Snowflake passes on as strings: env values ("numbers are stringified", spcs-reference 5.1) and
# command/args items. Their scalars are kept as written (`8000`, `1.50`, `true`), not as YAML reads them.
_TEXT_PATHS: list[tuple[object, ...]] = [
    ("spec", "containers", int, "env", str),
    ("spec", "containers", int, "command", int),
    ("spec", "containers", int, "args", int),
]
_MAX_DEPTH = 64


@dataclass(frozen=True)
class Where:
    path: str  # as written, e.g. spec.container[0].env.PORT
    line: int


class Locations:
    """Field path -> (path as written, line)."""

    def __init__(self) -> None:
        self.by_path: dict[Path, Where] = {}

    def add(self, path: Path, display: str, line: int) -> None:
        self.by_path[path] = Where(display, line)  # a key of its own replaces one merged in by `<<`

    def find(self, path: Path) -> tuple[str, int | None]:
        """Display path and line of `path`; for a field that is absent, the nearest present parent's
        line and the parent's display path extended by the missing part."""
        for size in range(len(path), -1, -1):
            where = self.by_path.get(path[:size])
            if where is not None:
                display = where.path
                for part in path[size:]:
                    display = _join(display, part)
                return display, where.line
        return _display(path), None


def _join(display: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{display}[{part}]"
    return f"{display}.{part}" if display else str(part)


def _display(path: Path) -> str:
    display = ""
    for part in path:
        display = _join(display, part)
    return display


class _Loader(yaml.SafeLoader):
    pass


def load(text: str) -> tuple[Any, Locations]:
    """The spec's values and their locations; SpecError for text that is not one YAML/JSON document."""
    text = _json_tabs(text)
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            problem = e.problem or e.context or "cannot be read"
            raise SpecError(None, f"invalid YAML: {problem}", mark.line + 1 if mark else None) from None
        except yaml.YAMLError as e:
            raise SpecError(None, f"invalid YAML: {e}") from None
        locations = Locations()
        if node is None:
            return None, locations
        return _Converter(loader, locations).value(node, (), "", node.start_mark.line + 1, 0), locations
    finally:
        loader.dispose()


def _json_tabs(text: str) -> str:
    """JSON may be indented with tabs, which YAML does not allow; valid JSON has no literal tab inside
    a string, so replacing them keeps its meaning (and its line numbers)."""
    if "\t" in text and text.lstrip().startswith(("{", "[")):
        try:
            json.loads(text)
        except ValueError:
            return text
        return text.replace("\t", " ")
    return text


def _matches(path: Path, pattern: tuple[object, ...]) -> bool:
    if len(path) != len(pattern):
        return False
    for part, want in zip(path, pattern, strict=True):
        if isinstance(want, type):
            if not isinstance(part, want):
                return False
        elif part != want:
            return False
    return True


class _Converter:
    def __init__(self, loader: _Loader, locations: Locations) -> None:
        self.loader = loader
        self.locations = locations
        self.merged: dict[int, int] = {}  # mapping node id -> how many of its pairs came from `<<`

    def value(self, node: Node, path: Path, display: str, line: int, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise SpecError(display or None, "nested too deeply (or a recursive alias)", line)
        self.locations.add(path, display, line)
        if isinstance(node, MappingNode):
            return self.mapping(node, path, display, depth)
        if isinstance(node, SequenceNode):
            return [
                self.value(item, (*path, i), f"{display}[{i}]", item.start_mark.line + 1, depth + 1)
                for i, item in enumerate(node.value)
            ]
        return self.scalar(node, path, display, line)

    def mapping(self, node: MappingNode, path: Path, display: str, depth: int) -> dict[str, Any]:
        if id(node) not in self.merged:  # an aliased node is visited again, already flattened
            own = sum(1 for key, _ in node.value if key.tag != "tag:yaml.org,2002:merge")
            try:
                self.loader.flatten_mapping(node)  # `<<` merge keys: merged pairs first, then the node's own
            except yaml.MarkedYAMLError as e:
                raise SpecError(display or None, f"invalid YAML: {e.problem}",
                                e.problem_mark.line + 1 if e.problem_mark else None) from None
            self.merged[id(node)] = len(node.value) - own
        aliases = ALIASES.get(path, {})
        result: dict[str, Any] = {}
        written: dict[str, str] = {}
        merged = self.merged[id(node)]
        for index, (key_node, value_node) in enumerate(node.value):
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, ScalarNode):
                raise SpecError(display or None, "a field name must be a plain string", key_line)
            key = key_node.value
            field = aliases.get(key, key)
            child_display = _join(display, key)
            if field in result and index >= merged and written[field] != "<<":
                first = written[field]
                problem = "duplicate field" if first == key else f"'{key}' repeats '{first}'"
                raise SpecError(child_display, problem, key_line)
            written[field] = key if index >= merged else "<<"
            result[field] = self.value(value_node, (*path, field), child_display, key_line, depth + 1)
        return result

    def scalar(self, node: ScalarNode, path: Path, display: str, line: int) -> Any:
        if any(_matches(path, pattern) for pattern in _TEXT_PATHS):
            if node.style is None and node.tag == "tag:yaml.org,2002:null":
                return "" if path[-2] == "env" else None
            return node.value
        try:
            value = self.loader.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as e:
            raise SpecError(display or None, f"invalid value: {e.problem}", line) from None
        if isinstance(value, datetime.date | datetime.datetime):
            return node.value  # no spec field is a timestamp: keep the text (e.g. a tag 2024-01-01)
        return value
