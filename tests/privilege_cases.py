"""One case per row of `snowport.security.matrix.MATRIX`, run by tests/test_privilege_matrix.py.

Every SQL text is a template formatted with the names of its case (`names(n)`): `{R}` the tester's
role, `{D}` a database, `{S}` its schema, `{T}`/`{V}`/`{ST}`/`{IR}` a table, view, stage and image
repository in it, `{W}` a warehouse, `{U}` a user, `{RR}`/`{RT}` two roles, `{FILE}` a local CSV file
and `{GETDIR}` an empty local directory. Setup runs as SYSADMIN (the objects are never the tester's),
grants and probes as ACCOUNTADMIN.

A case runs twice (see the test module): first with `base` + `without` granted, where the statement
must be refused with `refusal` and `probe` must give the same answer as before; then with `grant`
added, where it must succeed, `result` must hold for what the statement returned and `effect` for
the probe. Rows checked on NONE run once as the bare role.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

Rows = list[dict]
Check = Callable[[Rows, dict], bool]  # rows, and the case's names


def names(n: int, tmp: str = "/tmp") -> dict[str, str]:
    d = f"PMDB_{n}"
    s = f"{d}.S"
    return dict(
        n=str(n), R=f"PM_{n}", D=d, S=s, T=f"{s}.T", V=f"{s}.V", SRC=f"{s}.SRC", ST=f"{s}.ST", IR=f"{s}.IR",
        W=f"PMW_{n}", P=f"PMP_{n}", SV=f"{s}.SV", NR=f"{s}.NR", SEC=f"{s}.SEC", JB=f"{s}.JB", EAI=f"PMEAI_{n}", U=f"PMU_{n}", RR=f"PMR_{n}", RT=f"PMRT_{n}", FILE=f"{tmp}/pm_{n}.csv",
        FILENAME=f"pm_{n}.csv", GETDIR=f"{tmp}/get_{n}", REPO_PATH=f"/pmdb_{n}/s/ir",
    )


@dataclass(frozen=True)
class Refusal:
    errno: int
    kind: str = ""  # how a 003001 message names the object's kind: "account", "warehouse", "schema"
    name: str = ""  # template of the object's name in the message; "A|B" accepts either form

    def messages(self, ns: dict[str, str]) -> list[str]:
        """The messages Snowflake may give; the server's must contain one of them."""
        out = []
        for name in self.name.format(**ns).split("|"):
            if self.errno == 3001:
                out.append(f"Insufficient privileges to operate on {self.kind} '{name}'")
            elif self.errno == 2003:
                out.append(f"'{name}' does not exist or not authorized.")
            elif self.errno == 2043:
                out.append("Object does not exist, or operation cannot be performed.")
            elif self.errno == 3013:
                out.append(f"Requested role '{name}' is not assigned to the executing user.")
            elif self.errno == 3102:
                out.append("Grant not executed: Insufficient privileges.")
            elif self.errno == 3103:
                out.append("Revoke not executed: Insufficient privileges.")
            else:
                raise ValueError(self.errno)
        return out

    @property
    def sqlstates(self) -> tuple[str, ...]:
        return {2003: ("02000", "42S02"), 2043: ("02000",)}.get(self.errno, ("42501",))


ACCOUNT_REFUSAL = Refusal(3001, "account", "SNOWPORT")


def insufficient(kind: str, name: str) -> Refusal:
    return Refusal(3001, kind, name)


def missing(name: str) -> Refusal:
    return Refusal(2003, "", name)


# Snowflake's own refusals of GRANT and REVOKE (003102 / 003103, SQLSTATE 42501), whatever the object.
GRANT_REFUSED = Refusal(3102)
REVOKE_REFUSED = Refusal(3103)


@dataclass(frozen=True)
class Probe:
    """What the admin reads to see the object's state: SQL and the columns kept (all when empty)."""

    sql: str
    columns: tuple[str, ...] = ()
    local_dir: str = ""  # instead of SQL: the sorted file names in this local directory


@dataclass
class Case:
    key: str
    statement: str  # run as the tester
    setup: list[str] = field(default_factory=list)
    base: list[str] = field(default_factory=list)  # granted in both runs (USAGE on db and schema, ...)
    without: list[str] = field(default_factory=list)  # more grants for the refused run: never sufficient
    grant: list[str] = field(default_factory=list)  # exactly the privilege the row names
    refusal: Refusal | None = None
    probe: Probe | None = None
    effect: Check | None = None  # on the probe after the allowed run
    result: Check | None = None  # on the statement's rows in the allowed run
    without_result: Check | None = None  # rows that filter instead of refusing
    after_attempt: list[str] = field(default_factory=list)  # admin SQL after each attempt, `{RUN}` = 1 or 2
    after: tuple[str, list[tuple]] | None = None  # run as the tester after the allowed run
    warehouse: bool = False  # the tester uses PM_WH (USAGE on it is granted in base)
    local_file: bool = False
    # the allowed run may end with one of these errors once past the privilege check (e.g. the logs of a
    # container that never started: its service's pool stays suspended in these cases)
    allowed_errors: tuple[int, ...] = ()


# ---- helpers -------------------------------------------------------------------------------------

DB = ["CREATE DATABASE {D}", "CREATE SCHEMA {S}"]
USE_DB = ["GRANT USAGE ON DATABASE {D} TO ROLE {R}", "GRANT USAGE ON SCHEMA {S} TO ROLE {R}"]


def own(kind: str, name: str) -> list[str]:
    return [f"GRANT OWNERSHIP ON {kind} {name} TO ROLE {{R}} COPY CURRENT GRANTS"]


def priv(privilege: str, kind: str, name: str) -> list[str]:
    on = "ACCOUNT" if kind == "ACCOUNT" else f"{kind} {name}"
    return [f"GRANT {privilege} ON {on} TO ROLE {{R}}"]


def _v(value, ns: dict[str, str]):
    return value.format(**ns) if isinstance(value, str) else value


def _match(row: dict, want: dict, ns: dict[str, str]) -> bool:
    return all(row.get(k) == _v(v, ns) for k, v in want.items())


def has(**want) -> Check:
    """Exactly one row, with these column values."""
    return lambda rows, ns: len(rows) == 1 and _match(rows[0], want, ns)


def contains(**want) -> Check:
    return lambda rows, ns: any(_match(r, want, ns) for r in rows)


def lacks(**want) -> Check:
    return lambda rows, ns: not any(_match(r, want, ns) for r in rows)


def none(rows: Rows, ns: dict[str, str]) -> bool:
    return rows == []


def some(rows: Rows, ns: dict[str, str]) -> bool:
    return len(rows) > 0


def count(n: int) -> Check:
    return lambda rows, ns: len(rows) == 1 and rows[0]["N"] == n


def column(name: str, *values: str) -> Check:
    """The column's values, in order, are exactly these."""
    return lambda rows, ns: [r[name] for r in rows] == [_v(v, ns) for v in values]


def show(kind_plural: str, name: str, where: str = "", *cols: str) -> Probe:
    where = f" IN {where}" if where else ""
    return Probe(f"SHOW {kind_plural} LIKE '{name}'{where}", cols or ("name", "owner", "comment"))


def grants_to(role: str) -> Probe:
    return Probe(f"SHOW GRANTS TO ROLE {role}", ("privilege", "granted_on", "name"))


def grants_of(role: str) -> Probe:
    return Probe(f"SHOW GRANTS OF ROLE {role}", ("role", "granted_to", "grantee_name"))


def rows_in(table: str) -> Probe:
    return Probe(f"SELECT count(*) AS N FROM {table}", ("N",))


def listing(stage: str) -> Probe:
    return Probe(f"LIST @{stage}", ("name", "size"))


# The four lifecycle shapes every kind shares: CREATE, CREATE OR REPLACE, RENAME, DROP.

def lifecycle(kind: str, *, create_on: str, create_on_name: str, name: str, short: str, show_in: str,
              plural: str, setup: list[str], base: list[str], see: list[str], refusal_kind: str,
              create_refusal: Refusal, create_sql: str | None = None, comment: bool = True,
              refusal_name: str = "", rename: bool = True) -> list[Case]:
    """Cases for CREATE, CREATE OR REPLACE, ... RENAME and DROP of one kind.

    `create_on` is what the create privilege is checked on (ACCOUNT, DATABASE, SCHEMA); `see` grants
    a privilege on the object that is not enough (for a 003001 refusal rather than 002003).
    """
    K = kind.upper()
    refused = insufficient(refusal_kind, refusal_name or name)
    probe = show(plural, short, show_in)
    create_priv = priv(f"CREATE {K}", create_on, create_on_name)
    created = create_sql or f"CREATE {K} {name}" + (" COMMENT = 'after'" if comment else "")
    out = [
        Case(f"CREATE {K}", created, setup=setup, base=base, grant=create_priv, refusal=create_refusal,
             probe=probe, effect=has(name=short.upper(), owner="{R}")),
        Case(f"CREATE OR REPLACE {K}", created.replace("CREATE", "CREATE OR REPLACE", 1),
             setup=[*setup, f"CREATE {K} {name} COMMENT = 'before'"], base=base, without=[*create_priv, *see],
             grant=own(K, name), refusal=refused, probe=probe,
             effect=has(name=short.upper(), comment="after")),
        Case(f"DROP {K}", f"DROP {K} {name}", setup=[*setup, f"CREATE {K} {name}"], base=base, without=see,
             grant=own(K, name), refusal=refused, probe=probe, effect=none),
    ]
    if rename:
        upper = short.upper()
        renamed = f"{name}_R"
        out.append(Case(
            f"ALTER {K} RENAME", f"ALTER {K} {name} RENAME TO {renamed}", setup=[*setup, f"CREATE {K} {name}"],
            base=base, without=see, grant=own(K, name), refusal=refused,
            probe=Probe(f"SHOW {plural}{f' IN {show_in}' if show_in else ''}", ("name",)),
            effect=lambda rows, ns, s=upper: {r["name"] for r in rows} >= {_v(s, ns) + "_R"}
            and _v(s, ns) not in {r["name"] for r in rows}))
    return out


# ---- the cases ----------------------------------------------------------------------------------

SHOW_U = show("USERS", "{U}", "", "name", "owner", "comment")
SHOW_PATS = Probe("SHOW USER PATS FOR USER {U}", ("name", "status", "comment", "rotated_to"))
PAM = "MODIFY PROGRAMMATIC AUTHENTICATION METHODS"


