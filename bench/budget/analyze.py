#!/usr/bin/env python3
"""Measurements for bench/budget.

    analyze.py drain   --db DB [--timeout 600]          # waits until no update is queued/delivering; prints the epoch time
    analyze.py metrics --db DB --fake-log L --calls C --drained-at T [--burst 20 --per-second 80] > metrics.json
    analyze.py table   --label A --metrics A.json --label B --metrics B.json [--header H] > table.md

Budget-bound minimum of a final update's latency (what `metrics` reports as "bound"): an ideal
sender that spends the provider's budget (serve's pacing, which equals the fake's limit by default) on final updates only, sending them in the order they
were accepted, each as soon as it is accepted and a token is free, from a bucket of the same shape
(burst 20, refill 80/s) that is full when the first final is accepted:
    S_0 = created_0;  S_k = the earliest t >= max(created_k, S_{k-1}) at which the bucket holds a token
    bound_k = S_k - created_k
Since every final must cost at least one call and calls for pending/running only take budget away,
no sender can deliver all finals with less total delay; "latency - bound" is the delay the product
added beyond what the budget forces (queueing behind pending/running calls, claim latency,
request time). With a steady backlog it reduces to the brief's (finals accepted before it + 1 -
burst) / rate measured from the first final's acceptance, minus the final's own accept offset.
"""
import argparse
import collections
import json
import sqlite3
import sys
import time

FINAL = ("success", "failure", "error", "cancelled", "skipped")
ARGO_TO_GITHUB = {"Succeeded": "success", "Failed": "failure", "Error": "error", "Pending": "pending", "Running": "pending"}


def ro(db):
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)


