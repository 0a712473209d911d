"""Service roles and BIND SERVICE ENDPOINT through the real connector (spcs-reference 3.10, 6.1, 6.3, 12, 13).

The services here never run: their pool stays suspended with AUTO_RESUME = FALSE, so the tests are about
the catalog (who holds which service role, what SHOW says, what is refused). What a grant means for
reaching an endpoint is checked on a real in-process Snowport with `endpoints.endpoint_allowed`, the
one function the ingress proxy, service functions and service-to-service traffic ask.
"""

from __future__ import annotations

import pytest
from registry_helpers import ensure_engine, remove_server_pods
from service_helpers import rows
from snowflake.connector.errors import ProgrammingError

from conftest import ADMIN_PASSWORD, start_server

IMAGE = "/sr_db/public/repo/app:1"


def spec(endpoints: str, roles: str = "", image: str = IMAGE) -> str:
    return (f"spec:\n  containers:\n  - name: main\n    image: {image}\n  endpoints:\n{endpoints}"
            + (f"serviceRoles:\n{roles}" if roles else ""))


ECHO = "  - name: echo\n    port: 8080\n    public: true\n"
ADMIN = "  - name: admin\n    port: 8081\n"
PRIVATE = "  - name: echo\n    port: 8080\n"
ROLES = ("- name: echo_users\n  endpoints:\n  - echo\n"
         "- name: admins\n  endpoints:\n  - echo\n  - admin\n")
POOL = "SR_POOL"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    ensure_engine()  # CREATE SERVICE asks the engine to answer; nothing is started on it
    server = start_server(tmp_path_factory.mktemp("service_roles") / "data")
    yield server
    server.stop()
    remove_server_pods(server.data_dir)


@pytest.fixture(scope="module")
def admin(srv):
    conn = srv.connect()
    cur = conn.cursor()
    for sql in (
        "CREATE ROLE SR_OWNER", "GRANT CREATE DATABASE ON ACCOUNT TO ROLE SR_OWNER",
        "GRANT BIND SERVICE ENDPOINT ON ACCOUNT TO ROLE SR_OWNER", "GRANT ROLE SR_OWNER TO USER ADMIN",
        f"CREATE COMPUTE POOL {POOL} MIN_NODES = 1 MAX_NODES = 1 INSTANCE_FAMILY = CPU_X64_XS "
        "INITIALLY_SUSPENDED = TRUE AUTO_RESUME = FALSE",
        f"GRANT USAGE ON COMPUTE POOL {POOL} TO ROLE SR_OWNER",
        "CREATE ROLE SR_USER", "CREATE ROLE SR_OTHER", "CREATE ROLE SR_PARENT", "GRANT ROLE SR_USER TO ROLE SR_PARENT",
        "CREATE USER SR_U PASSWORD = 'sr-u-pw'", "GRANT ROLE SR_OTHER TO USER SR_U",
        "USE ROLE SR_OWNER", "CREATE DATABASE SR_DB", "CREATE IMAGE REPOSITORY SR_DB.PUBLIC.REPO",
        "USE SCHEMA SR_DB.PUBLIC",
    ):
        cur.execute(sql)
    yield cur
    conn.close()


def create(cur, name: str, text: str) -> None:
    cur.execute(f"CREATE SERVICE {name} IN COMPUTE POOL {POOL} FROM SPECIFICATION $${text}$$")


def error(cur, sql: str) -> ProgrammingError:
    with pytest.raises(ProgrammingError) as info:
        cur.execute(sql)
    return info.value


def names(cur, sql: str, column: str = "name") -> list:
    return [r[column] for r in rows(cur, sql)]


def test_show_roles_in_service_lists_the_built_in_role_and_the_specs(admin):
    create(admin, "ECHO", spec(ECHO + ADMIN, ROLES))
    cur = admin.execute("SHOW ROLES IN SERVICE ECHO")
    assert [d[0] for d in cur.description] == ["created_on", "name", "comment"]
    found = rows(admin, "SHOW ROLES IN SERVICE SR_DB.PUBLIC.ECHO")
    assert [r["name"] for r in found] == ["ALL_ENDPOINTS_USAGE", "ECHO_USERS", "ADMINS"]
    assert all(r["created_on"] is not None and r["comment"] is None for r in found)


