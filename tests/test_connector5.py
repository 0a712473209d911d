"""snowflake-connector-python 5.x (installed by scripts/setup into .venv-c5) works unchanged."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import ADMIN_PASSWORD, start_server

ROOT = Path(__file__).resolve().parent.parent
PYTHON5 = ROOT / ".venv-c5" / "bin" / "python"


def test_connector_5(tmp_path):
    assert PYTHON5.exists(), "scripts/setup installs connector 5.x into .venv-c5"
    server = start_server(tmp_path / "data")
    try:
        out = subprocess.run([str(PYTHON5), str(ROOT / "tests" / "clients" / "connector5_probe.py"), str(server.port),
                              ADMIN_PASSWORD, str(tmp_path)], capture_output=True, text=True, timeout=120)
    finally:
        server.stop()
    assert out.returncode == 0, out.stderr
    facts = json.loads(out.stdout.strip().splitlines()[-1])
    assert facts["version"].startswith("5.")
    assert facts["whoami"] == ["ACCOUNTADMIN", "ADMIN"]
    assert facts["batch_rowcount"] == 2
    assert facts["rows"] == [[1, "x", "01"], [2, "y", None], [3, "z", None]]
    assert facts["async"] == 3
    assert facts["error"] == [2003, "42S02"]
    assert facts["ls"] == [["st5/five.txt", 16]]
    assert facts["got"] == "from connector 5"