def pct(values, p):
    """Nearest-rank percentile (p in 0..100); None for no values."""
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, -(-len(v) * p // 100) - 1))
    return v[int(k)]


def cmd_drain(a):
    deadline = time.time() + a.timeout
    last = None
    while time.time() < deadline:
        try:
            con = ro(a.db)
            n = con.execute("SELECT COUNT(*) FROM updates WHERE status IN ('queued','delivering')").fetchone()[0]
            con.close()
        except sqlite3.Error as e:
            n = None
            last = e
        if n == 0:
            print(f"{time.time():.3f}")
            return
        time.sleep(0.1)
    print(f"drain: backlog not empty after {a.timeout:.0f}s (last error: {last})", file=sys.stderr)
    sys.exit(1)


def budget_bounds(created_s, burst, rate):
    """created_s: acceptance times (s) of finals in acceptance order. Returns the ideal send times."""
    out = []
    tokens = float(burst)
    last = created_s[0] if created_s else 0.0
    t_prev = last
    for c in created_s:
        t = max(c, t_prev)
        tokens = min(burst, tokens + (t - last) * rate)
        last = t
        if tokens < 1.0:
            t += (1.0 - tokens) / rate
            tokens = 1.0
            last = t
        tokens -= 1.0
        out.append(t)
        t_prev = t
    return out


def bucket_violations(times, burst, rate):
    """How many of these request times a bucket (burst, rate), full at the first, would refuse."""
    tokens, last, bad = float(burst), (times[0] if times else 0.0), 0
    for t in times:
        tokens = min(burst, tokens + max(0.0, t - last) * rate)
        last = max(last, t)
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            bad += 1
    return bad


def cmd_metrics(a):
    calls = [json.loads(l) for l in open(a.calls) if l.strip()]
    fake = [json.loads(l) for l in open(a.fake_log) if l.strip()]
    con = ro(a.db)
    con.row_factory = sqlite3.Row
    updates = con.execute("SELECT id, created_at, state, status, delivered_at, finished_at, context, sha, workflow_uid, provider FROM updates ORDER BY id").fetchall()
    attempts = con.execute("SELECT a.update_id, a.at, a.http_status, a.error_class, a.operation, u.state FROM attempts a JOIN updates u ON u.id = a.update_id").fetchall()
    schema = con.execute("PRAGMA user_version").fetchone()[0]
    con.close()

    m = {"schema_version": schema}
    first_send = min(c["sent"] for c in calls)
    last_send = max(c["sent"] for c in calls)
    m["calls_sent"] = len(calls)
    m["load_seconds"] = last_send - first_send
    lags = [c["sent"] - c["planned"] for c in calls]
    m["send_lag_p99_ms"] = pct(lags, 99) * 1000
    m["accept_reply_p99_ms"] = pct([c["done"] - c["sent"] for c in calls], 99) * 1000

    # Provider side (the fake's log).
    m["provider_calls"] = len(fake)
    m["provider_403"] = sum(1 for f in fake if f["code"] == 403)
    m["provider_non_final"] = sum(1 for f in fake if f["state"] not in FINAL)
    m["provider_final"] = sum(1 for f in fake if f["state"] in FINAL)
    subjects = {(c["sha"], f"ci/ctx-{c['ctx']}") for c in calls}
    expected = {(c["sha"], f"ci/ctx-{c['ctx']}"): ARGO_TO_GITHUB[c["phase"]] for c in calls if c["step"] == 2}
    per = collections.Counter((f["sha"], f["context"]) for f in fake)
    counts = [per.get(s, 0) for s in subjects]
    m["contexts"] = len(subjects)
    m["calls_per_context_mean"] = sum(counts) / len(counts)
    m["contexts_0"] = sum(1 for n in counts if n == 0)
    m["contexts_1"] = sum(1 for n in counts if n == 1)
    m["contexts_2"] = sum(1 for n in counts if n == 2)
    m["contexts_3plus"] = sum(1 for n in counts if n >= 3)
    last_ok = {}
    regressions = 0
    for f in sorted(fake, key=lambda f: f["t"]):
        if f["code"] != 201:
            continue
        key = (f["sha"], f["context"])
        if last_ok.get(key) in FINAL and f["state"] not in FINAL:
            regressions += 1
        last_ok[key] = f["state"]
    m["contexts_wrong_end_state"] = sum(1 for s in subjects if last_ok.get(s) != expected.get(s))
    m["pending_after_final"] = regressions

    # statussync side (its database).
    m["updates"] = len(updates)
    m["update_status"] = dict(collections.Counter(u["status"] for u in updates))
    m["attempt_classes"] = dict(collections.Counter(f"{r['error_class']}:{r['http_status']}" for r in attempts if r["operation"] == "status"))
    finals = [u for u in updates if u["state"] in FINAL]
    finals.sort(key=lambda u: (u["created_at"], u["id"]))
    m["finals"] = len(finals)
    m["finals_not_delivered"] = sum(1 for u in finals if u["delivered_at"] is None)
    budget = a.budget_per_second or a.per_second
    m["budget_per_second"] = budget
    ideal = budget_bounds([u["created_at"] / 1000 for u in finals], a.burst, budget)
    lat, excess, bounds = [], [], []
    for u, s in zip(finals, ideal):
        if u["delivered_at"] is None:
            continue
        l = (u["delivered_at"] - u["created_at"]) / 1000
        b = s - u["created_at"] / 1000
        lat.append(l)
        bounds.append(b)
        excess.append(l - b)
    for name, vals in (("final_latency", lat), ("final_bound", bounds), ("final_excess", excess)):
        m[f"{name}_p50"] = pct(vals, 50)
        m[f"{name}_p99"] = pct(vals, 99)
        m[f"{name}_max"] = max(vals) if vals else None
    m["ideal_last_final_s"] = (ideal[-1] - first_send) if ideal else None
    nonfinal = [u for u in updates if u["state"] not in FINAL and u["delivered_at"] is not None]
    m["non_final_delivered"] = len(nonfinal)
    m["non_final_latency_p50"] = pct([(u["delivered_at"] - u["created_at"]) / 1000 for u in nonfinal], 50)
    last_done = max((u["finished_at"] or u["delivered_at"] or 0) for u in updates) / 1000
    m["wall_drain_s"] = a.drained_at - first_send
    m["wall_last_finish_s"] = last_done - first_send
    # Harness check: do statussync's own send times (attempts.at, taken just before each request)
    # keep to the bucket, and how long does a request take to reach the fake's bucket?
    con = ro(a.db)
    sends = con.execute("SELECT u.sha, u.context, a.at FROM attempts a JOIN updates u ON u.id = a.update_id WHERE a.operation = 'status' ORDER BY a.at, a.id").fetchall()
    con.close()
    m["sends_over_budget"] = bucket_violations([r[2] / 1000 for r in sends], a.burst, budget)
    m["arrivals_over_budget"] = bucket_violations(sorted(f["t"] for f in fake), a.burst, a.per_second)
    by_subject = collections.defaultdict(list)
    for sha, ctx, at in sends:
        by_subject[(sha, ctx)].append(at / 1000)
    arrivals = collections.defaultdict(list)
    for f in sorted(fake, key=lambda f: f["t"]):
        arrivals[(f["sha"], f["context"])].append(f["t"])
    delays = [t - s for key, ts in arrivals.items() for s, t in zip(by_subject.get(key, []), ts)]
    m["send_to_fake_p50_ms"] = pct(delays, 50) * 1000 if delays else None
    m["send_to_fake_p99_ms"] = pct(delays, 99) * 1000 if delays else None
    m["send_to_fake_max_ms"] = max(delays) * 1000 if delays else None
    m["last_final_delivered_s"] = max((u["delivered_at"] for u in finals if u["delivered_at"]), default=0) / 1000 - first_send
    json.dump(m, sys.stdout, indent=1, sort_keys=True)
    print()


def fmt(v, unit="", digits=2):
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}{unit}"
    return f"{v}{unit}"


