#!/usr/bin/env python3
"""Check runs at light load: provider calls per workflow, and how soon the final update lands.

    python3 bench/checks/run.py [--workflows 200] [--burst 50] [--binary PATH] [--pacing BURST,PER_MINUTE]
                                [--gap SECONDS] [--output FILE]

The binary is --binary, else $STATUSSYNC_BINARY, else /tmp/statussync-bench. Only 127.0.0.1 is
contacted: the script generates a GitHub App key (openssl genrsa 2048), starts the fake GitHub of
fake_github_checks.py in this process, and starts `statussync serve` with `checks: true` and that
App. The config sets no `pacing:`, so GitHub's default applies (burst 20, 80 per minute): after the
first 20 calls each delivery waits ~750 ms for a token, which the latency then mostly measures;
`--pacing 1000,60000` shows statussync's own latency, and `--gap 2.5` (a pause before each
workflow: 3 calls per 2.5 s stay within 80 a minute) light load at GitHub's pacing. Then:

  sequential  N workflows, one at a time, each with its own uid and 40-hex sha: pending, running,
              success through POST /api/v1/template.execute, each call sent once the previous
              update reached the fake (a create, then a PATCH in_progress). For the success call
              it measures the time from its HTTP reply arriving to the fake receiving the request
              that completes the run (both clocks are time.perf_counter() in this process).
  burst       M workflows, one at a time, the three calls sent back to back; then it waits for
              the run to be completed. Superseded updates are never sent, so some workflows
              cost fewer calls.

Calls per workflow (creates, PATCHes, lists of the commit's runs) are counted from the fake's
records by sha once both phases are done. The results are printed and written to
bench/checks/last-results.md. serve's log is in the temp dir while it runs; its warnings are
reported, and its last lines printed when something fails. Exits 1 with a message when serve is
not healthy, a call does not answer 200/Succeeded, or a run is not completed within 10 s.
"""
import argparse
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

sys.dont_write_bytecode = True  # no __pycache__ in bench/checks
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_github_checks  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO, CONTEXT, NAMESPACE = "my-org/app", "ci/argo", "ci"
TIMEOUT = 10.0  # seconds for an update to reach the fake


