#!/usr/bin/env bash
# statussync benchmark: one command, release build, temp database, local fake GitHub.
#
#   bench/run.sh                      # DURATION=10 CONNECTIONS=16 RATE=2400 PACED_CONNECTIONS=64 ACCEPT_RUNS=3 by default
#
# Prints: accepted calls/s at CONNECTIONS connections with p50/p99 reply latency, with the fake
# provider taking every status (deliveries compete with accepts) and with deliveries held back
# (the accept path alone); p50/p99 at about RATE calls/s and the accept→provider latency at that
# rate (from statussync_delivery_seconds; RATE is what the pacing aims at, the achieved rate is
# printed, a little lower); RSS of serve and relay, idle and peak; time from exec to listening;
# database bytes per call; and this machine's
# ceilings (a trivial Hummingbird route, single-row synchronous=FULL SQLite commits) with our
# figures as ratios to them. Needs wrk (installed from Debian when missing) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-10}"
ACCEPT_RUNS="${ACCEPT_RUNS:-3}"
CONNECTIONS="${CONNECTIONS:-16}"
RATE="${RATE:-2400}"
PACED_CONNECTIONS="${PACED_CONNECTIONS:-64}"

if ! command -v wrk >/dev/null; then
  echo "bench: installing wrk" >&2
  apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null
fi

# serve and relay are measured as the image ships them (deploy/build-release.sh: static Swift
# runtime; the first run builds it into .build-static, a few minutes), and the ceilings are built
# the same way. BENCH_BINARY=dev measures plain `swift build -c release` binaries instead
# (dynamic Swift runtime: slower, more memory).
if [ "${BENCH_BINARY:-shipped}" = dev ]; then
  echo "bench: building release (dynamic Swift runtime)" >&2
  swift build -c release --product statussync >/dev/null 2>&1
  swift build -c release --product BenchCeiling >/dev/null 2>&1
  BIN="$(swift build -c release --show-bin-path)/statussync"
  CEIL="$(swift build -c release --show-bin-path)/BenchCeiling"
else
  echo "bench: building the shipped binary and the ceilings (deploy/build-release.sh)" >&2
  deploy/build-release.sh dist/statussync >/dev/null 2>&1
  PRODUCT=BenchCeiling deploy/build-release.sh dist/BenchCeiling >/dev/null 2>&1
  BIN="$(pwd)/dist/statussync"
  CEIL="$(pwd)/dist/BenchCeiling"
fi
WORK="$(mktemp -d)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_http() { until curl -sf -o /dev/null "$1"; do sleep 0.002; done; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
rss_kib() { awk "/$2/ {print \$2}" "/proc/$1/status"; }

# --- ceilings -------------------------------------------------------------------------------
echo "bench: measuring ceilings" >&2
SQLITE_CEIL=$("$CEIL" sqlite "$WORK" 3000 | field sqlite_full_commits_per_s)
CP=$(port); "$CEIL" http "$CP" & PIDS+=($!)
until curl -s -o /dev/null -X POST "http://127.0.0.1:$CP/api/v1/template.execute"; do sleep 0.01; done
CEIL_OUT=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s bench/plugin_call.lua "http://127.0.0.1:$CP" | grep '^accepted=')
HTTP_CEIL=$(python3 -c "import sys; a=sys.argv[1].split(); d=dict(x.split('=') for x in a); print(round((int(d['accepted'])+int(d['other']))/float(d['seconds'])))" "$CEIL_OUT")
kill "${PIDS[-1]}"; unset 'PIDS[-1]'

# --- statussync ------------------------------------------------------------------------------
FP=$(port); "$CEIL" fake-github "$FP" 2>"$WORK/fake.log" & PIDS+=($!)
until curl -s -o /dev/null "http://127.0.0.1:$FP/repos/o/r/pulls/1"; do sleep 0.01; done
SP=$(port)
config() {  # $1: pacing of the fake provider (held back or not)
  cat > "$WORK/config.yaml" <<YAML
listen: 127.0.0.1:$SP
database: $WORK/statussync.sqlite
argoBaseURL: https://argo.example.com
providers:
  - {name: github, kind: github, baseURL: "http://127.0.0.1:$FP", tokenEnv: BENCH_TOKEN, pacing: $1}
delivery: {concurrency: 16}
YAML
}
start_serve() {
  local start=$(date +%s%N)
  BENCH_TOKEN=bench "$BIN" serve --config "$WORK/config.yaml" --log-level warning 2>>"$WORK/serve.log" & SERVE=$!; PIDS+=($SERVE)
  wait_http "http://127.0.0.1:$SP/healthz"
  LISTEN_MS=$(( ($(date +%s%N) - start) / 1000000 ))
}
stop_serve() { kill -TERM $SERVE; wait $SERVE 2>/dev/null || true; }
backlog() { curl -s "http://127.0.0.1:$SP/metrics" | sed -n 's/^statussync_backlog \([0-9.e+]*\).*/\1/p'; }
drain() { for _ in $(seq 1 1200); do b=$(backlog); [ "${b%%.*}" = "0" ] && return; sleep 0.1; done; }
load() { wrk -t2 -c"$1" -d"${DURATION}s" -s bench/plugin_call.lua "http://127.0.0.1:$SP" | grep '^accepted='; }

