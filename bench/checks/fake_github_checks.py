"""A local fake GitHub for bench/checks: GitHub App installation tokens and check runs.

bench/checks/run.py starts it on a thread of its own process (start(log_path)), on 127.0.0.1 at a
free port. It answers

    POST  /app/installations/{id}/access_tokens          201 {"token", "expires_at"} (any Bearer JWT)
    POST  /repos/{o}/{r}/check-runs                      201 the new run
    PATCH /repos/{o}/{r}/check-runs/{id}                 200 the run
    GET   /repos/{o}/{r}/commits/{sha}/check-runs?...    200 {"total_count", "check_runs"} (check_name, page, per_page)

and anything else with 404. The check-run endpoints want the installation token this fake issued
(401 otherwise), as GitHub does. Every answer carries x-ratelimit-remaining 4999 and
x-ratelimit-reset an hour ahead. Every request on these endpoints is logged to the log file as
one JSON line: t (epoch seconds), op (token, create, update, list), method, path, sha, run (id),
status, conclusion, code; run.py waits on State instead of polling that file.
"""
import json
import re
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TOKEN_PATH = re.compile(r"^/app/installations/(\d+)/access_tokens$")
CREATE_PATH = re.compile(r"^/repos/([^/]+)/([^/]+)/check-runs$")
UPDATE_PATH = re.compile(r"^/repos/([^/]+)/([^/]+)/check-runs/(\d+)$")
LIST_PATH = re.compile(r"^/repos/([^/]+)/([^/]+)/commits/([0-9a-fA-F]{7,64})/check-runs$")
INSTALLATION_TOKEN = "ghs_bench0123456789abcdefghijklmnopqrstu"
RUN_FIELDS = ("name", "head_sha", "external_id", "status", "conclusion", "started_at", "completed_at",
              "output", "details_url", "actions")


