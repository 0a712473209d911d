"""`parse_spec`: spec text (YAML or JSON, optionally a template with USING values) -> `ServiceSpec`,
or one `SpecError` naming the field path and the line of the first problem."""

from __future__ import annotations

import functools
import json
import posixpath
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from snowport.spec.errors import SpecError
from snowport.spec.models import ServiceSpec
from snowport.spec.source import Locations, Path, load
from snowport.spec.templates import render_template

# spcs-reference 14 (D-LIM, D-BLOCK): per-service limits not expressible on one list.
MAX_SECRETS = 50
MAX_BLOCK_VOLUMES = 3


def parse_spec(text: str, using: Mapping[str, Any] | None = None) -> ServiceSpec:
    """Parse and validate a specification. With `using` (even empty) the text is a template and its
    `{{ }}` placeholders are filled first (spcs-reference 3.2); without it the text is used as is."""
    if using is not None:
        text = render_template(text, using)
    data, locations = load(text)
    if data is None:
        raise SpecError(None, "the specification is empty", 1)
    if not isinstance(data, dict):
        raise SpecError(None, "the specification must be a mapping with a 'spec' field", locations.find(())[1])
    try:
        spec = ServiceSpec.model_validate(data)
    except ValidationError as e:
        raise _first_error(e, locations) from None
    _check_rules(spec, locations)
    return spec


@functools.lru_cache(maxsize=512)
def _parsed(text: str, using_json: str) -> ServiceSpec:
    return parse_spec(text, json.loads(using_json))


def parse_stored_spec(text: str, using: Mapping[str, Any] | None = None) -> ServiceSpec:
    """A spec the catalog already holds (it was valid at CREATE), parsed once per text and USING values:
    controllers read it on every reconcile and placement for every service on a pool. Do not mutate."""
    return _parsed(text, json.dumps(using, sort_keys=True, default=str))


def _first_error(error: ValidationError, locations: Locations) -> SpecError:
    found = []
    for index, item in enumerate(error.errors(include_url=False)):
        path = tuple(part for part in item["loc"] if isinstance(part, int | str))
        display, line = locations.find(path)
        found.append((line or 0, index, display, _problem(item)))
    line, _, display, problem = min(found)
    return SpecError(display or None, problem, line or None)


def _problem(item: Any) -> str:
    kind = item["type"]
    ctx = item.get("ctx") or {}
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", item["msg"]))
    if kind in ("string_type", "string_sub_type"):
        return "must be a string"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "must be an integer"
    if kind in ("float_type", "float_parsing"):
        return "must be a number"
    if kind in ("bool_type", "bool_parsing"):
        return "must be true or false"
    if kind == "list_type":
        return "must be a list"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "must be a mapping"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}, not {item['input']!r}"
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} items"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}"
    if kind == "greater_than":
        return f"must be greater than {ctx.get('gt')}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}"
    return str(item["msg"])


def _check_rules(spec: ServiceSpec, locations: Locations) -> None:
    def fail(path: Path, problem: str) -> None:
        display, line = locations.find(path)
        raise SpecError(display, problem, line)

    # D-SPEC: container names identify a container (logs, metrics); "name: Unique name of the endpoint";
    # "name: Unique name of the volume".
    for field, items in (("containers", spec.containers), ("endpoints", spec.endpoints),
                         ("volumes", spec.volumes)):
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item.name in seen:
                fail(("spec", field, i, "name"), f"duplicate name '{item.name}'")
            seen.add(item.name)

    volumes = {v.name for v in spec.volumes}
    secrets = 0
    for c, container in enumerate(spec.containers):
        mount_paths: set[str] = set()
        for m, mount in enumerate(container.volume_mounts):
            # D-SPEC: a volume's name "is referred to by spec.containers.volumeMounts.name".
            if mount.name not in volumes:
                fail(("spec", "containers", c, "volumeMounts", m, "name"),
                     f"volume '{mount.name}' is not declared in spec.volumes")
            # Snowport: one container cannot have two volumes at one path (the engine refuses it).
            normalized = posixpath.normpath(mount.mount_path)
            if normalized in mount_paths:
                fail(("spec", "containers", c, "volumeMounts", m, "mountPath"),
                     f"mountPath '{mount.mount_path}' is used twice in this container")
            mount_paths.add(normalized)
        # spcs-reference 5.2: the token path "must not overlap reserved paths or other mounts".
        token = container.session_token_config
        if token is not None and token.path is not None:
            for other in mount_paths:
                if _overlaps(token.path, other):
                    fail(("spec", "containers", c, "sessionTokenConfig", "path"),
                         f"path '{token.path}' overlaps the volume mount at '{other}'")
        secrets += len(container.secrets)
    if secrets > MAX_SECRETS:
        fail(("spec", "containers"), f"at most {MAX_SECRETS} secrets per service, not {secrets}")
    blocks = [i for i, v in enumerate(spec.volumes) if v.kind == "block"]
    if len(blocks) > MAX_BLOCK_VOLUMES:
        fail(("spec", "volumes", blocks[MAX_BLOCK_VOLUMES]), f"at most {MAX_BLOCK_VOLUMES} block volumes per service")

    # D-SPEC serviceRoles: "a list of one or more endpoints (defined in the spec.endpoints)"; role names
    # are identifiers (shown upper case by SHOW ROLES IN SERVICE), so unique regardless of case.
    endpoints = {e.name for e in spec.endpoints}
    roles: set[str] = set()
    for r, role in enumerate(spec.service_roles):
        if role.name.upper() in roles:
            fail(("serviceRoles", r, "name"), f"duplicate service role '{role.name}'")
        if role.name.upper() == "ALL_ENDPOINTS_USAGE":  # every service has it already (spcs-reference 3.10)
            fail(("serviceRoles", r, "name"), "ALL_ENDPOINTS_USAGE is the built-in service role; choose another name")
        roles.add(role.name.upper())
        for e, endpoint in enumerate(role.endpoints):
            if endpoint not in endpoints:
                fail(("serviceRoles", r, "endpoints", e), f"endpoint '{endpoint}' is not declared in spec.endpoints")


def _overlaps(a: str, b: str) -> bool:
    a, b = posixpath.normpath(a), posixpath.normpath(b)
    return a == b or a.startswith(b.rstrip("/") + "/") or b.startswith(a.rstrip("/") + "/")
