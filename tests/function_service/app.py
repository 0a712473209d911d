"""The service-function tests' service: the tutorial's convert-api (/convert) on the standard library, plus
paths that misbehave on purpose. It records what it received (batch sizes, headers, how often each batch
id came) and answers it on /stats, itself a service-function path, so tests read it through SQL."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
SEEN = {"sizes": {}, "attempts": {}, "headers": {}, "async": {}}


def convert(rows):
    return [[r[0], None if r[1] is None else r[1] * 9.0 / 5 + 32] for r in rows]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _answer(self, status, body):
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _attempt(self, path):
        batch = self.headers.get("sf-external-function-query-batch-id", "")
        with LOCK:
            key = path + "|" + batch
            SEEN["attempts"][key] = SEEN["attempts"].get(key, 0) + 1
            return SEEN["attempts"][key]

    def do_GET(self):
        if self.path == "/ready":
            return self._answer(200, {"ready": True})
        batch = self.headers.get("sf-external-function-query-batch-id", "")
        with LOCK:
            entry = SEEN["async"].get(batch)
            if entry is None:
                return self._answer(404, {"error": "unknown batch"})
            entry["polls"] += 1
            if entry["polls"] < 2:
                return self._answer(202, {})
        return self._answer(200, {"data": entry["result"]})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        rows = json.loads(self.rfile.read(length))["data"]
        path = self.path
        name = path.strip("/")
        with LOCK:
            SEEN["sizes"].setdefault(name, []).append(len(rows))
            SEEN["headers"][name] = {k.lower(): v for k, v in self.headers.items()}
        if path == "/convert":
            return self._answer(200, {"data": convert(rows)})
        if path in ("/flaky429", "/flaky503"):
            if self._attempt(path) <= 2:
                return self._answer(int(path[-3:]), {"error": "try again"})
            return self._answer(200, {"data": convert(rows)})
        if path == "/async":
            batch = self.headers.get("sf-external-function-query-batch-id", "")
            with LOCK:
                SEEN["async"][batch] = {"polls": 0, "result": convert(rows)}
            return self._answer(202, {})
        if path == "/fail":
            return self._answer(500, b"boom: the service failed on purpose")
        if path == "/slow":
            time.sleep(3)
            return self._answer(200, {"data": convert(rows)})
        if path == "/echo":
            return self._answer(200, {"data": [[r[0], r[1] if len(r) == 2 else r[1:]] for r in rows]})
        if path == "/reversed":  # answers in another order: results are matched by row index
            return self._answer(200, {"data": list(reversed(convert(rows)))})
        if path == "/headers":
            with LOCK:
                seen = dict(SEEN["headers"][name])
            return self._answer(200, {"data": [[r[0], seen] for r in rows]})
        if path == "/stats":
            with LOCK:
                stats = {"sizes": SEEN["sizes"], "attempts": SEEN["attempts"]}
            return self._answer(200, {"data": [[r[0], stats] for r in rows]})
        return self._answer(404, {"error": "no such path"})


ThreadingHTTPServer(("0.0.0.0", 9090), Handler).serve_forever()