def test_grant_show_and_revoke_a_service_role(admin):
    create(admin, "GRANTED", spec(ECHO + ADMIN, ROLES))
    assert admin.execute("GRANT SERVICE ROLE granted!echo_users TO ROLE SR_USER").fetchone() == (
        "Statement executed successfully.",)
    admin.execute("GRANT SERVICE ROLE ON SERVICE SR_DB.PUBLIC.GRANTED!all_endpoints_usage TO ROLE SR_OTHER")
    of = rows(admin, "SHOW GRANTS OF SERVICE ROLE granted!echo_users")
    assert [(r["role"], r["granted_to"], r["grantee_name"], r["granted_by"]) for r in of] == [
        ("SR_DB.PUBLIC.GRANTED!ECHO_USERS", "ROLE", "SR_USER", "SR_OWNER")]
    to = rows(admin, "SHOW GRANTS TO SERVICE ROLE granted!admins")
    assert [d[0] for d in admin.description] == ["created_on", "privilege", "granted_on", "name", "granted_to",
                                                 "grantee_name", "grant_option", "granted_by"]
    assert [(r["privilege"], r["granted_on"], r["name"], r["granted_to"], r["grantee_name"]) for r in to] == [
        ("USAGE", "SERVICE_ENDPOINT", "SR_DB.PUBLIC.GRANTED!echo", "SERVICE_ROLE", "ADMINS"),
        ("USAGE", "SERVICE_ENDPOINT", "SR_DB.PUBLIC.GRANTED!admin", "SERVICE_ROLE", "ADMINS")]
    assert [r["name"] for r in rows(admin, "SHOW GRANTS TO SERVICE ROLE granted!all_endpoints_usage")] == [
        "SR_DB.PUBLIC.GRANTED!echo", "SR_DB.PUBLIC.GRANTED!admin"]
    held = [(r["privilege"], r["granted_on"], r["name"]) for r in rows(admin, "SHOW GRANTS TO ROLE SR_USER")]
    assert ("USAGE", "SERVICE_ROLE", "SR_DB.PUBLIC.GRANTED!ECHO_USERS") in held
    # a service role is not a privilege on the service
    assert names(admin, "SHOW GRANTS ON SERVICE GRANTED", "privilege") == ["OWNERSHIP"]
    admin.execute("GRANT SERVICE ROLE granted!echo_users TO ROLE SR_USER")  # again: idempotent
    assert len(rows(admin, "SHOW GRANTS OF SERVICE ROLE granted!echo_users")) == 1

    admin.execute("REVOKE SERVICE ROLE granted!echo_users FROM ROLE SR_USER")
    assert rows(admin, "SHOW GRANTS OF SERVICE ROLE granted!echo_users") == []
    assert not any(r["granted_on"] == "SERVICE_ROLE" for r in rows(admin, "SHOW GRANTS TO ROLE SR_USER"))
    assert names(admin, "SHOW GRANTS OF SERVICE ROLE granted!all_endpoints_usage", "grantee_name") == ["SR_OTHER"]


