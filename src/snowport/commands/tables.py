"""Table SQL: privilege checks and catalog bookkeeping around the data engine.

The statement is parsed once (sqlglot, Snowflake dialect). Every table it names is resolved
against the session and checked for the privilege its use needs (SELECT to read, INSERT /
UPDATE / DELETE / TRUNCATE to change, OWNERSHIP to drop or alter, CREATE TABLE on the schema to
create); session functions are replaced by their values; only then does the engine run it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from snowport import errors
from snowport.catalog.store import CatalogObject
from snowport.commands import grants, image_repositories, lifecycle, service_network, services
from snowport.commands.columns import Col, Rows, columns, like_matcher, schema_object
from snowport.commands.context import Ctx
from snowport.commands.kinds import TABLE
from snowport.commands.session import available_roles, secondary_roles
from snowport.names import display

INFORMATION_SCHEMA = "INFORMATION_SCHEMA"


@dataclass
class TableRef:
    database: str
    schema: str
    name: str
    node: exp.Table

    @property
    def shown(self) -> str:
        return display(self.database, self.schema, self.name)


def _ident(node: exp.Expr | None) -> str | None:
    if node is None:
        return None
    if isinstance(node, exp.Identifier):
        return node.this if node.quoted else node.this.upper()
    if isinstance(node, exp.Expr) and node.name:
        return node.name.upper()
    return None


def _cte_names(expression: exp.Expr) -> set[str]:
    return {(_ident(c.args.get("alias").this) or "") for c in expression.find_all(exp.CTE) if c.args.get("alias")}


def table_refs(ctx: Ctx, expression: exp.Expr, command: str) -> list[TableRef]:
    """Every catalog table the statement names, resolved against the session's namespace."""
    ctes = _cte_names(expression)
    refs: list[TableRef] = []
    for node in expression.find_all(exp.Table):
        if not isinstance(node.this, exp.Identifier):
            continue  # table functions, e.g. TABLE(RESULT_SCAN(...))
        name = _ident(node.this)
        schema = _ident(node.args.get("db"))
        database = _ident(node.args.get("catalog"))
        if name is None or (schema is None and database is None and name in ctes):
            continue
        if schema == INFORMATION_SCHEMA or (schema is None and ctx.session.schema == INFORMATION_SCHEMA):
            continue
        if database is None:
            if ctx.session.database is None:
                raise errors.no_database(command)
            database = ctx.session.database
        if schema is None:
            if ctx.session.schema is None:
                raise errors.no_schema(command)
            schema = ctx.session.schema
        refs.append(TableRef(database, schema, name, node))
    return refs


def _lookup(ctx: Ctx, ref: TableRef) -> CatalogObject | None:
    return ctx.catalog.get("TABLE", ref.name, ref.database, ref.schema) or ctx.catalog.get(
        "VIEW", ref.name, ref.database, ref.schema
    )


def require_table(ctx: Ctx, ref: TableRef, command: str, privileges: tuple[str, ...] = ()) -> CatalogObject:
    """The table if the session may use its schema and the matrix row `command` allows it
    (or, when given, it holds one of `privileges`: MERGE needs what its clauses do)."""
    obj = _lookup(ctx, ref)
    if obj is None or not _parents_usable(ctx, ref):
        raise errors.object_does_not_exist(ref.shown)
    allowed = ctx.auth.has(ctx.session, obj, privileges) if privileges else ctx.auth.allows(ctx.session, command, obj)
    if not allowed:
        if ctx.auth.can_see(ctx.session, obj):
            raise errors.insufficient_privileges(obj.kind.lower(), ref.shown)
        raise errors.object_does_not_exist(ref.shown)
    return obj


def _parents_usable(ctx: Ctx, ref: TableRef) -> bool:
    db = ctx.catalog.get("DATABASE", ref.database)
    sch = ctx.catalog.get("SCHEMA", ref.schema, ref.database)
    return (db is not None and sch is not None and ctx.auth.has(ctx.session, db, ("USAGE",))
            and ctx.auth.has(ctx.session, sch, ("USAGE",)))


