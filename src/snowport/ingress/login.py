"""Browser login for public endpoints (spcs-reference 6.3): a browser without a session is sent to a login
form served on the endpoint's own host (`/sfc-endpoint/login`), and after a good login it returns to the
page it asked for with a session cookie that belongs to that host alone (no Domain attribute, HttpOnly,
SameSite=Lax). `/sfc-endpoint/logout` ends the session.

Browser sessions live in memory (a restart asks for a new login); the cookie carries a random value and
only its hash is kept. Access is checked per request with the user's current default role.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote

from snowport.errors import SnowflakeError

LOGIN_PATH = "/sfc-endpoint/login"
LOGOUT_PATH = "/sfc-endpoint/logout"
COOKIE = "sfc-endpoint-session"
SESSION_SECONDS = 8 * 3600
MAX_FORM_BYTES = 16 * 1024


@dataclass
class BrowserSession:
    user: str
    host: str
    expires: float


class BrowserSessions:
    """Cookie value (hashed) -> the user it logged in, for one endpoint host."""

    def __init__(self) -> None:
        self._by_hash: dict[bytes, BrowserSession] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _hash(value: str) -> bytes:
        return hashlib.sha256(value.encode()).digest()

    def open(self, user: str, host: str) -> str:
        value = secrets.token_urlsafe(32)
        now = time.time()
        with self._lock:
            if len(self._by_hash) > 10000:
                self._by_hash = {k: s for k, s in self._by_hash.items() if s.expires > now}
            self._by_hash[self._hash(value)] = BrowserSession(user, host, now + SESSION_SECONDS)
        return value

    def user(self, value: str | None, host: str) -> str | None:
        """The session's user when the cookie is live and was issued for this host."""
        if not value:
            return None
        session = self._by_hash.get(self._hash(value))
        if session is None or session.host != host or session.expires < time.time():
            return None
        return session.user

    def close(self, value: str | None) -> None:
        if value:
            with self._lock:
                self._by_hash.pop(self._hash(value), None)


def cookie_value(headers: dict[str, str]) -> str | None:
    """Our session cookie from the Cookie header, if present."""
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return None


def without_our_cookie(cookie_header: str) -> str:
    """The Cookie header as the app may see it: the ingress session cookie removed."""
    kept = [p.strip() for p in cookie_header.split(";") if p.strip() and p.strip().partition("=")[0] != COOKIE]
    return "; ".join(kept)


def safe_next(target: str | None) -> str:
    """Where to return after login: a path on this host only (no open redirect to another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def login_redirect(path_and_query: str) -> str:
    return f"{LOGIN_PATH}?next={quote(path_and_query, safe='')}"


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Sign in to Snowport</title>
<style>body{{font-family:sans-serif;max-width:22em;margin:4em auto}}label,input,button{{display:block;width:100%;
margin:.4em 0}}.error{{color:#b00}}</style></head>
<body><h1>Sign in</h1><p>to reach this service endpoint of account {account}.</p>{error}
<form method="post" action="{action}">
<label>User <input name="user" id="user" autocomplete="username" autofocus></label>
<label>Password <input name="password" id="password" type="password" autocomplete="current-password"></label>
<button type="submit" id="login">Sign in</button></form></body></html>
"""


def login_page(account: str, next_path: str, error: str | None = None) -> bytes:
    action = html.escape(login_redirect(next_path))
    shown = f'<p class="error">{html.escape(error)}</p>' if error else ""
    return _PAGE.format(account=html.escape(account), action=action, error=shown).encode()


LOGGED_OUT = (b"<!doctype html><html><head><meta charset=\"utf-8\"><title>Signed out</title></head>"
              b"<body><h1>Signed out</h1><p><a href=\"/\">Sign in again</a></p></body></html>")


async def check_form(core: Any, body: bytes) -> tuple[str | None, str | None]:
    """(user, None) for good credentials in a posted form, else (None, Snowflake's login error text)."""
    form = parse_qs(body.decode("utf-8", "replace"))
    login = (form.get("user") or [""])[0].strip()
    password = (form.get("password") or [""])[0]
    if not login or not password:
        return None, "Enter a user name and a password."
    try:
        user, _role = await asyncio.to_thread(core.authenticate, login, password, None)
    except SnowflakeError as e:
        return None, e.message
    return user, None


def session_cookie(value: str) -> str:
    return f"{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={SESSION_SECONDS}"


def expired_cookie() -> str:
    return f"{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
