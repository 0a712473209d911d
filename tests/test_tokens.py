"""The token kinds programs use: programmatic access tokens, key-pair JWT logins, the /oauth/token
exchange, the caller's-rights dot-joined login, and `Snowport.identify_token` over all of them.

Logins go through the real connector (PROGRAMMATIC_ACCESS_TOKEN, a PAT as the password, SNOWFLAKE_JWT
with a generated key, oauth); /oauth/token through httpx; identify_token on a real core object.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from snowflake.connector import DictCursor
from snowflake.connector.errors import DatabaseError, ProgrammingError

from conftest import SNOWPORT, Server, start_server

ACCOUNT = "SNOWPORT"
PAT_SHOW_COLUMNS = ["name", "user_name", "role_restriction", "expires_at", "status", "comment", "created_on",
                    "created_by", "mins_to_bypass_network_policy_requirement", "rotated_to"]


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(tmp_path_factory.mktemp("tokens") / "data")
    admin = server.connect()
    cur = admin.cursor()
    for sql in ("CREATE ROLE TOK_R", "CREATE ROLE TOK_OTHER", "CREATE ROLE TOK_GONE",
                "CREATE USER TOK_U PASSWORD = 'tok-pw' DEFAULT_ROLE = TOK_OTHER",
                "GRANT ROLE TOK_R TO USER TOK_U", "GRANT ROLE TOK_OTHER TO USER TOK_U",
                "GRANT ROLE TOK_GONE TO USER TOK_U",
                "CREATE USER TOK_V PASSWORD = 'tok-pw-v'", "CREATE USER TOK_SVC PASSWORD = 'svc-pw' TYPE = SERVICE"):
        cur.execute(sql)
    admin.close()
    yield server
    server.stop()


def _rows(conn, sql: str) -> list[dict]:
    return conn.cursor(DictCursor).execute(sql).fetchall()


def _who(conn) -> tuple[str, str]:
    row = conn.cursor().execute("SELECT CURRENT_USER(), CURRENT_ROLE()").fetchone()
    return row[0], row[1]


def _refused(connect, errno: int) -> str:
    with pytest.raises(DatabaseError) as info:
        connect().close()
    assert info.value.errno == errno, (info.value.errno, info.value.msg)
    return info.value.msg


def _pat_login(srv: Server, token: str, **kwargs):
    return srv.connect(user=kwargs.pop("user", ""), password="", authenticator="PROGRAMMATIC_ACCESS_TOKEN",
                       token=token, **kwargs)


# ---- programmatic access tokens ----------------------------------------------------------------------
def test_pat_add_show_and_login_with_the_restricted_role(srv: Server):
    user = srv.connect(user="TOK_U", password="tok-pw")
    added = _rows(user, "ALTER USER ADD PROGRAMMATIC ACCESS TOKEN T1 ROLE_RESTRICTION = 'TOK_R' "
                        "DAYS_TO_EXPIRY = 2 COMMENT = 'for a job'")
    assert [list(r) for r in added] == [["token_name", "token_secret"]]
    assert added[0]["token_name"] == "T1"
    secret = added[0]["token_secret"]
    assert len(secret) >= 40

    cur = user.cursor()
    cur.execute("SHOW USER PROGRAMMATIC ACCESS TOKENS")
    assert [d.name for d in cur.description] == PAT_SHOW_COLUMNS
    shown = _rows(user, "SHOW USER PATS")
    assert len(shown) == 1
    row = shown[0]
    assert (row["name"], row["user_name"], row["role_restriction"], row["status"], row["comment"],
            row["created_by"]) == ("T1", "TOK_U", "TOK_R", "ACTIVE", "for a job", "TOK_U")
    expires = row["expires_at"].timestamp()
    assert abs(expires - (time.time() + 2 * 86400)) < 120
    assert secret not in repr(shown)

    # the connector's PAT authenticator, without and with the user name: the restriction role only
    for kwargs in ({}, {"user": "tok_u"}):
        conn = _pat_login(srv, secret, **kwargs)
        assert _who(conn) == ("TOK_U", "TOK_R")
        with pytest.raises(ProgrammingError) as info:
            conn.cursor().execute("USE ROLE TOK_OTHER")
        assert info.value.errno == 3013
        # a token cannot make, rotate or change tokens
        with pytest.raises(ProgrammingError) as info:
            conn.cursor().execute("ALTER USER ADD PAT T_FROM_PAT")
        assert info.value.errno == 3001 and "programmatic access token" in info.value.msg
        conn.close()
    # a PAT given as the password logs in the same way
    conn = srv.connect(user="TOK_U", password=secret)
    assert _who(conn) == ("TOK_U", "TOK_R")
    conn.close()
    # asking for another role than the restriction is refused
    _refused(lambda: _pat_login(srv, secret, role="TOK_OTHER"), 390189)
    # another user's name with this token, a wrong token, a token as another user's password: refused
    _refused(lambda: _pat_login(srv, secret, user="TOK_V"), 390100)
    _refused(lambda: _pat_login(srv, secret[:-2] + "xx"), 390100)
    _refused(lambda: srv.connect(user="TOK_V", password=secret), 390100)
    # the password still works, with the user's default role and secondary roles as usual
    assert _who(user) == ("TOK_U", "TOK_OTHER")
    user.close()


def test_pat_without_restriction_uses_the_default_role(srv: Server):
    user = srv.connect(user="TOK_U", password="tok-pw")
    secret = _rows(user, "ALTER USER TOK_U ADD PAT T_FREE")[0]["token_secret"]
    row = [r for r in _rows(user, "SHOW USER PATS FOR USER TOK_U") if r["name"] == "T_FREE"][0]
    assert row["role_restriction"] is None
    assert abs(row["expires_at"].timestamp() - (time.time() + 15 * 86400)) < 120  # DAYS_TO_EXPIRY default 15
    conn = _pat_login(srv, secret)
    assert _who(conn) == ("TOK_U", "TOK_OTHER")
    conn.cursor().execute("USE ROLE TOK_R")
    conn.close()
    user.cursor().execute("ALTER USER REMOVE PAT T_FREE")
    user.close()


def test_pat_rotate_remove_disable_and_expiry(srv: Server):
    user = srv.connect(user="TOK_U", password="tok-pw")
    first = _rows(user, "ALTER USER ADD PAT T2 ROLE_RESTRICTION = 'TOK_R'")[0]["token_secret"]

    # ROTATE: a new secret under the same name; by default the old one lives on for 24 hours
    rotated = _rows(user, "ALTER USER ROTATE PROGRAMMATIC ACCESS TOKEN T2")
    assert list(rotated[0]) == ["token_name", "token_secret", "rotated_token_name"]
    second = rotated[0]["token_secret"]
    assert rotated[0]["token_name"] == "T2" and second != first
    assert rotated[0]["rotated_token_name"].startswith("T2_ROTATED_")
    for secret in (first, second):
        conn = _pat_login(srv, secret)
        assert _who(conn) == ("TOK_U", "TOK_R")
        conn.close()
    old = {r["name"]: r for r in _rows(user, "SHOW USER PATS")}[rotated[0]["rotated_token_name"]]
    assert old["rotated_to"] == "T2" and old["status"] == "ACTIVE"
    assert abs(old["expires_at"].timestamp() - (time.time() + 24 * 3600)) < 120

    # EXPIRE_ROTATED_TOKEN_AFTER_HOURS = 0 ends the old secret at once (it shows EXPIRED, and is refused)
    third = _rows(user, "ALTER USER ROTATE PAT T2 EXPIRE_ROTATED_TOKEN_AFTER_HOURS = 0")[0]
    msg = _refused(lambda: _pat_login(srv, second), 390100)
    assert "expired" in msg
    by_name = {r["name"]: r for r in _rows(user, "SHOW USER PATS")}
    assert by_name[third["rotated_token_name"]]["status"] == "EXPIRED"
    conn = _pat_login(srv, third["token_secret"])
    conn.close()

    # MODIFY: disabled tokens are refused until enabled again; RENAME keeps the secret
    user.cursor().execute("ALTER USER MODIFY PAT T2 SET DISABLED = TRUE COMMENT = 'paused'")
    row = {r["name"]: r for r in _rows(user, "SHOW USER PATS")}["T2"]
    assert (row["status"], row["comment"]) == ("DISABLED", "paused")
    _refused(lambda: _pat_login(srv, third["token_secret"]), 390100)
    user.cursor().execute("ALTER USER MODIFY PROGRAMMATIC ACCESS TOKEN T2 UNSET DISABLED")
    user.cursor().execute("ALTER USER MODIFY PAT T2 RENAME TO T2_NEW")
    conn = _pat_login(srv, third["token_secret"])
    conn.close()

    # REMOVE: refused from then on
    user.cursor().execute("ALTER USER REMOVE PROGRAMMATIC ACCESS TOKEN T2_NEW")
    _refused(lambda: _pat_login(srv, third["token_secret"]), 390100)
    assert "T2_NEW" not in {r["name"] for r in _rows(user, "SHOW USER PATS")}
    user.cursor().execute("ALTER USER REMOVE PAT IF EXISTS T2_NEW")
    user.close()


def test_pat_bad_input_changes_nothing(srv: Server):
    user = srv.connect(user="TOK_U", password="tok-pw")
    before = _rows(user, "SHOW USER PATS")
    cases = [
        ("ALTER USER ADD PAT T_BAD ROLE_RESTRICTION = 'NO_SUCH_ROLE'", 2025, "NO_SUCH_ROLE"),
        ("ALTER USER ADD PAT T_BAD ROLE_RESTRICTION = 'ACCOUNTADMIN'", 2025, "ACCOUNTADMIN"),
        ("ALTER USER ADD PAT T_BAD DAYS_TO_EXPIRY = 0", 2025, "DAYS_TO_EXPIRY"),
        ("ALTER USER ADD PAT T_BAD DAYS_TO_EXPIRY = 400", 2025, "DAYS_TO_EXPIRY"),
        ("ALTER USER ADD PAT T_BAD COLOUR = 'red'", 2025, "COLOUR"),
        ("ALTER USER ROTATE PAT NOPE", 2003, "NOPE"),
        ("ALTER USER REMOVE PAT NOPE", 2003, "NOPE"),
        ("ALTER USER MODIFY PAT NOPE SET COMMENT = 'x'", 2003, "NOPE"),
        ("ALTER USER NO_SUCH_USER ADD PAT T_BAD", 2003, "NO_SUCH_USER"),
        ("SHOW USER PATS FOR USER TOK_V", 3001, "TOK_V"),
        ("ALTER USER TOK_V ADD PAT T_BAD", 3001, "TOK_V"),
    ]
    for sql, errno, named in cases:
        with pytest.raises(ProgrammingError) as info:
            user.cursor().execute(sql)
        assert info.value.errno == errno and named in info.value.msg, (sql, info.value.errno, info.value.msg)
    assert _rows(user, "SHOW USER PATS") == before
    user.cursor().execute("ALTER USER IF EXISTS NO_SUCH_USER ADD PAT T_BAD")  # IF EXISTS: nothing, no error
    _rows(user, "ALTER USER ADD PAT T_DUP")
    with pytest.raises(ProgrammingError) as info:
        user.cursor().execute("ALTER USER ADD PAT T_DUP")
    assert info.value.errno == 2002
    assert _rows(user, "ALTER USER ADD PAT IF NOT EXISTS T_DUP") == []  # no new secret
    user.cursor().execute("ALTER USER REMOVE PAT T_DUP")
    user.close()
    # a service user's token must name its role
    admin = srv.connect()
    with pytest.raises(ProgrammingError) as info:
        admin.cursor().execute("ALTER USER TOK_SVC ADD PAT T_SVC")
    assert "ROLE_RESTRICTION" in info.value.msg
    admin.close()


def test_revoked_restriction_role_ends_the_token(srv: Server):
    user = srv.connect(user="TOK_U", password="tok-pw")
    secret = _rows(user, "ALTER USER ADD PAT T_GONE ROLE_RESTRICTION = 'TOK_GONE'")[0]["token_secret"]
    conn = _pat_login(srv, secret)
    assert _who(conn) == ("TOK_U", "TOK_GONE")
    conn.close()
    admin = srv.connect()
    admin.cursor().execute("REVOKE ROLE TOK_GONE FROM USER TOK_U")
    _refused(lambda: _pat_login(srv, secret), 390100)
    admin.cursor().execute("GRANT ROLE TOK_GONE TO USER TOK_U")
    conn = _pat_login(srv, secret)
    conn.close()
    admin.close()
    user.close()


def test_admin_manages_another_users_tokens(srv: Server):
    admin = srv.connect()
    secret = _rows(admin, "ALTER USER TOK_V ADD PAT T_BY_ADMIN")[0]["token_secret"]
    row = _rows(admin, "SHOW USER PATS FOR USER TOK_V")[0]
    assert (row["user_name"], row["created_by"]) == ("TOK_V", "ADMIN")
    conn = _pat_login(srv, secret)
    assert _who(conn)[0] == "TOK_V"
    conn.close()
    admin.cursor().execute("ALTER USER TOK_V REMOVE PAT T_BY_ADMIN")
    admin.close()


def test_secrets_are_never_stored_or_logged(srv: Server):
    user = srv.connect(user="TOK_U", password="tok-pw")
    secret = _rows(user, "ALTER USER ADD PAT T_SEEN")[0]["token_secret"]
    conn = _pat_login(srv, secret)
    conn.close()
    _refused(lambda: _pat_login(srv, secret + "x"), 390100)
    user.close()
    time.sleep(0.5)
    assert secret not in srv.log()
    catalog = b"".join(p.read_bytes() for p in Path(srv.data_dir).glob("catalog.sqlite*"))
    assert secret.encode() not in catalog
    digest_key_free = hashlib.sha256(secret.encode()).hexdigest().encode()
    assert digest_key_free not in catalog  # the stored hash is keyed, not a bare SHA-256


# ---- key pairs -------------------------------------------------------------------------------------
def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _public_body(key: rsa.RSAPrivateKey) -> tuple[str, str]:
    der = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode(), "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode()


def _assertion(key: rsa.RSAPrivateKey, user: str, fp: str, iat_offset: float = 0, lifetime: float = 60) -> str:
    now = datetime.now(UTC) + timedelta(seconds=iat_offset)
    claims = {"iss": f"{ACCOUNT}.{user}.{fp}", "sub": f"{ACCOUNT}.{user}", "iat": now,
              "exp": now + timedelta(seconds=lifetime)}
    return jwt.encode(claims, key, algorithm="RS256")


@pytest.fixture(scope="module")
def keys(srv: Server) -> Iterator[dict]:
    """TOK_U with RSA_PUBLIC_KEY and RSA_PUBLIC_KEY_2 set by itself (PEM, with headers, is accepted)."""
    k1, k2 = _key(), _key()
    (b1, fp1), (b2, fp2) = _public_body(k1), _public_body(k2)
    pem = "-----BEGIN PUBLIC KEY-----\n" + "\n".join(b2[i:i + 64] for i in range(0, len(b2), 64)) + \
        "\n-----END PUBLIC KEY-----"
    user = srv.connect(user="TOK_U", password="tok-pw")
    user.cursor().execute(f"ALTER USER TOK_U SET RSA_PUBLIC_KEY = '{b1}'")
    user.cursor().execute(f"ALTER USER TOK_U SET RSA_PUBLIC_KEY_2 = '{pem}'")
    user.close()
    yield {"k1": k1, "k2": k2, "fp1": fp1, "fp2": fp2}


def test_key_pair_login_and_describe(srv: Server, keys: dict):
    user = srv.connect(user="TOK_U", password="tok-pw")
    desc = {r["property"]: r["value"] for r in _rows(user, "DESCRIBE USER TOK_U")}
    assert desc["RSA_PUBLIC_KEY_FP"] == keys["fp1"] and desc["RSA_PUBLIC_KEY_2_FP"] == keys["fp2"]
    for key in (keys["k1"], keys["k2"]):
        conn = srv.connect(user="tok_u", password="", authenticator="SNOWFLAKE_JWT", private_key=key)
        assert _who(conn) == ("TOK_U", "TOK_OTHER")
        conn.close()
    conn = srv.connect(user="TOK_U", password="", authenticator="SNOWFLAKE_JWT", private_key=keys["k1"],
                       role="TOK_R")
    assert _who(conn) == ("TOK_U", "TOK_R")
    conn.close()
    # a key the user does not have, or another user's name: 390144
    _refused(lambda: srv.connect(user="TOK_U", password="", authenticator="SNOWFLAKE_JWT", private_key=_key()),
             390144)
    _refused(lambda: srv.connect(user="TOK_V", password="", authenticator="SNOWFLAKE_JWT",
                                 private_key=keys["k1"]), 390144)
    admin = srv.connect()
    row = _rows(admin, "SHOW USERS LIKE 'TOK_U'")[0]
    assert row["has_rsa_public_key"] == "true"
    admin.close()
    user.close()


def test_bad_public_key_is_refused_and_unset_ends_the_key(srv: Server, keys: dict):
    user = srv.connect(user="TOK_U", password="tok-pw")
    with pytest.raises(ProgrammingError) as info:
        user.cursor().execute("ALTER USER TOK_U SET RSA_PUBLIC_KEY_2 = 'bm90IGEga2V5'")
    assert info.value.errno == 2025 and "RSA_PUBLIC_KEY_2" in info.value.msg
    assert "bm90IGEga2V5" not in info.value.msg
    desc = {r["property"]: r["value"] for r in _rows(user, "DESCRIBE USER TOK_U")}
    assert desc["RSA_PUBLIC_KEY_2_FP"] == keys["fp2"]  # unchanged
    # another user's key needs OWNERSHIP or MODIFY PROGRAMMATIC AUTHENTICATION METHODS on that user
    body, _ = _public_body(_key())
    with pytest.raises(ProgrammingError) as info:
        user.cursor().execute(f"ALTER USER TOK_V SET RSA_PUBLIC_KEY = '{body}'")
    assert info.value.errno == 3001
    spare = _key()
    spare_body, _ = _public_body(spare)
    user.cursor().execute(f"ALTER USER TOK_U SET RSA_PUBLIC_KEY_2 = '{spare_body}'")
    user.cursor().execute("ALTER USER TOK_U UNSET RSA_PUBLIC_KEY_2")
    desc = {r["property"]: r["value"] for r in _rows(user, "DESCRIBE USER TOK_U")}
    assert desc["RSA_PUBLIC_KEY_2_FP"] == "null"
    _refused(lambda: srv.connect(user="TOK_U", password="", authenticator="SNOWFLAKE_JWT", private_key=spare),
             390144)
    user.cursor().execute(f"ALTER USER TOK_U SET RSA_PUBLIC_KEY_2 = '{_public_body(keys['k2'])[0]}'")
    user.close()


# ---- /oauth/token --------------------------------------------------------------------------------
def _exchange(srv: Server, assertion: str, scope: str = "ep-snowport.localhost",
              grant: str = "urn:ietf:params:oauth:grant-type:jwt-bearer") -> httpx.Response:
    return httpx.post(f"{srv.url}/oauth/token", data={"grant_type": grant, "assertion": assertion, "scope": scope},
                      timeout=20)


def test_oauth_token_exchange(srv: Server, keys: dict):
    answer = _exchange(srv, _assertion(keys["k1"], "TOK_U", keys["fp1"]), "session:role:TOK_R ep-snowport.localhost")
    assert answer.status_code == 200, answer.text
    token = answer.text
    assert token.count(".") == 2 and not token.startswith("{")
    conn = srv.connect(user="", password="", authenticator="oauth", token=token)
    assert _who(conn) == ("TOK_U", "TOK_R")
    conn.close()
    # no role in the scope: the user's default role
    plain = _exchange(srv, _assertion(keys["k2"], "TOK_U", keys["fp2"])).text
    conn = srv.connect(user="", password="", authenticator="oauth", token=plain)
    assert _who(conn) == ("TOK_U", "TOK_OTHER")
    conn.close()


def test_oauth_token_refusals(srv: Server, keys: dict):
    k1, fp1 = keys["k1"], keys["fp1"]
    cases = [
        (_exchange(srv, "not-a-jwt"), "invalid_grant"),
        (_exchange(srv, _assertion(_key(), "TOK_U", fp1)), "invalid_grant"),  # signed by another key
        (_exchange(srv, _assertion(k1, "TOK_V", fp1)), "invalid_grant"),  # TOK_V has no such key
        (_exchange(srv, _assertion(k1, "TOK_U", fp1, iat_offset=-300)), "invalid_grant"),  # expired 4 min ago
        (_exchange(srv, _assertion(k1, "TOK_U", fp1, iat_offset=300)), "invalid_grant"),  # from the future
        (_exchange(srv, _assertion(k1, "TOK_U", fp1, lifetime=7200)), "invalid_grant"),  # over an hour
        (_exchange(srv, _assertion(k1, "TOK_U", fp1), "session:role:ACCOUNTADMIN ep"), "invalid_scope"),
        (_exchange(srv, _assertion(k1, "TOK_U", fp1), grant="password"), "unsupported_grant_type"),
        (_exchange(srv, ""), "invalid_request"),
    ]
    for answer, error in cases:
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"] == error, answer.text
        assert answer.json()["error_description"]
    # within the 60 s clock skew Snowflake allows: accepted
    for offset in (30, -80):  # iat 30 s ahead; exp (iat + 60) passed 20 s ago
        answer = _exchange(srv, _assertion(k1, "TOK_U", fp1, iat_offset=offset))
        assert answer.status_code == 200, (offset, answer.text)


# ---- caller's rights (spcs-reference 5.3) -----------------------------------------------------------
def _cli_token(srv: Server, user: str, role: str | None = None) -> str:
    args = [*SNOWPORT, "token", "--user", user, "--data-dir", str(srv.data_dir)]
    if role:
        args += ["--role", role]
    return subprocess.run(args, check=True, capture_output=True, text=True, env=srv.env,
                          timeout=60).stdout.strip()


def test_dot_joined_caller_token_logs_in_as_the_caller(srv: Server, keys: dict):
    # the service's /snowflake/session/token is an OAuth token for the owner role (the CLI mints the same kind)
    service_token = _cli_token(srv, "ADMIN", "ACCOUNTADMIN")
    caller_token = _exchange(srv, _assertion(keys["k1"], "TOK_U", keys["fp1"])).text
    conn = srv.connect(user="", password="", authenticator="oauth", token=f"{service_token}.{caller_token}")
    assert _who(conn) == ("TOK_U", "TOK_OTHER")  # the caller, with its default role
    with pytest.raises(ProgrammingError) as info:  # no role switching in a caller's session
        conn.cursor().execute("USE ROLE TOK_R")
    assert info.value.errno == 3013
    conn.close()
    # a caller token with a scoped role: that role
    scoped = _exchange(srv, _assertion(keys["k1"], "TOK_U", keys["fp1"]), "session:role:TOK_R ep").text
    conn = srv.connect(user="", password="", authenticator="oauth", token=f"{service_token}.{scoped}")
    assert _who(conn) == ("TOK_U", "TOK_R")
    conn.close()
    # a broken service half or caller half is refused
    _refused(lambda: srv.connect(user="", password="", authenticator="oauth",
                                 token=f"{service_token[:-3]}abc.{caller_token}"), 390303)
    _refused(lambda: srv.connect(user="", password="", authenticator="oauth",
                                 token=f"{service_token}.{caller_token[:-3]}abc"), 390303)


# ---- identify_token -------------------------------------------------------------------------------
def test_identify_token_on_a_real_core(tmp_path: Path):
    from snowport.config import Settings
    from snowport.core import Snowport
    from snowport.errors import SnowflakeError

    core = Snowport(Settings(data_dir=tmp_path / "data", admin_password="pw"))
    try:
        admin = core.open_session("ADMIN", "ACCOUNTADMIN", None, None, None)
        for sql in ("CREATE ROLE IT_R", "CREATE USER IT_U PASSWORD = 'x'", "GRANT ROLE IT_R TO USER IT_U"):
            assert core.run(admin, sql).error is None, sql

        def secret_of(sql: str) -> str:
            record = core.run(admin, sql)
            assert record.error is None, record.error
            return record.result.python_rows()[0][1]

        restricted = secret_of("ALTER USER IT_U ADD PAT P1 ROLE_RESTRICTION = 'IT_R'")
        free = secret_of("ALTER USER IT_U ADD PAT P2")
        assert core.identify_token(admin.token) == ("ADMIN", "ACCOUNTADMIN")
        assert core.identify_token(restricted) == ("IT_U", "IT_R")
        assert core.identify_token(free) == ("IT_U", None)
        assert core.identify_token(core.oauth.issue("IT_U", "IT_R")) == ("IT_U", "IT_R")
        assert core.identify_token(core.oauth.issue("IT_U")) == ("IT_U", None)
        caller = core.identities.caller_token("IT_U")  # only a login behind a service's own token
        assert core.identify_token(core.oauth.issue("ADMIN") + "." + caller)[0] == "IT_U"

        refused = [caller, restricted + "x", "", "ST-nope", core.oauth.issue("IT_U", ttl_seconds=-10),
                   core.oauth.issue("IT_U") + "x", "a.b.c"]
        assert core.run(admin, "ALTER USER IT_U REMOVE PAT P2").error is None
        refused.append(free)
        closed = core.open_session("IT_U", None, None, None, None)
        core.close_session(closed)
        refused.append(closed.token)
        for token in refused:
            with pytest.raises(SnowflakeError):
                core.identify_token(token)
        # a disabled user's tokens all stop
        assert core.run(admin, "ALTER USER IT_U SET DISABLED = TRUE").error is None
        for token in (restricted, core.oauth.issue("IT_U")):
            with pytest.raises(SnowflakeError):
                core.identify_token(token)
    finally:
        core.close()


# ---- the registry (docker login takes a PAT as the password) -----------------------------------------
def test_registry_takes_a_pat_as_password_with_its_restriction(srv: Server):
    admin = srv.connect()
    for sql in ("CREATE DATABASE TOK_DB", "CREATE IMAGE REPOSITORY TOK_DB.PUBLIC.REPO",
                "GRANT USAGE ON DATABASE TOK_DB TO ROLE TOK_OTHER", "GRANT USAGE ON SCHEMA TOK_DB.PUBLIC TO ROLE TOK_OTHER",
                "GRANT READ ON IMAGE REPOSITORY TOK_DB.PUBLIC.REPO TO ROLE TOK_OTHER"):
        admin.cursor().execute(sql)
    admin.close()
    user = srv.connect(user="TOK_U", password="tok-pw")
    restricted = _rows(user, "ALTER USER ADD PAT T_REG ROLE_RESTRICTION = 'TOK_R'")[0]["token_secret"]
    free = _rows(user, "ALTER USER ADD PAT T_REG_FREE")[0]["token_secret"]
    user.close()

    def pull_actions(password: str) -> list[str] | int:
        answer = httpx.get(f"{srv.url}/v2/token", params={"scope": "repository:tok_db/public/repo/img:pull"},
                           auth=("TOK_U", password), timeout=20)
        if answer.status_code != 200:
            return answer.status_code
        claims = jwt.decode(answer.json()["token"], options={"verify_signature": False})
        return claims["access"][0]["actions"]

    assert pull_actions("tok-pw") == ["pull"]  # the password: every role of the user
    assert pull_actions(free) == ["pull"]
    assert pull_actions(restricted) == []  # TOK_R only: no READ on the repository
    assert pull_actions(restricted + "x") == 401
