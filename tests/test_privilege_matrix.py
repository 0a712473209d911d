"""Every row of the privilege matrix, twice, through the real connector.

For each row a fresh role `PM_<n>` (granted to the user PM_USER, and to ACCOUNTADMIN so the admin can
read what the role comes to own) and fresh objects owned by SYSADMIN. The tester session switches
to the role with `USE SECONDARY ROLES NONE`, so no other role's privileges leak in:
1. without the row's privilege the statement is refused with Snowflake's code, SQLSTATE and message,
   and the admin sees the object unchanged;
2. with exactly that privilege granted the statement succeeds and has its effect.
Rows checked on NONE run once, as the bare role. The cases are in tests/privilege_cases.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from privilege_cases import BY_KEY, Case, Probe, names
from snowflake.connector import DictCursor
from snowflake.connector.errors import ProgrammingError

from snowport.security.matrix import MATRIX, NONE

from conftest import Server, start_server

KEYS = sorted(MATRIX)


def test_every_row_has_a_case_and_every_case_a_row():
    assert sorted(set(MATRIX) - set(BY_KEY)) == [], "matrix rows without a case"
    assert sorted(set(BY_KEY) - set(MATRIX)) == [], "cases for commands the matrix does not have"


class Bench:
    def __init__(self, server: Server, tmp: str):
        self.server = server
        self.tmp = tmp
        self.admin = server.connect()
        self.a = self.admin.cursor(DictCursor)
        for sql in ["USE ROLE ACCOUNTADMIN", "CREATE USER PM_USER PASSWORD = 'pm-user-pw'",
                    "USE ROLE SYSADMIN", "CREATE WAREHOUSE PM_WH", "USE ROLE ACCOUNTADMIN", "USE WAREHOUSE PM_WH"]:
            self.a.execute(sql)
        self.tester = server.connect(user="PM_USER", password="pm-user-pw")
        self.t = self.tester.cursor(DictCursor)

    def close(self) -> None:
        self.tester.close()
        self.admin.close()

    def admin_run(self, statements: list[str], ns: dict[str, str]) -> None:
        for sql in statements:
            try:
                self.a.execute(sql.format(**ns))
            except ProgrammingError as e:
                raise AssertionError(f"admin setup failed: {sql.format(**ns)!r}: {e.errno} {e.msg}") from e

    def probe(self, probe: Probe | None, ns: dict[str, str]) -> list[dict]:
        if probe is None:
            return []
        if probe.local_dir:
            directory = probe.local_dir.format(**ns)
            return [{"name": f} for f in sorted(os.listdir(directory))] if os.path.isdir(directory) else []
        rows = self.a.execute(probe.sql.format(**ns)).fetchall()
        if probe.columns:
            rows = [{c: r.get(c) for c in probe.columns} for r in rows]
        return rows

    def become(self, case: Case, ns: dict[str, str]) -> None:
        self.t.execute(f"USE ROLE {ns['R']}")
        self.t.execute("USE SECONDARY ROLES NONE")
        if case.warehouse:
            self.t.execute("USE WAREHOUSE PM_WH")

    def attempt(self, case: Case, ns: dict[str, str]) -> list[dict]:
        return self.t.execute(case.statement.format(**ns)).fetchall()


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    server = start_server(tmp_path_factory.mktemp("privmatrix") / "data")
    b = Bench(server, str(tmp_path_factory.mktemp("privfiles")))
    try:
        yield b
    finally:
        b.close()
        server.stop()


def _describe(rows: list[dict]) -> str:
    return repr(rows[:5]) + (f" ... ({len(rows)} rows)" if len(rows) > 5 else "")


@pytest.mark.parametrize("key", KEYS)
def test_row(bench: Bench, key: str):
    req = MATRIX[key]
    case = BY_KEY.get(key)
    if case is None:
        pytest.fail(f"{key}: the matrix has this row but tests/privilege_cases.py has no case for it")
    n = KEYS.index(key) + 1
    ns = names(n, bench.tmp)
    if case.local_file:
        with open(ns["FILE"], "w") as f:
            f.write("1\n2\n")
    os.makedirs(ns["GETDIR"], exist_ok=True)

    bench.admin_run(["USE ROLE ACCOUNTADMIN", "CREATE ROLE {R}", "GRANT ROLE {R} TO USER PM_USER",
                     "GRANT ROLE {R} TO ROLE ACCOUNTADMIN"], ns)
    bench.admin_run(["USE ROLE SYSADMIN", *case.setup, "USE ROLE ACCOUNTADMIN"], ns)
    if case.warehouse:
        bench.admin_run(["GRANT USAGE ON WAREHOUSE PM_WH TO ROLE {R}"], ns)

    if req.on == NONE:
        assert not (case.base or case.grant or case.without), "a NONE row runs as the bare role"
        bench.become(case, ns)
        rows = bench.attempt(case, ns)
        if case.result is not None:
            assert case.result(rows, ns), f"{key}: unexpected result {_describe(rows)}"
        return

    # 1. Without the privilege: refused, nothing changes.
    bench.admin_run([*case.base, *case.without], ns)
    before = bench.probe(case.probe, ns)
    bench.become(case, ns)
    ns_run = dict(ns, RUN="1")
    statement = case.statement.format(**ns)
    if case.refusal is None:
        rows = bench.attempt(case, ns)
        assert case.without_result is not None
        assert case.without_result(rows, ns), f"{key}: without the privilege it showed {_describe(rows)}"
    else:
        try:
            rows = bench.attempt(case, ns)
        except ProgrammingError as e:
            expected = case.refusal.messages(ns)
            got = (e.errno, e.sqlstate, e.msg)
            assert e.errno == case.refusal.errno and e.sqlstate in case.refusal.sqlstates, (
                f"{key}: {statement!r} without the privilege: expected {case.refusal.errno} "
                f"{case.refusal.sqlstates} {expected[0]!r}, got {got}")
            assert any(m in e.msg for m in expected), f"{key}: expected message {' or '.join(expected)}, got {e.msg!r}"
        else:
            pytest.fail(f"{key}: {statement!r} succeeded without the privilege (answer {_describe(rows)})")
    bench.admin_run(case.after_attempt, ns_run)
    after = bench.probe(case.probe, ns)
    assert after == before, f"{key}: the refused statement changed the object: {before} -> {after}"

    # 2. With exactly the privilege: allowed, and it has its effect.
    bench.admin_run(case.grant, ns)
    bench.become(case, ns)
    try:
        rows = bench.attempt(case, ns)
    except ProgrammingError as e:
        if e.errno not in case.allowed_errors:
            pytest.fail(f"{key}: {statement!r} refused with the privilege granted: {e.errno} {e.sqlstate} {e.msg}")
        rows = []
    if case.result is not None:
        assert case.result(rows, ns), f"{key}: unexpected result {_describe(rows)}"
    bench.admin_run(case.after_attempt, dict(ns, RUN="2"))
    if case.effect is not None:
        effect = bench.probe(case.probe, ns)
        assert case.effect(effect, ns), f"{key}: no effect: the admin sees {_describe(effect)}"
    if case.after is not None:
        sql, expected = case.after
        got = [tuple(r.values()) for r in bench.t.execute(sql).fetchall()]
        assert got == [tuple(v.format(**ns) for v in row) for row in expected], f"{key}: {sql} gave {got}"
