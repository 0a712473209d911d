"""Service functions: CREATE [OR REPLACE | OR ALTER] / ALTER / DESCRIBE / SHOW / DROP FUNCTION (spcs-reference 7).

A service function is a schema object that sends its argument rows to an HTTP endpoint of a long-running
service (functions/ does the calling). It is identified by its name and argument types, so its catalog
name is its identity, `CONVERT_UDF(FLOAT)`: two functions of one name with other argument types are two
objects, and DROP / ALTER / DESCRIBE / GRANT name the types. Its definition is checked whole at CREATE
(the service exists and is not a job, the endpoint is one of its HTTP endpoints, the creating role may use
the endpoint, the batch settings are in range) before anything is written, as the shared lifecycle does
for every kind.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from snowport import errors
from snowport.catalog.store import CatalogObject
from snowport.commands import endpoints, lifecycle
from snowport.commands.columns import Col, Rows, columns, like_matcher
from snowport.commands.context import Ctx
from snowport.commands.function_types import SqlType
from snowport.commands.kinds import FUNCTION
from snowport.commands.lifecycle import Name
from snowport.names import display, quote

CONTEXT_FUNCTIONS = ("CURRENT_ACCOUNT", "CURRENT_CLIENT", "CURRENT_DATABASE", "CURRENT_DATE", "CURRENT_IP_ADDRESS",
                     "CURRENT_REGION", "CURRENT_ROLE", "CURRENT_SCHEMA", "CURRENT_SCHEMAS", "CURRENT_SESSION",
                     "CURRENT_STATEMENT", "CURRENT_TIME", "CURRENT_TIMESTAMP", "CURRENT_TRANSACTION", "CURRENT_USER",
                     "CURRENT_VERSION", "CURRENT_WAREHOUSE", "LAST_QUERY_ID", "LAST_TRANSACTION", "LOCALTIME",
                     "LOCALTIMESTAMP")
# The settings ALTER FUNCTION SET / UNSET and CREATE OR ALTER may change (spcs-reference 7.1, 7.2).
SETTINGS = ("CONTEXT_HEADERS", "MAX_BATCH_ROWS", "MAX_BATCH_RETRIES", "ON_BATCH_FAILURE", "BATCH_TIMEOUT_SECS",
            "COMMENT")
DEFAULT_RETRIES = 3
DEFAULT_TIMEOUT_SECS = 3600
MAX_TIMEOUT_SECS = 604800
DEFAULT_COMMENT = "user-defined function"
CALLED_ON_NULL = "CALLED ON NULL INPUT"
RETURNS_NULL_ON_NULL = "RETURNS NULL ON NULL INPUT"
CALL_COMMAND = "USE FUNCTION"  # the matrix row of calling a service function from SQL


@dataclass
class Definition:
    """A CREATE FUNCTION statement's parts, as parsed (sql/function_statements.py)."""

    parts: list[str]
    args: list[tuple[str, SqlType]]
    returns: SqlType
    path: str
    service: list[str]
    endpoint: str
    not_null: bool = False
    null_handling: str = CALLED_ON_NULL
    volatility: str = "VOLATILE"
    settings: dict[str, Any] = field(default_factory=dict)  # SETTINGS keys as written


@dataclass(frozen=True)
class FunctionName(Name):
    """A function's resolved name; `name` is its identity (`F(FLOAT)`), messages show `DB.S.F(FLOAT)`."""

    base: str = ""
    types: tuple[str, ...] = ()

    @property
    def shown(self) -> str:
        return f"{display(self.database, self.schema, self.base)}({', '.join(self.types)})"


def identity(base: str, types: list[str] | tuple[str, ...]) -> str:
    """A function's catalog name: its name and its argument types, `CONVERT_UDF(FLOAT)`."""
    return f"{base}({', '.join(types)})"


def resolve(ctx: Ctx, parts: list[str], types: list[SqlType], command: str) -> FunctionName:
    target = lifecycle.resolve(ctx, FUNCTION, parts, command)
    names = tuple(t.identity for t in types)
    return FunctionName(identity(target.name, names), target.database, target.schema, base=target.name,
                        types=names)