FAST='{burst: 1000000, perMinute: 60000000}'
config "$FAST"; rm -f "$WORK"/statussync.sqlite*; start_serve
sleep 1
RSS_IDLE=$(rss_kib $SERVE VmRSS)
echo "bench: max throughput with deliveries, $CONNECTIONS connections, ${DURATION}s" >&2
MAX_OUT=$(load "$CONNECTIONS")
ACCEPTED=$(echo "$MAX_OUT" | field accepted)
echo "bench: draining the backlog" >&2
drain
RSS_PEAK=$(rss_kib $SERVE VmHWM)
stop_serve
# After a clean stop the log is checkpointed into the file and removed: the steady-state size.
DB_BYTES=$(du -cb "$WORK"/statussync.sqlite* | tail -1 | cut -f1)

# This VM's speed drifts by ±15 % from minute to minute, so the accept path alone runs
# ACCEPT_RUNS times (each on a fresh database) and the report gives the median run and all rates.
echo "bench: max throughput of the accept path alone (deliveries held back), $ACCEPT_RUNS runs" >&2
HELD='{burst: 1, perMinute: 0.001}'
ACCEPT_RUNS_OUT=""
for _ in $(seq 1 "$ACCEPT_RUNS"); do
  config "$HELD"; rm -f "$WORK"/statussync.sqlite*; start_serve
  ACCEPT_RUNS_OUT+="$(load "$CONNECTIONS")"$'\n'
  stop_serve
