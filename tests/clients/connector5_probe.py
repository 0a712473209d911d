"""Run with connector 5.x (the Rust-core rewrite) against a Snowport port; prints JSON facts."""

import json
import os
import sys
import time

os.environ["SNOWFLAKE_DISABLE_PLATFORM_DETECTION"] = "true"
import snowflake.connector as sc  # noqa: E402

port, password = int(sys.argv[1]), sys.argv[2]
facts = {"version": sc.__version__}
c = sc.connect(account="snowport", user="admin", password=password, host="127.0.0.1", port=port, protocol="http",
               paramstyle="qmark", enable_server_session_keep_alive_auto_detection=False)
cur = c.cursor()
facts["whoami"] = list(cur.execute("select current_role(), current_user()").fetchone())
cur.execute("create or replace database c5db")
cur.execute("create or replace warehouse c5wh")
cur.execute("create or replace table t (a int, b varchar, c binary)")
cur.execute("insert into t values (?, ?, ?)", (1, "x", b"\x01"))
cur.executemany("insert into t (a, b) values (?, ?)", [(2, "y"), (3, "z")])
facts["batch_rowcount"] = cur.rowcount
facts["rows"] = [[a, b, None if c_ is None else bytes(c_).hex()] for a, b, c_ in
                 cur.execute("select * from t order by a").fetchall()]
cur.execute_async("select count(*) from t")
qid = cur.sfqid
while c.is_still_running(c.get_query_status(qid)):
    time.sleep(0.05)
cur.get_results_from_sfqid(qid)
facts["async"] = cur.fetchall()[0][0]
workdir = sys.argv[3]
with open(os.path.join(workdir, "five.txt"), "w") as f:
    f.write("from connector 5")
cur.execute("create or replace stage st5")
cur.execute(f"put file://{workdir}/five.txt @st5 auto_compress=false overwrite=true")
facts["ls"] = [list(r[:2]) for r in cur.execute("ls @st5").fetchall()]
os.makedirs(os.path.join(workdir, "out"), exist_ok=True)
cur.execute(f"get @st5/five.txt file://{workdir}/out/")
with open(os.path.join(workdir, "out", "five.txt")) as f:
    facts["got"] = f.read()
try:
    cur.execute("select * from nope")
except sc.errors.ProgrammingError as e:
    facts["error"] = [e.errno, e.sqlstate]
c.close()
print(json.dumps(facts))