class BenchError(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(sorted_values, p):
    """Nearest rank."""
    k = max(0, min(len(sorted_values) - 1, -(-len(sorted_values) * p // 100) - 1))
    return sorted_values[int(k)]


class Plugin:
    """The Argo agent's side: POST /api/v1/template.execute over one keep-alive connection."""

    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def execute(self, workflow, uid, sha, state):
        body = json.dumps({
            "workflow": {"metadata": {"name": workflow, "namespace": NAMESPACE, "uid": uid}},
            "template": {"name": "report", "inputs": {}, "outputs": {}, "metadata": {},
                         "plugin": {"statussync": {"repo": REPO, "sha": sha, "state": state, "context": CONTEXT}}},
        })
        self.conn.request("POST", "/api/v1/template.execute", body=body, headers={"Content-Type": "application/json"})
        resp = self.conn.getresponse()
        data = resp.read()
        replied = time.perf_counter()
        if resp.status != 200:
            raise BenchError(f"{workflow} {state}: HTTP {resp.status}: {data[:300]!r}")
        phase = (json.loads(data).get("node") or {}).get("phase")
        if phase != "Succeeded":
            raise BenchError(f"{workflow} {state}: node.phase {phase!r}: {data[:300]!r}")
        return replied


def wait_records(fake, sha, what, predicate):
    """Waits until the fake's records for sha satisfy predicate."""
    ok = fake.wait_for(lambda st: predicate(st.by_sha.get(sha, [])), TIMEOUT)
    if not ok:
        raise BenchError(f"sha {sha}: no {what} at the fake within {TIMEOUT:.0f} s (records: "
                         f"{[(r['op'], r['status'], r['code']) for r in fake.records_for(sha)]})")


def wait_completed(fake, sha):
    if not fake.completed(sha).wait(TIMEOUT):
        raise BenchError(f"sha {sha}: check run not completed at the fake within {TIMEOUT:.0f} s after the success call "
                         f"(records: {[(r['op'], r['status'], r['code']) for r in fake.records_for(sha)]})")
    return fake.completed_perf[sha]


def new_sha():
    return os.urandom(20).hex()


def run_sequential(plugin, fake, n, tag, gap):
    shas, latencies = [], []
    for i in range(1, n + 1):
        time.sleep(gap)
        sha, name, uid = new_sha(), f"ci-seq-{i}", f"uid-seq-{tag}-{i}"
        shas.append(sha)
        plugin.execute(name, uid, sha, "pending")
        wait_records(fake, sha, "create", lambda rs: any(r["op"] == "create" and r["code"] == 201 for r in rs))
        plugin.execute(name, uid, sha, "running")
        wait_records(fake, sha, "PATCH in_progress",
                     lambda rs: any(r["op"] == "update" and r["code"] == 200 and r["status"] == "in_progress" for r in rs))
        replied = plugin.execute(name, uid, sha, "success")
        completed = wait_completed(fake, sha)
        latencies.append((completed - replied) * 1000)
        if i % 50 == 0:
            print(f"  sequential {i}/{n}", flush=True)
    return shas, latencies


def run_burst(plugin, fake, m, tag, gap):
    shas = []
    for i in range(1, m + 1):
        time.sleep(gap)
        sha, name, uid = new_sha(), f"ci-burst-{i}", f"uid-burst-{tag}-{i}"
        shas.append(sha)
        for state in ("pending", "running", "success"):
            plugin.execute(name, uid, sha, state)
        wait_completed(fake, sha)
    return shas


def call_counts(fake, shas):
    """Per workflow: creates, PATCHes, lists and all check-run calls (any answer)."""
    rows = []
    for sha in shas:
        rs = fake.records_for(sha)
        creates = sum(r["op"] == "create" for r in rs)
        patches = sum(r["op"] == "update" for r in rs)
        lists = sum(r["op"] == "list" for r in rs)
        rows.append({"create": creates, "update": patches, "list": lists, "total": creates + patches + lists,
                     "non2xx": sum(r["code"] not in (200, 201) for r in rs)})
    return rows


def final_runs(fake, shas):
    """How many commits end with exactly one run, completed/success."""
    good = 0
    with fake.lock:
        for sha in shas:
            runs = [r for r in fake.runs.values() if r["head_sha"] == sha]
            good += len(runs) == 1 and runs[0]["status"] == "completed" and runs[0]["conclusion"] == "success"
    return good


def update_statuses(db, prefix):
    """statussync's own view: its updates of these workflows by delivery status (read-only)."""
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        rows = con.execute("SELECT status, count(*) FROM updates WHERE workflow_uid LIKE ? GROUP BY status ORDER BY status",
                           (prefix + "%",)).fetchall()
        con.close()
        return ", ".join(f"{s} {c}" for s, c in rows)
    except sqlite3.Error as e:
        return f"(could not read the database: {e})"


def mmm(values):
    return f"{min(values)} / {statistics.mean(values):.2f} / {max(values)}"


def wait_healthy(port, serve):
    deadline = time.time() + 30
    while time.time() < deadline:
        if serve.poll() is not None:
            raise BenchError(f"serve exited with status {serve.returncode} before it was healthy")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/healthz")
            r = c.getresponse()
            r.read()
            c.close()
            if r.status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise BenchError("serve did not answer GET /healthz with 200 within 30 s")


def tail(path, n=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def main():
    ap = argparse.ArgumentParser(description="Check runs at light load: calls per workflow and completion latency.")
    ap.add_argument("--workflows", type=int, default=200, help="sequential workflows (default 200)")
    ap.add_argument("--burst", type=int, default=50, help="burst workflows (default 50)")
    ap.add_argument("--binary", default=os.environ.get("STATUSSYNC_BINARY", "/tmp/statussync-bench"))
    ap.add_argument("--pacing", metavar="BURST,PER_MINUTE",
                    help="write `pacing: {burst, perMinute}` into the config (default: none, i.e. GitHub's 20, 80)")
    ap.add_argument("--gap", type=float, default=0.0, help="seconds to pause before each workflow (default 0)")
    ap.add_argument("--output", default=os.path.join(HERE, "last-results.md"), help="where to write the results (default bench/checks/last-results.md)")
    a = ap.parse_args()
    pacing = ""
    if a.pacing:
        burst, per_minute = a.pacing.split(",")
        pacing = f"    pacing: {{burst: {int(burst)}, perMinute: {float(per_minute):g}}}\n"
    binary = os.path.abspath(a.binary)
    if not os.access(binary, os.X_OK):
        sys.exit(f"error: {binary} is not an executable statussync binary (set STATUSSYNC_BINARY or --binary)")

    work = tempfile.mkdtemp(prefix="statussync-checks-")
    serve_log = os.path.join(work, "serve.log")
    fake = serve = None
    try:
        key = os.path.join(work, "app.pem")
        subprocess.run(["openssl", "genrsa", "-out", key, "2048"], check=True, capture_output=True)
        fake = fake_github_checks.start(os.path.join(work, "fake.jsonl"))
        port, db = free_port(), os.path.join(work, "statussync.sqlite")
        config = os.path.join(work, "statussync.yaml")
        with open(config, "w") as f:
            f.write(f"""listen: 127.0.0.1:{port}
database: {db}
argoBaseURL: https://argo.example.com
providers:
  - name: github
    kind: github
    baseURL: http://127.0.0.1:{fake.server_address[1]}
    checks: true
    app: {{appID: "12345", installationID: "678", privateKeyFile: {key}}}
{pacing}""")
        with open(serve_log, "w") as log:
            serve = subprocess.Popen([binary, "serve", "--config", config], stdout=log, stderr=log)
        wait_healthy(port, serve)
        state = fake.state
        plugin = Plugin(port)
        tag = str(int(time.time()))

        print(f"sequential: {a.workflows} workflows, one at a time", flush=True)
        t0 = time.time()
        seq_shas, latencies = run_sequential(plugin, state, a.workflows, tag, a.gap)
        seq_seconds = time.time() - t0
        print(f"burst: {a.burst} workflows, three calls back to back", flush=True)
        t0 = time.time()
        burst_shas = run_burst(plugin, state, a.burst, tag, a.gap)
        burst_seconds = time.time() - t0
        time.sleep(1.0)  # let any straggling call arrive before counting
        if serve.poll() is not None:
            raise BenchError(f"serve exited with status {serve.returncode} during the run")

        seq_counts, burst_counts = call_counts(state, seq_shas), call_counts(state, burst_shas)
        seq_good, burst_good = final_runs(state, seq_shas), final_runs(state, burst_shas)
        seq_updates = update_statuses(db, f"uid-seq-{tag}-")
        burst_updates = update_statuses(db, f"uid-burst-{tag}-")
        tokens = state.tokens_issued
        plugin.conn.close()

        serve.send_signal(signal.SIGTERM)
        try:
            serve_status = serve.wait(timeout=20)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve_status = "killed after 20 s"
        with open(serve_log, errors="replace") as f:
            log_lines = f.readlines()
        notable = [line.rstrip() for line in log_lines
                   if any(f"level={lvl}" in line for lvl in ("warning", "error", "critical"))]

        latencies.sort()
        debug = "debug" in binary or binary == "/tmp/statussync-bench"
        try:
            kernel = subprocess.run(["uname", "-r"], capture_output=True, text=True).stdout.strip()
        except OSError:
            kernel = platform.release()
        version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()

        def count_rows(phase, n, rows, good, updates, seconds):
            return [
                f"| {phase} | {n} | {mmm([r['create'] for r in rows])} | {mmm([r['update'] for r in rows])} | "
                f"{mmm([r['list'] for r in rows])} | {mmm([r['total'] for r in rows])} | {good}/{n} | {seconds:.1f} |",
            ], f"- {phase}: statussync's updates: {updates}; answers other than 200/201: {sum(r['non2xx'] for r in rows)}"

        seq_table, seq_note = count_rows("sequential", a.workflows, seq_counts, seq_good, seq_updates, seq_seconds)
        burst_table, burst_note = count_rows("burst", a.burst, burst_counts, burst_good, burst_updates, burst_seconds)
        negative = sum(v < 0 for v in latencies)
        md = [
            "# Check runs at light load",
            "",
            f"- Date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M:%S UTC')}",
            f"- Binary: `{binary}` ({version or 'version unknown'}){' — a debug build' if debug else ''}",
            f"- Machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), kernel {kernel}, Python {platform.python_version()}",
            f"- Command: `python3 bench/checks/run.py --workflows {a.workflows} --burst {a.burst}"
            f"{' --pacing ' + a.pacing if a.pacing else ''}{f' --gap {a.gap:g}' if a.gap else ''}`",
            "- Config: one `github` provider with `checks: true` and a GitHub App, "
            + (f"`{pacing.strip()}`" if pacing else "no `pacing:` (so GitHub's default, burst 20, 80 per minute)")
            + "; fake GitHub on 127.0.0.1 in the runner's process.",
            "",
            "## Provider calls per workflow (pending → running → success), min / mean / max",
            "",
            "| phase | workflows | creates | PATCHes | lists | all check-run calls | runs completed/success, one per sha | seconds |",
            "|---|---:|---|---|---|---|---:|---:|",
            *seq_table, *burst_table,
            "",
            seq_note,
            burst_note,
            f"- Installation tokens minted: {tokens} (not counted above).",
            "",
            f"## Success reply → check run completed at the fake (sequential, {len(latencies)} workflows)",
            "",
            "| p50 ms | p95 ms | p99 ms | max ms | min ms | mean ms |",
            "|---:|---:|---:|---:|---:|---:|",
            f"| {percentile(latencies, 50):.1f} | {percentile(latencies, 95):.1f} | {percentile(latencies, 99):.1f} | "
            f"{latencies[-1]:.1f} | {latencies[0]:.1f} | {statistics.mean(latencies):.1f} |",
            "",
            f"Negative values (the PATCH reached the fake before the reply reached the caller): {negative}.",
            "",
            "## serve",
            "",
            f"- Exit status after SIGTERM: {serve_status}; log lines: {len(log_lines)}; warning/error lines: {len(notable)}",
        ]
        if notable:
            md += ["", "```", *notable[:20], "```"]
        text = "\n".join(md) + "\n"
        print()
        print(text)
        with open(a.output, "w") as f:
            f.write(text)
        print(f"written to {a.output}")
        if seq_good != a.workflows or burst_good != a.burst:
            raise BenchError("some commits did not end with exactly one completed/success check run (see the table)")
    except (BenchError, subprocess.CalledProcessError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        last = tail(serve_log)
        if last:
            print(f"--- last lines of serve's log ({serve_log}) ---\n{last}", file=sys.stderr)
        sys.exit(1)
    finally:
        if serve is not None and serve.poll() is None:
            serve.send_signal(signal.SIGTERM)
            try:
                serve.wait(timeout=20)
            except subprocess.TimeoutExpired:
                serve.kill()
        if fake is not None:
            fake.shutdown()
            fake.server_close()
            fake.state.log.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