done
ACCEPT_OUT=$(echo -n "$ACCEPT_RUNS_OUT" | python3 -c '
import sys
runs = [l for l in sys.stdin.read().splitlines() if l]
runs.sort(key=lambda l: float(dict(x.split("=") for x in l.split())["rate"]))
print(runs[len(runs) // 2])')
ACCEPT_ALL=$(echo -n "$ACCEPT_RUNS_OUT" | while read -r l; do echo "$l" | field rate; done | paste -sd, -)

# Each connection waits PACED_CONNECTIONS*1000/RATE ms between calls (open-loop approximation).
paced() { RATE="$1" CONNECTIONS="$PACED_CONNECTIONS" load "$PACED_CONNECTIONS"; }
delivery_latency() {
  curl -s "http://127.0.0.1:$SP/metrics" | python3 -c '
import sys, re
buckets = []
for line in sys.stdin:
    m = re.match(r"statussync_delivery_seconds_bucket\{.*le=\"([^\"]+)\".*\} ([0-9.e+]+)", line)
    if m: buckets.append((float("inf") if m.group(1) == "+Inf" else float(m.group(1)), float(m.group(2))))
buckets.sort()
total = buckets[-1][1] if buckets else 0
def q(p):
    want, prev_le, prev_n = p * total, 0.0, 0.0
    for le, n in buckets:
        if n >= want:
            if le == float("inf"): return prev_le
            return prev_le + (le - prev_le) * ((want - prev_n) / max(n - prev_n, 1e-9))
        prev_le, prev_n = le, n
    return float("nan")
print("p50 %.1f ms, p99 %.1f ms over %d deliveries" % (q(0.5) * 1000, q(0.99) * 1000, total))'
}

echo "bench: paced load, about $RATE calls/s, accept path alone" >&2
config "$HELD"; rm -f "$WORK"/statussync.sqlite*; start_serve
PACED_ACCEPT_OUT=$(paced "$RATE")
stop_serve

echo "bench: paced load, about $RATE calls/s, deliveries running" >&2
config "$FAST"; rm -f "$WORK"/statussync.sqlite*; start_serve
PACED_OUT=$(paced "$RATE")
drain
DELIVERY=$(delivery_latency)
stop_serve

echo "bench: relay in front of serve, $CONNECTIONS connections" >&2
config "$HELD"; rm -f "$WORK"/statussync.sqlite*; start_serve
RP=$(port)
RSTART=$(date +%s%N)
"$BIN" relay --upstream "http://127.0.0.1:$SP" --listen "127.0.0.1:$RP" --log-level warning 2>>"$WORK/relay.log" & RELAY=$!; PIDS+=($RELAY)
wait_http "http://127.0.0.1:$RP/healthz"
RELAY_LISTEN_MS=$(( ($(date +%s%N) - RSTART) / 1000000 ))
sleep 1
RELAY_RSS_IDLE=$(rss_kib $RELAY VmRSS)
RELAY_OUT=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s bench/plugin_call.lua "http://127.0.0.1:$RP" | grep '^accepted=')
RELAY_RSS_PEAK=$(rss_kib $RELAY VmHWM)
kill -TERM $RELAY; wait $RELAY 2>/dev/null || true
stop_serve

echo "bench: light load, about 100 calls/s, deliveries running" >&2
config "$FAST"; rm -f "$WORK"/statussync.sqlite*; start_serve
LIGHT_OUT=$(paced 100)
drain
LIGHT_DELIVERY=$(delivery_latency)
stop_serve
MAX_RATE=$(echo "$MAX_OUT" | field rate)
ACCEPT_RATE=$(echo "$ACCEPT_OUT" | field rate)
ratio() { python3 -c "print('%.0f%%' % (100.0 * float('$1') / float('$2')))"; }
cat <<REPORT

statussync benchmark ($(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), ${DURATION}s per run)
  accepted calls/s, $CONNECTIONS connections, deliveries running:  $MAX_RATE  (reply p50 $(echo "$MAX_OUT" | field p50_ms) ms, p99 $(echo "$MAX_OUT" | field p99_ms) ms)
  accepted calls/s, $CONNECTIONS connections, accept path alone:   $ACCEPT_RATE  (median of $ACCEPT_RUNS runs: $ACCEPT_ALL; reply p50 $(echo "$ACCEPT_OUT" | field p50_ms) ms, p99 $(echo "$ACCEPT_OUT" | field p99_ms) ms)
  paced, accept path alone:          $(echo "$PACED_ACCEPT_OUT" | field rate) calls/s achieved (target $RATE): reply p50 $(echo "$PACED_ACCEPT_OUT" | field p50_ms) ms, p99 $(echo "$PACED_ACCEPT_OUT" | field p99_ms) ms
  paced, deliveries running:         $(echo "$PACED_OUT" | field rate) calls/s achieved (target $RATE): reply p50 $(echo "$PACED_OUT" | field p50_ms) ms, p99 $(echo "$PACED_OUT" | field p99_ms) ms
      accept → provider call:        $DELIVERY
  light load, deliveries running:    $(echo "$LIGHT_OUT" | field rate) calls/s: reply p99 $(echo "$LIGHT_OUT" | field p99_ms) ms
      accept → provider call:        $LIGHT_DELIVERY
  (accept → provider latency from statussync_delivery_seconds, interpolated within histogram buckets)
  serve RSS:                         idle $((RSS_IDLE / 1024)) MiB, peak $((RSS_PEAK / 1024)) MiB
  exec → listening:                  serve ${LISTEN_MS} ms (includes migrations), relay ${RELAY_LISTEN_MS} ms (first /healthz answered)
  relay:                             $(echo "$RELAY_OUT" | field rate) calls/s through it (p99 $(echo "$RELAY_OUT" | field p99_ms) ms); RSS idle $((RELAY_RSS_IDLE / 1024)) MiB, peak $((RELAY_RSS_PEAK / 1024)) MiB
  database bytes per call:           $(( DB_BYTES / (ACCEPTED > 0 ? ACCEPTED : 1) ))
  binary measured:                   $BIN ($(( $(stat -c %s "$BIN") / 1048576 )) MiB)
ceilings on this machine
  trivial Hummingbird POST route:    $HTTP_CEIL calls/s  → accept path alone is $(ratio "$ACCEPT_RATE" "$HTTP_CEIL") of it
  SQLite single-row FULL commits:    $SQLITE_CEIL commits/s → accept path alone is $(ratio "$ACCEPT_RATE" "$SQLITE_CEIL") of it (group commit)
REPORT
