"""The role graph and the privilege checks every command calls.

A session acts with its primary role and, when secondary roles are ALL, every role granted to
its user; each of those brings the roles granted to it, down to PUBLIC. A role may act on an
object when one of its active roles owns it or holds one of the privileges the command needs.
"""

from __future__ import annotations

from collections.abc import Iterable

from snowport import errors
from snowport.catalog.store import ACCOUNT_ID, Catalog, CatalogObject
from snowport.names import display
from snowport.security import matrix
from snowport.security.sessions import Session

# A held service role is a grant row on its service whose privilege is this prefix + the role's name
# (commands/service_roles.py); it is not a privilege on the service and does not make the service visible.
SERVICE_ROLE_PREFIX = "SERVICE ROLE "

SYSTEM_ROLES = ("ACCOUNTADMIN", "SECURITYADMIN", "USERADMIN", "SYSADMIN", "PUBLIC")
# Snowflake's system hierarchy: (granted role, to role).
SYSTEM_HIERARCHY = (
    ("SECURITYADMIN", "ACCOUNTADMIN"),
    ("SYSADMIN", "ACCOUNTADMIN"),
    ("USERADMIN", "SECURITYADMIN"),
)

ACCOUNT_PRIVILEGES = (
    "APPLY MASKING POLICY",
    "APPLY ROW ACCESS POLICY",
    "APPLY TAG",
    "ATTACH POLICY",
    "AUDIT",
    "BIND SERVICE ENDPOINT",
    "CREATE ACCOUNT",
    "CREATE COMPUTE POOL",
    "CREATE DATA EXCHANGE LISTING",
    "CREATE DATABASE",
    "CREATE INTEGRATION",
    "CREATE NETWORK POLICY",
    "CREATE ROLE",
    "CREATE SHARE",
    "CREATE USER",
    "CREATE WAREHOUSE",
    "EXECUTE ALERT",
    "EXECUTE MANAGED TASK",
    "EXECUTE TASK",
    "IMPORT SHARE",
    "MANAGE ACCOUNT SUPPORT CASES",
    "MANAGE GRANTS",
    "MANAGE SERVICE CALLER ACCESS",
    "MANAGE WAREHOUSES",
    "MONITOR EXECUTION",
    "MONITOR SECURITY",
    "MONITOR USAGE",
    "OVERRIDE SHARE RESTRICTIONS",
)

# Account privileges each system role holds on a fresh account.
SYSTEM_ROLE_PRIVILEGES = {
    "ACCOUNTADMIN": ACCOUNT_PRIVILEGES,
    "SECURITYADMIN": ("MANAGE GRANTS", "CREATE NETWORK POLICY"),
    "USERADMIN": ("CREATE USER", "CREATE ROLE"),
    "SYSADMIN": ("CREATE DATABASE", "CREATE WAREHOUSE"),
}

# Privileges that may be granted, by the kind of object they are granted on.
OBJECT_PRIVILEGES: dict[str, tuple[str, ...]] = {
    "ACCOUNT": ACCOUNT_PRIVILEGES,
    "DATABASE": (
        "USAGE",
        "MONITOR",
        "CREATE SCHEMA",
        "MODIFY",
        "CREATE DATABASE ROLE",
        "APPLYBUDGET",
        "IMPORTED PRIVILEGES",
    ),
    "SCHEMA": (
        "USAGE",
        "MONITOR",
        "MODIFY",
        "CREATE TABLE",
        "CREATE VIEW",
        "CREATE STAGE",
        "CREATE FILE FORMAT",
        "CREATE SEQUENCE",
        "CREATE FUNCTION",
        "CREATE PROCEDURE",
        "CREATE SERVICE",
        "CREATE IMAGE REPOSITORY",
        "CREATE SECRET",
        "CREATE NETWORK RULE",
        "CREATE SNAPSHOT",
        "CREATE GATEWAY",
        "CREATE TASK",
        "CREATE STREAM",
        "CREATE PIPE",
        "CREATE TAG",
        "CREATE DYNAMIC TABLE",
        "CREATE MATERIALIZED VIEW",
        "ADD SEARCH OPTIMIZATION",
    ),
    "TABLE": ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "EVOLVE SCHEMA", "REBUILD"),
    "VIEW": ("SELECT", "REFERENCES"),
    "WAREHOUSE": ("USAGE", "MONITOR", "OPERATE", "MODIFY", "APPLYBUDGET"),
    "STAGE": ("USAGE", "READ", "WRITE"),
    "IMAGE REPOSITORY": ("READ", "WRITE", "SERVICE READ", "SERVICE WRITE"),
    "USER": ("MONITOR", "MODIFY PROGRAMMATIC AUTHENTICATION METHODS"),
    "COMPUTE POOL": ("USAGE", "MONITOR", "OPERATE", "MODIFY"),
    "INTEGRATION": ("USAGE",),
    "SERVICE": ("USAGE", "MONITOR", "OPERATE"),
    "NETWORK RULE": (),
    "SECRET": ("USAGE", "READ"),
    "SNAPSHOT": ("USAGE",),
    "FUNCTION": ("USAGE",),
    "ROLE": (),
}


