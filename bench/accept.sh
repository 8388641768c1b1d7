#!/usr/bin/env bash
# Measures statussync's accept path: builds release, starts serve on a temp database with a local
# fake GitHub, drives POST /api/v1/template.execute with wrk at 16 connections, and prints
# accepted calls/s, reply latency, RSS idle and under load, binary size and time to listening.
# Usage: bench/accept.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
CONNECTIONS="${2:-16}"
command -v wrk >/dev/null || { echo "bench: installing wrk"; apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null; }

swift build -c release --product statussync >/dev/null
BIN="$(swift build -c release --show-bin-path)/statussync"
WORK="$(mktemp -d)"
trap 'kill $SERVE $FAKE 2>/dev/null || true; rm -rf "$WORK"' EXIT

FAKE_PORT=$((20000 + RANDOM % 10000)); PORT=$((FAKE_PORT + 1))
python3 bench/fake_github.py "$FAKE_PORT" & FAKE=$!
cat > "$WORK/config.yaml" <<YAML
listen: 127.0.0.1:$PORT
database: $WORK/statussync.sqlite
providers:
  - {name: github, kind: github, baseURL: "http://127.0.0.1:$FAKE_PORT", tokenEnv: BENCH_TOKEN, pacing: {burst: 1000000, perMinute: 60000000}}
YAML

START=$(date +%s%N)
BENCH_TOKEN=bench "$BIN" serve --config "$WORK/config.yaml" --log-level warning 2>"$WORK/serve.log" & SERVE=$!
until curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null; do sleep 0.005; done
LISTEN_MS=$(( ($(date +%s%N) - START) / 1000000 ))
sleep 1
RSS_IDLE=$(awk '/VmRSS/ {print $2}' /proc/$SERVE/status)

RESULT=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s bench/plugin_call.lua "http://127.0.0.1:$PORT" | grep '^accepted=')
RSS_PEAK=$(awk '/VmHWM/ {print $2}' /proc/$SERVE/status)
sleep 2
DB_BYTES=$(du -cb "$WORK"/statussync.sqlite* | tail -1 | cut -f1)
ACCEPTED=$(echo "$RESULT" | sed 's/.*accepted=\([0-9]*\).*/\1/')

echo "connections:        $CONNECTIONS for ${DURATION}s"
echo "result:             $RESULT"
echo "time to listening:  ${LISTEN_MS} ms (includes exec, migrations, bind)"
echo "RSS idle:           $((RSS_IDLE / 1024)) MiB"
echo "RSS peak (VmHWM):   $((RSS_PEAK / 1024)) MiB"
echo "binary size:        $(( $(stat -c %s "$BIN") / 1024 / 1024 )) MiB ($BIN)"
echo "database bytes/call: $(( DB_BYTES / (ACCEPTED > 0 ? ACCEPTED : 1) ))"