def test_only_the_owner_grants_and_unknown_names_are_named(admin, srv):
    create(admin, "GUARDED", spec(ECHO, ROLES.split("- name: admins")[0]))
    other = srv.connect(user="SR_U", password="sr-u-pw").cursor()
    other.execute("USE ROLE SR_OTHER")
    e = error(other, "GRANT SERVICE ROLE SR_DB.PUBLIC.GUARDED!ECHO_USERS TO ROLE SR_OTHER")
    assert (e.errno, e.sqlstate) == (2003, "02000") and "Service 'SR_DB.PUBLIC.GUARDED' does not exist" in e.msg
    for sql in ("GRANT USAGE ON DATABASE SR_DB TO ROLE SR_OTHER", "GRANT USAGE ON SCHEMA SR_DB.PUBLIC TO ROLE SR_OTHER",
                "GRANT SERVICE ROLE GUARDED!ECHO_USERS TO ROLE SR_OTHER"):
        admin.execute(sql)
    # holding a service role is no privilege on the service: it stays invisible
    assert "GUARDED" not in names(other, "SHOW SERVICES IN SCHEMA SR_DB.PUBLIC")
    e = error(other, "DESCRIBE SERVICE SR_DB.PUBLIC.GUARDED")
    assert e.errno == 2003 and "GUARDED" in e.msg
    admin.execute("REVOKE SERVICE ROLE GUARDED!ECHO_USERS FROM ROLE SR_OTHER")
    admin.execute("GRANT USAGE ON SERVICE SR_DB.PUBLIC.GUARDED TO ROLE SR_OTHER")
    for sql in ("GRANT SERVICE ROLE SR_DB.PUBLIC.GUARDED!ECHO_USERS TO ROLE SR_OTHER",
                "REVOKE SERVICE ROLE SR_DB.PUBLIC.GUARDED!ECHO_USERS FROM ROLE SR_OTHER"):
        e = error(other, sql)
        assert (e.errno, e.sqlstate) == (3001, "42501")
        assert "Insufficient privileges to operate on service 'SR_DB.PUBLIC.GUARDED'" in e.msg
    assert rows(admin, "SHOW GRANTS OF SERVICE ROLE GUARDED!ECHO_USERS") == []
    # USAGE is enough to list the roles and what they grant
    assert names(other, "SHOW ROLES IN SERVICE SR_DB.PUBLIC.GUARDED") == ["ALL_ENDPOINTS_USAGE", "ECHO_USERS"]
    assert len(rows(other, "SHOW GRANTS TO SERVICE ROLE SR_DB.PUBLIC.GUARDED!ECHO_USERS")) == 1

    e = error(admin, "GRANT SERVICE ROLE GUARDED!NOPE TO ROLE SR_USER")
    assert (e.errno, e.sqlstate) == (2003, "02000")
    assert "Service role 'SR_DB.PUBLIC.GUARDED!NOPE' does not exist or not authorized." in e.msg
    e = error(admin, "SHOW GRANTS TO SERVICE ROLE GUARDED!\"echo_users\"")  # quoted: case-sensitive
    assert e.errno == 2003 and "GUARDED!\"echo_users\"'" in e.msg
    e = error(admin, "GRANT SERVICE ROLE MISSING!ALL_ENDPOINTS_USAGE TO ROLE SR_USER")
    assert e.errno == 2003 and "Service 'SR_DB.PUBLIC.MISSING' does not exist or not authorized." in e.msg
    e = error(admin, "SHOW ROLES IN SERVICE MISSING")
    assert e.errno == 2003 and "Service 'SR_DB.PUBLIC.MISSING'" in e.msg
    e = error(admin, "GRANT SERVICE ROLE GUARDED!ECHO_USERS TO ROLE NO_SUCH_ROLE")
    assert e.errno == 2003 and "Role 'NO_SUCH_ROLE' does not exist or not authorized." in e.msg
    for sql in ("GRANT SERVICE ROLE GUARDED!ECHO_USERS TO DATABASE ROLE SR_DB.DBR",
                "GRANT SERVICE ROLE GUARDED!ECHO_USERS TO APPLICATION ROLE APPR",
                "REVOKE SERVICE ROLE GUARDED!ECHO_USERS FROM DATABASE ROLE SR_DB.DBR"):
        e = error(admin, sql)
        assert (e.errno, e.sqlstate) == (2, "0A000") and "Unsupported feature" in e.msg, sql
    e = error(admin, "GRANT SERVICE ROLE GUARDED ECHO_USERS TO ROLE SR_USER")
    assert e.errno == 1003  # the `!` is part of the syntax
    assert rows(admin, "SHOW GRANTS OF SERVICE ROLE GUARDED!ECHO_USERS") == []


