"""Programmatic access tokens: ALTER USER ... ADD | REMOVE | ROTATE | MODIFY PROGRAMMATIC ACCESS TOKEN,
SHOW USER PROGRAMMATIC ACCESS TOKENS.

A token lives in its user's `pats` property (a list of records); only the HMAC of its secret is kept
(security/credentials.py). The secret is in the answer of ADD and ROTATE and nowhere else. A user
manages its own tokens; another user's need OWNERSHIP or MODIFY PROGRAMMATIC AUTHENTICATION METHODS on
that user (the matrix rows ALTER USER ... PROGRAMMATIC ACCESS TOKEN and SHOW USER PROGRAMMATIC ACCESS
TOKENS).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from snowport import errors
from snowport.catalog.store import CatalogObject
from snowport.commands import lifecycle, properties
from snowport.commands.columns import Col, Rows, columns, ts
from snowport.commands.context import Ctx
from snowport.commands.kinds import USER
from snowport.commands.lifecycle import Name
from snowport.names import normalize
from snowport.security import credentials

MAX_TOKENS = 15  # Snowflake's limit of tokens per user
ROTATED_GRACE_HOURS = 24  # EXPIRE_ROTATED_TOKEN_AFTER_HOURS default
ADD_OPTIONS = ("ROLE_RESTRICTION", "DAYS_TO_EXPIRY", "MINS_TO_BYPASS_NETWORK_POLICY_REQUIREMENT", "COMMENT")
MODIFY_OPTIONS = ("DISABLED", "MINS_TO_BYPASS_NETWORK_POLICY_REQUIREMENT", "COMMENT")
KIND = "Programmatic access token"


def _pat_keys(ctx: Ctx) -> credentials.PatKeys:
    return ctx.core.pat_keys  # type: ignore[attr-defined]


def _not_in_pat_session(ctx: Ctx, verb: str) -> None:
    """Snowflake refuses to make or change tokens in a session a token opened (a leaked token must not
    breed more)."""
    if ctx.session.authn == "PROGRAMMATIC_ACCESS_TOKEN":
        raise errors.SnowflakeError(
            3001, "42501", f"SQL access control error:\nCannot {verb} a programmatic access token in a session "
            "authenticated with a programmatic access token.")


def _change_tokens(ctx: Ctx, user_name: str | None, if_exists: bool, command: str,
                   change: Callable[[CatalogObject, list[dict[str, Any]]], list[dict[str, Any]]]) -> bool:
    """Apply `change` to the user's token list in one catalog transaction; False if IF EXISTS skipped it."""
    name = user_name or ctx.session.user
    is_self = name == ctx.session.user

    def apply(user: CatalogObject) -> CatalogObject:
        tokens = [dict(t) for t in user.props.get("pats") or []]
        return user.with_props(pats=change(user, tokens))

    done = lifecycle.alter(ctx, USER, Name(name), command, apply, if_exists, allowed=lambda _u: is_self)
    return done is not None


def _find(tokens: list[dict[str, Any]], name: str) -> dict[str, Any]:
    for token in tokens:
        if token["name"] == name:
            return token
    raise errors.does_not_exist(KIND, name)