def _target(expression: exp.Expr) -> exp.Table | None:
    node = expression.this if isinstance(expression, (exp.Insert, exp.Update, exp.Delete, exp.Merge,
                                                      exp.TruncateTable)) else None
    if isinstance(node, exp.Schema):
        node = node.this
    if isinstance(expression, exp.TruncateTable):
        node = expression.expressions[0] if expression.expressions else None
    return node if isinstance(node, exp.Table) else None


@dataclass
class Plan:
    """What must happen around the engine for one table statement."""

    needs_warehouse: bool
    create: tuple[str, str, str, str] | None = None  # (kind, database, schema, name) to record
    create_replace: bool = False
    create_if_not_exists: bool = False
    drop: CatalogObject | None = None
    rename: tuple[CatalogObject, str] | None = None
    skip_engine: bool = False
    skip_message: str | None = None


def authorize(ctx: Ctx, expression: exp.Expr) -> Plan:
    """Check every privilege the statement needs; return the catalog changes it implies."""
    command = expression.key.upper()
    refs = table_refs(ctx, expression, command)
    target = _target(expression)

    if isinstance(expression, exp.Create):
        return _authorize_create(ctx, expression, refs)
    if isinstance(expression, exp.Drop):
        kind = (expression.args.get("kind") or "TABLE").upper()
        if kind not in ("TABLE", "VIEW"):
            raise errors.unsupported(f"DROP {kind}")
        ref = refs[0]
        obj = _lookup(ctx, ref)
        if obj is not None and obj.kind != kind:
            obj = None  # DROP VIEW names no table, and DROP TABLE no view
        if obj is None or not _parents_usable(ctx, ref) or not ctx.auth.can_see(ctx.session, obj):
            if expression.args.get("exists"):
                return Plan(False, skip_engine=True,
                            skip_message=f"Drop statement executed successfully ({ref.name} already dropped).")
            raise errors.does_not_exist(kind.title(), ref.shown)
        ctx.require(f"DROP {obj.kind}", obj, ref.shown)
        if obj.kind == "TABLE" and lifecycle.retention_days(ctx, obj) > 0:
            # kept for UNDROP: the catalog retires it and the engine keeps the data under a hidden name
            return Plan(False, drop=obj, skip_engine=True, skip_message=f"{ref.name} successfully dropped.")
        return Plan(False, drop=obj)
    if isinstance(expression, exp.Alter):
        ref = refs[0]
        renames = [a for a in expression.args.get("actions") or [] if isinstance(a, exp.AlterRename)]
        obj = require_table(ctx, ref, "ALTER TABLE RENAME" if renames else "ALTER TABLE")
        plan = Plan(False)
        for action in renames:
            new = action.this
            plan.rename = (obj, _ident(new.this) if isinstance(new, exp.Table) else _ident(new) or "")
        if plan.rename is not None and ctx.catalog.get(obj.kind, plan.rename[1], obj.database, obj.schema):
            raise errors.already_exists(obj.kind, plan.rename[1])
        return plan
    if isinstance(expression, exp.Describe):
        for ref in refs:
            require_table(ctx, ref, "DESCRIBE TABLE")
        return Plan(False)

    command = {
        exp.Insert: "INSERT",
        exp.Update: "UPDATE",
        exp.Delete: "DELETE",
        exp.TruncateTable: "TRUNCATE TABLE",
    }.get(type(expression), "SELECT")
    for ref in refs:
        if target is not None and ref.node is target:
            if isinstance(expression, exp.Merge):
                kinds = {type(w.args.get("then")) for w in expression.find_all(exp.When)}
                privs = tuple(p for k, p in ((exp.Insert, "INSERT"), (exp.Update, "UPDATE")) if k in kinds)
                require_table(ctx, ref, "MERGE", privs or ("UPDATE",))
            else:
                require_table(ctx, ref, command)
        else:
            require_table(ctx, ref, "SELECT")
    writes = isinstance(expression, (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.TruncateTable))
    reads_stage = any(isinstance(t.this, (exp.Var, exp.DirectoryStage)) for t in expression.find_all(exp.Table))
    return Plan(bool(refs) or writes or reads_stage)


