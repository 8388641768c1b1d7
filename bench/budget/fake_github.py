#!/usr/bin/env python3
"""A local fake GitHub for bench/budget: commit statuses under a scaled-up secondary rate limit.

    fake_github.py --port-file F --log L [--burst 20] [--per-second 80]

Listens on 127.0.0.1 at a free port (written to --port-file once listening). Answers
`POST /repos/{owner}/{repo}/statuses/{sha}` with 201 and a GitHub-shaped body, `GET /user` with 200,
and anything else with 404. Content-creating requests (POST/PATCH/PUT/DELETE) draw from a token
bucket (burst 20, refilled 80/s: GitHub's 80 per minute, 60 times faster); a request finding the
bucket empty gets GitHub's secondary-rate-limit 403 with `retry-after: 1`. Every status request is
logged to --log as one JSON line: t (epoch seconds), sha, context, state, code.
Stops on SIGTERM/SIGINT.
"""
import argparse
import json
import os
import re
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATUS_PATH = re.compile(r"^/repos/([^/]+)/([^/]+)/statuses/([0-9a-fA-F]{7,64})$")
LIMIT_BODY = json.dumps({
    "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
}).encode()


class Bucket:
    def __init__(self, burst, per_second):
        self.burst = float(burst)
        self.rate = float(per_second)
        self.tokens = float(burst)
        self.last = time.monotonic()
        self.lock = threading.Lock()

    def take(self):
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return True
            return False


class State:
    def __init__(self, log_path, bucket):
        self.bucket = bucket
        self.log = open(log_path, "a", buffering=1)
        self.log_lock = threading.Lock()
        self.next_id = 1
        self.id_lock = threading.Lock()

    def record(self, entry):
        line = json.dumps(entry, separators=(",", ":"))
        with self.log_lock:
            self.log.write(line + "\n")

    def new_id(self):
        with self.id_lock:
            n = self.next_id
            self.next_id += 1
            return n


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GitHub.com"
    sys_version = ""

    def log_message(self, fmt, *args):  # quiet: the JSONL log is the record
        pass

    def reply(self, code, body, extra=()):
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-ratelimit-limit", "5000")
        self.send_header("x-ratelimit-remaining", "4999")
        self.send_header("x-ratelimit-reset", str(int(time.time()) + 3600))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def do_GET(self):
        self.read_body()
        if self.path.split("?")[0] == "/user":
            self.reply(200, {"login": "bench", "id": 1, "type": "User"})
        else:
            self.reply(404, {"message": "Not Found"})

    def do_POST(self):
        raw = self.read_body()
        st = self.server.state
        allowed = st.bucket.take()
        m = STATUS_PATH.match(self.path.split("?")[0])
        if not m:
            if not allowed:
                self.reply(403, LIMIT_BODY, [("retry-after", "1")])
            else:
                self.reply(404, {"message": "Not Found"})
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        entry = {"t": time.time(), "sha": m.group(3), "context": body.get("context"),
                 "state": body.get("state"), "code": 201 if allowed else 403}
        st.record(entry)
        if not allowed:
            self.reply(403, LIMIT_BODY, [("retry-after", "1")])
            return
        n = st.new_id()
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        owner, repo, sha = m.group(1), m.group(2), m.group(3)
        self.reply(201, {
            "url": f"https://api.github.com/repos/{owner}/{repo}/statuses/{sha}",
            "id": n, "node_id": f"SC_bench{n}", "state": body.get("state"),
            "description": body.get("description"), "target_url": body.get("target_url"),
            "context": body.get("context"), "created_at": now, "updated_at": now,
            "creator": {"login": "bench", "id": 1, "type": "User"},
        })

    do_PATCH = do_POST
    do_PUT = do_POST


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--burst", type=int, default=20)
    ap.add_argument("--per-second", type=float, default=80.0)
    a = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.state = State(a.log, Bucket(a.burst, a.per_second))
    stop = threading.Event()

    def on_signal(*_):
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, a.port_file)
    server.serve_forever(poll_interval=0.2)
    server.state.log.close()


if __name__ == "__main__":
    main()
