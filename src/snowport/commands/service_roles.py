"""Service roles: who may use a service's endpoints (spcs-reference 3.10, 6.3, 12 `serviceRoles`, 13).

Every service has the built-in role ALL_ENDPOINTS_USAGE (USAGE on each endpoint it declares) and one
role per `serviceRoles` entry of its spec (USAGE on the endpoints listed). The roles are not catalog
objects of their own: they are read from the service's current spec, so they exist exactly while the
service does and change with ALTER SERVICE ... FROM (an upgrade). What is stored is who holds them:
`GRANT SERVICE ROLE svc!r TO ROLE x` is a grant row on the service (privilege `SERVICE ROLE <R>`,
grantee the account role), so it goes with DROP SERVICE, follows a grantee's rename and drop, and
changes the catalog version that privilege caches key on.

Upgrades: a role that the new spec no longer defines disappears, and its grants with it (a role of the
same name defined again later starts with no grants); a role the new spec still defines keeps its
grants and grants USAGE on the endpoints the new spec lists for it. When a role first appeared is kept
in the service's `service_roles_created` property (missing: the service's creation).

Only the service's owner grants and revokes its roles (the owner role itself always may use every
endpoint). Application and database roles are not modelled: granting to them is refused as unsupported.
"""

from __future__ import annotations

import json
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from snowport import errors
from snowport.catalog.store import ACCOUNT_ID, Catalog, CatalogObject, Grant
from snowport.commands import lifecycle
from snowport.commands.columns import Col, Rows, columns, ts
from snowport.commands.context import Ctx, Server
from snowport.commands.grants import OF_ROLE_COLUMNS, PRIVILEGE_COLUMNS, GrantRow
from snowport.commands.kinds import SERVICE
from snowport.names import display
from snowport.security import matrix
from snowport.security.privileges import SERVICE_ROLE_PREFIX
from snowport.spec import ServiceSpec, parse_stored_spec

ALL_ENDPOINTS_USAGE = "ALL_ENDPOINTS_USAGE"
CREATED_PROP = "service_roles_created"


@dataclass(frozen=True)
class ServiceRole:
    """One role of a service as its current spec defines it."""

    name: str  # upper case, as SHOW ROLES IN SERVICE shows it
    endpoints: tuple[str, ...]
    created: float


def privilege(role: str) -> str:
    """The grant row's privilege for holding service role `role` (upper case)."""
    return SERVICE_ROLE_PREFIX + role


def _spec(service: CatalogObject) -> ServiceSpec:
    return parse_stored_spec(service.props["spec_text"], service.props.get("using"))


def defined(service: CatalogObject, spec: ServiceSpec | None = None) -> list[ServiceRole]:
    """The service's roles: ALL_ENDPOINTS_USAGE first, then the spec's `serviceRoles` in order."""
    spec = spec or _spec(service)
    created = service.props.get(CREATED_PROP) or {}
    out = [ServiceRole(ALL_ENDPOINTS_USAGE, tuple(e.name for e in spec.endpoints), service.created_on)]
    for role in spec.service_roles:
        name = role.name.upper()
        out.append(ServiceRole(name, tuple(role.endpoints), float(created.get(name, service.created_on))))
    return out


def qualified(service: CatalogObject, role: str) -> str:
    """`DB.SCHEMA.SVC!ROLE` (or `...!endpoint`), as SHOW GRANTS names a service role or endpoint."""
    return f"{service.database}.{service.schema}.{service.name}!{role}"


def _holders(catalog: Catalog, service: CatalogObject) -> dict[str, list[Grant]]:
    """Service role name -> its grants to account roles."""
    out: dict[str, list[Grant]] = {}
    for g in catalog.grants(object_id=service.id):
        if g.privilege.startswith(SERVICE_ROLE_PREFIX):
            out.setdefault(g.privilege[len(SERVICE_ROLE_PREFIX):], []).append(g)
    return out


# ---- the question every path to an endpoint asks (commands/endpoints.endpoint_allowed) ---------------
# catalog -> {(catalog version, service id, spec key): endpoint -> account roles holding a service role
# that includes it}. Grants change the version; an upgrade changes the spec key.
_CACHES: weakref.WeakKeyDictionary[Catalog, dict[tuple[int, int, str], dict[str, frozenset[str]]]] = \
    weakref.WeakKeyDictionary()
_CACHE_LIMIT = 4096


def _spec_key(service: CatalogObject) -> str:
    return f"{service.props.get('spec_digest')}|{json.dumps(service.props.get('using'), sort_keys=True, default=str)}"


