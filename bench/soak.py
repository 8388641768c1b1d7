#!/usr/bin/env python3
"""statussync soak tests (outside CI; a short crash loop runs in CI as a Swift test).

  bench/soak.py crash  [--kills 20] [--contexts 40]     SIGKILL serve under load, restart, repeat
  bench/soak.py outage [--seconds 120] [--contexts 20]  the provider fails everything, then recovers

Both build nothing: run `swift build -c release --product statussync` first (or pass --binary).
They start `statussync serve` on a temp database against a fake GitHub in this process, drive the
plugin endpoint with agent-shaped calls from 16 threads, and verify from the database and the
fake what docs/design.md#guarantees promises. Exit status 0 when every check passes.
"""
import argparse, http.client, json, os, random, signal, socket, sqlite3, subprocess, sys, tempfile, threading, time
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
STATES = ["Pending", "Running", "Succeeded", "Failed", "Error"]


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


class Fake:
    """GitHub statuses API: records every request; `mode` decides the answer."""
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []      # (time, context, description, http status)
        self.mode = "ok"        # ok | outage
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *a): pass
            def reply(self, code, body, headers=()):
                data = json.dumps(body).encode()
                self.send_response(code)
                for k, v in headers: self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            def do_POST(self):
                arrived = time.time()  # a call counts when it reaches the provider, even if it hangs
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
                ctx, desc = body.get("context"), body.get("description")
                if fake.mode == "outage":
                    kind = random.choice(["503", "502", "hang", "429"])
                    if kind == "hang":
                        time.sleep(30)
                        code = 504
                    elif kind == "429":
                        code = 429
                    else:
                        code = int(kind)
                    with fake.lock: fake.requests.append((arrived, ctx, desc, code))
                    try:
                        self.reply(code, {"message": "outage"}, [("Retry-After", "5")] if code == 429 else [])
                    except OSError:
                        pass
                    return
                with fake.lock: fake.requests.append((arrived, ctx, desc, 201))
                self.reply(201, {"id": 1, "state": body.get("state"), "context": ctx})

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda *a: None  # clients (serve) vanish when killed
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def delivered(self):
        with self.lock: return [r for r in self.requests if r[3] == 201]


class Serve:
    def __init__(self, binary, workdir, fake_port, extra=""):
        self.binary, self.workdir = binary, workdir
        self.port = free_port()
        self.db = os.path.join(workdir, "statussync.sqlite")
        self.config = os.path.join(workdir, "config.yaml")
        with open(self.config, "w") as f:
            f.write(f"""listen: 127.0.0.1:{self.port}
database: {self.db}
providers:
  - {{name: github, kind: github, baseURL: "http://127.0.0.1:{fake_port}", tokenEnv: SOAK_TOKEN, pacing: {{burst: 100000, perMinute: 6000000}}}}
delivery: {{maxAttempts: 1000, maxAge: 1h, backoffBase: 100ms, backoffCap: 10s, timeout: 5s, concurrency: 16}}
{extra}
""")
        self.proc = None

    def start(self):
        log = open(os.path.join(self.workdir, "serve.log"), "a")
        self.proc = subprocess.Popen([self.binary, "serve", "--config", self.config, "--log-level", "warning"],
                                     stdout=log, stderr=log, env={**os.environ, "SOAK_TOKEN": "soak"})
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1); c.request("GET", "/healthz")
                if c.getresponse().status == 200: return
            except OSError:
                time.sleep(0.01)
        raise SystemExit("serve did not start; see serve.log")

    def kill(self, sig=signal.SIGKILL):
        self.proc.send_signal(sig); self.proc.wait()

    def backlog(self):
        db = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try: return db.execute("SELECT COUNT(*) FROM updates WHERE status IN ('queued','delivering')").fetchone()[0]
        finally: db.close()

    def rows(self, sql, *args):
        db = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try: return db.execute(sql, args).fetchall()
        finally: db.close()


class Load:
    """16 threads posting agent-shaped calls; one context per n % contexts, a unique workflow each."""
    def __init__(self, serve, contexts, rate=None):
        self.serve, self.contexts, self.rate = serve, contexts, rate
        self.accepted, self.lock, self.stop, self.n = [], threading.Lock(), threading.Event(), 0

    def body(self, n):
        plugin = {"repo": "my-org/app", "sha": SHA, "context": f"ctx-{n % self.contexts}", "state": STATES[n % len(STATES)], "description": f"seq-{n}"}
        return json.dumps({"workflow": {"metadata": {"name": f"wf-{n}", "namespace": "ci", "uid": f"uid-{n}"}},
                           "template": {"name": "report", "inputs": {}, "outputs": {}, "metadata": {}, "plugin": {"statussync": plugin}}})

    def worker(self):
        while not self.stop.is_set():
            with self.lock: self.n += 1; n = self.n
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.serve.port, timeout=5)
                c.request("POST", "/api/v1/template.execute", self.body(n), {"Content-Type": "application/json"})
                r = c.getresponse(); reply = json.loads(r.read() or b"{}")
                if r.status == 200 and reply.get("node", {}).get("phase") == "Succeeded":
                    params = {p["name"]: p["value"] for p in reply["node"]["outputs"]["parameters"]}
                    with self.lock: self.accepted.append((n, int(params["update-id"])))
            except (OSError, http.client.HTTPException, ValueError):
                time.sleep(0.02)
            if self.rate: time.sleep(16.0 / self.rate)

    def run(self, seconds, during=None):
        self.stop.clear()
        threads = [threading.Thread(target=self.worker, daemon=True) for _ in range(16)]
        for t in threads: t.start()
        if during: during()
        else: time.sleep(seconds)
        self.stop.set()
        for t in threads: t.join()