def _authorize_create(ctx: Ctx, expression: exp.Create, refs: list[TableRef]) -> Plan:
    kind = (expression.args.get("kind") or "").upper()
    if kind not in ("TABLE", "VIEW"):
        raise errors.unsupported(f"CREATE {kind}")
    target_ref = refs[0]
    for ref in refs[1:]:
        require_table(ctx, ref, "SELECT")
    sch = ctx.catalog.get("SCHEMA", target_ref.schema, target_ref.database)
    db = ctx.catalog.get("DATABASE", target_ref.database)
    if db is None or not ctx.auth.has(ctx.session, db, ("USAGE",)):
        raise errors.does_not_exist("Database", display(target_ref.database))
    if sch is None or not ctx.auth.has(ctx.session, sch, ("USAGE",)):
        raise errors.does_not_exist("Schema", display(target_ref.database, target_ref.schema))
    if db.props.get("system"):
        raise errors.insufficient_privileges("schema", display(target_ref.database, target_ref.schema))
    ctx.require(f"CREATE {kind}", sch, display(target_ref.schema))
    existing = _lookup(ctx, target_ref)
    replace = bool(expression.args.get("replace"))
    if_not_exists = bool(expression.args.get("exists"))
    if existing is not None:
        if if_not_exists:
            return Plan(False, skip_engine=True,
                        skip_message=f"{target_ref.name} already exists, statement succeeded.")
        if not replace or existing.kind != kind:  # OR REPLACE replaces a table with a table, a view with a view
            raise errors.already_exists(kind, target_ref.name)
        ctx.require(f"CREATE OR REPLACE {existing.kind}", existing, target_ref.shown)
    return Plan(
        needs_warehouse=len(refs) > 1 or any(isinstance(t.this, exp.Var) for t in expression.find_all(exp.Table)),
        create=(kind, target_ref.database, target_ref.schema, target_ref.name),
        create_replace=existing is not None,
        create_if_not_exists=if_not_exists,
    )


def record(ctx: Ctx, plan: Plan) -> None:
    """Apply the plan's catalog changes after the engine ran the statement, in one transaction."""
    if plan.create is None and plan.drop is None and plan.rename is None:
        return  # queries and DML: nothing to record (and no catalog lock on the hot path)
    with ctx.catalog.transaction() as tx:
        if plan.create is not None:
            kind, database, schema, name = plan.create
            existing = ctx.catalog.get(kind, name, database, schema)
            if existing is not None and not plan.create_replace:
                return  # created meanwhile by another session (CREATE ... IF NOT EXISTS): that one stays
            if existing is not None:
                lifecycle.drop_in(ctx, tx, existing)
            obj = ctx.catalog.create(
                CatalogObject(kind=kind, name=name, database=database, schema=schema, owner=ctx.role)
            )
            grants.apply_future_grants(ctx, obj)
        if plan.drop is not None:
            lifecycle.remove(ctx, tx, plan.drop)
        if plan.rename is not None:
            obj, new = plan.rename
            current = ctx.catalog.by_id(obj.id) or obj
            ctx.catalog.update(current.evolve(name=new))


# ---- session functions ------------------------------------------------------------------
def _literal(value: Any) -> exp.Expr:
    return exp.Null() if value is None else exp.Literal.string(str(value))


