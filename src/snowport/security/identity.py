"""From a token to who is calling: one place that knows every kind of token Snowport hands out.

Kinds: a connector session token (ST-...), a programmatic access token secret, an OAuth access token
(Snowport's HS256 JWTs: containers' /snowflake/session/token, `snowport token`, and the /oauth/token
key-pair exchange), a key-pair JWT (login only), and the caller's-rights pair
`<service token>.<caller token>` (login only, spcs-reference 5.3). The connector login, the /oauth/token
endpoint and the ingress proxy all come here, so a token means the same thing on every surface.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from snowport.catalog.store import Catalog, CatalogObject
from snowport.errors import SnowflakeError
from snowport.names import normalize
from snowport.security import credentials
from snowport.security.credentials import PatKeys
from snowport.security.privileges import Authorizer
from snowport.security.sessions import OAuthIssuer, SessionStore

EXCHANGE_TTL = 3600  # an OAuth token from /oauth/token lives an hour, as Snowflake's do
CALLER_TOKEN_TTL = 120  # SERVICE_CALLER_TOKEN_VALIDITY_SECS' default
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass(frozen=True)
class Identity:
    """Who a credential proves, and how the session it opens must be shaped."""

    user: str
    role: str | None = None  # the role the session starts with (restriction or scope); None: asked or default
    method: str = "PASSWORD"  # PASSWORD | PROGRAMMATIC_ACCESS_TOKEN | SNOWFLAKE_JWT | OAUTH | CALLER
    restricted_role: str | None = None  # a PAT's ROLE_RESTRICTION: the only role, no secondary roles
    role_locked: bool = False  # no USE ROLE (caller's rights sessions)


class OAuthError(Exception):
    """An /oauth/token refusal: RFC 6749's error code and description, answered with HTTP 400."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


class Identities:
    def __init__(self, catalog: Catalog, auth: Authorizer, oauth: OAuthIssuer, sessions: SessionStore,
                 pats: PatKeys, account: str) -> None:
        self.catalog = catalog
        self.auth = auth
        self.oauth = oauth
        self.sessions = sessions
        self.pats = pats
        self.account = account

    # ---- the one question the ingress proxy asks ------------------------------------------------
    def identify(self, token: str) -> tuple[str, str | None]:
        """(user, role) for a session token, a PAT secret or an OAuth token; a SnowflakeError for a wrong,
        expired or revoked one. The role is the session's current role, a PAT's restriction or an OAuth
        token's scope; None means the user's default role applies."""
        token = (token or "").strip()
        if token.startswith("ST-"):
            session = self.sessions.by_token(token)
            self._active_user(session.user, OAuthIssuer.INVALID)
            return session.user, session.role
        if token.count(".") in (2, 5):  # an OAuth token, or a service token joined with a caller token
            ident = self.by_oauth(token)
            return ident.user, ident.role
        ident = self.by_pat(token)
        return ident.user, ident.role

    # ---- login credentials ----------------------------------------------------------------------
    def by_pat(self, secret: str, login_name: str = "") -> Identity:
        """A PAT secret: its user, and its ROLE_RESTRICTION as the session's only role."""
        match = self.pats.find(self.catalog, secret)
        if match is None:
            raise credentials.PAT_INVALID
        user, token = match.user, match.token
        if login_name and login_name.upper() not in (user.name.upper(), _login(user)):
            raise credentials.PAT_INVALID
        if user.props.get("disabled"):
            raise credentials.USER_DISABLED
        if credentials.pat_status(token, user, time.time()) != "ACTIVE":
            raise credentials.PAT_EXPIRED
        role = token.get("role_restriction")
        if role and (self.catalog.get("ROLE", role) is None or not self.auth.user_has_role(user.name, role)):
            raise credentials.PAT_INVALID  # the role was revoked from the user: the token no longer works
        return Identity(user.name, role, "PROGRAMMATIC_ACCESS_TOKEN", restricted_role=role)

    def by_key_pair(self, token: str, login_name: str = "") -> Identity:
        user = credentials.verify_key_pair_jwt(self.catalog, self.account, token, login_name)
        return Identity(user.name, None, "SNOWFLAKE_JWT")

    def by_oauth(self, token: str) -> Identity:
        """An OAuth access token, or the caller's-rights pair `<service token>.<caller token>`: the caller,
        with the caller token's scoped role or else the caller's default role, and no role switching."""
        parts = token.split(".")
        if len(parts) == 6:
            self._oauth_user(".".join(parts[:3]))  # the service's own token must be valid too
            user, role = self._oauth_user(".".join(parts[3:]), allow_caller=True)
            obj = self.catalog.get("USER", user)
            assert obj is not None
            role = role or obj.props.get("default_role") or "PUBLIC"
            if not self.auth.user_has_role(user, role) or self.catalog.get("ROLE", role) is None:
                role = "PUBLIC"
            return Identity(user, role, "CALLER", role_locked=True)
        user, role = self._oauth_user(token)
        return Identity(user, role, "OAUTH")

    def caller_token(self, user: str, role: str | None = None, ttl_seconds: int = CALLER_TOKEN_TTL) -> str:
        """The `Sf-Context-Current-User-Token` the ingress proxy adds for an executeAsCaller service: an
        OAuth token for the caller, short-lived as Snowflake's (SERVICE_CALLER_TOKEN_VALIDITY_SECS)."""
        return self.oauth.issue(user, role, ttl_seconds=ttl_seconds, caller=True)

    def _oauth_user(self, token: str, allow_caller: bool = False) -> tuple[str, str | None]:
        user, role = self.oauth.verify(token, allow_caller)
        self._active_user(user, OAuthIssuer.INVALID)
        return user, role

    def _active_user(self, name: str, error: SnowflakeError) -> CatalogObject:
        user = self.catalog.get("USER", name)
        if user is None:
            raise error
        if user.props.get("disabled"):
            raise credentials.USER_DISABLED
        return user

    # ---- POST /oauth/token ----------------------------------------------------------------------
    def exchange(self, grant_type: str, assertion: str, scope: str) -> str:
        """The key-pair JWT exchange: an OAuth access token for the JWT's user and the scope's role.

        `scope` is `[session:role:<ROLE> ]<ingress host>`; the role must be granted to the user."""
        if grant_type != JWT_BEARER:
            raise OAuthError("unsupported_grant_type", f"The grant type '{grant_type}' is not supported.")
        if not assertion:
            raise OAuthError("invalid_request", "The assertion parameter is missing.")
        try:
            user = credentials.verify_key_pair_jwt(self.catalog, self.account, assertion)
        except SnowflakeError as e:
            raise OAuthError("invalid_grant", e.message) from None
        role = None
        for word in scope.split():
            if word.lower().startswith("session:role:"):
                role = normalize(word[len("session:role:"):])
        if role is not None and (self.catalog.get("ROLE", role) is None
                                 or not self.auth.user_has_role(user.name, role)):
            raise OAuthError("invalid_scope", f"The role '{role}' requested in the scope is not granted to the "
                                              "user.")
        return self.oauth.issue(user.name, role, ttl_seconds=EXCHANGE_TTL)


def _login(user: CatalogObject) -> str:
    return str(user.props.get("login_name", user.name)).upper()