def test_roles_follow_upgrades_and_go_with_the_service(admin):
    create(admin, "MOVING", spec(ECHO + ADMIN, ROLES))
    admin.execute("GRANT SERVICE ROLE MOVING!ADMINS TO ROLE SR_USER")
    admin.execute("GRANT SERVICE ROLE MOVING!ECHO_USERS TO ROLE SR_USER")
    before = {r["name"]: r["created_on"] for r in rows(admin, "SHOW ROLES IN SERVICE MOVING")}
    viewers = "- name: echo_users\n  endpoints:\n  - echo\n  - admin\n- name: viewers\n  endpoints:\n  - echo\n"
    admin.execute(f"ALTER SERVICE MOVING FROM SPECIFICATION $${spec(ECHO + ADMIN, viewers)}$$")
    after = {r["name"]: r["created_on"] for r in rows(admin, "SHOW ROLES IN SERVICE MOVING")}
    assert list(after) == ["ALL_ENDPOINTS_USAGE", "ECHO_USERS", "VIEWERS"]
    assert after["ECHO_USERS"] == before["ECHO_USERS"] and after["VIEWERS"] > before["ECHO_USERS"]
    held = [r["name"] for r in rows(admin, "SHOW GRANTS TO ROLE SR_USER") if r["granted_on"] == "SERVICE_ROLE"]
    assert held == ["SR_DB.PUBLIC.MOVING!ECHO_USERS"]  # ADMINS went with its grants; ECHO_USERS kept its
    assert names(admin, "SHOW GRANTS TO SERVICE ROLE MOVING!ECHO_USERS") == [
        "SR_DB.PUBLIC.MOVING!echo", "SR_DB.PUBLIC.MOVING!admin"]  # and grants what the new spec says
    e = error(admin, "SHOW GRANTS OF SERVICE ROLE MOVING!ADMINS")
    assert e.errno == 2003 and "MOVING!ADMINS" in e.msg
    admin.execute(f"ALTER SERVICE MOVING FROM SPECIFICATION $${spec(ECHO + ADMIN, ROLES)}$$")
    assert rows(admin, "SHOW GRANTS OF SERVICE ROLE MOVING!ADMINS") == []  # back, without its old grants

    admin.execute("DROP SERVICE MOVING")
    assert not any("MOVING" in r["name"] for r in rows(admin, "SHOW GRANTS TO ROLE SR_USER"))
    create(admin, "MOVING", spec(ECHO + ADMIN, ROLES))
    assert rows(admin, "SHOW GRANTS OF SERVICE ROLE MOVING!ECHO_USERS") == []


def test_bad_service_roles_in_a_spec_are_refused_naming_the_field(admin):
    for roles, path, words in (
        ("- name: r\n  endpoints:\n  - nope\n", "serviceRoles[0].endpoints[0]", "'nope' is not declared"),
        ("- name: all_endpoints_usage\n  endpoints:\n  - echo\n", "serviceRoles[0].name", "built-in"),
        ("- name: r\n  endpoints:\n  - echo\n- name: R\n  endpoints:\n  - echo\n", "serviceRoles[1].name",
         "duplicate"),
        ("- name: 1r\n  endpoints:\n  - echo\n", "serviceRoles[0].name", "invalid service role name"),
        ("- name: r\n  endpoints: []\n", "serviceRoles[0].endpoints", ""),
    ):
        e = error(admin, f"CREATE SERVICE BADROLES IN COMPUTE POOL {POOL} FROM SPECIFICATION $${spec(PRIVATE, roles)}$$")
        assert e.errno == 2025 and path in e.msg and words in e.msg, (roles, e.msg)
    assert "BADROLES" not in names(admin, "SHOW SERVICES IN SCHEMA SR_DB.PUBLIC")