def substitute_functions(ctx: Ctx, expression: exp.Expr) -> bool:
    """Replace CURRENT_*() and Snowport's system functions with their values, in place.

    Returns True when anything changed.
    """
    s = ctx.session
    by_type: dict[type, Any] = {
        exp.CurrentRole: lambda: s.role,
        exp.CurrentUser: lambda: s.user,
        exp.CurrentDatabase: lambda: s.database,
        exp.CurrentSchema: lambda: s.schema,
        exp.CurrentWarehouse: lambda: s.warehouse,
        exp.CurrentAccount: lambda: ctx.core.account_name,
        exp.CurrentAvailableRoles: lambda: available_roles(ctx),
    }
    by_name: dict[str, Any] = {
        "CURRENT_ROLE": lambda _a: s.role,
        "CURRENT_USER": lambda _a: s.user,
        "CURRENT_DATABASE": lambda _a: s.database,
        "CURRENT_SCHEMA": lambda _a: s.schema,
        "CURRENT_WAREHOUSE": lambda _a: s.warehouse,
        "CURRENT_ACCOUNT": lambda _a: ctx.core.account_name,
        "CURRENT_ACCOUNT_NAME": lambda _a: ctx.core.account_name,
        "CURRENT_ORGANIZATION_NAME": lambda _a: "SNOWPORT",
        "CURRENT_AVAILABLE_ROLES": lambda _a: available_roles(ctx),
        "CURRENT_SECONDARY_ROLES": lambda _a: secondary_roles(ctx),
        "CURRENT_SESSION": lambda _a: str(s.id),
        "CURRENT_CLIENT": lambda _a: s.client_app,
        "CURRENT_REGION": lambda _a: "SNOWPORT",
        "CURRENT_ROLE_TYPE": lambda _a: "ROLE",
        "LAST_QUERY_ID": lambda _a: s.last_query_id,
        "SYSTEM$CLIENT_VERSION_INFO": lambda _a: client_version_info(),
        "SYSTEM$CANCEL_ALL_QUERIES": lambda _a: f"{len(ctx.core.queries.cancel_session(s.id))} queries canceled",
        "SYSTEM$ALLOWLIST": lambda _a: "[]",
        "SYSTEM$REGISTRY_LIST_IMAGES": lambda a: image_repositories.list_images(ctx, _string_arg(a)),
        "SYSTEM$GET_SERVICE_STATUS": lambda a: services.get_status(ctx, *_literal_args(a, 1, 2)),
        "SYSTEM$GET_SERVICE_LOGS": lambda a: services.get_logs(ctx, *_literal_args(a, 3, 7)),
        "SYSTEM$WAIT_FOR_SERVICES": lambda a: services.wait_for_services(ctx, *_literal_args(a, 2, 100)),
        "SYSTEM$GET_SERVICE_DNS_DOMAIN": lambda a: service_network.get_dns_domain(ctx, *_literal_args(a, 1, 1)),
    }
    changed = False

    def substitutable(node: exp.Expr) -> bool:
        return type(node) in by_type or (isinstance(node, exp.Anonymous) and str(node.this).upper() in by_name)

    # Keep the column name Snowflake gives the call (e.g. CURRENT_ROLE()) once it becomes a literal.
    for select in expression.find_all(exp.Select):
        for i, item in enumerate(select.expressions):
            if not isinstance(item, exp.Alias) and any(substitutable(n) for n in item.walk()):
                name = item.sql(dialect="snowflake").upper()
                select.expressions[i] = exp.alias_(item, exp.to_identifier(name, quoted=True))
                select.expressions[i].parent = select

    def replace(node: exp.Expr) -> exp.Expr:
        nonlocal changed
        fn = by_type.get(type(node))
        if fn is not None:
            changed = True
            return _literal(fn())
        if isinstance(node, exp.Anonymous):
            fn2 = by_name.get(str(node.this).upper())
            if fn2 is not None:
                changed = True
                return _literal(fn2(node.expressions))
        return node

    expression.transform(replace, copy=False)
    return changed


def positional_columns(expression: exp.Expr) -> None:
    """`$1, $2` over an unaliased VALUES (Snowpark's create_dataframe) name its COLUMN1, COLUMN2."""
    for select in expression.find_all(exp.Select):
        source = select.args.get("from_") or select.args.get("from")
        values = source.this if source is not None else None
        if not isinstance(values, exp.Values) or values.alias:
            continue
        for param in select.find_all(exp.Parameter):
            if param.find_ancestor(exp.Select) is select and isinstance(param.this, exp.Literal):
                param.replace(exp.column(f"COLUMN{param.this.this}", quoted=True))


def _literal_args(args: list[exp.Expr], least: int, most: int) -> list[Any]:
    """Constant arguments of a system function (strings, numbers, booleans), as Python values."""
    if not least <= len(args) <= most:
        raise errors.invalid_value(f"expected {least} to {most} arguments, got {len(args)}")
    values: list[Any] = []
    for arg in args:
        if isinstance(arg, exp.Boolean):
            values.append(bool(arg.this))
        elif isinstance(arg, exp.Literal):
            values.append(arg.this if arg.is_string else int(arg.this) if arg.this.isdigit() else float(arg.this))
        else:
            raise errors.invalid_value(f"argument {arg.sql(dialect='snowflake')} must be a constant")
    return values


def _string_arg(args: list[exp.Expr]) -> str:
    if len(args) != 1 or not isinstance(args[0], exp.Literal) or not args[0].is_string:
        raise errors.invalid_value("expected one string argument")
    return args[0].this