def _public_key() -> tuple[str, str]:
    """A fresh RSA public key as ALTER USER takes it (base64 DER) and its SHA256 fingerprint."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode(), "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode()


PM_KEY, PM_KEY_FP = _public_key()
SHOW_RR = show("ROLES", "{RR}", "", "name", "owner", "comment")
SHOW_W = show("WAREHOUSES", "{W}", "", "name", "owner", "comment", "state", "auto_suspend")
SHOW_D = show("DATABASES", "{D}", "", "name", "owner", "comment")
SHOW_S = show("SCHEMAS", "S", "DATABASE {D}", "name", "owner", "comment")
SHOW_ST = show("STAGES", "ST", "SCHEMA {S}", "name", "owner", "comment")
SHOW_IR = show("IMAGE REPOSITORIES", "IR", "SCHEMA {S}", "name", "owner", "comment")
TABLE_1 = ["CREATE TABLE {T} (A INT)", "INSERT INTO {T} VALUES (1), (2)"]
SRC_1 = ["CREATE TABLE {SRC} (A INT)", "INSERT INTO {SRC} VALUES (7), (8)"]
STAGE_FILE = ["CREATE STAGE {ST}", "PUT file://{FILE} @{ST}"]
WH = ["CREATE WAREHOUSE {W} INITIALLY_SUSPENDED = TRUE"]
USER = ["USE ROLE ACCOUNTADMIN", "CREATE USER {U} PASSWORD = 'pm-target-pw' COMMENT = 'before'"]
USER_PAT = [*USER, "ALTER USER {U} ADD PAT PMT COMMENT = 'before'"]
ROLE = ["USE ROLE ACCOUNTADMIN", "CREATE ROLE {RR} COMMENT = 'before'"]
ROLES2 = [*ROLE, "CREATE ROLE {RT}"]
SEE_W = ["GRANT USAGE ON WAREHOUSE {W} TO ROLE {R}"]
POOL_SHAPE = "MIN_NODES = 1 MAX_NODES = 1 INSTANCE_FAMILY = CPU_X64_XS"
POOL = ["USE ROLE ACCOUNTADMIN", "CREATE COMPUTE POOL {P} " + POOL_SHAPE]
SEE_P = ["GRANT USAGE ON COMPUTE POOL {P} TO ROLE {R}"]
SHOW_P = show("COMPUTE POOLS", "{P}", "", "name", "owner", "comment", "max_nodes")
DESIRED_P = show("COMPUTE POOLS", "{P}", "", "name", "state")
# Services on a pool that stays suspended (AUTO_RESUME = FALSE): the rows are about privileges, no pod runs.
SV_SPEC = "$$spec:\n  containers:\n  - name: main\n    image: /{D}/s/ir/app:1\n$$"
SV_POOL = ["USE ROLE ACCOUNTADMIN", "CREATE COMPUTE POOL {P} " + POOL_SHAPE + " INITIALLY_SUSPENDED = TRUE "
           "AUTO_RESUME = FALSE", "GRANT USAGE ON COMPUTE POOL {P} TO ROLE SYSADMIN", "USE ROLE SYSADMIN",
           "CREATE IMAGE REPOSITORY {IR}"]
SERVICE = [*DB, *SV_POOL, "CREATE SERVICE {SV} IN COMPUTE POOL {P} FROM SPECIFICATION " + SV_SPEC]
SEE_SV = ["GRANT USAGE ON SERVICE {SV} TO ROLE {R}"]
SV_SPEC_V2_TEXT = "spec:\n  containers:\n  - name: main\n    image: /{D}/s/ir/app:2\n"
SV_SPEC_V2 = f"$${SV_SPEC_V2_TEXT}$$"


def upgraded_to_v2(rows: list[dict], ns: dict) -> bool:
    return rows[0]["spec_digest"] == hashlib.sha256(SV_SPEC_V2_TEXT.format(**ns).encode()).hexdigest()
SHOW_SV = show("SERVICES", "SV", "SCHEMA {S}", "name", "owner", "status", "min_instances")
# A service with an endpoint and a spec-defined service role, and a second role {RT} to grant it to.
SV_ROLES_SPEC = ("$$spec:\n  containers:\n  - name: main\n    image: /{D}/s/ir/app:1\n  endpoints:\n  - name: api\n"
                 "    port: 8080\nserviceRoles:\n- name: api_users\n  endpoints:\n  - api\n$$")
ROLE_SERVICE = [*DB, "USE ROLE ACCOUNTADMIN", "CREATE ROLE {RT}", *SV_POOL,
                "CREATE SERVICE {SV} IN COMPUTE POOL {P} FROM SPECIFICATION " + SV_ROLES_SPEC]
GRANTS_OF_SR = Probe("SHOW GRANTS OF SERVICE ROLE {SV}!API_USERS", ("role", "granted_to", "grantee_name"))
# Public endpoints: BIND SERVICE ENDPOINT on the account for the owner role.
SV_PUBLIC_SPEC = ("$$spec:\n  containers:\n  - name: main\n    image: /{D}/s/ir/app:1\n  endpoints:\n"
                  "  - name: web\n    port: 8080\n    public: true\n$$")
SV_PUBLIC_TEXT = SV_PUBLIC_SPEC[2:-2]


def upgraded_to_public(rows: list[dict], ns: dict) -> bool:
    return rows[0]["spec_digest"] == hashlib.sha256(SV_PUBLIC_TEXT.format(**ns).encode()).hexdigest()


SECRET_DEF = "TYPE = GENERIC_STRING SECRET_STRING = 'pm-secret-value'"
SECRET = [*DB, "CREATE SECRET {SEC} " + SECRET_DEF + " COMMENT = 'before'"]
SEE_SEC = ["GRANT USAGE ON SECRET {SEC} TO ROLE {R}"]
SHOW_SEC = show("SECRETS", "SEC", "SCHEMA {S}", "name", "owner", "comment")
SV_SECRET_SPEC = ("$$spec:\n  containers:\n  - name: main\n    image: /{D}/s/ir/app:1\n    secrets:\n"
                  "    - snowflakeSecret: sec\n      secretKeyRef: secret_string\n      envVarName: V\n$$")
# A service with a block volume, and a snapshot of its (never started: empty) instance 0 volume.
BLOCK_SPEC = ("$$spec:\n  containers:\n  - name: main\n    image: /{D}/s/ir/app:1\n    volumeMounts:\n"
              "    - name: data\n      mountPath: /data\n  volumes:\n  - name: data\n    source: block\n"
              "    size: 1Gi\n$$")
BLOCK_SERVICE = [*DB, *SV_POOL, "CREATE SERVICE {SV} IN COMPUTE POOL {P} FROM SPECIFICATION " + BLOCK_SPEC]
SNAP = [*BLOCK_SERVICE, 'CREATE SNAPSHOT {S}.SNAP FROM SERVICE {SV} VOLUME "data" INSTANCE 0 COMMENT = \'before\'']
SEE_SNAP = ["GRANT USAGE ON SNAPSHOT {S}.SNAP TO ROLE {R}"]
SHOW_SNAP = show("SNAPSHOTS", "SNAP", "SCHEMA {S}", "name", "owner", "comment")
# A job that stays PENDING on the suspended pool: ASYNC, so its statement returns at once.
JOB = [*DB, *SV_POOL, "EXECUTE JOB SERVICE IN COMPUTE POOL {P} FROM SPECIFICATION " + SV_SPEC + " NAME = {JB} ASYNC = TRUE"]
SEE_JB = ["GRANT USAGE ON SERVICE {JB} TO ROLE {R}", "GRANT MONITOR ON SERVICE {JB} TO ROLE {R}"]
SHOW_JB = show("SERVICES", "JB", "SCHEMA {S}", "name", "owner", "status", "is_job")
# A service function on a service with an HTTP endpoint (on the suspended pool: no pod runs).
FN_SPEC = ("$$spec:\n  containers:\n  - name: main\n    image: /{D}/s/ir/app:1\n  endpoints:\n  - name: api\n"
           "    port: 8080\n$$")
FN_SERVICE = [*DB, *SV_POOL, "CREATE SERVICE {SV} IN COMPUTE POOL {P} FROM SPECIFICATION " + FN_SPEC]
FN_DEF = " (X FLOAT) RETURNS FLOAT SERVICE = {SV} ENDPOINT = api AS '/f'"
FN = [*FN_SERVICE, "CREATE FUNCTION {S}.FN" + FN_DEF + " COMMENT = 'before'"]
FN_NAME = "{S}.FN(FLOAT)"
SEE_FN = ["GRANT USAGE ON FUNCTION {S}.FN(FLOAT) TO ROLE {R}"]
SHOW_FN = show("USER FUNCTIONS", "FN", "SCHEMA {S}", "name", "description")
RULE_DEF = "TYPE = 'HOST_PORT' MODE = 'EGRESS' VALUE_LIST = ('example.com:443')"
RULE = [*DB, "CREATE NETWORK RULE {NR} " + RULE_DEF + " COMMENT = 'before'"]
SHOW_NR = show("NETWORK RULES", "NR", "SCHEMA {S}", "name", "owner", "comment")
EAI_DEF = "ALLOWED_NETWORK_RULES = ({NR}) ENABLED = TRUE"
EAI = [*RULE, "USE ROLE ACCOUNTADMIN", "CREATE EXTERNAL ACCESS INTEGRATION {EAI} " + EAI_DEF + " COMMENT = 'before'"]
SHOW_EAI = show("INTEGRATIONS", "{EAI}", "", "name", "enabled", "comment")

CASES: list[Case] = [
    # ---- users ------------------------------------------------------------------------------------
    Case("CREATE USER", "CREATE USER {U} PASSWORD = 'pm-target-pw'", grant=priv("CREATE USER", "ACCOUNT", ""),
         refusal=ACCOUNT_REFUSAL, probe=SHOW_U, effect=has(name="{U}", owner="{R}")),
    Case("CREATE OR REPLACE USER", "CREATE OR REPLACE USER {U} PASSWORD = 'pm-new-pw' COMMENT = 'after'",
         setup=USER, without=priv("CREATE USER", "ACCOUNT", ""), grant=own("USER", "{U}"),
         refusal=insufficient("user", "{U}"), probe=SHOW_U, effect=has(name="{U}", comment="after")),
    Case("ALTER USER", "ALTER USER {U} SET COMMENT = 'after'", setup=USER, without=priv("MONITOR", "USER", "{U}"),
         grant=own("USER", "{U}"), refusal=insufficient("user", "{U}"), probe=SHOW_U, effect=has(comment="after")),
    Case("ALTER USER RENAME", "ALTER USER {U} RENAME TO {U}_R", setup=USER, without=priv("MONITOR", "USER", "{U}"),
         grant=own("USER", "{U}"), refusal=insufficient("user", "{U}"), probe=SHOW_U, effect=none),
    Case("DROP USER", "DROP USER {U}", setup=USER, without=priv("MONITOR", "USER", "{U}"), grant=own("USER", "{U}"),
         refusal=insufficient("user", "{U}"), probe=SHOW_U, effect=none),
    Case("DESCRIBE USER", "DESCRIBE USER {U}", setup=USER, grant=priv("MONITOR", "USER", "{U}"),
         refusal=insufficient("user", "{U}"), result=contains(property="NAME", value="{U}")),
    Case("SHOW USERS", "SHOW USERS", setup=USER, grant=priv("MANAGE GRANTS", "ACCOUNT", ""),
         refusal=ACCOUNT_REFUSAL, result=contains(name="{U}")),
    # ---- users' programmatic credentials ----------------------------------------------------------
    Case("ALTER USER SET RSA_PUBLIC_KEY", "ALTER USER {U} SET RSA_PUBLIC_KEY = '" + PM_KEY + "'", setup=USER,
         without=priv("MONITOR", "USER", "{U}"), grant=priv(PAM, "USER", "{U}"), refusal=insufficient("user", "{U}"),
         probe=Probe("DESCRIBE USER {U}", ("property", "value")),
         effect=contains(property="RSA_PUBLIC_KEY_FP", value=PM_KEY_FP)),
    Case("ALTER USER ADD PROGRAMMATIC ACCESS TOKEN", "ALTER USER {U} ADD PAT PMT COMMENT = 'after'", setup=USER,
         without=priv("MONITOR", "USER", "{U}"), grant=priv(PAM, "USER", "{U}"), refusal=insufficient("user", "{U}"),
         probe=SHOW_PATS, effect=has(name="PMT", status="ACTIVE", comment="after"),
         result=lambda rows, ns: len(rows) == 1 and rows[0]["token_name"] == "PMT" and len(rows[0]["token_secret"]) > 30),
    Case("ALTER USER REMOVE PROGRAMMATIC ACCESS TOKEN", "ALTER USER {U} REMOVE PAT PMT", setup=USER_PAT,
         without=priv("MONITOR", "USER", "{U}"), grant=priv(PAM, "USER", "{U}"), refusal=insufficient("user", "{U}"),
         probe=SHOW_PATS, effect=none),
    Case("ALTER USER ROTATE PROGRAMMATIC ACCESS TOKEN",
         "ALTER USER {U} ROTATE PROGRAMMATIC ACCESS TOKEN PMT EXPIRE_ROTATED_TOKEN_AFTER_HOURS = 0", setup=USER_PAT,
         without=priv("MONITOR", "USER", "{U}"), grant=priv(PAM, "USER", "{U}"), refusal=insufficient("user", "{U}"),
         probe=SHOW_PATS, effect=contains(rotated_to="PMT", status="EXPIRED")),
    Case("ALTER USER MODIFY PROGRAMMATIC ACCESS TOKEN", "ALTER USER {U} MODIFY PAT PMT SET COMMENT = 'after'",
         setup=USER_PAT, without=priv("MONITOR", "USER", "{U}"), grant=priv(PAM, "USER", "{U}"),
         refusal=insufficient("user", "{U}"), probe=SHOW_PATS, effect=has(name="PMT", comment="after")),
    Case("SHOW USER PROGRAMMATIC ACCESS TOKENS", "SHOW USER PROGRAMMATIC ACCESS TOKENS FOR USER {U}", setup=USER_PAT,
         without=priv("MONITOR", "USER", "{U}"), grant=priv(PAM, "USER", "{U}"), refusal=insufficient("user", "{U}"),
         result=has(name="PMT", user_name="{U}", status="ACTIVE")),
    # ---- roles ------------------------------------------------------------------------------------
    Case("CREATE ROLE", "CREATE ROLE {RR}", grant=priv("CREATE ROLE", "ACCOUNT", ""), refusal=ACCOUNT_REFUSAL,
         probe=SHOW_RR, effect=has(name="{RR}", owner="{R}")),
    Case("CREATE OR REPLACE ROLE", "CREATE OR REPLACE ROLE {RR} COMMENT = 'after'", setup=ROLE,
         without=priv("CREATE ROLE", "ACCOUNT", ""), grant=own("ROLE", "{RR}"), refusal=insufficient("role", "{RR}"),
         probe=SHOW_RR, effect=has(name="{RR}", comment="after")),
    Case("ALTER ROLE", "ALTER ROLE {RR} SET COMMENT = 'after'", setup=ROLE, grant=own("ROLE", "{RR}"),
         refusal=insufficient("role", "{RR}"), probe=SHOW_RR, effect=has(comment="after")),
    Case("ALTER ROLE RENAME", "ALTER ROLE {RR} RENAME TO {RR}_R", setup=ROLE, grant=own("ROLE", "{RR}"),
         refusal=insufficient("role", "{RR}"), probe=SHOW_RR, effect=none),
    Case("DROP ROLE", "DROP ROLE {RR}", setup=ROLE, grant=own("ROLE", "{RR}"), refusal=insufficient("role", "{RR}"),
         probe=SHOW_RR, effect=none),
    Case("SHOW ROLES", "SHOW ROLES", result=contains(name="{R}")),
    Case("USE ROLE", "USE ROLE {RR}", setup=ROLE, grant=["GRANT ROLE {RR} TO ROLE {R}"],
         refusal=Refusal(3013, "role", "{RR}"), after=("SELECT CURRENT_ROLE()", [("{RR}",)])),
    Case("USE SECONDARY ROLES", "USE SECONDARY ROLES NONE"),
    # ---- grants -----------------------------------------------------------------------------------
    Case("GRANT ROLE", "GRANT ROLE {RR} TO ROLE {RT}", setup=ROLES2, grant=own("ROLE", "{RR}"),
         refusal=GRANT_REFUSED, probe=grants_of("{RR}"),
         effect=contains(granted_to="ROLE", grantee_name="{RT}")),
    Case("REVOKE ROLE", "REVOKE ROLE {RR} FROM ROLE {RT}", setup=[*ROLES2, "GRANT ROLE {RR} TO ROLE {RT}"],
         grant=own("ROLE", "{RR}"), refusal=REVOKE_REFUSED, probe=grants_of("{RR}"),
         effect=lacks(granted_to="ROLE", grantee_name="{RT}")),
    Case("GRANT PRIVILEGE", "GRANT MODIFY ON WAREHOUSE {W} TO ROLE {RT}", setup=[*WH, "USE ROLE ACCOUNTADMIN",
         "CREATE ROLE {RT}"], without=SEE_W, grant=own("WAREHOUSE", "{W}"),
         refusal=GRANT_REFUSED, probe=grants_to("{RT}"),
         effect=contains(privilege="MODIFY", granted_on="WAREHOUSE", name="{W}")),
    Case("REVOKE PRIVILEGE", "REVOKE MODIFY ON WAREHOUSE {W} FROM ROLE {RT}", setup=[*WH, "USE ROLE ACCOUNTADMIN",
         "CREATE ROLE {RT}", "GRANT MODIFY ON WAREHOUSE {W} TO ROLE {RT}"], without=SEE_W,
         grant=own("WAREHOUSE", "{W}"), refusal=REVOKE_REFUSED, probe=grants_to("{RT}"),
         effect=lacks(privilege="MODIFY", granted_on="WAREHOUSE", name="{W}")),
    Case("GRANT ON ACCOUNT", "GRANT CREATE DATABASE ON ACCOUNT TO ROLE {RT}", setup=["USE ROLE ACCOUNTADMIN",
         "CREATE ROLE {RT}"], grant=priv("MANAGE GRANTS", "ACCOUNT", ""), refusal=GRANT_REFUSED,
         probe=grants_to("{RT}"), effect=contains(privilege="CREATE DATABASE", granted_on="ACCOUNT")),
    Case("GRANT OWNERSHIP", "GRANT OWNERSHIP ON WAREHOUSE {W} TO ROLE {RT}", setup=[*WH, "USE ROLE ACCOUNTADMIN",
         "CREATE ROLE {RT}"], without=SEE_W, grant=own("WAREHOUSE", "{W}"),
         refusal=insufficient("warehouse", "{W}"), probe=grants_to("{RT}"),
         effect=contains(privilege="OWNERSHIP", granted_on="WAREHOUSE", name="{W}")),
    # A future grant shows in the grants of a table created afterwards (SHOW FUTURE GRANTS aside).
    Case("GRANT ON FUTURE", "GRANT SELECT ON FUTURE TABLES IN SCHEMA {S} TO ROLE {RT}",
         setup=[*DB, "USE ROLE ACCOUNTADMIN", "CREATE ROLE {RT}"], base=USE_DB, grant=own("SCHEMA", "{S}"),
         refusal=insufficient("schema", "S|{S}"), probe=grants_to("{RT}"),
         after_attempt=["USE ROLE SYSADMIN", "CREATE TABLE {S}.U{RUN} (A INT)", "USE ROLE ACCOUNTADMIN"],
         effect=contains(privilege="SELECT", granted_on="TABLE", name="{S}.U2")),
    Case("GRANT ON ALL", "GRANT SELECT ON ALL TABLES IN SCHEMA {S} TO ROLE {RT}",
         setup=[*DB, "CREATE TABLE {T} (A INT)", "USE ROLE ACCOUNTADMIN", "CREATE ROLE {RT}"], base=USE_DB,
         grant=[*own("SCHEMA", "{S}"), *own("TABLE", "{T}")], refusal=insufficient("schema", "S|{S}"),
         probe=grants_to("{RT}"), effect=contains(privilege="SELECT", granted_on="TABLE", name="{T}")),
    Case("SHOW GRANTS TO ROLE", "SHOW GRANTS TO ROLE {RR}", setup=[*ROLE, "GRANT CREATE ROLE ON ACCOUNT TO ROLE {RR}"],
         grant=["GRANT ROLE {RR} TO ROLE {R}"], refusal=insufficient("role", "{RR}"),
         result=contains(privilege="CREATE ROLE", grantee_name="{RR}")),
    Case("SHOW GRANTS TO USER", "SHOW GRANTS TO USER {U}", setup=[*USER, "CREATE ROLE {RR}", "GRANT ROLE {RR} TO USER {U}"],
         without=priv("MONITOR", "USER", "{U}"), grant=own("USER", "{U}"), refusal=insufficient("user", "{U}"),
         result=contains(role="{RR}")),
    Case("SHOW GRANTS ON", "SHOW GRANTS ON WAREHOUSE {W}", setup=WH, grant=priv("USAGE", "WAREHOUSE", "{W}"),
         refusal=missing("{W}"), result=contains(privilege="OWNERSHIP", grantee_name="SYSADMIN")),
    Case("SHOW GRANTS OF ROLE", "SHOW GRANTS OF ROLE {R}", result=contains(grantee_name="PM_USER")),
    # ---- databases --------------------------------------------------------------------------------
    *lifecycle("DATABASE", create_on="ACCOUNT", create_on_name="", name="{D}", short="{D}", show_in="",
               plural="DATABASES", setup=[], base=[], see=priv("USAGE", "DATABASE", "{D}"), refusal_kind="database",
               create_refusal=ACCOUNT_REFUSAL),
    Case("ALTER DATABASE", "ALTER DATABASE {D} SET COMMENT = 'after'", setup=["CREATE DATABASE {D}"],
         without=priv("USAGE", "DATABASE", "{D}"), grant=priv("MODIFY", "DATABASE", "{D}"),
         refusal=insufficient("database", "{D}"), probe=SHOW_D, effect=has(comment="after")),
    Case("DESCRIBE DATABASE", "DESCRIBE DATABASE {D}", setup=["CREATE DATABASE {D}", "CREATE SCHEMA {S}"],
         grant=priv("USAGE", "DATABASE", "{D}"), refusal=missing("{D}")),
    Case("SHOW DATABASES", "SHOW DATABASES", setup=["CREATE DATABASE {D}"], result=lacks(name="{D}")),
    Case("USE DATABASE", "USE DATABASE {D}", setup=["CREATE DATABASE {D}"], grant=priv("USAGE", "DATABASE", "{D}"),
         refusal=Refusal(2043), after=("SELECT CURRENT_DATABASE()", [("{D}",)])),
    # ---- schemas ----------------------------------------------------------------------------------
    *lifecycle("SCHEMA", create_on="DATABASE", create_on_name="{D}", name="{S}", short="S", show_in="DATABASE {D}",
               plural="SCHEMAS", setup=["CREATE DATABASE {D}"], base=priv("USAGE", "DATABASE", "{D}"),
               see=priv("USAGE", "SCHEMA", "{S}"), refusal_kind="schema", refusal_name="S|{S}",
               rename=False,  # the matrix has no ALTER SCHEMA RENAME row (Snowport answers 000002)
               create_refusal=insufficient("database", "{D}")),
    Case("ALTER SCHEMA", "ALTER SCHEMA {S} SET COMMENT = 'after'", setup=DB, base=USE_DB,
         grant=priv("MODIFY", "SCHEMA", "{S}"), refusal=insufficient("schema", "S|{S}"), probe=SHOW_S,
         effect=has(comment="after")),
    Case("DESCRIBE SCHEMA", "DESCRIBE SCHEMA {S}", setup=DB, base=priv("USAGE", "DATABASE", "{D}"),
         grant=priv("USAGE", "SCHEMA", "{S}"), refusal=missing("{S}")),
    Case("SHOW SCHEMAS", "SHOW SCHEMAS IN DATABASE {D}", setup=DB, grant=priv("USAGE", "DATABASE", "{D}"),
         refusal=missing("{D}"), result=lacks(name="S")),
    Case("USE SCHEMA", "USE SCHEMA {S}", setup=DB, base=priv("USAGE", "DATABASE", "{D}"),
         grant=priv("USAGE", "SCHEMA", "{S}"), refusal=Refusal(2043),
         after=("SELECT CURRENT_DATABASE(), CURRENT_SCHEMA()", [("{D}", "S")])),
    # ---- warehouses -------------------------------------------------------------------------------
    *lifecycle("WAREHOUSE", create_on="ACCOUNT", create_on_name="", name="{W}", short="{W}", show_in="",
               plural="WAREHOUSES", setup=[], base=[], see=SEE_W, refusal_kind="warehouse",
               create_refusal=ACCOUNT_REFUSAL,
               create_sql="CREATE WAREHOUSE {W} INITIALLY_SUSPENDED = TRUE COMMENT = 'after'"),
    Case("ALTER WAREHOUSE", "ALTER WAREHOUSE {W} SET AUTO_SUSPEND = 123", setup=WH, without=SEE_W,
         grant=priv("MODIFY", "WAREHOUSE", "{W}"), refusal=insufficient("warehouse", "{W}"), probe=SHOW_W,
         effect=has(auto_suspend="123")),
    Case("ALTER WAREHOUSE SUSPEND", "ALTER WAREHOUSE {W} SUSPEND", setup=["CREATE WAREHOUSE {W}"], without=SEE_W,
         grant=priv("OPERATE", "WAREHOUSE", "{W}"), refusal=insufficient("warehouse", "{W}"), probe=SHOW_W,
         effect=has(state="SUSPENDED")),
    Case("ALTER WAREHOUSE RESUME", "ALTER WAREHOUSE {W} RESUME", setup=WH, without=SEE_W,
         grant=priv("OPERATE", "WAREHOUSE", "{W}"), refusal=insufficient("warehouse", "{W}"), probe=SHOW_W,
         effect=has(state="STARTED")),
    Case("ALTER WAREHOUSE ABORT ALL QUERIES", "ALTER WAREHOUSE {W} ABORT ALL QUERIES", setup=["CREATE WAREHOUSE {W}"],
         without=SEE_W, grant=priv("OPERATE", "WAREHOUSE", "{W}"), refusal=insufficient("warehouse", "{W}"),
         probe=SHOW_W, effect=some),
    Case("DESCRIBE WAREHOUSE", "DESCRIBE WAREHOUSE {W}", setup=WH, grant=priv("USAGE", "WAREHOUSE", "{W}"),
         refusal=missing("{W}"), result=some),
    Case("SHOW WAREHOUSES", "SHOW WAREHOUSES", setup=WH, result=lacks(name="{W}")),
    Case("USE WAREHOUSE", "USE WAREHOUSE {W}", setup=WH, grant=priv("USAGE", "WAREHOUSE", "{W}"),
         refusal=Refusal(2043), after=("SELECT CURRENT_WAREHOUSE()", [("{W}",)])),
    # ---- tables and views -------------------------------------------------------------------------
    Case("CREATE TABLE", "CREATE TABLE {T} (A INT)", setup=DB, base=USE_DB, grant=priv("CREATE TABLE", "SCHEMA", "{S}"),
         refusal=insufficient("schema", "S|{S}"), probe=show("TABLES", "T", "SCHEMA {S}", "name", "owner"),
         effect=has(name="T", owner="{R}")),
    Case("CREATE OR REPLACE TABLE", "CREATE OR REPLACE TABLE {T} (A INT)", setup=[*DB, *TABLE_1], base=USE_DB,
         without=[*priv("CREATE TABLE", "SCHEMA", "{S}"), *priv("SELECT", "TABLE", "{T}")], grant=own("TABLE", "{T}"),
         refusal=insufficient("table", "{T}"), probe=rows_in("{T}"), effect=count(0), warehouse=True),
    Case("CREATE TABLE AS SELECT", "CREATE TABLE {T} AS SELECT * FROM {SRC}", setup=[*DB, *SRC_1],
         base=[*USE_DB, *priv("SELECT", "TABLE", "{SRC}")], grant=priv("CREATE TABLE", "SCHEMA", "{S}"),
         refusal=insufficient("schema", "S|{S}"), probe=show("TABLES", "T", "SCHEMA {S}", "name"),
         effect=has(name="T"), warehouse=True),
    Case("CREATE VIEW", "CREATE VIEW {V} AS SELECT * FROM {SRC}", setup=[*DB, *SRC_1],
         base=[*USE_DB, *priv("SELECT", "TABLE", "{SRC}")], grant=priv("CREATE VIEW", "SCHEMA", "{S}"),
         refusal=insufficient("schema", "S|{S}"), probe=show("VIEWS", "V", "SCHEMA {S}", "name"),
         effect=has(name="V"), warehouse=True),
    Case("ALTER TABLE", "ALTER TABLE {T} ADD COLUMN B INT", setup=[*DB, *TABLE_1], base=USE_DB,
         without=priv("SELECT", "TABLE", "{T}"), grant=own("TABLE", "{T}"), refusal=insufficient("table", "{T}"),
         probe=Probe("DESCRIBE TABLE {T}", ("name", "type")), effect=column("name", "A", "B")),
    Case("ALTER TABLE RENAME", "ALTER TABLE {T} RENAME TO {S}.T2", setup=[*DB, *TABLE_1], base=USE_DB,
         without=priv("SELECT", "TABLE", "{T}"), grant=own("TABLE", "{T}"), refusal=insufficient("table", "{T}"),
         probe=Probe("SHOW TABLES IN SCHEMA {S}", ("name",)), effect=column("name", "T2")),
    Case("DROP TABLE", "DROP TABLE {T}", setup=[*DB, *TABLE_1], base=USE_DB, without=priv("SELECT", "TABLE", "{T}"),
         grant=own("TABLE", "{T}"), refusal=insufficient("table", "{T}"),
         probe=show("TABLES", "T", "SCHEMA {S}", "name", "rows"), effect=none),
    Case("DROP VIEW", "DROP VIEW {V}", setup=[*DB, *TABLE_1, "CREATE VIEW {V} AS SELECT * FROM {T}"], base=USE_DB,
         without=priv("SELECT", "VIEW", "{V}"), grant=own("VIEW", "{V}"), refusal=insufficient("view", "{V}"),
         probe=show("VIEWS", "V", "SCHEMA {S}", "name"), effect=none),
    Case("SELECT", "SELECT count(*) AS N FROM {T}", setup=[*DB, *TABLE_1], base=USE_DB,
         without=priv("INSERT", "TABLE", "{T}"), grant=priv("SELECT", "TABLE", "{T}"),
         refusal=insufficient("table", "{T}"), result=count(2), warehouse=True),
    Case("INSERT", "INSERT INTO {T} VALUES (3)", setup=[*DB, *TABLE_1], base=USE_DB,
         without=priv("SELECT", "TABLE", "{T}"), grant=priv("INSERT", "TABLE", "{T}"),
         refusal=insufficient("table", "{T}"), probe=rows_in("{T}"), effect=count(3), warehouse=True),
    Case("UPDATE", "UPDATE {T} SET A = 10", setup=[*DB, *TABLE_1], base=USE_DB,
         without=priv("SELECT", "TABLE", "{T}"), grant=priv("UPDATE", "TABLE", "{T}"),
         refusal=insufficient("table", "{T}"), probe=Probe("SELECT sum(A) AS N FROM {T}", ("N",)), effect=count(20),
         warehouse=True),
    Case("DELETE", "DELETE FROM {T}", setup=[*DB, *TABLE_1], base=USE_DB, without=priv("SELECT", "TABLE", "{T}"),
         grant=priv("DELETE", "TABLE", "{T}"), refusal=insufficient("table", "{T}"), probe=rows_in("{T}"),
         effect=count(0), warehouse=True),
    Case("TRUNCATE TABLE", "TRUNCATE TABLE {T}", setup=[*DB, *TABLE_1], base=USE_DB,
         without=priv("SELECT", "TABLE", "{T}"), grant=priv("TRUNCATE", "TABLE", "{T}"),
         refusal=insufficient("table", "{T}"), probe=rows_in("{T}"), effect=count(0), warehouse=True),
    Case("MERGE", "MERGE INTO {T} t USING {SRC} s ON t.A = s.A WHEN NOT MATCHED THEN INSERT (A) VALUES (s.A)",
         setup=[*DB, *TABLE_1, *SRC_1], base=[*USE_DB, *priv("SELECT", "TABLE", "{SRC}")],
         without=priv("SELECT", "TABLE", "{T}"), grant=priv("INSERT", "TABLE", "{T}"),
         refusal=insufficient("table", "{T}"), probe=rows_in("{T}"), effect=count(4), warehouse=True),
    Case("DESCRIBE TABLE", "DESCRIBE TABLE {T}", setup=[*DB, *TABLE_1], base=USE_DB,
         grant=priv("SELECT", "TABLE", "{T}"), refusal=missing("{T}"), result=contains(name="A")),
    Case("SHOW TABLES", "SHOW TABLES IN SCHEMA {S}", setup=[*DB, *TABLE_1], base=priv("USAGE", "DATABASE", "{D}"),
         grant=priv("USAGE", "SCHEMA", "{S}"), refusal=missing("{S}"), result=none),
    # ---- stages -----------------------------------------------------------------------------------
    *lifecycle("STAGE", create_on="SCHEMA", create_on_name="{S}", name="{ST}", short="ST", show_in="SCHEMA {S}",
               plural="STAGES", setup=DB, base=USE_DB, see=priv("READ", "STAGE", "{ST}"), refusal_kind="stage", refusal_name="ST|{ST}",
               create_refusal=insufficient("schema", "S|{S}")),
    Case("ALTER STAGE", "ALTER STAGE {ST} SET COMMENT = 'after'", setup=[*DB, "CREATE STAGE {ST} COMMENT = 'before'"],
         base=USE_DB, without=priv("READ", "STAGE", "{ST}"), grant=own("STAGE", "{ST}"),
         refusal=insufficient("stage", "ST|{ST}"), probe=SHOW_ST, effect=has(comment="after")),
    Case("ALTER STAGE REFRESH", "ALTER STAGE {ST} REFRESH",
         setup=[*DB, "CREATE STAGE {ST} DIRECTORY = (ENABLE = TRUE)", "PUT file://{FILE} @{ST}"], base=USE_DB,
         without=priv("READ", "STAGE", "{ST}"), grant=priv("WRITE", "STAGE", "{ST}"),
         refusal=insufficient("stage", "ST|{ST}"), probe=Probe("SELECT RELATIVE_PATH FROM DIRECTORY(@{ST})"),
         effect=column("RELATIVE_PATH", "{FILENAME}.gz"), warehouse=True,
         local_file=True),
    Case("DESCRIBE STAGE", "DESCRIBE STAGE {ST}", setup=[*DB, "CREATE STAGE {ST}"], base=USE_DB,
         grant=priv("READ", "STAGE", "{ST}"), refusal=missing("{ST}"), result=some),
    Case("SHOW STAGES", "SHOW STAGES IN SCHEMA {S}", setup=[*DB, "CREATE STAGE {ST}"],
         base=priv("USAGE", "DATABASE", "{D}"), grant=priv("USAGE", "SCHEMA", "{S}"), refusal=missing("{S}"),
         result=none),
    Case("PUT", "PUT file://{FILE} @{ST}", setup=[*DB, "CREATE STAGE {ST}"], base=USE_DB,
         without=priv("READ", "STAGE", "{ST}"), grant=priv("WRITE", "STAGE", "{ST}"),
         refusal=insufficient("stage", "ST|{ST}"), probe=listing("{ST}"),
         effect=contains(name="st/{FILENAME}.gz"), local_file=True),
    Case("GET", "GET @{ST} file://{GETDIR}/", setup=[*DB, *STAGE_FILE], base=USE_DB,
         grant=priv("READ", "STAGE", "{ST}"), refusal=missing("{ST}"), probe=Probe("", local_dir="{GETDIR}"),
         effect=column("name", "{FILENAME}.gz"), local_file=True),
    Case("LIST", "LIST @{ST}", setup=[*DB, *STAGE_FILE], base=USE_DB, grant=priv("READ", "STAGE", "{ST}"),
         refusal=missing("{ST}"), result=contains(name="st/{FILENAME}.gz"), local_file=True),
    Case("REMOVE", "REMOVE @{ST}", setup=[*DB, *STAGE_FILE], base=USE_DB, without=priv("READ", "STAGE", "{ST}"),
         grant=priv("WRITE", "STAGE", "{ST}"), refusal=insufficient("stage", "ST|{ST}"), probe=listing("{ST}"),
         effect=none, local_file=True),
    Case("SELECT FROM STAGE", "SELECT $1 AS A FROM @{ST}", setup=[*DB, *STAGE_FILE], base=USE_DB,
         grant=priv("READ", "STAGE", "{ST}"), refusal=missing("{ST}"),
         result=column("A", "1", "2"), warehouse=True, local_file=True),
    Case("COPY INTO TABLE", "COPY INTO {T} FROM @{ST} FILE_FORMAT = (TYPE = CSV)",
         setup=[*DB, "CREATE TABLE {T} (A INT)", *STAGE_FILE],
         base=[*USE_DB, *priv("READ", "STAGE", "{ST}")], without=priv("SELECT", "TABLE", "{T}"),
         grant=priv("INSERT", "TABLE", "{T}"), refusal=insufficient("table", "{T}"), probe=rows_in("{T}"),
         effect=count(2), warehouse=True, local_file=True),
    Case("COPY INTO STAGE", "COPY INTO @{ST}/out/ FROM {T}", setup=[*DB, *TABLE_1, "CREATE STAGE {ST}"],
         base=[*USE_DB, *priv("SELECT", "TABLE", "{T}")], without=priv("READ", "STAGE", "{ST}"),
         grant=priv("WRITE", "STAGE", "{ST}"), refusal=insufficient("stage", "ST|{ST}"), probe=listing("{ST}"),
         effect=some, warehouse=True),
    # ---- image repositories -----------------------------------------------------------------------
    *lifecycle("IMAGE REPOSITORY", create_on="SCHEMA", create_on_name="{S}", name="{IR}", short="IR",
               show_in="SCHEMA {S}", plural="IMAGE REPOSITORIES", setup=DB, base=USE_DB,
               see=priv("READ", "IMAGE REPOSITORY", "{IR}"), refusal_kind="image repository", refusal_name="IR|{IR}", rename=False,
               create_refusal=insufficient("schema", "S|{S}")),
    Case("SHOW IMAGE REPOSITORIES", "SHOW IMAGE REPOSITORIES IN SCHEMA {S}", setup=[*DB, "CREATE IMAGE REPOSITORY {IR}"],
         base=USE_DB, grant=priv("READ", "IMAGE REPOSITORY", "{IR}"), without_result=none,
         result=has(name="IR")),
    Case("SHOW IMAGES", "SHOW IMAGES IN IMAGE REPOSITORY {IR}", setup=[*DB, "CREATE IMAGE REPOSITORY {IR}"],
         base=USE_DB, grant=priv("READ", "IMAGE REPOSITORY", "{IR}"), refusal=missing("{IR}"), result=none),
    Case("SYSTEM$REGISTRY_LIST_IMAGES", "CALL SYSTEM$REGISTRY_LIST_IMAGES('{REPO_PATH}')",
         setup=[*DB, "CREATE IMAGE REPOSITORY {IR}"], base=USE_DB, grant=priv("READ", "IMAGE REPOSITORY", "{IR}"),
         refusal=missing("{IR}"), result=lambda rows, ns: '"images":[]' in str(rows[0]).replace(" ", "")),
    # ---- session ----------------------------------------------------------------------------------
    Case("ALTER SESSION", "ALTER SESSION SET QUERY_TAG = 'pm'"),
    Case("CALL", "CALL SYSTEM$CLIENT_VERSION_INFO()", result=some),
    # ---- UNDROP: the dropped object's owner may restore it (the create privilege is given in both runs);
    # the allowed run first makes the tester's role the owner of the dropped version
    Case("UNDROP DATABASE", "UNDROP DATABASE {D}", setup=[*DB, "DROP DATABASE {D}"],
         base=priv("CREATE DATABASE", "ACCOUNT", ""),
         grant=["UNDROP DATABASE {D}", *own("DATABASE", "{D}"), "DROP DATABASE {D}"],
         refusal=insufficient("database", "{D}"), probe=SHOW_D, effect=has(name="{D}", owner="{R}")),
    Case("UNDROP SCHEMA", "UNDROP SCHEMA {S}", setup=[*DB, "DROP SCHEMA {S}"],
         base=[*priv("USAGE", "DATABASE", "{D}"), *priv("CREATE SCHEMA", "DATABASE", "{D}")],
         grant=["UNDROP SCHEMA {S}", *own("SCHEMA", "{S}"), "DROP SCHEMA {S}"],
         refusal=insufficient("schema", "S|{S}"), probe=SHOW_S, effect=has(name="S", owner="{R}")),
    Case("UNDROP TABLE", "UNDROP TABLE {T}", setup=[*DB, *TABLE_1, "DROP TABLE {T}"],
         base=[*USE_DB, *priv("CREATE TABLE", "SCHEMA", "{S}")],
         grant=["UNDROP TABLE {T}", *own("TABLE", "{T}"), "DROP TABLE {T}"],
         refusal=insufficient("table", "{T}"), probe=show("TABLES", "T", "SCHEMA {S}", "name", "rows"),
         effect=has(name="T", rows=2)),
    # ---- compute pools ------------------------------------------------------------------------
    Case("CREATE COMPUTE POOL", "CREATE COMPUTE POOL {P} " + POOL_SHAPE + " COMMENT = 'after'",
         grant=priv("CREATE COMPUTE POOL", "ACCOUNT", ""), refusal=ACCOUNT_REFUSAL, probe=SHOW_P,
         effect=has(name="{P}", owner="{R}")),
    Case("ALTER COMPUTE POOL", "ALTER COMPUTE POOL {P} SET MAX_NODES = 2", setup=POOL, without=SEE_P,
         grant=priv("MODIFY", "COMPUTE POOL", "{P}"), refusal=insufficient("compute pool", "{P}"), probe=SHOW_P,
         effect=has(max_nodes=2)),
    Case("ALTER COMPUTE POOL SUSPEND", "ALTER COMPUTE POOL {P} SUSPEND", setup=POOL, without=SEE_P,
         grant=priv("OPERATE", "COMPUTE POOL", "{P}"), refusal=insufficient("compute pool", "{P}"),
         probe=DESIRED_P, effect=lambda rows, ns: rows[0]["state"] in ("STOPPING", "SUSPENDED")),
    Case("ALTER COMPUTE POOL RESUME", "ALTER COMPUTE POOL {P} RESUME",
         setup=[*POOL[:-1], POOL[-1] + " INITIALLY_SUSPENDED = TRUE"], without=SEE_P,
         grant=priv("OPERATE", "COMPUTE POOL", "{P}"), refusal=insufficient("compute pool", "{P}"),
         probe=DESIRED_P, effect=lambda rows, ns: rows[0]["state"] != "SUSPENDED"),
    Case("ALTER COMPUTE POOL STOP ALL", "ALTER COMPUTE POOL {P} STOP ALL", setup=POOL, without=SEE_P,
         grant=priv("OPERATE", "COMPUTE POOL", "{P}"), refusal=insufficient("compute pool", "{P}"),
         probe=show("COMPUTE POOLS", "{P}", "", "name", "num_services"), effect=has(num_services=0)),
    Case("DROP COMPUTE POOL", "DROP COMPUTE POOL {P}", setup=POOL, without=SEE_P, grant=own("COMPUTE POOL", "{P}"),
         refusal=insufficient("compute pool", "{P}"), probe=SHOW_P, effect=none),
    Case("SHOW COMPUTE POOLS", "SHOW COMPUTE POOLS LIKE '{P}'", setup=POOL,
         grant=priv("MONITOR", "COMPUTE POOL", "{P}"), without_result=none, result=contains(name="{P}")),
    Case("DESCRIBE COMPUTE POOL", "DESCRIBE COMPUTE POOL {P}", setup=POOL, without=priv("USAGE", "COMPUTE POOL", "{P}"),
         grant=priv("MONITOR", "COMPUTE POOL", "{P}"), refusal=insufficient("compute pool", "{P}"),
         result=contains(name="{P}")),
    Case("SHOW NODES IN COMPUTE POOL", "SHOW NODES IN COMPUTE POOL {P}", setup=POOL,
         without=priv("MONITOR", "COMPUTE POOL", "{P}"), grant=priv("USAGE", "COMPUTE POOL", "{P}"),
         refusal=insufficient("compute pool", "{P}"), result=lambda rows, ns: len(rows) <= 1),
    Case("SHOW COMPUTE POOL INSTANCE FAMILIES", "SHOW COMPUTE POOL INSTANCE FAMILIES",
         result=contains(name="CPU_X64_XS")),
    # ---- services ---------------------------------------------------------------------------
    Case("CREATE SERVICE", "CREATE SERVICE {SV} IN COMPUTE POOL {P} FROM SPECIFICATION " + SV_SPEC,
         setup=[*DB, *SV_POOL], base=[*USE_DB, "GRANT USAGE ON COMPUTE POOL {P} TO ROLE {R}",
                                      "GRANT READ ON IMAGE REPOSITORY {IR} TO ROLE {R}"],
         grant=priv("CREATE SERVICE", "SCHEMA", "{S}"), refusal=insufficient("schema", "S|{S}"), probe=SHOW_SV,
         effect=has(name="SV", owner="{R}")),
    Case("ALTER SERVICE", "ALTER SERVICE {SV} SET MIN_INSTANCES = 1 MAX_INSTANCES = 2", setup=SERVICE,
         base=USE_DB, without=SEE_SV, grant=own("SERVICE", "{SV}"), refusal=insufficient("service", "{SV}"),
         probe=show("SERVICES", "SV", "SCHEMA {S}", "name", "max_instances"), effect=has(max_instances=2)),
    Case("ALTER SERVICE SUSPEND", "ALTER SERVICE {SV} SUSPEND", setup=SERVICE, base=USE_DB, without=SEE_SV,
         grant=priv("OPERATE", "SERVICE", "{SV}"), refusal=insufficient("service", "{SV}"), probe=SHOW_SV,
         effect=has(status="SUSPENDED")),
    Case("ALTER SERVICE RESUME", "ALTER SERVICE {SV} RESUME", setup=[*SERVICE, "ALTER SERVICE {SV} SUSPEND"],
         base=USE_DB, without=SEE_SV, grant=priv("OPERATE", "SERVICE", "{SV}"),
         refusal=insufficient("service", "{SV}"), probe=SHOW_SV,
         effect=lambda rows, ns: rows[0]["status"] != "SUSPENDED"),
    Case("ALTER SERVICE FROM", "ALTER SERVICE {SV} FROM SPECIFICATION " + SV_SPEC_V2, setup=SERVICE, base=[
        *USE_DB, "GRANT READ ON IMAGE REPOSITORY {IR} TO ROLE {R}"], without=SEE_SV,
         grant=priv("OPERATE", "SERVICE", "{SV}"), refusal=insufficient("service", "{SV}"),
         probe=show("SERVICES", "SV", "SCHEMA {S}", "name", "spec_digest"),
         effect=upgraded_to_v2),
    Case("DROP SERVICE", "DROP SERVICE {SV}", setup=SERVICE, base=USE_DB, without=SEE_SV,
         grant=own("SERVICE", "{SV}"), refusal=insufficient("service", "{SV}"), probe=SHOW_SV, effect=none),
    Case("SHOW SERVICES", "SHOW SERVICES LIKE 'SV' IN SCHEMA {S}", setup=SERVICE, base=USE_DB,
         grant=priv("MONITOR", "SERVICE", "{SV}"), without_result=none, result=contains(name="SV")),
    Case("DESCRIBE SERVICE", "DESCRIBE SERVICE {SV}", setup=SERVICE, base=USE_DB,
         grant=priv("USAGE", "SERVICE", "{SV}"), refusal=missing("{SV}"), result=contains(name="SV")),
    Case("SHOW SERVICE CONTAINERS IN SERVICE", "SHOW SERVICE CONTAINERS IN SERVICE {SV}", setup=SERVICE,
         base=USE_DB, without=SEE_SV, grant=priv("MONITOR", "SERVICE", "{SV}"),
         refusal=insufficient("service", "{SV}"), result=contains(service_name="SV")),
    Case("SHOW SERVICE INSTANCES IN SERVICE", "SHOW SERVICE INSTANCES IN SERVICE {SV}", setup=SERVICE,
         base=USE_DB, without=SEE_SV, grant=priv("MONITOR", "SERVICE", "{SV}"),
         refusal=insufficient("service", "{SV}"), result=lambda rows, ns: all(r["service_name"] == "SV" for r in rows)),
    Case("SHOW ENDPOINTS IN SERVICE", "SHOW ENDPOINTS IN SERVICE {SV}", setup=[
        *DB, *SV_POOL, "CREATE SERVICE {SV} IN COMPUTE POOL {P} FROM SPECIFICATION $$spec:\n  containers:\n"
        "  - name: main\n    image: /{D}/s/ir/app:1\n  endpoints:\n  - name: ep\n    port: 8000\n$$"],
         base=USE_DB, grant=priv("USAGE", "SERVICE", "{SV}"), refusal=missing("{SV}"),
         result=lambda rows, ns: [(r["name"], r["port"], r["is_public"], r["ingress_url"]) for r in rows] == [
             ("ep", 8000, "false", None)]),
    Case("SYSTEM$GET_SERVICE_STATUS", "SELECT SYSTEM$GET_SERVICE_STATUS('{SV}') AS S", setup=SERVICE, base=USE_DB,
         without=SEE_SV, grant=priv("MONITOR", "SERVICE", "{SV}"), refusal=insufficient("service", "{SV}"),
         result=some),
    Case("SYSTEM$WAIT_FOR_SERVICES", "SELECT SYSTEM$WAIT_FOR_SERVICES(0, '{SV}') AS W", setup=SERVICE, base=USE_DB,
         without=SEE_SV, grant=priv("MONITOR", "SERVICE", "{SV}"), refusal=insufficient("service", "{SV}"),
         allowed_errors=(2143,)),
    Case("SYSTEM$GET_SERVICE_DNS_DOMAIN", "SELECT SYSTEM$GET_SERVICE_DNS_DOMAIN('{S}') AS D", setup=DB,
         base=priv("USAGE", "DATABASE", "{D}"), grant=priv("USAGE", "SCHEMA", "{S}"), refusal=missing("{S}"),
         result=lambda rows, ns: len(rows) == 1 and rows[0]["D"].endswith(".svc.spcs.internal")),
    Case("SPCS_WAIT_FOR", "CALL {SV}!SPCS_WAIT_FOR('PENDING', 1)", setup=SERVICE, base=USE_DB,
         grant=priv("MONITOR", "SERVICE", "{SV}"), refusal=missing("{SV}"),
         result=lambda rows, ns: rows == [{"SPCS_WAIT_FOR": "Service SV reached status PENDING."}]),
    Case("SYSTEM$GET_SERVICE_LOGS", "SELECT SYSTEM$GET_SERVICE_LOGS('{SV}', 0, 'main') AS L", setup=SERVICE,
         base=USE_DB, without=SEE_SV, grant=priv("MONITOR", "SERVICE", "{SV}"),
         refusal=insufficient("service", "{SV}"), allowed_errors=(2025, 2143)),
    Case("SPCS_GET_LOGS", "SELECT * FROM TABLE({SV}!SPCS_GET_LOGS())", setup=SERVICE, base=USE_DB, without=SEE_SV,
         grant=priv("MONITOR", "SERVICE", "{SV}"), refusal=insufficient("service", "{SV}"),
         result=lambda rows, ns: all(set(r) == {"TIMESTAMP", "INSTANCE_ID", "CONTAINER_NAME", "LOG",
                                                "RECORD_ATTRIBUTES"} for r in rows)),
    Case("SPCS_GET_EVENTS", "SELECT * FROM TABLE({SV}!SPCS_GET_EVENTS(START_TIME => DATEADD('hour', -1, "
         "CURRENT_TIMESTAMP())))", setup=SERVICE, base=USE_DB, without=SEE_SV,
         grant=priv("MONITOR", "SERVICE", "{SV}"), refusal=insufficient("service", "{SV}"),
         result=lambda rows, ns: all(r["EVENT_NAME"].endswith("STATUS_CHANGE") for r in rows)),
    # ---- service roles and public endpoints ------------------------------------------------------
    Case("GRANT SERVICE ROLE", "GRANT SERVICE ROLE {SV}!API_USERS TO ROLE {RT}", setup=ROLE_SERVICE, base=USE_DB,
         without=SEE_SV, grant=own("SERVICE", "{SV}"), refusal=insufficient("service", "{SV}"), probe=GRANTS_OF_SR,
         effect=has(role="{D}.S.SV!API_USERS", granted_to="ROLE", grantee_name="{RT}")),
    Case("REVOKE SERVICE ROLE", "REVOKE SERVICE ROLE {SV}!API_USERS FROM ROLE {RT}",
         setup=[*ROLE_SERVICE, "GRANT SERVICE ROLE {SV}!API_USERS TO ROLE {RT}"], base=USE_DB, without=SEE_SV,
         grant=own("SERVICE", "{SV}"), refusal=insufficient("service", "{SV}"), probe=GRANTS_OF_SR, effect=none),
    Case("SHOW ROLES IN SERVICE", "SHOW ROLES IN SERVICE {SV}", setup=ROLE_SERVICE, base=USE_DB,
         without=priv("MONITOR", "SERVICE", "{SV}"), grant=SEE_SV, refusal=insufficient("service", "{SV}"),
         result=column("name", "ALL_ENDPOINTS_USAGE", "API_USERS")),
    Case("SHOW GRANTS TO SERVICE ROLE", "SHOW GRANTS TO SERVICE ROLE {SV}!API_USERS", setup=ROLE_SERVICE,
         base=USE_DB, without=priv("MONITOR", "SERVICE", "{SV}"), grant=SEE_SV,
         refusal=insufficient("service", "{SV}"),
         result=has(privilege="USAGE", granted_on="SERVICE_ENDPOINT", name="{D}.S.SV!api", granted_to="SERVICE_ROLE",
                    grantee_name="API_USERS")),
    Case("SHOW GRANTS OF SERVICE ROLE", "SHOW GRANTS OF SERVICE ROLE {SV}!API_USERS",
         setup=[*ROLE_SERVICE, "GRANT SERVICE ROLE {SV}!API_USERS TO ROLE {RT}"], base=USE_DB,
         without=priv("MONITOR", "SERVICE", "{SV}"), grant=SEE_SV, refusal=insufficient("service", "{SV}"),
         result=has(role="{D}.S.SV!API_USERS", granted_to="ROLE", grantee_name="{RT}")),
    Case("CREATE SERVICE WITH PUBLIC ENDPOINT", "CREATE SERVICE {SV} IN COMPUTE POOL {P} FROM SPECIFICATION "
         + SV_PUBLIC_SPEC, setup=[*DB, *SV_POOL],
         base=[*USE_DB, "GRANT USAGE ON COMPUTE POOL {P} TO ROLE {R}", "GRANT READ ON IMAGE REPOSITORY {IR} TO ROLE {R}",
               *priv("CREATE SERVICE", "SCHEMA", "{S}")],
         grant=priv("BIND SERVICE ENDPOINT", "ACCOUNT", ""), refusal=ACCOUNT_REFUSAL, probe=SHOW_SV,
         effect=has(name="SV", owner="{R}")),
    Case("ALTER SERVICE FROM WITH PUBLIC ENDPOINT", "ALTER SERVICE {SV} FROM SPECIFICATION " + SV_PUBLIC_SPEC,
         setup=SERVICE, base=[*USE_DB, "GRANT READ ON IMAGE REPOSITORY {IR} TO ROLE {R}", *own("SERVICE", "{SV}")],
         grant=priv("BIND SERVICE ENDPOINT", "ACCOUNT", ""), refusal=ACCOUNT_REFUSAL,
         probe=show("SERVICES", "SV", "SCHEMA {S}", "name", "spec_digest"), effect=upgraded_to_public),
    # ---- secrets ------------------------------------------------------------------------------
    Case("CREATE SECRET", "CREATE SECRET {SEC} " + SECRET_DEF + " COMMENT = 'after'", setup=DB, base=USE_DB,
         grant=priv("CREATE SECRET", "SCHEMA", "{S}"), refusal=insufficient("schema", "S|{S}"), probe=SHOW_SEC,
         effect=has(name="SEC", owner="{R}")),
    Case("CREATE OR REPLACE SECRET", "CREATE OR REPLACE SECRET {SEC} " + SECRET_DEF + " COMMENT = 'after'",
         setup=SECRET, base=[*USE_DB, *priv("CREATE SECRET", "SCHEMA", "{S}")], without=SEE_SEC,
         grant=own("SECRET", "{SEC}"), refusal=insufficient("secret", "{SEC}"), probe=SHOW_SEC,
         effect=has(comment="after")),
    Case("ALTER SECRET", "ALTER SECRET {SEC} SET SECRET_STRING = 'pm-new' COMMENT = 'after'", setup=SECRET,
         base=USE_DB, without=SEE_SEC, grant=own("SECRET", "{SEC}"), refusal=insufficient("secret", "{SEC}"),
         probe=SHOW_SEC, effect=has(comment="after")),
    Case("ALTER SECRET RENAME", "ALTER SECRET {SEC} RENAME TO {S}.SEC2", setup=SECRET, base=USE_DB, without=SEE_SEC,
         grant=own("SECRET", "{SEC}"), refusal=insufficient("secret", "{SEC}"),
         probe=Probe("SHOW SECRETS IN SCHEMA {S}", ("name",)), effect=column("name", "SEC2")),
    Case("DROP SECRET", "DROP SECRET {SEC}", setup=SECRET, base=USE_DB, without=SEE_SEC, grant=own("SECRET", "{SEC}"),
         refusal=insufficient("secret", "{SEC}"), probe=SHOW_SEC, effect=none),
    Case("DESCRIBE SECRET", "DESCRIBE SECRET {SEC}", setup=SECRET, base=USE_DB,
         without=priv("READ", "SECRET", "{SEC}"), grant=SEE_SEC, refusal=insufficient("secret", "{SEC}"),
         result=contains(name="SEC", secret_type="GENERIC_STRING")),
    Case("SHOW SECRETS", "SHOW SECRETS IN SCHEMA {S}", setup=SECRET, base=USE_DB, grant=SEE_SEC,
         without_result=none, result=contains(name="SEC", comment="before")),
    Case("USE SECRET IN SERVICE", "CREATE SERVICE {SV} IN COMPUTE POOL {P} FROM SPECIFICATION " + SV_SECRET_SPEC,
         setup=[*SECRET, *SV_POOL], base=[*USE_DB, "GRANT USAGE ON COMPUTE POOL {P} TO ROLE {R}",
                                          "GRANT READ ON IMAGE REPOSITORY {IR} TO ROLE {R}",
                                          *priv("CREATE SERVICE", "SCHEMA", "{S}"), *SEE_SEC],
         grant=priv("READ", "SECRET", "{SEC}"), refusal=insufficient("secret", "{SEC}"), probe=SHOW_SV,
         effect=has(name="SV", owner="{R}")),
    Case("ALTER SERVICE RESTORE VOLUME", 'ALTER SERVICE {SV} RESTORE VOLUME "data" INSTANCES 0 FROM SNAPSHOT {S}.SNAP',
         setup=[*SNAP, "ALTER SERVICE {SV} SUSPEND"], base=[*USE_DB, *SEE_SNAP], without=SEE_SV,
         grant=priv("OPERATE", "SERVICE", "{SV}"), refusal=insufficient("service", "{SV}"), probe=SHOW_SV,
         effect=lambda rows, ns: rows[0]["status"] != "SUSPENDED"),
    # ---- snapshots ------------------------------------------------------------------------------
    Case("CREATE SNAPSHOT", 'CREATE SNAPSHOT {S}.SNAP FROM SERVICE {SV} VOLUME "data" INSTANCE 0 COMMENT = \'after\'',
         setup=BLOCK_SERVICE, base=[*USE_DB, *priv("OPERATE", "SERVICE", "{SV}")],
         grant=priv("CREATE SNAPSHOT", "SCHEMA", "{S}"), refusal=insufficient("schema", "S|{S}"), probe=SHOW_SNAP,
         effect=has(name="SNAP", owner="{R}", comment="after")),
    Case("CREATE OR REPLACE SNAPSHOT",
         'CREATE OR REPLACE SNAPSHOT {S}.SNAP FROM SERVICE {SV} VOLUME "data" INSTANCE 0 COMMENT = \'after\'',
         setup=SNAP, base=[*USE_DB, *priv("OPERATE", "SERVICE", "{SV}"), *priv("CREATE SNAPSHOT", "SCHEMA", "{S}")],
         without=SEE_SNAP, grant=own("SNAPSHOT", "{S}.SNAP"), refusal=insufficient("snapshot", "{S}.SNAP"),
         probe=SHOW_SNAP, effect=has(comment="after")),
    Case("ALTER SNAPSHOT", "ALTER SNAPSHOT {S}.SNAP SET COMMENT = 'after'", setup=SNAP, base=USE_DB, without=SEE_SNAP,
         grant=own("SNAPSHOT", "{S}.SNAP"), refusal=insufficient("snapshot", "{S}.SNAP"), probe=SHOW_SNAP,
         effect=has(comment="after")),
    Case("DROP SNAPSHOT", "DROP SNAPSHOT {S}.SNAP", setup=SNAP, base=USE_DB, without=SEE_SNAP,
         grant=own("SNAPSHOT", "{S}.SNAP"), refusal=insufficient("snapshot", "{S}.SNAP"), probe=SHOW_SNAP,
         effect=none),
    Case("DESCRIBE SNAPSHOT", "DESCRIBE SNAPSHOT {S}.SNAP", setup=SNAP, base=USE_DB,
         grant=priv("USAGE", "SNAPSHOT", "{S}.SNAP"), refusal=missing("{S}.SNAP"),
         result=contains(name="SNAP", volume_name="data", instance=0, state="CREATED")),
    Case("SHOW SNAPSHOTS", "SHOW SNAPSHOTS LIKE 'SNAP' IN SCHEMA {S}", setup=SNAP, base=USE_DB,
         grant=priv("USAGE", "SNAPSHOT", "{S}.SNAP"), without_result=none, result=contains(name="SNAP")),
    # ---- job services -------------------------------------------------------------------------
    Case("EXECUTE JOB SERVICE", "EXECUTE JOB SERVICE IN COMPUTE POOL {P} NAME = {JB} ASYNC = TRUE "
         "FROM SPECIFICATION " + SV_SPEC, setup=[*DB, *SV_POOL],
         base=[*USE_DB, "GRANT USAGE ON COMPUTE POOL {P} TO ROLE {R}", "GRANT READ ON IMAGE REPOSITORY {IR} TO ROLE {R}"],
         grant=priv("CREATE SERVICE", "SCHEMA", "{S}"), refusal=insufficient("schema", "S|{S}"), probe=SHOW_JB,
         effect=has(name="JB", owner="{R}", is_job="true"),
         result=lambda rows, ns: rows == [{"status": "Job JB successfully submitted."}]),
    Case("SPCS_CANCEL_JOB", "SELECT {JB}!SPCS_CANCEL_JOB() AS C", setup=JOB, base=USE_DB, without=SEE_JB,
         grant=priv("OPERATE", "SERVICE", "{JB}"), refusal=insufficient("service", "{JB}"), probe=SHOW_JB,
         effect=lambda rows, ns: rows[0]["status"] in ("CANCELLING", "CANCELLED"),
         result=lambda rows, ns: rows == [{"C": "Job JB successfully cancelled."}]),
    Case("GET_JOB_HISTORY", "SELECT * FROM TABLE(SNOWFLAKE.SPCS.GET_JOB_HISTORY())", setup=JOB,
         result=none),  # the job is SYSADMIN's: not the tester's to see
    # ---- service functions -------------------------------------------------------------------
    Case("CREATE FUNCTION", "CREATE FUNCTION {S}.FN" + FN_DEF + " COMMENT = 'after'", setup=FN_SERVICE,
         base=[*USE_DB, *own("SERVICE", "{SV}")], grant=priv("CREATE FUNCTION", "SCHEMA", "{S}"),
         refusal=insufficient("schema", "S|{S}"), probe=SHOW_FN, effect=has(name="FN", description="after"),
         result=lambda rows, ns: rows == [{"status": "Function FN successfully created."}]),
    Case("CREATE OR REPLACE FUNCTION", "CREATE OR REPLACE FUNCTION {S}.FN" + FN_DEF + " COMMENT = 'after'", setup=FN,
         base=[*USE_DB, *own("SERVICE", "{SV}"), *priv("CREATE FUNCTION", "SCHEMA", "{S}")], without=SEE_FN,
         grant=own("FUNCTION", FN_NAME), refusal=insufficient("function", FN_NAME), probe=SHOW_FN,
         effect=has(name="FN", description="after")),
    Case("ALTER FUNCTION", "ALTER FUNCTION {S}.FN(FLOAT) SET MAX_BATCH_ROWS = 10 COMMENT = 'after'", setup=FN,
         base=USE_DB, without=SEE_FN, grant=own("FUNCTION", FN_NAME), refusal=insufficient("function", FN_NAME),
         probe=SHOW_FN, effect=has(description="after")),
    Case("ALTER FUNCTION RENAME", "ALTER FUNCTION {S}.FN(FLOAT) RENAME TO {S}.FN2", setup=FN, base=USE_DB,
         without=SEE_FN, grant=own("FUNCTION", FN_NAME), refusal=insufficient("function", FN_NAME),
         probe=Probe("SHOW USER FUNCTIONS IN SCHEMA {S}", ("name",)), effect=column("name", "FN2")),
    Case("DROP FUNCTION", "DROP FUNCTION {S}.FN(FLOAT)", setup=FN, base=USE_DB, without=SEE_FN,
         grant=own("FUNCTION", FN_NAME), refusal=insufficient("function", FN_NAME), probe=SHOW_FN, effect=none),
    Case("DESCRIBE FUNCTION", "DESCRIBE FUNCTION {S}.FN(FLOAT)", setup=FN, base=USE_DB, grant=SEE_FN,
         refusal=missing(FN_NAME), result=contains(property="body", value="/f")),
    Case("SHOW USER FUNCTIONS", "SHOW USER FUNCTIONS LIKE 'FN' IN SCHEMA {S}", setup=FN, base=USE_DB, grant=SEE_FN,
         without_result=none, result=contains(name="FN", arguments="FN(FLOAT) RETURN FLOAT")),
    # the service's pool stays suspended (AUTO_RESUME = FALSE): past the privilege checks the call fails there
    Case("USE FUNCTION", "SELECT {S}.FN(1.0) AS F", setup=FN, base=USE_DB, grant=SEE_FN, refusal=missing(FN_NAME),
         warehouse=True, allowed_errors=(100351,)),
    # ---- network rules and integrations -------------------------------------------------------
    Case("CREATE NETWORK RULE", "CREATE NETWORK RULE {NR} " + RULE_DEF + " COMMENT = 'after'", setup=DB, base=USE_DB,
         grant=priv("CREATE NETWORK RULE", "SCHEMA", "{S}"), refusal=insufficient("schema", "S|{S}"), probe=SHOW_NR,
         effect=has(name="NR", owner="{R}")),
    Case("CREATE OR REPLACE NETWORK RULE", "CREATE OR REPLACE NETWORK RULE {NR} " + RULE_DEF + " COMMENT = 'after'",
         setup=RULE, base=[*USE_DB, *priv("CREATE NETWORK RULE", "SCHEMA", "{S}")], grant=own("NETWORK RULE", "{NR}"),
         refusal=insufficient("network rule", "{NR}"), probe=SHOW_NR, effect=has(comment="after")),
    Case("ALTER NETWORK RULE", "ALTER NETWORK RULE {NR} SET COMMENT = 'after'", setup=RULE, base=USE_DB,
         grant=own("NETWORK RULE", "{NR}"), refusal=missing("{NR}"), probe=SHOW_NR, effect=has(comment="after")),
    Case("ALTER NETWORK RULE RENAME", "ALTER NETWORK RULE {NR} RENAME TO {S}.NR2", setup=RULE, base=USE_DB,
         grant=own("NETWORK RULE", "{NR}"), refusal=missing("{NR}"),
         probe=Probe("SHOW NETWORK RULES IN SCHEMA {S}", ("name",)), effect=column("name", "NR2")),
    Case("DROP NETWORK RULE", "DROP NETWORK RULE {NR}", setup=RULE, base=USE_DB, grant=own("NETWORK RULE", "{NR}"),
         refusal=missing("{NR}"), probe=SHOW_NR, effect=none),
    Case("DESCRIBE NETWORK RULE", "DESCRIBE NETWORK RULE {NR}", setup=RULE, base=USE_DB,
         grant=own("NETWORK RULE", "{NR}"), refusal=missing("{NR}"), result=contains(name="NR")),
    Case("SHOW NETWORK RULES", "SHOW NETWORK RULES IN SCHEMA {S}", setup=RULE, base=USE_DB,
         grant=own("NETWORK RULE", "{NR}"), without_result=none, result=contains(name="NR")),
    Case("CREATE INTEGRATION", "CREATE EXTERNAL ACCESS INTEGRATION {EAI} " + EAI_DEF + " COMMENT = 'after'",
         setup=RULE, base=[*USE_DB, *own("NETWORK RULE", "{NR}")], grant=priv("CREATE INTEGRATION", "ACCOUNT", ""),
         refusal=ACCOUNT_REFUSAL, probe=SHOW_EAI, effect=has(comment="after")),
    Case("CREATE OR REPLACE INTEGRATION",
         "CREATE OR REPLACE EXTERNAL ACCESS INTEGRATION {EAI} " + EAI_DEF + " COMMENT = 'after'", setup=EAI,
         base=[*USE_DB, *own("NETWORK RULE", "{NR}"), *priv("CREATE INTEGRATION", "ACCOUNT", "")],
         without=priv("USAGE", "INTEGRATION", "{EAI}"), grant=own("INTEGRATION", "{EAI}"),
         refusal=insufficient("integration", "{EAI}"), probe=SHOW_EAI, effect=has(comment="after")),
    Case("ALTER INTEGRATION", "ALTER INTEGRATION {EAI} SET ENABLED = FALSE", setup=EAI,
         without=priv("USAGE", "INTEGRATION", "{EAI}"), grant=own("INTEGRATION", "{EAI}"),
         refusal=insufficient("integration", "{EAI}"), probe=SHOW_EAI, effect=has(enabled="false")),
    Case("DROP INTEGRATION", "DROP INTEGRATION {EAI}", setup=EAI, without=priv("USAGE", "INTEGRATION", "{EAI}"),
         grant=own("INTEGRATION", "{EAI}"), refusal=insufficient("integration", "{EAI}"), probe=SHOW_EAI,
         effect=none),
    Case("DESCRIBE INTEGRATION", "DESCRIBE INTEGRATION {EAI}", setup=EAI,
         grant=priv("USAGE", "INTEGRATION", "{EAI}"), refusal=missing("{EAI}"), result=contains(property="ENABLED")),
    Case("SHOW INTEGRATIONS", "SHOW INTEGRATIONS LIKE '{EAI}'", setup=EAI,
         grant=priv("USAGE", "INTEGRATION", "{EAI}"), without_result=none, result=contains(name="{EAI}")),
]

BY_KEY: dict[str, Case] = {}
for _case in CASES:
    assert _case.key not in BY_KEY, _case.key
    BY_KEY[_case.key] = _case