def test_public_endpoints_need_bind_service_endpoint_for_the_owner_role(admin, srv):
    for sql in ("CREATE ROLE SR_NOBIND", "GRANT USAGE ON DATABASE SR_DB TO ROLE SR_NOBIND",
                "GRANT USAGE ON SCHEMA SR_DB.PUBLIC TO ROLE SR_NOBIND",
                "GRANT CREATE SERVICE ON SCHEMA SR_DB.PUBLIC TO ROLE SR_NOBIND",
                "GRANT READ ON IMAGE REPOSITORY SR_DB.PUBLIC.REPO TO ROLE SR_NOBIND",
                "USE ROLE ACCOUNTADMIN", f"GRANT USAGE ON COMPUTE POOL {POOL} TO ROLE SR_NOBIND",
                "GRANT ROLE SR_NOBIND TO USER SR_U", "USE ROLE SR_OWNER"):
        admin.execute(sql)
    cur = srv.connect(user="SR_U", password="sr-u-pw").cursor()
    cur.execute("USE ROLE SR_NOBIND")
    cur.execute("USE SECONDARY ROLES NONE")
    cur.execute("USE SCHEMA SR_DB.PUBLIC")

    def refused(sql: str) -> None:
        e = error(cur, sql)
        assert (e.errno, e.sqlstate) == (3001, "42501"), e.msg
        assert "Insufficient privileges to operate on account 'SNOWPORT'" in e.msg
        assert "public endpoint 'echo'" in e.msg and "SR_NOBIND needs BIND SERVICE ENDPOINT" in e.msg

    refused(f"CREATE SERVICE PUB IN COMPUTE POOL {POOL} FROM SPECIFICATION $${spec(ECHO)}$$")
    refused(f"EXECUTE JOB SERVICE IN COMPUTE POOL {POOL} NAME = PUBJOB ASYNC = TRUE FROM SPECIFICATION $${spec(ECHO)}$$")
    admin.execute("USE ROLE ACCOUNTADMIN")
    admin.execute("GRANT ROLE SR_NOBIND TO ROLE ACCOUNTADMIN")  # the admin sees what SR_NOBIND would own
    shown = names(admin, "SHOW SERVICES IN ACCOUNT")
    assert "PUB" not in shown and "PUBJOB" not in shown and "ECHO" in shown
    admin.execute("USE ROLE SR_OWNER")
    # without a public endpoint no BIND is needed; an upgrade that adds one needs it
    cur.execute(f"CREATE SERVICE PUB IN COMPUTE POOL {POOL} FROM SPECIFICATION $${spec(PRIVATE)}$$")
    digest = rows(cur, "SHOW SERVICES LIKE 'PUB' IN SCHEMA SR_DB.PUBLIC")[0]["spec_digest"]
    refused(f"ALTER SERVICE PUB FROM SPECIFICATION $${spec(ECHO)}$$")
    assert rows(cur, "SHOW SERVICES LIKE 'PUB' IN SCHEMA SR_DB.PUBLIC")[0]["spec_digest"] == digest
    # a secondary role holding BIND does not count: the owner role (the primary role) must hold it
    admin.execute("USE ROLE ACCOUNTADMIN")
    admin.execute("CREATE ROLE SR_BINDER")
    admin.execute("GRANT BIND SERVICE ENDPOINT ON ACCOUNT TO ROLE SR_BINDER")
    admin.execute("GRANT ROLE SR_BINDER TO USER SR_U")
    cur.execute("USE SECONDARY ROLES ALL")
    refused(f"CREATE SERVICE PUB2 IN COMPUTE POOL {POOL} FROM SPECIFICATION $${spec(ECHO)}$$")
    # inherited by the owner role, it does
    admin.execute("GRANT ROLE SR_BINDER TO ROLE SR_NOBIND")
    admin.execute("USE ROLE SR_OWNER")
    cur.execute(f"CREATE SERVICE PUB2 IN COMPUTE POOL {POOL} FROM SPECIFICATION $${spec(ECHO)}$$")
    cur.execute(f"ALTER SERVICE PUB FROM SPECIFICATION $${spec(ECHO)}$$")
    assert rows(cur, "SHOW SERVICES LIKE 'PUB' IN SCHEMA SR_DB.PUBLIC")[0]["spec_digest"] != digest


