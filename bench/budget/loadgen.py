#!/usr/bin/env python3
"""Load generator for bench/budget: workflows reporting pending → running → final per context.

    loadgen.py --port P --out calls.jsonl [--workflows 400] [--contexts 3] [--seed 1]

Each workflow starts at U(0, --spread) s; each of its contexts gets Pending at the start, Running
at start+U(0.5,2) s and the final state at start+U(2,5) s: Failed for ~10% of contexts, Succeeded
for the rest. The schedule depends only on --seed, so every binary gets the same one. A context's
next call is sent only after the previous one was answered (so its order holds even if the
server lags), at its planned time or, if late, at once. Every call is logged (planned and send
time, reply time, HTTP status, node phase). Exits 1 if any call was not accepted.
"""
import argparse
import hashlib
import heapq
import http.client
import json
import queue
import random
import sys
import threading
import time

PHASES = ["Pending", "Running"]


def plan(workflows, contexts, spread, seed, fail_ratio):
    rng = random.Random(seed)
    out = []  # one entry per context: list of (offset_s, phase)
    for w in range(workflows):
        start = rng.uniform(0, spread)
        sha = hashlib.sha1(f"bench-budget-{seed}-wf-{w}".encode()).hexdigest()
        for k in range(contexts):
            running = start + rng.uniform(0.5, 2.0)
            final = start + rng.uniform(2.0, 5.0)
            final_phase = "Failed" if rng.random() < fail_ratio else "Succeeded"
            out.append({"wf": w, "ctx": k, "sha": sha,
                        "steps": [(start, "Pending"), (running, "Running"), (final, final_phase)]})
    return out


def body(c, phase):
    w = c["wf"]
    return json.dumps({
        "workflow": {"metadata": {"name": f"wf-{w}", "namespace": "ci", "uid": f"uid-{w}"}},
        "template": {"name": f"report-{phase.lower()}", "plugin": {"statussync": {
            "repo": "my-org/app", "sha": c["sha"], "context": f"ci/ctx-{c['ctx']}", "state": phase}}},
    }, separators=(",", ":")).encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--workflows", type=int, default=400)
    ap.add_argument("--contexts", type=int, default=3)
    ap.add_argument("--spread", type=float, default=3.0)
    ap.add_argument("--fail-ratio", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=32)
    ap.add_argument("--timeout", type=float, default=180.0, help="give up after this many seconds")
    a = ap.parse_args()

    ctxs = plan(a.workflows, a.contexts, a.spread, a.seed, a.fail_ratio)
    total = sum(len(c["steps"]) for c in ctxs)
    t0 = time.time() + 0.3
    heap = [(t0 + c["steps"][0][0], i, 0) for i, c in enumerate(ctxs)]
    heapq.heapify(heap)
    cond = threading.Condition()
    work = queue.Queue()
    records = []
    rec_lock = threading.Lock()
    done = threading.Event()
    deadline = time.time() + a.timeout

    def dispatcher():
        dispatched = 0
        while dispatched < total and time.time() < deadline:
            with cond:
                while True:
                    if heap and heap[0][0] <= time.time():
                        due, i, step = heapq.heappop(heap)
                        break
                    if time.time() >= deadline:
                        return
                    wait = (heap[0][0] - time.time()) if heap else 0.05
                    cond.wait(timeout=max(0.0005, min(wait, 0.05)))
            work.put((due, i, step))
            dispatched += 1

    def worker():
        conn = None
        while not done.is_set():
            try:
                due, i, step = work.get(timeout=0.1)
            except queue.Empty:
                continue
            c = ctxs[i]
            phase = c["steps"][step][1]
            data = body(c, phase)
            rec = {"wf": c["wf"], "ctx": c["ctx"], "sha": c["sha"], "phase": phase, "step": step,
                   "planned": t0 + c["steps"][step][0]}
            for attempt in range(3):
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
                    rec["sent"] = time.time()
                    conn.request("POST", "/api/v1/template.execute", body=data,
                                 headers={"Content-Type": "application/json"})
                    resp = conn.getresponse()
                    raw = resp.read()
                    rec["done"] = time.time()
                    rec["code"] = resp.status
                    try:
                        rec["node_phase"] = json.loads(raw).get("node", {}).get("phase")
                    except ValueError:
                        rec["node_phase"] = None
                    if resp.getheader("connection", "").lower() == "close":
                        conn.close()
                        conn = None
                    break
                except (OSError, http.client.HTTPException) as e:
                    rec["error"] = repr(e)
                    if conn is not None:
                        conn.close()
                    conn = None
                    # Resend only when nothing was answered; the server dedups repeats anyway.
            with rec_lock:
                records.append(rec)
            if step + 1 < len(c["steps"]):
                with cond:
                    heapq.heappush(heap, (max(t0 + c["steps"][step + 1][0], time.time()), i, step + 1))
                    cond.notify()
            work.task_done()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(a.threads)]
    for t in threads:
        t.start()
    d = threading.Thread(target=dispatcher, daemon=True)
    d.start()
    while time.time() < deadline:
        with rec_lock:
            if len(records) >= total:
                break
        time.sleep(0.05)
    done.set()
    with open(a.out, "w") as f:
        for r in sorted(records, key=lambda r: r.get("sent", 0)):
            f.write(json.dumps(r, separators=(",", ":")) + "\n")
    ok = [r for r in records if r.get("code") == 200 and r.get("node_phase") == "Succeeded"]
    lags = sorted(r["sent"] - r["planned"] for r in records if "sent" in r)

    def pct(p):
        return lags[min(len(lags) - 1, int(round(p / 100 * (len(lags) - 1))))] if lags else float("nan")

    first = min((r["sent"] for r in records if "sent" in r), default=t0)
    last = max((r.get("done", 0) for r in records), default=t0)
    print(f"loadgen: {len(records)}/{total} calls answered, {len(ok)} accepted, in {last - first:.1f}s; "
          f"send lag behind plan p50={pct(50)*1000:.0f}ms p99={pct(99)*1000:.0f}ms max={lags[-1]*1000 if lags else 0:.0f}ms",
          file=sys.stderr)
    if len(ok) != total:
        bad = [r for r in records if r not in ok][:5]
        print(f"loadgen: {total - len(ok)} calls not accepted, e.g. {bad}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
