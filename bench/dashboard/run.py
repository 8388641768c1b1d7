#!/usr/bin/env python3
"""Dashboard response times with a large database.

Seeds a fresh database with N updates (default 100,000; each with its call, delivered ones with
an attempt; some failed, dead and queued with errors), starts `statussync serve --ui-listen`,
requests every page REQUESTS times over one keep-alive connection, and prints p50/p95/max per
page and serve's RSS before and after. Only 127.0.0.1 is contacted; the provider is a closed
port, so the few queued updates fail their attempts (which the overview then shows).

    python3 bench/dashboard/run.py [--updates 100000] [--requests 200] [--binary .build/debug/statussync]
"""
import argparse, http.client, json, os, random, signal, socket, sqlite3, statistics, subprocess, sys, tempfile, time

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0

def seed(db, n):
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    now = int(time.time() * 1000)
    sha = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
    rnd = random.Random(7)
    updates, calls, attempts = [], [], []
    for i in range(1, n + 1):
        created = now - (n - i) * 50
        r = rnd.random()
        status, error, delivered, finished, nxt = "delivered", None, created + 300, created + 300, None
        if r < 0.01:
            status, error, delivered = "failed", "No commit found for SHA: <b>x</b>", None
        elif r < 0.015:
            status, error, delivered = "dead", "gave up after 20 attempts (maxAttempts): Server Error", None
        elif r < 0.10:
            status, delivered = "superseded", None
        elif r > 0.9995:
            status, delivered, finished, nxt = "queued", None, None, now + 3_600_000
        state = ["pending", "running", "success", "failure"][i % 4]
        ctx = f"ci/step-{i % 7}"
        wf = f"ci-build-{i // 3}"
        updates.append((i, created, "github", f"my-org/app-{i % 40}", sha, None, None, ctx, state, f"Workflow {wf} is {state}",
                        f"https://argo.example.com/workflows/ci/{wf}", None, "ci", wf, f"uid-{i // 3}", 0, status, None,
                        1 if delivered else 0, error, nxt, created, delivered, finished))
        body = json.dumps({"context": ctx, "repo": f"my-org/app-{i % 40}", "sha": sha, "state": state}, sort_keys=True, separators=(",", ":"))
        reply = json.dumps({"node": {"phase": "Succeeded", "message": f"statussync: {state} queued (update {i})"}})
        calls.append((i, created, "ci", wf, f"uid-{i // 3}", "report", "statussync", None, None, body, body, reply, None, i, 0, created, None))
        if delivered:
            attempts.append((i, delivered, 180, "status", 201, "ok", None))
    con.executemany("INSERT INTO updates VALUES (" + ",".join("?" * 24) + ")", updates)
    con.executemany("INSERT INTO calls (id, received_at, workflow_namespace, workflow_name, workflow_uid, template_name, plugin_key, key, idem_key, body, args, reply, error, update_id, repeats, last_received_at, tenant) VALUES (" + ",".join("?" * 17) + ")", calls)
    con.executemany("INSERT INTO attempts (update_id, at, duration_ms, operation, http_status, error_class, error) VALUES (?,?,?,?,?,?,?)", attempts)
    con.commit()
    con.close()

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--updates", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--binary", default=os.path.join(os.path.dirname(__file__), "..", "..", ".build", "debug", "statussync"))
    a = ap.parse_args()
    binary = os.path.abspath(a.binary)
    work = tempfile.mkdtemp(prefix="statussync-dashboard-")
    db = os.path.join(work, "statussync.sqlite")
    subprocess.run([binary, "migrate", "--database", db], check=True, capture_output=True)
    t0 = time.time()
    seed(db, a.updates)
    print(f"seeded {a.updates:,} updates in {time.time() - t0:.1f}s ({os.path.getsize(db) / 1e6:.0f} MB)")
    port, ui = free_port(), free_port()
    with open(os.path.join(work, "c.yaml"), "w") as f:
        f.write(f"listen: 127.0.0.1:{port}\ndatabase: {db}\nproviders:\n  - {{name: github, kind: github, baseURL: 'http://127.0.0.1:9', tokenEnv: GH}}\n"
                f"ui: {{listen: 127.0.0.1:{ui}}}\n")
    log = open(os.path.join(work, "serve.log"), "w")
    serve = subprocess.Popen([binary, "serve", "--config", os.path.join(work, "c.yaml")], stdout=log, stderr=log, env={**os.environ, "GH": "x"})
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", ui, timeout=2); c.request("GET", "/style.css"); c.getresponse().read(); break
            except OSError:
                time.sleep(0.1)
        rss_before = rss_mb(serve.pid)
        mid = a.updates // 2
        pages = ["/", "/updates", f"/updates?before={mid}", "/updates?delivery=failed", "/updates?repo=my-org%2Fapp-7&context=ci%2Fstep-3",
                 f"/updates/{mid}", "/calls", "/calls?rejected=1", "/backlog"]
        conn = http.client.HTTPConnection("127.0.0.1", ui, timeout=30)
        rows = []
        for page in pages:
            times = []
            for _ in range(a.requests):
                start = time.perf_counter()
                conn.request("GET", page)
                resp = conn.getresponse(); body = resp.read()
                times.append((time.perf_counter() - start) * 1000)
                if resp.status != 200:
                    sys.exit(f"{page}: HTTP {resp.status}")
            times.sort()
            rows.append((page, statistics.median(times), times[int(len(times) * 0.95) - 1], times[-1], len(body)))
        rss_after = rss_mb(serve.pid)
        print(f"\n| page | p50 ms | p95 ms | max ms | bytes |\n|---|---:|---:|---:|---:|")
        for page, p50, p95, mx, size in rows:
            print(f"| `{page}` | {p50:.1f} | {p95:.1f} | {mx:.1f} | {size:,} |")
        print(f"\nserve RSS: {rss_before:.0f} MB before, {rss_after:.0f} MB after {len(pages) * a.requests:,} page views")
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(timeout=20)
        except subprocess.TimeoutExpired:
            serve.kill()

if __name__ == "__main__":
    main()