def wait_drained(serve, limit=600):
    deadline = time.time() + limit
    while serve.backlog() > 0:
        if time.time() > deadline: raise SystemExit("backlog did not drain")
        time.sleep(0.5)


def check(results, ok, what):
    results.append(ok)
    print(("ok    " if ok else "FAIL  ") + what)


def final_states(serve, fake, results):
    """Every context's final provider state equals its newest accepted update."""
    newest = {ctx: desc for ctx, desc in serve.rows(
        "SELECT context, description FROM updates u WHERE id = (SELECT MAX(id) FROM updates WHERE context = u.context)")}
    last = {}
    for _, ctx, desc, _ in sorted(fake.delivered()): last[ctx] = desc
    wrong = [c for c in newest if last.get(c) != newest[c]]
    check(results, not wrong, f"every context's final provider state is its newest accepted update ({len(newest)} contexts; wrong: {wrong[:5]})")


def crash(args):
    fake = Fake()
    with tempfile.TemporaryDirectory() as work:
        serve = Serve(args.binary, work, fake.port)
        serve.start()
        load = Load(serve, args.contexts)
        for i in range(args.kills):
            load.run(random.uniform(0.5, 2.0))
            # kill while the load runs: restart the load briefly first so calls are in flight
            t = threading.Thread(target=load.run, args=(0.3,)); t.start(); time.sleep(0.15)
            serve.kill(); t.join()
            serve.start()
            print(f"kill {i + 1}/{args.kills}: {len(load.accepted)} accepted so far", file=sys.stderr)
        wait_drained(serve)
        results = []
        ids = {row[0] for row in serve.rows("SELECT id FROM updates")}
        lost = [u for _, u in load.accepted if u not in ids]
        check(results, not lost, f"no accepted call lost ({len(load.accepted)} accepted, {args.kills} SIGKILLs; lost: {lost[:5]})")
        final_states(serve, fake, results)
        check(results, serve.rows("PRAGMA integrity_check")[0][0] == "ok", "PRAGMA integrity_check is ok")
        serve.kill(signal.SIGTERM)
        return all(results)


def outage(args):
    fake = Fake()
    with tempfile.TemporaryDirectory() as work:
        serve = Serve(args.binary, work, fake.port)
        serve.start()
        load = Load(serve, args.contexts, rate=40)
        fake.mode = "outage"
        start = time.time()
        load.run(args.seconds)
        fake.mode = "ok"
        recovered = time.time()
        print(f"outage over after {recovered - start:.0f}s: {len(load.accepted)} accepted; draining", file=sys.stderr)
        wait_drained(serve)
        print(f"drained {time.time() - recovered:.0f}s after recovery", file=sys.stderr)
        results = []
        check(results, serve.backlog() == 0, "the backlog drained completely after the outage")
        superseded = {d for (d,) in serve.rows("SELECT description FROM updates WHERE status = 'superseded'")}
        sent = {d for _, _, d, _ in fake.delivered()}
        check(results, not (superseded & sent), f"superseded updates are never delivered ({len(superseded)} superseded)")
        after = {}
        for t, ctx, _, _ in fake.requests:
            if t >= recovered: after[ctx] = after.get(ctx, 0) + 1
        extra = {c: [code for t, cc, _, code in fake.requests if cc == c and t >= recovered] for c, n in after.items() if n != 1}
        check(results, not extra and len(after) == args.contexts,
              f"each context cost exactly one provider call after recovery ({len(after)} contexts; others: {extra})")
        final_states(serve, fake, results)
        dead = serve.rows("SELECT COUNT(*) FROM updates WHERE status IN ('dead','failed')")[0][0]
        check(results, dead == 0, f"nothing given up ({dead} dead or failed)")
        serve.kill(signal.SIGTERM)
        return all(results)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "statussync"))
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("crash"); c.add_argument("--kills", type=int, default=20); c.add_argument("--contexts", type=int, default=40)
    o = sub.add_parser("outage"); o.add_argument("--seconds", type=int, default=120); o.add_argument("--contexts", type=int, default=20)
    args = p.parse_args()
    random.seed(2026)
    ok = crash(args) if args.cmd == "crash" else outage(args)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
