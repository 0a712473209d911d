"""Who is calling an endpoint: a token from `Authorization: Snowflake Token="<t>"` turned into a user and
the role ingress checks access with (spcs-reference 6.3).

`identify` is the one place tokens are interpreted, so every token kind the server accepts for ingress
(session tokens, OAuth access tokens, and later PATs and /oauth/token tokens) is added here and nowhere
else. Tokens are never logged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from snowport.errors import SnowflakeError

# `Snowflake Token="<t>"`, or unquoted (D-TRBL contradicts the examples; both are accepted)
_SNOWFLAKE_TOKEN = re.compile(r'^\s*Snowflake\s+Token\s*=\s*(?:"([^"]*)"|(\S+))\s*$', re.IGNORECASE)


@dataclass(frozen=True)
class Caller:
    user: str
    role: str  # the role whose closure the access check uses
    token: str | None = None  # the programmatic token it came with (never logged)


def snowflake_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Snowflake Token=...` header, else None (other schemes pass through)."""
    if not authorization:
        return None
    match = _SNOWFLAKE_TOKEN.match(authorization)
    if match is None:
        return None
    return match.group(1) if match.group(1) is not None else match.group(2)


def is_snowflake_authorization(authorization: str) -> bool:
    return authorization.strip().lower().startswith("snowflake ")


def default_role(core: Any, user: str) -> str:
    """The user's default role when it is (still) granted to the user, else PUBLIC (the browser flow's role)."""
    obj = core.catalog.get("USER", user)
    role = obj.props.get("default_role") if obj is not None else None
    if role and core.catalog.get("ROLE", role) is not None and core.auth.user_has_role(user, role):
        return str(role)
    return "PUBLIC"


def active_user(core: Any, user: str) -> bool:
    obj = core.catalog.get("USER", user)
    return obj is not None and not obj.props.get("disabled")


def identify(core: Any, token: str) -> Caller | None:
    """The caller a token stands for, or None when it is not (or no longer) valid: a session token from a
    connector login (the session's role), or an OAuth access token (its scoped role, else the user's
    default role)."""
    if not token:
        return None
    try:
        session = core.sessions.by_token(token)
    except SnowflakeError:
        session = None
    if session is not None:
        if not active_user(core, session.user):
            return None
        return Caller(session.user, session.role or "PUBLIC", token)
    try:
        user, role = core.oauth.verify(token)
    except SnowflakeError:
        return None
    if not active_user(core, user):
        return None
    if role is None or not core.auth.user_has_role(user, role):
        role = default_role(core, user) if role is None else None
    if role is None:
        return None  # scoped to a role the user no longer has
    return Caller(user, role, token)


def roles_of(core: Any, caller: Caller) -> frozenset[str]:
    """The roles the access check may use: the caller's role and everything it inherits."""
    return core.auth.closure(caller.role)