def endpoint_holders(core: Server, service: CatalogObject) -> dict[str, frozenset[str]]:
    """Endpoint name -> the account roles granted a service role that includes it. Cached per catalog
    version and spec, so the check per ingress request or service-function batch is two dict lookups;
    not cached inside an open transaction (it may still roll back)."""
    catalog = core.catalog
    version = catalog.version  # read before the grants: a cached answer is never older than its key
    key = (version, service.id, _spec_key(service))
    cache = _CACHES.get(catalog)
    if cache is None:
        cache = _CACHES.setdefault(catalog, {})
    found = cache.get(key)
    if found is not None:
        return found
    holders = _holders(catalog, service)
    by_endpoint: dict[str, set[str]] = {}
    for role in defined(service):
        grantees = {g.grantee for g in holders.get(role.name, []) if g.grantee_kind == "ROLE"}
        for endpoint in role.endpoints:
            by_endpoint.setdefault(endpoint, set()).update(grantees)
    result = {e: frozenset(r) for e, r in by_endpoint.items()}
    if not catalog.in_transaction():
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        cache[key] = result
    return result


def allows(core: Server, roles: Iterable[str], service: CatalogObject, endpoint: str) -> bool:
    """Whether a service role of `service` that includes `endpoint` is granted to one of `roles`. The
    service is read again by id, so a caller holding a copy from before an upgrade or a drop still gets
    today's answer (none, once the service is gone)."""
    current = core.catalog.by_id(service.id)
    if current is None or current.kind != "SERVICE":
        return False
    holders = endpoint_holders(core, current)
    granted = holders.get(endpoint)
    if granted is None:
        granted = holders.get(endpoint.lower(), frozenset())
    return not granted.isdisjoint(roles)


# ---- BIND SERVICE ENDPOINT (spcs-reference 3.1, 6.1, 13.1) ----------------------------------------
CREATE_PUBLIC = "CREATE SERVICE WITH PUBLIC ENDPOINT"
UPGRADE_PUBLIC = "ALTER SERVICE FROM WITH PUBLIC ENDPOINT"


def owner_may_bind(core: Server, owner: str, row: str = CREATE_PUBLIC) -> bool:
    """Whether the role `owner` (with the roles it inherits) holds the account privilege the matrix row
    names (BIND SERVICE ENDPOINT). The owner role, not the session: a secondary role does not own."""
    wanted = set(matrix.requirement(row).privileges)
    roles = core.auth.closure(owner)
    return any(g.privilege in wanted and g.grantee_kind == "ROLE" and g.grantee in roles
               for g in core.catalog.grants(object_id=ACCOUNT_ID))


def require_bind(ctx: Ctx, spec: ServiceSpec, owner: str, service: str, row: str = CREATE_PUBLIC) -> None:
    """A spec with a public endpoint needs BIND SERVICE ENDPOINT on the account for the role that owns
    (or will own) the service; 003001 naming the account, the endpoint and the role otherwise."""
    public = spec.public_endpoints
    if not public or owner_may_bind(ctx.core, owner, row):
        return
    raise errors.SnowflakeError(
        3001, "42501",
        f"SQL access control error:\nInsufficient privileges to operate on account '{ctx.core.account_name}'. "
        f"Service {service} has the public endpoint '{public[0].name}': its owner role {owner} needs "
        f"{' or '.join(matrix.requirement(row).privileges)} on the account.")


# ---- upgrades -----------------------------------------------------------------------------------
def follow_upgrade(ctx: Ctx, service: CatalogObject, new_spec: ServiceSpec) -> dict[str, Any]:
    """Inside ALTER SERVICE ... FROM's transaction: revoke the grants of the roles the new spec drops and
    return the `service_roles_created` property for the new set of roles (new ones appear now)."""
    before = {r.name: r.created for r in defined(service)}
    now = time.time()
    created = {}
    for role in new_spec.service_roles:
        name = role.name.upper()
        created[name] = before.get(name, now)
    for name, grants in _holders(ctx.catalog, service).items():
        if name != ALL_ENDPOINTS_USAGE and name not in created:
            for g in grants:
                ctx.catalog.revoke(g.privilege, g.object_id, g.grantee_kind, g.grantee)
    return {CREATED_PROP: created or None}


# ---- SQL: GRANT / REVOKE SERVICE ROLE, SHOW ROLES IN SERVICE, SHOW GRANTS TO / OF SERVICE ROLE ---------
def _service(ctx: Ctx, parts: list[str], command: str) -> tuple[CatalogObject, str]:
    target = lifecycle.resolve(ctx, SERVICE, parts, command)
    return lifecycle.existing(ctx, SERVICE, target), target.shown


