"""Sessions, their session and master tokens, and signed OAuth access tokens.

Session and master tokens are random and opaque; only the server's memory maps them to a
session. OAuth access tokens are JWTs signed with the server's key so they can be handed to
programs (and later to containers) that connect with `authenticator="oauth"`.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import jwt

from snowport.errors import SnowflakeError

SESSION_EXPIRED = SnowflakeError(390112, "08001", "Your session has expired. Please login again.")
MASTER_EXPIRED = SnowflakeError(
    390114, "08001", "Authentication token has expired.  The user must authenticate again."
)
TOKEN_MISSING = SnowflakeError(390101, "08001", "Authorization header not found or invalid in the request.")


@dataclass
class Session:
    """One client session: identity, current namespace, parameters, and its data connection."""

    id: int
    user: str
    role: str | None
    secondary_roles: str = "NONE"  # ALL | NONE
    database: str | None = None
    schema: str | None = None
    warehouse: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    client_app: str = ""
    token: str = ""
    master_token: str = ""
    token_expires: float = 0.0
    master_expires: float = 0.0
    engine: Any = None  # the session's data-engine connection (data.engine.EngineSession)
    lock: threading.RLock = field(default_factory=threading.RLock)
    last_query_id: str | None = None
    # scheme://host:port the client reached the server at; presigned URLs point back there
    base_url: str = ""
    # how the session logged in (security/identity.py): PASSWORD, PROGRAMMATIC_ACCESS_TOKEN, SNOWFLAKE_JWT, ...
    authn: str = "PASSWORD"
    restricted_role: str | None = None  # a PAT's ROLE_RESTRICTION: the only active role, no switching
    role_locked: bool = False  # caller's-rights sessions: no USE ROLE


class SessionStore:
    """Token → session maps with expiry; thread-safe."""

    def __init__(self, session_validity: int, master_validity: int) -> None:
        self.session_validity = session_validity
        self.master_validity = master_validity
        self._by_token: dict[str, Session] = {}
        self._by_master: dict[str, Session] = {}
        self._by_id: dict[int, Session] = {}
        self._ids = itertools.count(int(time.time() * 1000) % 10**12)
        self._lock = threading.Lock()

    def open(self, user: str, role: str | None) -> Session:
        session = Session(id=next(self._ids), user=user, role=role)
        with self._lock:
            self._issue(session)
            self._by_id[session.id] = session
        return session

    def _issue(self, session: Session) -> None:
        now = time.time()
        session.token = "ST-" + secrets.token_urlsafe(32)
        session.master_token = session.master_token or "MT-" + secrets.token_urlsafe(32)
        session.token_expires = now + self.session_validity
        if not session.master_expires:
            session.master_expires = now + self.master_validity
        self._by_token[session.token] = session
        self._by_master[session.master_token] = session

    def by_token(self, token: str | None) -> Session:
        """The live session for a session token, or 390112 (the connector then renews)."""
        if not token:
            raise TOKEN_MISSING
        session = self._by_token.get(token)
        if session is None or session.token_expires < time.time():
            raise SESSION_EXPIRED
        return session

    def by_id(self, session_id: int) -> Session | None:
        return self._by_id.get(session_id)

    def renew(self, master_token: str | None, old_session_token: str | None) -> Session:
        """RENEW/ISSUE: a new session token for the session the master token belongs to."""
        session = self._by_master.get(master_token or "")
        if session is None or session.master_expires < time.time():
            raise MASTER_EXPIRED
        with self._lock:
            self._by_token.pop(session.token, None)
            self._issue(session)
        return session

    def close(self, session: Session) -> None:
        with self._lock:
            self._by_token.pop(session.token, None)
            self._by_master.pop(session.master_token, None)
            self._by_id.pop(session.id, None)

    def expired(self) -> list[Session]:
        """Sessions whose master token has lapsed: nothing can revive them, so they can be closed."""
        now = time.time()
        with self._lock:
            return [s for s in self._by_id.values() if s.master_expires < now]

    def all(self) -> list[Session]:
        with self._lock:
            return list(self._by_id.values())


class OAuthIssuer:
    """Issues and checks OAuth access tokens (HS256 JWTs) bound to a user and optionally a role."""

    INVALID = SnowflakeError(390303, "08001", "Invalid OAuth access token. ")
    EXPIRED = SnowflakeError(390318, "08001", "OAuth access token expired. ")

    def __init__(self, key: bytes, account: str) -> None:
        self._key = key
        self._account = account

    def issue(self, user: str, role: str | None = None, ttl_seconds: int = 3600, caller: bool = False) -> str:
        """`caller`: a caller's-rights token (executeAsCaller), valid only joined behind a service's own token."""
        now = int(time.time())
        claims: dict[str, Any] = {"sub": user, "iss": "snowport", "aud": self._account, "iat": now}
        if caller:
            claims["use"] = "caller"
        claims["exp"] = now + ttl_seconds
        if role:
            claims["scp"] = f"session:role:{role}"
        return jwt.encode(claims, self._key, algorithm="HS256")

    def verify(self, token: str, allow_caller: bool = False) -> tuple[str, str | None]:
        try:
            claims = jwt.decode(token, self._key, algorithms=["HS256"], audience=self._account, issuer="snowport")
        except jwt.ExpiredSignatureError:
            raise self.EXPIRED from None
        except jwt.PyJWTError:
            raise self.INVALID from None
        if claims.get("use") == "caller" and not allow_caller:
            raise self.INVALID  # a caller token alone is not a login: only `<service token>.<caller token>` is
        scope = claims.get("scp") or ""
        role = scope.removeprefix("session:role:") if scope.startswith("session:role:") else None
        return str(claims["sub"]), role
