"""The credentials programs log in with besides passwords: programmatic access tokens and key pairs.

Programmatic access tokens (PATs) are random, high-entropy secrets shown once (by ALTER USER ... ADD
or ROTATE PROGRAMMATIC ACCESS TOKEN). Only an HMAC-SHA256 of each, keyed with a per-data-dir key, is
stored (in the user's `pats` property), so a copy of the catalog cannot be used to log in; a slow
password hash is not needed because the secret is not guessable.

Key pairs: the user's RSA_PUBLIC_KEY / RSA_PUBLIC_KEY_2 (PEM body, as Snowflake takes it) and its
fingerprint `SHA256:<base64 of the DER public key's SHA-256>`; a client proves the private key with a
short-lived JWT whose `iss` is `<ACCOUNT>.<USER>.SHA256:<fp>` and `sub` `<ACCOUNT>.<USER>` (what the
connector's SNOWFLAKE_JWT authenticator and the /oauth/token exchange send).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_der_public_key

from snowport import errors
from snowport.catalog.store import Catalog, CatalogObject
from snowport.errors import SnowflakeError

# Snowflake's login refusals for these credentials.
# (an unknown, removed or wrong secret looks like a wrong password; which tokens exist is not told)
PAT_INVALID = SnowflakeError(390100, "28000", "Incorrect username or password was specified.")
PAT_EXPIRED = SnowflakeError(390100, "28000", "Programmatic access token is expired or disabled.")
JWT_INVALID = SnowflakeError(390144, "08004", "JWT token is invalid.")
USER_DISABLED = SnowflakeError(390101, "28000", "User access disabled. Contact your local system administrator.")
CLOCK_SKEW_SECONDS = 60  # Snowflake accepts a JWT whose iat/exp is off by up to a minute
JWT_MAX_LIFETIME = 3600  # a key-pair JWT is valid for at most an hour
JWT_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"]
DEFAULT_DAYS = 15
MAX_DAYS = 365


@dataclass(frozen=True)
class PatMatch:
    user: CatalogObject
    token: dict[str, Any]


class PatKeys:
    """Makes PAT secrets and their stored hashes, and finds the token a secret belongs to."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._hint: dict[str, int] = {}  # hash -> user id, found earlier (checked again each time)

    @staticmethod
    def new_secret() -> str:
        """A fresh secret: 384 random bits, URL-safe, without dots (so it never looks like a JWT)."""
        return secrets.token_urlsafe(48)

    def digest(self, secret: str) -> str:
        return hmac.new(self._key, secret.encode(), hashlib.sha256).hexdigest()

    def find(self, catalog: Catalog, secret: str) -> PatMatch | None:
        """The user and token record the secret is the current secret of, or None."""
        if not secret or "." in secret or len(secret) > 200:
            return None
        wanted = self.digest(secret)
        hinted = self._hint.get(wanted)
        users = [catalog.by_id(hinted)] if hinted is not None else []
        for user in [u for u in users if u is not None] + catalog.list("USER"):
            for token in user.props.get("pats") or []:
                if hmac.compare_digest(str(token.get("hash", "")), wanted):
                    if len(self._hint) > 10000:
                        self._hint.clear()
                    self._hint[wanted] = user.id
                    return PatMatch(user, token)
        return None


def pat_status(token: dict[str, Any], user: CatalogObject, now: float | None = None) -> str:
    """ACTIVE, EXPIRED or DISABLED, as SHOW USER PROGRAMMATIC ACCESS TOKENS prints it."""
    now = time.time() if now is None else now
    if float(token.get("expires_at", 0)) <= now:
        return "EXPIRED"
    if token.get("disabled") or user.props.get("disabled"):
        return "DISABLED"
    return "ACTIVE"


# ---- key pairs -----------------------------------------------------------------------------------
def public_key_der(value: str, field: str) -> bytes:
    """The DER bytes of a public key given as Snowflake takes it: the PEM body (headers and line
    breaks allowed), RSA or EC. A value that is not a public key is refused naming the property."""
    body = "".join(line for line in str(value).strip().splitlines() if not line.startswith("-----"))
    body = "".join(body.split())
    try:
        der = base64.b64decode(body, validate=True)
        key = load_der_public_key(der)
    except (ValueError, TypeError):
        raise errors.invalid_value(f"Invalid public key value for property '{field}'.") from None
    if not isinstance(key, (RSAPublicKey, EllipticCurvePublicKey)):
        raise errors.invalid_value(f"Invalid public key value for property '{field}'.")
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def stored_public_key(value: str, field: str) -> str:
    """What the catalog keeps of a public key: the base64 DER body, checked to be a key."""
    return base64.b64encode(public_key_der(value, field)).decode()


def stored_fingerprint(stored: str | None) -> str | None:
    return fingerprint(base64.b64decode(stored)) if stored else None


def fingerprint(der: bytes) -> str:
    """`SHA256:<base64>`: how the connector and DESC USER (RSA_PUBLIC_KEY_FP) name a key."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode()


def _pem(der: bytes) -> bytes:
    body = base64.b64encode(der).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return ("-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n").encode()


def verify_key_pair_jwt(catalog: Catalog, account: str, token: str, login_name: str = "") -> CatalogObject:
    """The user a key-pair JWT proves to be, or JWT_INVALID.

    The claims name the account and user (`iss` = ACCOUNT.USER.SHA256:fp, `sub` = ACCOUNT.USER); the
    fingerprint picks RSA_PUBLIC_KEY or RSA_PUBLIC_KEY_2 and the signature must verify with that key.
    `iat` may lie up to a minute in the future and `exp` may have passed up to a minute ago."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise JWT_INVALID from None
    iss, sub = str(claims.get("iss", "")), str(claims.get("sub", ""))
    head, sep, fp = iss.partition(".SHA256:")
    if not sep or head.upper() != sub.upper():
        raise JWT_INVALID
    acct, dot, user_part = sub.partition(".")
    if not dot or acct.upper() != account.upper():
        raise JWT_INVALID
    if login_name and login_name.upper() != user_part.upper():
        raise JWT_INVALID
    user = _user_by_login(catalog, user_part)
    if user is None:
        raise JWT_INVALID
    der = None
    for prop in ("rsa_public_key", "rsa_public_key_2"):
        stored = user.props.get(prop)
        if stored and fingerprint(base64.b64decode(stored)) == "SHA256:" + fp:
            der = base64.b64decode(stored)
    if der is None:
        raise JWT_INVALID
    try:
        verified = jwt.decode(token, _pem(der), algorithms=JWT_ALGORITHMS, leeway=CLOCK_SKEW_SECONDS,
                              options={"require": ["iat", "exp"]})
    except jwt.PyJWTError:
        raise JWT_INVALID from None
    now = time.time()
    if float(verified["iat"]) > now + CLOCK_SKEW_SECONDS or float(verified["exp"]) - float(verified["iat"]) > \
            JWT_MAX_LIFETIME:
        raise JWT_INVALID
    if user.props.get("disabled"):
        raise USER_DISABLED
    return user


def _user_by_login(catalog: Catalog, login: str) -> CatalogObject | None:
    wanted = login.upper()
    for user in catalog.list("USER"):
        if str(user.props.get("login_name", user.name)).upper() == wanted or user.name.upper() == wanted:
            return user
    return None