def cmd_table(a):
    ms = [json.load(open(p)) for p in a.metrics]
    rows = [
        ("provider status calls spent (fake log)", lambda m: fmt(m["provider_calls"])),
        ("… of them final (success/failure)", lambda m: fmt(m["provider_final"])),
        ("… of them non-final (pending/running, sent as `pending`)", lambda m: fmt(m["provider_non_final"])),
        ("403 secondary rate limit from the fake (goal 0)", lambda m: fmt(m["provider_403"])),
        ("requests over the bucket: statussync's send times vs its pacing / fake arrivals vs the fake's limit", lambda m: f"{m['sends_over_budget']} / {m['arrivals_over_budget']}"),
        ("statussync send → fake arrival p50 / p99 / max", lambda m: f"{fmt(m['send_to_fake_p50_ms'], ' ms', 0)} / {fmt(m['send_to_fake_p99_ms'], ' ms', 0)} / {fmt(m['send_to_fake_max_ms'], ' ms', 0)}"),
        ("calls per context, mean", lambda m: fmt(m["calls_per_context_mean"])),
        ("contexts costing 0 / 1 / 2 / 3+ calls", lambda m: f"{m['contexts_0']} / {m['contexts_1']} / {m['contexts_2']} / {m['contexts_3plus']}"),
        ("contexts whose last status at the fake is not their final state", lambda m: fmt(m["contexts_wrong_end_state"])),
        ("pending accepted by the fake after the context's final", lambda m: fmt(m["pending_after_final"])),
        ("final latency (accepted → delivered) p50 / p99 / max", lambda m: f"{fmt(m['final_latency_p50'], ' s')} / {fmt(m['final_latency_p99'], ' s')} / {fmt(m['final_latency_max'], ' s')}"),
        ("budget-bound minimum p50 / p99 (see below)", lambda m: f"{fmt(m['final_bound_p50'], ' s')} / {fmt(m['final_bound_p99'], ' s')}"),
        ("final latency − bound p50 / p99 / max", lambda m: f"{fmt(m['final_excess_p50'], ' s')} / {fmt(m['final_excess_p99'], ' s')} / {fmt(m['final_excess_max'], ' s')}"),
        ("finals not delivered", lambda m: fmt(m["finals_not_delivered"])),
        ("non-final updates delivered (p50 latency)", lambda m: f"{m['non_final_delivered']} ({fmt(m['non_final_latency_p50'], ' s')})"),
        ("last final delivered, s after first call (ideal)", lambda m: f"{fmt(m['last_final_delivered_s'], ' s', 1)} ({fmt(m['ideal_last_final_s'], ' s', 1)})"),
        ("wall time first call → backlog empty", lambda m: fmt(m["wall_drain_s"], " s", 1)),
        ("update statuses", lambda m: ", ".join(f"{k} {v}" for k, v in sorted(m["update_status"].items()))),
        ("status attempts by class:HTTP", lambda m: ", ".join(f"{k} {v}" for k, v in sorted(m["attempt_classes"].items()))),
        ("plugin calls (all accepted); send lag p99 / reply p99", lambda m: f"{m['calls_sent']}; {fmt(m['send_lag_p99_ms'], ' ms', 0)} / {fmt(m['accept_reply_p99_ms'], ' ms', 0)}"),
        ("schema version", lambda m: fmt(m["schema_version"])),
    ]
    out = []
    out.append("| metric | " + " | ".join(a.label) + " |")
    out.append("|---|" + "---|" * len(a.label))
    for name, f in rows:
        out.append(f"| {name} | " + " | ".join(f(m) for m in ms) + " |")
    print("\n".join(out))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("drain")
    d.add_argument("--db", required=True)
    d.add_argument("--timeout", type=float, default=600)
    m = sub.add_parser("metrics")
    m.add_argument("--db", required=True)
    m.add_argument("--fake-log", required=True)
    m.add_argument("--calls", required=True)
    m.add_argument("--drained-at", type=float, required=True)
    m.add_argument("--burst", type=float, default=20)
    m.add_argument("--per-second", type=float, default=80, help="the fake's limit")
    m.add_argument("--budget-per-second", type=float, default=None,
                   help="serve's pacing (default: the fake's limit): the rate of the bound and of the send-time check")
    t = sub.add_parser("table")
    t.add_argument("--label", action="append", required=True)
    t.add_argument("--metrics", action="append", required=True)
    a = ap.parse_args()
    {"drain": cmd_drain, "metrics": cmd_metrics, "table": cmd_table}[a.cmd](a)


if __name__ == "__main__":
    main()
