"""Who is calling an endpoint: a token from `Authorization: Snowflake Token="<t>"` turned into a user and
the role ingress checks access with (spcs-reference 6.3).

`identify` is where ingress asks the server's one token interpreter (`Snowport.identify_token`), so every
token kind the connector's logins accept is accepted here too. Tokens are never logged.
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
    """The caller a token stands for, or None when it is not (or no longer) valid. Every token kind the
    server accepts is interpreted by `core.identify_token` (security/identity.py): a connector session
    token (the session's role), a programmatic access token (its ROLE_RESTRICTION), an OAuth token,
    including /oauth/token's (its scoped role); without a role, the user's default role applies."""
    if not token:
        return None
    try:
        user, role = core.identify_token(token)  # refuses disabled and dropped users too
    except SnowflakeError:
        return None
    if role is None:
        role = default_role(core, user)
    elif role != "PUBLIC" and not core.auth.user_has_role(user, role):
        return None  # scoped to a role the user no longer has
    return Caller(user, role, token)


def roles_of(core: Any, caller: Caller) -> frozenset[str]:
    """The roles the access check may use: the caller's role and everything it inherits."""
    return core.auth.closure(caller.role)
