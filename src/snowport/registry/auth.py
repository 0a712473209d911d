"""Registry authentication: the Docker token flow and Basic credentials, mapped to privileges.

`docker login` meets a Bearer challenge, then asks `/v2/token` with Basic credentials (a user's
password, or `0sessiontoken` with the JSON `{"token": ...}` the snow CLI issues). The answer is
a short-lived JWT whose `access` claims list, per repository, only the actions the user's roles
allow: pull needs READ (or WRITE, OWNERSHIP, SERVICE READ), push needs WRITE or OWNERSHIP.
A request whose token lacks the action it needs gets a 401 challenge naming the scope to ask for
when the user's roles would grant it, a 403 only when they would not (registry/api.py).
"""

from __future__ import annotations

import base64
import json
import math
import time
from dataclasses import dataclass, field

import jwt

from snowport.errors import SnowflakeError
from snowport.registry.errors import RegistryError
from snowport.security.sessions import Session

TOKEN_TTL = 300
PULL_PRIVILEGES = ("READ", "WRITE", "SERVICE READ", "SERVICE WRITE")
PUSH_PRIVILEGES = ("WRITE", "SERVICE WRITE")


@dataclass
class Principal:
    """Who is calling and the session-like identity privileges are evaluated for."""

    user: str
    session: Session
    access: dict[str, set[str]] | None = None  # from a bearer token: repo -> actions; None = evaluate live
    scopes: list[str] = field(default_factory=list)


def basic_credentials(header: str) -> tuple[str, str] | None:
    if not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


class RegistryAuth:
    def __init__(self, core, key: bytes) -> None:
        self.core = core
        self._key = key

    def principal_from_basic(self, user: str, password: str) -> Principal:
        """A password login, or `0sessiontoken` with a session token (snow spcs image-registry)."""
        core = self.core
        if user == "0sessiontoken":
            try:
                token = json.loads(password)["token"]
            except (ValueError, KeyError, TypeError):
                token = password
            try:
                session = core.sessions.by_token(token)
            except SnowflakeError:
                raise RegistryError("UNAUTHORIZED", "authentication required") from None
            return Principal(session.user, session)
        try:  # a password, or a programmatic access token given as the password
            identity = core.login_identity("SNOWFLAKE", user, password)
        except SnowflakeError:
            raise RegistryError("UNAUTHORIZED", "authentication required") from None
        return Principal(identity.user, self._identity(identity.user, identity.role, identity.restricted_role))

    def _identity(self, user_name: str, role: str | None, restricted: str | None = None) -> Session:
        """The session the registry checks privileges with; a PAT's ROLE_RESTRICTION keeps it to that role."""
        user = self.core.catalog.get("USER", user_name)
        default_role = role or (user.props.get("default_role") if user else None) or "PUBLIC"
        return Session(id=0, user=user_name, role=default_role, secondary_roles="NONE" if restricted else "ALL",
                       restricted_role=restricted)

    def issue(self, principal: Principal, scopes: list[str], repo_of) -> dict:
        """A bearer token granting, per requested scope, the actions the user's roles allow."""
        access = []
        for scope in scopes:
            parts = scope.split(":")
            if len(parts) != 3 or parts[0] != "repository":
                continue
            name, actions = parts[1], [a for a in parts[2].split(",") if a]
            allowed = self.allowed_actions(principal.session, repo_of(name), set(actions))
            access.append({"type": "repository", "name": name, "actions": sorted(allowed)})
        clock = time.time()
        now = int(clock)
        ttl = int(getattr(self.core.settings, "registry_token_ttl_seconds", TOKEN_TTL))
        # Rounded up so a token lives at least its ttl: truncating both ends could leave a 1 s token 0.01 s of life.
        claims = {"sub": principal.user, "role": principal.session.role, "access": access, "iat": now,
                  "exp": math.ceil(clock + ttl), "aud": "snowport-registry"}
        if principal.session.restricted_role:
            claims["restricted"] = True
        token = jwt.encode(claims, self._key, algorithm="HS256")
        issued = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        return {"token": token, "access_token": token, "expires_in": ttl, "issued_at": issued}

    def principal_from_bearer(self, token: str) -> Principal:
        try:
            claims = jwt.decode(token, self._key, algorithms=["HS256"], audience="snowport-registry")
        except jwt.PyJWTError:
            raise RegistryError("UNAUTHORIZED", "authentication required") from None
        access: dict[str, set[str]] = {}
        for entry in claims.get("access", []):
            access.setdefault(entry["name"], set()).update(entry.get("actions", []))
        restricted = claims.get("role") if claims.get("restricted") else None
        return Principal(claims["sub"], self._identity(claims["sub"], claims.get("role"), restricted), access)

    def allowed_actions(self, session: Session, repo_obj, wanted: set[str]) -> set[str]:
        if repo_obj is None:
            return set()
        auth = self.core.auth
        catalog = self.core.catalog
        db = catalog.get("DATABASE", repo_obj.database)
        schema = catalog.get("SCHEMA", repo_obj.schema, repo_obj.database)
        if db is None or schema is None or not auth.has(session, db, ("USAGE",)) or not auth.has(
                session, schema, ("USAGE",)):
            return set()  # like every schema object: the parents must be usable too
        allowed = set()
        if auth.has(session, repo_obj, PULL_PRIVILEGES):
            allowed |= {"pull"}
        if auth.has(session, repo_obj, PUSH_PRIVILEGES):
            allowed |= {"push", "pull"}
        if auth.owns(session, repo_obj):
            allowed |= {"push", "pull", "delete"}
        if "*" in wanted:
            wanted = {"pull", "push", "delete"}
        return allowed & wanted

    def granted(self, principal: Principal, name: str, repo_obj, wanted: set[str]) -> set[str]:
        """The actions of `wanted` this request may do now: a bearer token's own grants, else the live privileges."""
        if principal.access is not None:
            return principal.access.get(name, set()) & wanted
        return self.allowed_actions(principal.session, repo_obj, wanted)

    def possible(self, principal: Principal, repo_obj, wanted: set[str]) -> set[str]:
        """The actions of `wanted` a token could be issued for: what the user's roles allow right now.

        A caller whose request was refused gets a 401 challenge naming the scope when this is not empty
        (a token with more scope would be granted), a 403 when it is (no token ever would)."""
        if principal.access is None:  # Basic credentials are evaluated live: nothing more to ask for
            return set()
        return self.allowed_actions(principal.session, repo_obj, wanted)