def _role(service: CatalogObject, shown: str, name: str) -> ServiceRole:
    """The role `name` (as parsed: unquoted names are upper case already) of the service, else 002003."""
    for role in defined(service):
        if role.name == name:
            return role
    raise errors.does_not_exist("Service role", f"{shown}!{display(name)}")


def _unsupported_grantee(statement: str, grantee_kind: str) -> None:
    if grantee_kind != "ROLE":
        raise errors.SnowflakeError(2, "0A000", errors.compilation(
            f"Unsupported feature '{statement} {grantee_kind}': Snowport grants service roles to account roles "
            "only (ROLE <name>)."))


def _account_role(ctx: Ctx, name: str) -> None:
    if ctx.catalog.get("ROLE", name) is None:
        raise errors.does_not_exist("Role", display(name))


def grant(ctx: Ctx, parts: list[str], role_name: str, grantee_kind: str, grantee: str) -> None:
    """GRANT SERVICE ROLE [db.schema.]svc!role TO ROLE r: only the service's owner (3.10)."""
    _unsupported_grantee("GRANT SERVICE ROLE ... TO", grantee_kind)
    with ctx.catalog.transaction():
        service, shown = _service(ctx, parts, "GRANT SERVICE ROLE")
        ctx.require("GRANT SERVICE ROLE", service, shown)
        role = _role(service, shown, role_name)
        _account_role(ctx, grantee)
        ctx.catalog.grant(Grant(privilege=privilege(role.name), object_id=service.id, grantee_kind="ROLE",
                                grantee=grantee, granted_by=ctx.role))


def revoke(ctx: Ctx, parts: list[str], role_name: str, grantee_kind: str, grantee: str) -> None:
    """REVOKE SERVICE ROLE [db.schema.]svc!role FROM ROLE r: only the service's owner; revoking what was
    not granted succeeds and changes nothing, as REVOKE does."""
    _unsupported_grantee("REVOKE SERVICE ROLE ... FROM", grantee_kind)
    with ctx.catalog.transaction():
        service, shown = _service(ctx, parts, "REVOKE SERVICE ROLE")
        ctx.require("REVOKE SERVICE ROLE", service, shown)
        role = _role(service, shown, role_name)
        _account_role(ctx, grantee)
        ctx.catalog.revoke(privilege(role.name), service.id, "ROLE", grantee)


ROLE_COLUMNS = columns(Col("created_on", "timestamp_ltz", lambda r: ts(r.created)), Col("name", value=lambda r: r.name),
                       Col("comment", value=lambda r: None))


def show_roles(ctx: Ctx, parts: list[str]) -> Rows:
    """SHOW ROLES IN SERVICE svc: created_on, name, comment (USAGE on the service)."""
    service, shown = _service(ctx, parts, "SHOW ROLES IN SERVICE")
    ctx.require("SHOW ROLES IN SERVICE", service, shown)
    return Rows(ROLE_COLUMNS, defined(service))


def show_grants_to(ctx: Ctx, parts: list[str], role_name: str) -> Rows:
    """SHOW GRANTS TO SERVICE ROLE svc!role: USAGE on each SERVICE_ENDPOINT the role includes."""
    service, shown = _service(ctx, parts, "SHOW GRANTS TO SERVICE ROLE")
    ctx.require("SHOW GRANTS TO SERVICE ROLE", service, shown)
    role = _role(service, shown, role_name)
    rows = [GrantRow(ts(role.created), "USAGE", "SERVICE_ENDPOINT", qualified(service, endpoint), "SERVICE_ROLE",
                     role.name, "false", service.owner) for endpoint in role.endpoints]
    return Rows(PRIVILEGE_COLUMNS, rows)


def show_grants_of(ctx: Ctx, parts: list[str], role_name: str) -> Rows:
    """SHOW GRANTS OF SERVICE ROLE svc!role: the account roles it is granted to."""
    service, shown = _service(ctx, parts, "SHOW GRANTS OF SERVICE ROLE")
    ctx.require("SHOW GRANTS OF SERVICE ROLE", service, shown)
    role = _role(service, shown, role_name)
    grants = sorted(_holders(ctx.catalog, service).get(role.name, []), key=lambda g: (g.created_on, g.grantee))
    rows = [GrantRow(ts(g.created_on), "USAGE", "SERVICE_ROLE", qualified(service, role.name), g.grantee_kind,
                     g.grantee, "false", g.granted_by) for g in grants]
    return Rows(OF_ROLE_COLUMNS, rows)