def test_endpoint_allowed_on_a_real_catalog(tmp_path):
    """commands/endpoints.endpoint_allowed, the question the ingress proxy and service functions ask, on
    an in-process Snowport: the owner role, a granted service role (directly or inherited), and neither;
    grants, revokes and upgrades take effect at once (its cache keys on the catalog version and spec)."""
    from snowport.commands import endpoints
    from snowport.config import Settings
    from snowport.core import Snowport

    ensure_engine()
    core = Snowport(Settings(data_dir=tmp_path / "data", admin_password=ADMIN_PASSWORD))
    try:
        user, role = core.authenticate("admin", ADMIN_PASSWORD, None)
        session = core.open_session(user, role, None, None, None)

        def run(sql: str) -> None:
            record = core.run(session, sql)
            assert record.error is None, (sql, record.error)

        for sql in ("CREATE ROLE OWNER_R", "GRANT BIND SERVICE ENDPOINT ON ACCOUNT TO ROLE OWNER_R",
                    "GRANT CREATE DATABASE ON ACCOUNT TO ROLE OWNER_R", "GRANT ROLE OWNER_R TO USER ADMIN",
                    f"CREATE COMPUTE POOL {POOL} MIN_NODES = 1 MAX_NODES = 1 INSTANCE_FAMILY = CPU_X64_XS "
                    "INITIALLY_SUSPENDED = TRUE AUTO_RESUME = FALSE", f"GRANT USAGE ON COMPUTE POOL {POOL} TO ROLE OWNER_R",
                    "CREATE ROLE USER_R", "CREATE ROLE PARENT_R", "GRANT ROLE USER_R TO ROLE PARENT_R",
                    "CREATE ROLE STRANGER_R", "USE ROLE OWNER_R", "CREATE DATABASE SR_DB",
                    "CREATE IMAGE REPOSITORY SR_DB.PUBLIC.REPO", "USE SCHEMA SR_DB.PUBLIC"):
            run(sql)
        run(f"CREATE SERVICE ECHO IN COMPUTE POOL {POOL} FROM SPECIFICATION $${spec(ECHO + ADMIN, ROLES)}$$")

        def allowed(role_name: str, endpoint: str) -> bool:
            service = core.catalog.get("SERVICE", "ECHO", "SR_DB", "PUBLIC")
            return endpoints.endpoint_allowed(core, core.auth.closure(role_name), service, endpoint)

        assert allowed("OWNER_R", "echo") and allowed("OWNER_R", "admin")
        assert not allowed("USER_R", "echo") and not allowed("PARENT_R", "echo")
        run("GRANT SERVICE ROLE ECHO!ECHO_USERS TO ROLE USER_R")
        assert allowed("USER_R", "echo") and allowed("PARENT_R", "echo")  # inherited through the role graph
        assert not allowed("USER_R", "admin") and not allowed("STRANGER_R", "echo")
        assert not allowed("USER_R", "nope")
        run("GRANT SERVICE ROLE ECHO!ALL_ENDPOINTS_USAGE TO ROLE STRANGER_R")
        assert allowed("STRANGER_R", "echo") and allowed("STRANGER_R", "admin")
        run("REVOKE SERVICE ROLE ECHO!ECHO_USERS FROM ROLE USER_R")
        assert not allowed("USER_R", "echo") and not allowed("PARENT_R", "echo")
        run("GRANT SERVICE ROLE ECHO!ECHO_USERS TO ROLE USER_R")
        widened = "- name: echo_users\n  endpoints:\n  - echo\n  - admin\n"
        stale = core.catalog.get("SERVICE", "ECHO", "SR_DB", "PUBLIC")
        run(f"ALTER SERVICE ECHO FROM SPECIFICATION $${spec(ECHO + ADMIN, widened)}$$")
        assert allowed("USER_R", "admin")  # the upgraded spec's endpoints for the kept role
        assert endpoints.endpoint_allowed(core, core.auth.closure("USER_R"), stale, "admin")  # even asked with
        # a copy of the service from before the upgrade
        run("REVOKE ROLE USER_R FROM ROLE PARENT_R")
        assert allowed("USER_R", "echo") and not allowed("PARENT_R", "echo")
        service = core.catalog.get("SERVICE", "ECHO", "SR_DB", "PUBLIC")
        assert endpoints.owner_may_bind(core, service)
        run("USE ROLE ACCOUNTADMIN")
        run("REVOKE BIND SERVICE ENDPOINT ON ACCOUNT FROM ROLE OWNER_R")
        assert not endpoints.owner_may_bind(core, service)
        run("DROP SERVICE SR_DB.PUBLIC.ECHO")
        assert [g for g in core.catalog.grants() if g.privilege.startswith("SERVICE ROLE ")] == []
        assert not endpoints.endpoint_allowed(core, core.auth.closure("STRANGER_R"), service, "echo")
    finally:
        core.close()