def iso8601(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


class State:
    """The runs, a record per check-run request, and a way to wait for them.

    `records` holds dicts like the log lines plus `perf` (time.perf_counter() when the request had
    been read). `cond` is notified after every record; `completed(sha)` is an Event set when a run
    on that commit is first left completed, and `completed_perf[sha]` says when.
    """

    def __init__(self, log_path):
        self.log = open(log_path, "a", buffering=1)
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.runs = {}            # id -> run JSON
        self.next_id = 1000
        self.records = []
        self.by_sha = {}          # sha -> [record]
        self.tokens_issued = 0
        self.completed_perf = {}  # sha -> perf_counter of the request that completed its run
        self._events = {}         # sha -> threading.Event

    def completed(self, sha):
        with self.lock:
            return self._events.setdefault(sha, threading.Event())

    def records_for(self, sha):
        with self.lock:
            return list(self.by_sha.get(sha, []))

    def wait_for(self, predicate, timeout):
        """Waits until predicate(self) holds (called with the lock held); False on timeout."""
        with self.cond:
            return self.cond.wait_for(lambda: predicate(self), timeout)

    def record(self, entry, perf):
        """Logs one request and wakes waiters. Call with the lock held."""
        self.log.write(json.dumps(entry, separators=(",", ":")) + "\n")
        self.records.append({**entry, "perf": perf})
        if entry.get("sha"):
            self.by_sha.setdefault(entry["sha"], []).append(self.records[-1])
        self.cond.notify_all()

    def mark_completed(self, sha, perf):
        """Call with the lock held."""
        if sha not in self.completed_perf:
            self.completed_perf[sha] = perf
            self._events.setdefault(sha, threading.Event()).set()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GitHub.com"
    sys_version = ""
    # TCP_NODELAY: the headers and the body go out in two writes; with Nagle on, the body waits for
    # the client's delayed ACK of the headers (~40 ms on Linux), which the bench would then measure.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):  # quiet: the JSONL log is the record
        pass

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-ratelimit-limit", "5000")
        self.send_header("x-ratelimit-remaining", "4999")
        self.send_header("x-ratelimit-reset", str(int(time.time()) + 3600))
        self.end_headers()
        self.wfile.write(data)

    def read_json(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n > 0 else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        return body if isinstance(body, dict) else None

    def authorized(self):
        auth = self.headers.get("Authorization") or ""
        return auth.split(" ", 1)[-1].strip() == INSTALLATION_TOKEN

    def handle_request(self, method):
        body = self.read_json() if method in ("POST", "PATCH") else {}
        perf = time.perf_counter()
        st = self.server.state
        url = urlsplit(self.path)
        path = url.path
        entry = {"t": time.time(), "op": None, "method": method, "path": path, "sha": None, "run": None,
                 "status": None, "conclusion": None, "code": None}

        if method == "POST" and TOKEN_PATH.match(path):
            if not (self.headers.get("Authorization") or "").startswith("Bearer "):
                code, answer = 401, {"message": "A JSON web token could not be decoded"}
            else:
                expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=1)
                code, answer = 201, {"token": INSTALLATION_TOKEN, "expires_at": iso8601(expires),
                                     "permissions": {"checks": "write", "statuses": "write"}}
            with st.lock:
                st.tokens_issued += code == 201
                st.record({**entry, "op": "token", "code": code}, perf)
            self.reply(code, answer)
            return

        create = CREATE_PATH.match(path) if method == "POST" else None
        update = UPDATE_PATH.match(path) if method == "PATCH" else None
        listing = LIST_PATH.match(path) if method == "GET" else None
        if not (create or update or listing):
            self.reply(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
            return
        if not self.authorized():
            code, answer = 401, {"message": "Bad credentials"}
        elif body is None:
            code, answer = 400, {"message": "Problems parsing JSON"}
        elif create:
            code, answer = self.create_run(create, body)
        elif update:
            code, answer = self.update_run(update, body)
        else:
            code, answer = self.list_runs(listing, parse_qs(url.query))
        op = "create" if create else "update" if update else "list"
        with st.lock:
            run = st.runs.get(answer.get("id")) if code in (200, 201) and op != "list" else None
            sha = run["head_sha"] if run else (listing.group(3) if listing else (body or {}).get("head_sha"))
            entry.update(op=op, sha=sha, code=code, run=run and run["id"],
                         status=(body or {}).get("status"), conclusion=(body or {}).get("conclusion"))
            st.record(entry, perf)
            if run and run["status"] == "completed":
                st.mark_completed(run["head_sha"], perf)
        self.reply(code, answer)

    def create_run(self, m, body):
        if not body.get("name") or not body.get("head_sha"):
            return 422, {"message": "Invalid request.", "errors": ["name and head_sha are required"]}
        st = self.server.state
        now = iso8601(datetime.now(timezone.utc))
        with st.lock:
            st.next_id += 1
            run = {"id": st.next_id, "node_id": f"CR_bench{st.next_id}", "app": {"id": 12345, "slug": "statussync-bench"},
                   "url": f"https://api.github.com/repos/{m.group(1)}/{m.group(2)}/check-runs/{st.next_id}",
                   "html_url": f"https://github.com/{m.group(1)}/{m.group(2)}/runs/{st.next_id}",
                   "status": "queued", "conclusion": None, "started_at": now, "completed_at": None,
                   "output": {"title": None, "summary": None}, "details_url": None, "external_id": "",
                   "repo": f"{m.group(1)}/{m.group(2)}"}
            run.update({k: body[k] for k in RUN_FIELDS if k in body})
            st.runs[run["id"]] = run
            return 201, dict(run)

    def update_run(self, m, body):
        st = self.server.state
        with st.lock:
            run = st.runs.get(int(m.group(3)))
            if run is None or run["repo"] != f"{m.group(1)}/{m.group(2)}":
                return 404, {"message": "Not Found"}
            run.update({k: body[k] for k in RUN_FIELDS if k in body and k not in ("name", "head_sha")})
            return 200, dict(run)

    def list_runs(self, m, query):
        repo, sha = f"{m.group(1)}/{m.group(2)}", m.group(3)
        name = (query.get("check_name") or [None])[0]
        per_page = min(100, int((query.get("per_page") or ["30"])[0]))
        page = max(1, int((query.get("page") or ["1"])[0]))
        st = self.server.state
        with st.lock:
            runs = [dict(r) for r in st.runs.values()
                    if r["repo"] == repo and r["head_sha"] == sha and (name is None or r["name"] == name)]
        return 200, {"total_count": len(runs), "check_runs": runs[(page - 1) * per_page: page * per_page]}

    def do_GET(self):
        self.handle_request("GET")

    def do_POST(self):
        self.handle_request("POST")

    def do_PATCH(self):
        self.handle_request("PATCH")


def start(log_path):
    """Starts the fake on a free 127.0.0.1 port in a background thread; returns the server
    (server.state is the State, server.server_address[1] the port). Stop with server.shutdown()."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.state = State(log_path)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    return server
