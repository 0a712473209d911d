"""A connector that stays logged in and times PUT/GET on request: `bench_stage.py` drives one per connector version.

Runs under whichever interpreter has the connector to measure (`.venv` for 4.x, `.venv-c5` for 5.x), so both are
timed by the same code. Reads commands on stdin, answers one JSON line each on stdout:

    put <local file>   ->  {"s": seconds, "status": "UPLOADED"}
    get <local dir>    ->  {"s": seconds, "status": "DOWNLOADED"}

    python bench/_transfer_client.py <port> <password> <stage>
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ["SNOWFLAKE_DISABLE_PLATFORM_DETECTION"] = "true"
import snowflake.connector  # noqa: E402


def main() -> None:
    port, password, stage = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    extra = {"enable_server_session_keep_alive_auto_detection": False} if snowflake.connector.__version__ >= "5" else {}
    conn = snowflake.connector.connect(account="snowport", user="admin", password=password, host="127.0.0.1",
                                       port=port, protocol="http", network_timeout=600, database="BENCH_DB", **extra)
    cur = conn.cursor()
    print(json.dumps({"version": snowflake.connector.__version__}), flush=True)
    for line in sys.stdin:
        verb, _, arg = line.strip().partition(" ")
        if verb == "put":
            sql = f"PUT file://{arg} @{stage} AUTO_COMPRESS=FALSE OVERWRITE=TRUE"
        elif verb == "get":
            sql = f"GET @{stage}/{os.environ['BENCH_FILE']} file://{arg}/"
        else:
            break
        start = time.perf_counter()
        rows = cur.execute(sql).fetchall()
        seconds = time.perf_counter() - start
        print(json.dumps({"s": seconds, "status": rows[0][6 if verb == "put" else 2]}), flush=True)
    conn.close()


if __name__ == "__main__":
    main()