def _days(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= credentials.MAX_DAYS:
        raise errors.invalid_value(f"invalid value [{value}] for parameter 'DAYS_TO_EXPIRY'")
    return value


def _minutes(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1440:
        raise errors.invalid_value(f"invalid value [{value}] for parameter 'MINS_TO_BYPASS_NETWORK_POLICY_REQUIREMENT'")
    return value


def _comment(value: Any) -> str:
    if not isinstance(value, str):
        raise errors.invalid_value(f"invalid value [{value}] for parameter 'COMMENT'")
    return value


SECRET_COLUMNS = columns(Col("token_name", value=lambda r: r[0]), Col("token_secret", value=lambda r: r[1]))
ROTATE_COLUMNS = columns(Col("token_name", value=lambda r: r[0]), Col("token_secret", value=lambda r: r[1]),
                         Col("rotated_token_name", value=lambda r: r[2]))


def add(ctx: Ctx, user_name: str | None, token_name: str, options: dict[str, Any], if_exists: bool = False,
        if_not_exists: bool = False) -> Rows | str:
    """ADD: a new token; its secret is in the answer, once."""
    _not_in_pat_session(ctx, "add")
    properties.only(options, ADD_OPTIONS, "PROGRAMMATIC ACCESS TOKEN")
    days = _days(options.get("DAYS_TO_EXPIRY", credentials.DEFAULT_DAYS))
    minutes = _minutes(options.get("MINS_TO_BYPASS_NETWORK_POLICY_REQUIREMENT", 0))
    comment = _comment(options["COMMENT"]) if "COMMENT" in options else None
    role_value = options.get("ROLE_RESTRICTION")
    if role_value is not None and not isinstance(role_value, str):
        raise errors.invalid_value(f"invalid value [{role_value}] for parameter 'ROLE_RESTRICTION'")
    secret = credentials.PatKeys.new_secret()
    skipped = False

    def change(user: CatalogObject, tokens: list[dict[str, Any]]) -> list[dict[str, Any]]:
        nonlocal skipped
        if any(t["name"] == token_name for t in tokens):
            if if_not_exists:
                skipped = True
                return tokens
            raise errors.already_exists(KIND, token_name)
        role = normalize(role_value) if role_value else None
        if role is None and str(user.props.get("type") or "").upper() == "SERVICE":
            raise errors.invalid_value("ROLE_RESTRICTION must be specified for a programmatic access token of a "
                                       "user with TYPE = SERVICE.")
        if role is not None and (ctx.catalog.get("ROLE", role) is None
                                 or not ctx.auth.user_has_role(user.name, role)):
            raise errors.invalid_value(f"Role '{role}' specified in ROLE_RESTRICTION is not granted to user "
                                       f"'{user.name}'.")
        live = [t for t in tokens if credentials.pat_status(t, user) != "EXPIRED"]
        if len(live) >= MAX_TOKENS:
            raise errors.invalid_value(f"User '{user.name}' already has the maximum number of programmatic "
                                       f"access tokens ({MAX_TOKENS}).")
        now = time.time()
        tokens.append({"name": token_name, "hash": _pat_keys(ctx).digest(secret), "role_restriction": role,
                       "days_to_expiry": days, "expires_at": now + days * 86400, "created_on": now,
                       "created_by": ctx.session.user, "comment": comment, "mins_to_bypass": minutes,
                       "disabled": False, "rotated_to": None})
        return tokens

    if not _change_tokens(ctx, user_name, if_exists, "ALTER USER ADD PROGRAMMATIC ACCESS TOKEN", change):
        return lifecycle.SUCCESS
    if skipped:
        return Rows(SECRET_COLUMNS, [])
    return Rows(SECRET_COLUMNS, [(token_name, secret)])


def remove(ctx: Ctx, user_name: str | None, token_name: str, if_exists: bool = False,
           token_if_exists: bool = False) -> str:
    """REMOVE: the token stops working at once."""
    def change(_user: CatalogObject, tokens: list[dict[str, Any]]) -> list[dict[str, Any]]:
        kept = [t for t in tokens if t["name"] != token_name]
        if len(kept) == len(tokens) and not token_if_exists:
            raise errors.does_not_exist(KIND, token_name)
        return kept

    _change_tokens(ctx, user_name, if_exists, "ALTER USER REMOVE PROGRAMMATIC ACCESS TOKEN", change)
    return lifecycle.SUCCESS


def rotate(ctx: Ctx, user_name: str | None, token_name: str, options: dict[str, Any], if_exists: bool = False,
           token_if_exists: bool = False) -> Rows | str:
    """ROTATE: a new secret under the same name and DAYS_TO_EXPIRY; the old secret lives on as
    `<name>_ROTATED_<epoch ms>` for EXPIRE_ROTATED_TOKEN_AFTER_HOURS (default 24; 0 ends it now)."""
    _not_in_pat_session(ctx, "rotate")
    properties.only(options, ("EXPIRE_ROTATED_TOKEN_AFTER_HOURS",), "PROGRAMMATIC ACCESS TOKEN")
    hours = options.get("EXPIRE_ROTATED_TOKEN_AFTER_HOURS", ROTATED_GRACE_HOURS)
    if isinstance(hours, bool) or not isinstance(hours, int) or hours < 0:
        raise errors.invalid_value(f"invalid value [{hours}] for parameter 'EXPIRE_ROTATED_TOKEN_AFTER_HOURS'")
    secret = credentials.PatKeys.new_secret()
    rotated_name = ""
    found = True

    def change(user: CatalogObject, tokens: list[dict[str, Any]]) -> list[dict[str, Any]]:
        nonlocal rotated_name, found
        if not any(t["name"] == token_name for t in tokens) and token_if_exists:
            found = False
            return tokens
        current = _find(tokens, token_name)
        now = time.time()
        if credentials.pat_status(current, user, now) == "EXPIRED":
            raise errors.invalid_value(f"{KIND} '{token_name}' has expired and cannot be rotated.")
        remaining = float(current["expires_at"]) - now
        if hours * 3600 > remaining:
            raise errors.invalid_value(f"invalid value [{hours}] for parameter 'EXPIRE_ROTATED_TOKEN_AFTER_HOURS'")
        rotated_name = f"{token_name}_ROTATED_{int(now * 1000)}"
        old = dict(current, name=rotated_name, expires_at=now + hours * 3600, rotated_to=token_name)
        current.update(hash=_pat_keys(ctx).digest(secret), expires_at=now + int(current["days_to_expiry"]) * 86400,
                       created_on=now, created_by=ctx.session.user, rotated_to=None)
        return [*tokens, old]

    if not _change_tokens(ctx, user_name, if_exists, "ALTER USER ROTATE PROGRAMMATIC ACCESS TOKEN", change) \
            or not found:
        return lifecycle.SUCCESS
    return Rows(ROTATE_COLUMNS, [(token_name, secret, rotated_name)])


def modify(ctx: Ctx, user_name: str | None, token_name: str, values: dict[str, Any] | None = None,
           unset: list[str] | None = None, new_name: str | None = None, if_exists: bool = False) -> str:
    """MODIFY: RENAME TO, SET / UNSET DISABLED, MINS_TO_BYPASS_NETWORK_POLICY_REQUIREMENT, COMMENT."""
    _not_in_pat_session(ctx, "modify")
    properties.only(values or {}, MODIFY_OPTIONS, "PROGRAMMATIC ACCESS TOKEN")
    properties.only(dict.fromkeys(unset or []), MODIFY_OPTIONS, "PROGRAMMATIC ACCESS TOKEN")
    changes: dict[str, Any] = {}
    for key, value in (values or {}).items():
        if key == "DISABLED":
            changes["disabled"] = properties.boolean(value, "DISABLED")
        elif key == "COMMENT":
            changes["comment"] = _comment(value)
        else:
            changes["mins_to_bypass"] = _minutes(value)
    for key in unset or []:
        changes[{"DISABLED": "disabled", "COMMENT": "comment"}.get(key, "mins_to_bypass")] = \
            {"DISABLED": False, "COMMENT": None}.get(key, 0)

    def change(_user: CatalogObject, tokens: list[dict[str, Any]]) -> list[dict[str, Any]]:
        token = _find(tokens, token_name)
        if new_name is not None:
            if any(t["name"] == new_name for t in tokens):
                raise errors.already_exists(KIND, new_name)
            token["name"] = new_name
        token.update(changes)
        return tokens

    _change_tokens(ctx, user_name, if_exists, "ALTER USER MODIFY PROGRAMMATIC ACCESS TOKEN", change)
    return lifecycle.SUCCESS


SHOW_COLUMNS = columns(
    Col("name", value=lambda r: r[1]["name"]),
    Col("user_name", value=lambda r: r[0].name),
    Col("role_restriction", value=lambda r: r[1].get("role_restriction")),
    Col("expires_at", "timestamp_ltz", lambda r: ts(r[1]["expires_at"])),
    Col("status", value=lambda r: credentials.pat_status(r[1], r[0])),
    Col("comment", value=lambda r: r[1].get("comment")),
    Col("created_on", "timestamp_ltz", lambda r: ts(r[1]["created_on"])),
    Col("created_by", value=lambda r: r[1].get("created_by")),
    Col("mins_to_bypass_network_policy_requirement", "fixed", lambda r: r[1].get("mins_to_bypass", 0)),
    Col("rotated_to", value=lambda r: r[1].get("rotated_to")),
)
SHOWN_AFTER_EXPIRY = 30 * 86400  # expired tokens stay listed for 30 days


def show(ctx: Ctx, user_name: str | None) -> Rows:
    """SHOW USER PROGRAMMATIC ACCESS TOKENS [FOR USER u]: the user's tokens, expired ones for 30 days."""
    name = user_name or ctx.session.user
    user = lifecycle.existing(ctx, USER, Name(name))
    if name != ctx.session.user:
        ctx.require("SHOW USER PROGRAMMATIC ACCESS TOKENS", user, name)
    now = time.time()
    tokens = [t for t in user.props.get("pats") or [] if float(t["expires_at"]) > now - SHOWN_AFTER_EXPIRY]
    return Rows(SHOW_COLUMNS, [(user, t) for t in sorted(tokens, key=lambda t: t["created_on"])])