class Authorizer:
    """Answers "may this session do X to Y", caching role closures per catalog version."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._closure_cache: dict[tuple[int, str], frozenset[str]] = {}

    # ---- the role graph -------------------------------------------------------------------
    def roles_granted_to(self, grantee_kind: str, grantee: str) -> list[str]:
        """Roles granted directly to a role or user."""
        out = []
        for g in self.catalog.grants(grantee_kind=grantee_kind, grantee=grantee, privilege="USAGE"):
            obj = self.catalog.by_id(g.object_id)
            if obj is not None and obj.kind == "ROLE":
                out.append(obj.name)
        return out

    def closure(self, role: str) -> frozenset[str]:
        """The role, every role it inherits, and PUBLIC."""
        key = (self.catalog.version, role)
        cached = self._closure_cache.get(key)
        if cached is not None:
            return cached
        seen = {role, "PUBLIC"}
        stack = [role]
        while stack:
            for inherited in self.roles_granted_to("ROLE", stack.pop()):
                if inherited not in seen:
                    seen.add(inherited)
                    stack.append(inherited)
        result = frozenset(seen)
        if len(self._closure_cache) > 10000:
            self._closure_cache.clear()
        self._closure_cache[key] = result
        return result

    def user_roles(self, user: str) -> set[str]:
        """Roles a user may USE: those granted to it and everything they inherit."""
        roles: set[str] = {"PUBLIC"}
        for r in self.roles_granted_to("USER", user):
            roles |= self.closure(r)
        return roles

    def user_has_role(self, user: str, role: str) -> bool:
        return role in self.user_roles(user)

    def active_roles(self, session: Session) -> frozenset[str]:
        if session.restricted_role:  # a PAT with ROLE_RESTRICTION: that role only, never secondary roles
            return self.closure(session.restricted_role)
        roles: set[str] = set(self.closure(session.role)) if session.role else {"PUBLIC"}
        if session.secondary_roles == "ALL":
            for r in self.roles_granted_to("USER", session.user):
                roles |= self.closure(r)
        return frozenset(roles)

    # ---- checks ---------------------------------------------------------------------------
    def owns(self, session: Session, obj: CatalogObject) -> bool:
        return obj.owner in self.active_roles(session)

    def has(self, session: Session, obj: CatalogObject | None, privileges: Iterable[str]) -> bool:
        """True if an active role owns the object or holds any of the privileges on it."""
        roles = self.active_roles(session)
        object_id = ACCOUNT_ID if obj is None else obj.id
        if obj is not None and obj.owner in roles:
            return True
        wanted = set(privileges)
        return any(
            g.privilege in wanted and g.grantee_kind == "ROLE" and g.grantee in roles
            for g in self.catalog.grants(object_id=object_id)
        )

    def has_account(self, session: Session, privilege: str) -> bool:
        return self.has(session, None, (privilege,))

    def can_see(self, session: Session, obj: CatalogObject) -> bool:
        """Any privilege on an object makes it visible in SHOW and resolvable by name."""
        roles = self.active_roles(session)
        if obj.owner in roles:
            return True
        if obj.kind == "ROLE":
            return obj.name in roles or self.has_account(session, "MANAGE GRANTS")
        return any(g.grantee_kind == "ROLE" and g.grantee in roles and not g.privilege.startswith(SERVICE_ROLE_PREFIX)
                   for g in self.catalog.grants(object_id=obj.id))

    def can_grant(self, session: Session, obj: CatalogObject | None, privilege: str) -> bool:
        """Owners, holders of MANAGE GRANTS, and holders WITH GRANT OPTION may grant."""
        if self.has_account(session, "MANAGE GRANTS"):
            return True
        if obj is not None and self.owns(session, obj):
            return True
        roles = self.active_roles(session)
        object_id = ACCOUNT_ID if obj is None else obj.id
        return any(
            g.privilege == privilege and g.grant_option and g.grantee in roles
            for g in self.catalog.grants(object_id=object_id, grantee_kind="ROLE")
        )

    def allows(self, session: Session, command: str, obj: CatalogObject | None) -> bool:
        """Whether the privilege-matrix row `command` lets this session act on `obj` (None: the account)."""
        req = matrix.requirement(command)
        if req.on == matrix.NONE:
            return True
        if req.on == matrix.ACCOUNT or obj is None:
            return any(self.has_account(session, p) for p in req.privileges)
        if self.owns(session, obj):
            return True
        wanted = tuple(p for p in req.privileges if p != "OWNERSHIP")
        return bool(wanted) and self.has(session, obj, wanted)

    def require(self, session: Session, command: str, obj: CatalogObject | None, shown: str | None = None,
                account: str = "") -> None:
        """Raise Snowflake's 003001 unless the matrix row `command` allows the session on `obj`."""
        if self.allows(session, command, obj):
            return
        if obj is None or matrix.requirement(command).on == matrix.ACCOUNT:
            raise errors.insufficient_privileges("account", account)
        raise errors.insufficient_privileges(obj.kind.lower(), shown or display(obj.database, obj.schema, obj.name))