def shown(fn: CatalogObject) -> str:
    return f"{display(fn.database, fn.schema, fn.props['base_name'])}({', '.join(arg_types(fn))})"


def arg_types(fn: CatalogObject) -> list[str]:
    return [SqlType.from_doc(a["type"]).identity for a in fn.props["args"]]


def return_type(fn: CatalogObject) -> SqlType:
    return SqlType.from_doc(fn.props["returns"])


def signature(fn: CatalogObject) -> str:
    """`(INPUT FLOAT)`: the argument names and types, as DESCRIBE and the signature header give them."""
    return "(" + ", ".join(f"{a['name']} {SqlType.from_doc(a['type']).shown}" for a in fn.props["args"]) + ")"


# ---- checking a definition ------------------------------------------------------------------------
def _whole(key: str, value: Any, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise errors.invalid_value(f"invalid value [{value}] for parameter '{key}': expected an integer {bound}")
    return value


def _settings(values: dict[str, Any]) -> dict[str, Any]:
    """The batch settings as stored (lower-case keys), each checked; an unknown key refuses the statement."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key == "MAX_BATCH_ROWS":
            out["max_batch_rows"] = _whole(key, value, 1)
        elif key == "MAX_BATCH_RETRIES":
            out["max_batch_retries"] = _whole(key, value, 0)
        elif key == "BATCH_TIMEOUT_SECS":
            out["batch_timeout_secs"] = _whole(key, value, 1, MAX_TIMEOUT_SECS)
        elif key == "ON_BATCH_FAILURE":
            policy = str(value).upper()
            if policy not in ("ABORT", "RETURN_NULL"):
                raise errors.invalid_value(f"invalid value [{value}] for parameter 'ON_BATCH_FAILURE': expected "
                                           "ABORT or RETURN_NULL")
            out["on_batch_failure"] = policy
        elif key == "CONTEXT_HEADERS":
            items = value if isinstance(value, list) else [value]
            names = [str(v).upper() for v in items]
            for name in names:
                if name not in CONTEXT_FUNCTIONS:
                    raise errors.invalid_value(f"invalid context function '{name}' in CONTEXT_HEADERS; expected "
                                               f"one of {', '.join(CONTEXT_FUNCTIONS)}")
            out["context_headers"] = names
        elif key == "COMMENT":
            out["comment"] = None if value is None else str(value)
        else:
            raise errors.invalid_value(f"invalid property '{key}' for 'FUNCTION'")
    return out


def endpoint_of(ctx: Ctx, service_parts: list[str], endpoint: str, roles: frozenset[str],
                function_schema: tuple[str, str]) -> tuple[CatalogObject, str]:
    """The long-running service and the name (as its spec spells it) of the HTTP endpoint a function calls;
    refused when there is no such endpoint or `roles` may not use it."""
    database, schema = function_schema
    parts = service_parts if len(service_parts) == 3 else (
        [database, *service_parts] if len(service_parts) == 2 else [database, schema, *service_parts])
    service = ctx.catalog.get("SERVICE", parts[2], parts[0], parts[1])
    service_shown = display(*parts)
    if service is None or not (ctx.auth.can_see(ctx.session, service) or service.owner in roles):
        raise errors.does_not_exist("Service", service_shown)
    if service.props.get("is_job"):
        raise errors.invalid_value(f"Service {service_shown} is a job service; a service function calls an endpoint "
                                   "of a long-running service.")
    declared = endpoints.declared(service)
    name = endpoint if endpoint in declared else next(
        (n for n in declared if n.lower() == endpoint.lower()), None)
    if name is None:
        known = ", ".join(sorted(declared)) or "none"
        raise errors.invalid_value(f"Endpoint '{endpoint}' does not exist in service {service_shown} (its "
                                   f"endpoints: {known}).")
    if declared[name].protocol != "HTTP" or declared[name].port is None:
        raise errors.invalid_value(f"Endpoint '{name}' of service {service_shown} is not an HTTP endpoint with a "
                                   "port; a service function needs one.")
    if not endpoints.endpoint_allowed(ctx.core, roles, service, name):
        raise errors.insufficient_privileges("service endpoint", f"{service_shown}!{name}")
    return service, name


def _path(path: str) -> str:
    if not path.startswith("/"):
        raise errors.invalid_value(f"invalid service function path '{path}': the AS clause is an HTTP path "
                                   "starting with '/'")
    return path


# ---- commands -------------------------------------------------------------------------------------
def create(ctx: Ctx, d: Definition, or_replace: bool = False, or_alter: bool = False,
           if_not_exists: bool = False) -> str:
    """CREATE [OR REPLACE | OR ALTER] FUNCTION [IF NOT EXISTS] ... SERVICE = ... ENDPOINT = ... AS '/path'."""
    target = resolve(ctx, d.parts, [t for _, t in d.args], "CREATE FUNCTION")
    settings = _settings(d.settings)
    path = _path(d.path)
    arg_names = [n for n, _ in d.args]
    if len(set(arg_names)) != len(arg_names):
        raise errors.invalid_value(f"duplicate argument name in function {target.shown}")

    def props(service: CatalogObject, endpoint: str) -> dict[str, Any]:
        return {"base_name": target.base, "args": [{"name": n, "type": t.to_doc()} for n, t in d.args],
                "returns": d.returns.to_doc(), "not_null": d.not_null, "null_handling": d.null_handling,
                "volatility": d.volatility, "path": path, "endpoint": endpoint,
                "service": [service.database, service.schema, service.name],
                **{k: v for k, v in settings.items() if k != "comment"}}

    def build() -> CatalogObject:
        roles = ctx.auth.closure(ctx.role)  # the new function's owner role must be allowed the endpoint
        service, endpoint = endpoint_of(ctx, d.service, d.endpoint, roles, (target.database, target.schema))
        return lifecycle.new_object(ctx, FUNCTION, target, settings.get("comment"), props(service, endpoint))

    if or_alter:
        existing = ctx.catalog.get(FUNCTION.name, target.name, target.database, target.schema)
        if existing is not None:
            return _create_or_alter(ctx, target, existing, d, settings, path)
    obj, message = lifecycle.create(ctx, FUNCTION, target, build, or_replace=or_replace, if_not_exists=if_not_exists)
    if obj is None:
        return message.replace(target.name, quote(target.base))  # "F already exists, statement succeeded."
    return f"Function {quote(target.base)} successfully created."


def _create_or_alter(ctx: Ctx, target: FunctionName, existing: CatalogObject, d: Definition,
                     settings: dict[str, Any], path: str) -> str:
    """CREATE OR ALTER of an existing function: the service, endpoint, path and batch settings take the
    statement's values (those it leaves out go back to their defaults); the return type, null handling and
    volatility cannot change."""
    fixed = {"RETURNS": (existing.props["returns"], d.returns.to_doc()),
             "NOT NULL": (existing.props.get("not_null", False), d.not_null),
             "null handling": (existing.props.get("null_handling"), d.null_handling),
             "volatility": (existing.props.get("volatility"), d.volatility)}
    for what, (was, now) in fixed.items():
        if was != now:
            raise errors.invalid_value(f"CREATE OR ALTER FUNCTION cannot change the {what} of function "
                                       f"{target.shown}; use CREATE OR REPLACE.")

    def change(fn: CatalogObject) -> CatalogObject:
        service, endpoint = endpoint_of(ctx, d.service, d.endpoint, ctx.auth.closure(fn.owner),
                                        (fn.database, fn.schema))
        props = {k: v for k, v in fn.props.items() if k not in ("max_batch_rows", "max_batch_retries",
                                                                 "on_batch_failure", "batch_timeout_secs",
                                                                 "context_headers")}
        props.update({k: v for k, v in settings.items() if k != "comment"})
        props.update(service=[service.database, service.schema, service.name], endpoint=endpoint, path=path,
                     args=[{"name": n, "type": t.to_doc()} for n, t in d.args], updated_on=time.time())
        return fn.evolve(props=props, comment=settings.get("comment"))

    lifecycle.alter(ctx, FUNCTION, target, "ALTER FUNCTION", change)
    return lifecycle.SUCCESS


def drop(ctx: Ctx, parts: list[str], types: list[SqlType], if_exists: bool = False) -> str:
    target = resolve(ctx, parts, types, "DROP FUNCTION")
    message = lifecycle.drop(ctx, FUNCTION, target, if_exists)
    return message.replace(target.name, quote(target.base)) if message.endswith("successfully dropped.") else message


def set_properties(ctx: Ctx, parts: list[str], types: list[SqlType], values: dict[str, Any],
                   if_exists: bool = False) -> str:
    """ALTER FUNCTION ... SET batch settings / COMMENT, or SERVICE = s ENDPOINT = e (checked as at CREATE)."""
    target = resolve(ctx, parts, types, "ALTER FUNCTION")
    service_parts = values.pop("SERVICE", None)
    endpoint = values.pop("ENDPOINT", None)
    if (service_parts is None) != (endpoint is None):
        raise errors.invalid_value("ALTER FUNCTION ... SET SERVICE and ENDPOINT go together.")
    settings = _settings(values)

    def change(fn: CatalogObject) -> CatalogObject:
        props = dict(fn.props)
        if service_parts is not None:
            parts_of = str(service_parts).split(".")
            service, name = endpoint_of(ctx, [p if p.startswith('"') else p.upper() for p in parts_of],
                                        str(endpoint), ctx.auth.closure(fn.owner), (fn.database, fn.schema))
            props.update(service=[service.database, service.schema, service.name], endpoint=name)
        props.update({k: v for k, v in settings.items() if k != "comment"})
        comment = settings["comment"] if "comment" in settings else fn.comment
        return fn.evolve(props={**props, "updated_on": time.time()}, comment=comment)

    lifecycle.alter(ctx, FUNCTION, target, "ALTER FUNCTION", change, if_exists)
    return lifecycle.SUCCESS


def unset_properties(ctx: Ctx, parts: list[str], types: list[SqlType], keys: list[str],
                     if_exists: bool = False) -> str:
    target = resolve(ctx, parts, types, "ALTER FUNCTION")
    for key in keys:
        if key not in SETTINGS:
            raise errors.invalid_value(f"invalid property '{key}' for 'FUNCTION': UNSET takes "
                                       f"{', '.join(SETTINGS)}")

    def change(fn: CatalogObject) -> CatalogObject:
        props = {k: v for k, v in fn.props.items() if k.upper() not in keys}
        return fn.evolve(props=props, comment=None if "COMMENT" in keys else fn.comment)

    lifecycle.alter(ctx, FUNCTION, target, "ALTER FUNCTION", change, if_exists)
    return lifecycle.SUCCESS


def rename(ctx: Ctx, parts: list[str], types: list[SqlType], new_parts: list[str], if_exists: bool = False) -> str:
    """ALTER FUNCTION f(types) RENAME TO g: the argument types go with it (they are part of its identity)."""
    target = resolve(ctx, parts, types, "ALTER FUNCTION")
    new = resolve(ctx, new_parts, types, "ALTER FUNCTION")
    if len(new_parts) == 1:
        new = FunctionName(new.name, target.database, target.schema, base=new.base, types=new.types)

    def renamed_base(tx: Any, _old: CatalogObject, fn: CatalogObject) -> None:
        ctx.catalog.update(fn.with_props(base_name=new.base))

    return lifecycle.rename(ctx, FUNCTION, target, new, if_exists, after=renamed_base)


# ---- DESCRIBE / SHOW ------------------------------------------------------------------------------
def _not_set(value: Any) -> str:
    return "not set" if value is None else str(value)


def _service_shown(fn: CatalogObject) -> str:
    database, schema, name = fn.props["service"]
    return quote(name) if (database, schema) == (fn.database, fn.schema) else display(database, schema, name)


def described(fn: CatalogObject) -> list[tuple[str, str]]:
    """DESC FUNCTION's rows (spcs-reference 7.2), in Snowflake's order."""
    returns = return_type(fn).shown + (" NOT NULL" if fn.props.get("not_null") else "")
    headers = fn.props.get("context_headers")
    return [
        ("signature", signature(fn)),
        ("returns", returns),
        ("language", "NULL"),
        ("null handling", fn.props.get("null_handling", CALLED_ON_NULL)),
        ("volatility", fn.props.get("volatility", "VOLATILE")),
        ("body", fn.props["path"]),
        ("headers", "null"),
        ("context_headers", "null" if not headers else "[" + ", ".join(headers) + "]"),
        ("max_batch_rows", _not_set(fn.props.get("max_batch_rows"))),
        ("service", _service_shown(fn)),
        ("service_endpoint", fn.props["endpoint"]),
        ("max_batch_retries", str(fn.props.get("max_batch_retries", DEFAULT_RETRIES))),
        ("on_batch_failure", fn.props.get("on_batch_failure", "ABORT")),
        ("batch_timeout_secs", _not_set(fn.props.get("batch_timeout_secs"))),
    ]


DESCRIBE_COLUMNS = columns(Col("property", value=lambda r: r[0]), Col("value", value=lambda r: r[1]))


def describe(ctx: Ctx, parts: list[str], types: list[SqlType]) -> Rows:
    target = resolve(ctx, parts, types, "DESCRIBE FUNCTION")
    fn = lifecycle.existing(ctx, FUNCTION, target)
    ctx.require("DESCRIBE FUNCTION", fn, target.shown)
    return Rows(DESCRIBE_COLUMNS, described(fn), describe=True)


def _arguments(fn: CatalogObject) -> str:
    return f"{quote(fn.props['base_name'])}({', '.join(arg_types(fn))}) RETURN {return_type(fn).shown}"


SHOW_COLUMNS = columns(
    Col("created_on", "timestamp_ltz", lambda f: f.created_dt),
    Col("name", value=lambda f: f.props["base_name"]),
    Col("schema_name", value=lambda f: f.schema),
    Col("is_builtin", value=lambda f: "N"),
    Col("is_aggregate", value=lambda f: "N"),
    Col("is_ansi", value=lambda f: "N"),
    Col("min_num_arguments", "fixed", lambda f: len(f.props["args"])),
    Col("max_num_arguments", "fixed", lambda f: len(f.props["args"])),
    Col("arguments", value=_arguments),
    Col("description", value=lambda f: f.comment if f.comment is not None else DEFAULT_COMMENT),
    Col("catalog_name", value=lambda f: f.database),
    Col("is_table_function", value=lambda f: "N"),
    Col("valid_for_clustering", value=lambda f: "N"),
    Col("is_secure", value=lambda f: "N"),
    Col("secrets", value=lambda f: None),
    Col("external_access_integrations", value=lambda f: None),
    Col("is_external_function", value=lambda f: "Y"),
    Col("language", value=lambda f: "EXTERNAL"),
    Col("is_memoizable", value=lambda f: "N"),
    Col("is_data_metric", value=lambda f: "N"),
)


def show(ctx: Ctx, like: str | None, database: str | None, schema: str | None) -> Rows:
    """SHOW [USER] FUNCTIONS [LIKE] [IN ...]: the service functions the role may see (LIKE matches the name)."""
    match = like_matcher(like)
    found = [f for f in ctx.catalog.list(FUNCTION.name, database, schema)
             if match(f.props["base_name"]) and ctx.auth.can_see(ctx.session, f)]
    return Rows(SHOW_COLUMNS, sorted(found, key=lambda f: (f.props["base_name"], f.database, f.schema, f.name)))