def client_version_info() -> str:
    """What snowflake.core's Root() asks for on construction: a JSON string list."""
    return json.dumps(
        [
            {"clientId": cid, "minimumSupportedVersion": "0.0.0", "minimumNearingEndOfSupportVersion": "0.0.0",
             "recommendedVersion": ""}
            for cid in ("PyCore", "PythonConnector", "PythonSnowpark", "SnowCLI")
        ]
    )


def result_scan_ids(expression: exp.Expr) -> list[tuple[exp.Expr, str]]:
    """(node, query id) for every TABLE(RESULT_SCAN('<id>')) in the statement."""
    out = []
    for node in expression.find_all(exp.Anonymous):
        if str(node.this).upper() == "RESULT_SCAN" and node.expressions:
            arg = node.expressions[0]
            if isinstance(arg, exp.Literal):
                out.append((node, arg.this))
    return out


def undrop(ctx: Ctx, parts: list[str]) -> str:
    return lifecycle.undrop(ctx, TABLE, lifecycle.resolve(ctx, TABLE, parts, "UNDROP TABLE"))


# ---- SHOW TABLES / VIEWS / OBJECTS ----------------------------------------------------------
def show_scope(ctx: Ctx, in_kind: str | None, in_parts: list[str], command: str) -> tuple[str | None, str | None]:
    """(database, schema) a SHOW of schema objects covers: the account, a database or a schema."""
    if in_kind == "ACCOUNT":
        return None, None
    if in_kind == "DATABASE" or (in_kind == "AUTO" and len(in_parts) == 1
                                 and ctx.catalog.get("DATABASE", in_parts[0]) is not None):
        return ctx.visible_database(in_parts[0]).name, None
    parts = in_parts or ([ctx.session.schema] if ctx.session.schema else [])
    if not parts:
        raise errors.no_schema(command)
    database, schema = ctx.schema_of(parts, command)
    ctx.visible_schema(database, schema)
    return database, schema


@dataclass(frozen=True)
class TableRow:
    table: CatalogObject
    rows: int
    bytes: int
    retention: int = lifecycle.DEFAULT_RETENTION_DAYS


def _t(fn: Any) -> Any:
    return lambda r: fn(r.table)


SHOW_COLUMNS = columns(
    *schema_object(lambda r: r.table),
    Col("kind", value=_t(lambda t: "TABLE" if t.kind == "TABLE" else "VIEW")),
    Col("comment", value=_t(lambda t: t.comment or "")),
    Col("cluster_by", value=lambda r: ""),
    Col("rows", "fixed", lambda r: r.rows),
    Col("bytes", "fixed", lambda r: r.bytes),
    Col("owner", value=_t(lambda t: t.owner)),
    Col("retention_time", value=lambda r: str(r.retention)),
    Col("automatic_clustering", value=lambda r: "OFF"),
    Col("change_tracking", value=lambda r: "OFF"),
    Col("is_external", value=lambda r: "N"),
    Col("enable_schema_evolution", value=lambda r: "N"),
    Col("owner_role_type", value=lambda r: "ROLE"),
    Col("is_event", value=lambda r: "N"),
    Col("budget", value=lambda r: None),
)


def show(ctx: Ctx, kind: str | None, like: str | None, in_kind: str | None, in_parts: list[str]) -> Rows:
    match = like_matcher(like)
    database, schema = show_scope(ctx, in_kind, in_parts, "SHOW TABLES")
    kinds = ("TABLE", "VIEW") if kind is None else (kind,)
    items = []
    for obj in ctx.catalog.all_objects():
        if obj.kind not in kinds or not match(obj.name):
            continue
        if database is not None and obj.database != database or schema is not None and obj.schema != schema:
            continue
        if not ctx.auth.can_see(ctx.session, obj):
            continue
        n_rows, n_bytes = ctx.core.engine.table_stats(obj.database, obj.schema, obj.name)
        items.append(TableRow(obj, n_rows, n_bytes, lifecycle.retention_days(ctx, obj)))
    items.sort(key=lambda r: (r.table.database, r.table.schema, r.table.name))
    return Rows(SHOW_COLUMNS, items)
