#!/usr/bin/env bash
# Delivery under a provider's budget: baseline (89076cd, before budget-bound claims) against the
# new binary, one run each, same load, same local fake GitHub.
#
#   bench/budget/run.sh
#
# Env: BASELINE_BIN / NEW_BIN (binaries to use instead of building), BASELINE_REV (89076cd),
# BASELINE_DIR (/tmp/statussync-baseline: git worktree for the baseline build, reused),
# WORKFLOWS (400), CONTEXTS (3), SEED (1), DRAIN_TIMEOUT (600 s), KEEP=1 (keep the temp dir),
# SERVE_PER_MINUTE (4800: serve's pacing; the fake stays at 80/s, so e.g. 4320 gives 10% headroom),
# RESULTS (bench/budget/last-results.md).
#
# Per binary: fresh temp dir, fake GitHub (bench/budget/fake_github.py: burst 20, 80 status
# calls/s, 403 secondary rate limit past it), `statussync serve` paced the same (burst 20,
# 4800/min), 400 workflows × 3 contexts each reporting pending → running → final over a few
# seconds (bench/budget/loadgen.py), wait until the backlog drains, SIGTERM, then measure from
# the SQLite database and the fake's log (bench/budget/analyze.py). Prints a Markdown table and
# writes it to bench/budget/last-results.md. Python 3 standard library only; traffic stays on
# 127.0.0.1.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BASELINE_REV="${BASELINE_REV:-89076cd}"
BASELINE_DIR="${BASELINE_DIR:-/tmp/statussync-baseline}"
WORKFLOWS="${WORKFLOWS:-400}"
CONTEXTS="${CONTEXTS:-3}"
SEED="${SEED:-1}"
DRAIN_TIMEOUT="${DRAIN_TIMEOUT:-600}"
BUILD_TIMEOUT="${BUILD_TIMEOUT:-2400}"
BURST=20
PER_SECOND=80
SERVE_PER_MINUTE="${SERVE_PER_MINUTE:-$(( PER_SECOND * 60 ))}"
RESULTS="${RESULTS:-$HERE/last-results.md}"
RUN_START=$(date +%s)

log() { echo "budget: $*" >&2; }
die() { log "FAILED: $*"; exit 1; }
command -v python3 >/dev/null || die "python3 is needed"
command -v curl >/dev/null || die "curl is needed"

WORK="$(mktemp -d /tmp/statussync-budget.XXXXXX)"
PIDS=()
cleanup() {
  local rc=$?
  for p in "${PIDS[@]}"; do
    if kill -0 "$p" 2>/dev/null; then kill -TERM "$p" 2>/dev/null || true; fi
  done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ] || [ "$rc" != 0 ]; then log "work files kept in $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- binaries --------------------------------------------------------------------------------
if [ -z "${BASELINE_BIN:-}" ]; then
  if [ ! -d "$BASELINE_DIR" ]; then
    log "adding a worktree of $BASELINE_REV at $BASELINE_DIR"
    git -C "$ROOT" worktree add --detach "$BASELINE_DIR" "$BASELINE_REV" >&2
  fi
  have=$(git -C "$BASELINE_DIR" rev-parse HEAD)
  want=$(git -C "$ROOT" rev-parse "$BASELINE_REV^{commit}")
  [ "$have" = "$want" ] || die "$BASELINE_DIR is at $have, not $BASELINE_REV ($want); remove it or set BASELINE_DIR"
  BASELINE_BIN="$BASELINE_DIR/.build/debug/statussync"
  if [ ! -x "$BASELINE_BIN" ]; then
    log "building the baseline in $BASELINE_DIR (a cold debug build takes 5-10 min)"
    (cd "$BASELINE_DIR" && timeout "$BUILD_TIMEOUT" swift build --product statussync) > "$WORK/baseline-build.log" 2>&1 \
      || { tail -20 "$WORK/baseline-build.log" >&2; die "baseline build"; }
  fi
fi
if [ -z "${NEW_BIN:-}" ]; then
  NEW_BIN="$ROOT/.build/debug/statussync"
  if [ ! -x "$NEW_BIN" ]; then
    log "building the new binary in $ROOT"
    (cd "$ROOT" && timeout "$BUILD_TIMEOUT" swift build --product statussync) > "$WORK/new-build.log" 2>&1 \
      || { tail -20 "$WORK/new-build.log" >&2; die "new build"; }
  fi
fi
[ -x "$BASELINE_BIN" ] || die "no baseline binary at $BASELINE_BIN"
[ -x "$NEW_BIN" ] || die "no new binary at $NEW_BIN"
# Private copies: a rebuild in the tree during the run cannot swap a binary under us.
cp "$BASELINE_BIN" "$WORK/statussync-baseline"
cp "$NEW_BIN" "$WORK/statussync-new"
DIRTY=$(git -C "$ROOT" status --porcelain -- Sources migrations Package.swift Package.resolved Plugins | wc -l)
[ "$DIRTY" = 0 ] && DIRTY="" || DIRTY=", $DIRTY uncommitted changes under Sources/migrations/Plugins now"
BIN_INFO="baseline: \`$BASELINE_BIN\` (built $(date -u -r "$BASELINE_BIN" +%FT%TZ)); new: \`$NEW_BIN\` (built $(date -u -r "$NEW_BIN" +%FT%TZ), tree HEAD $(git -C "$ROOT" rev-parse --short HEAD)$DIRTY)"
log "$BIN_INFO"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

stop_pid() {  # $1 pid, $2 seconds to wait after SIGTERM
  local p=$1 i
  kill -TERM "$p" 2>/dev/null || return 0
  for i in $(seq 1 $(( $2 * 10 ))); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$p" 2>/dev/null; then log "pid $p ignored SIGTERM for $2 s: SIGKILL"; kill -KILL "$p" 2>/dev/null || true; fi
  wait "$p" 2>/dev/null || true
  local rest=() q
  for q in "${PIDS[@]}"; do [ "$q" = "$p" ] || rest+=("$q"); done
  PIDS=("${rest[@]}")
}

# --- one binary ------------------------------------------------------------------------------
run_one() {  # $1 label, $2 binary
  local label=$1 bin=$2 dir="$WORK/$1"
  mkdir -p "$dir"
  python3 "$HERE/fake_github.py" --port-file "$dir/fake.port" --log "$dir/fake.jsonl" \
    --burst "$BURST" --per-second "$PER_SECOND" 2>"$dir/fake.err" &
  local fake=$!; PIDS+=("$fake")
  local i
  for i in $(seq 1 100); do [ -s "$dir/fake.port" ] && break; sleep 0.1; done
  [ -s "$dir/fake.port" ] || die "$label: fake GitHub did not start ($(cat "$dir/fake.err"))"
  local fp; fp=$(cat "$dir/fake.port")
  curl -sf -o /dev/null "http://127.0.0.1:$fp/user" || die "$label: fake GitHub does not answer GET /user"
  : > "$dir/fake.jsonl"

  local sp; sp=$(free_port)
  cat > "$dir/config.yaml" <<YAML
listen: 127.0.0.1:$sp
database: $dir/statussync.sqlite
providers:
  - name: github
    kind: github
    baseURL: http://127.0.0.1:$fp
    tokenEnv: GITHUB_TOKEN
    pacing: {burst: $BURST, perMinute: $SERVE_PER_MINUTE}
delivery: {concurrency: 8, timeout: 5s}
YAML
  GITHUB_TOKEN=bench-token "$bin" serve --config "$dir/config.yaml" 2>"$dir/serve.log" &
  local serve=$!; PIDS+=("$serve")
  for i in $(seq 1 600); do
    curl -sf -o /dev/null "http://127.0.0.1:$sp/healthz" && break
    kill -0 "$serve" 2>/dev/null || { tail -20 "$dir/serve.log" >&2; die "$label: serve exited"; }
    sleep 0.1
  done
  curl -sf -o /dev/null "http://127.0.0.1:$sp/healthz" || die "$label: serve not healthy after 60 s"
  log "$label: serve on :$sp, fake GitHub on :$fp; sending $WORKFLOWS workflows × $CONTEXTS contexts"

  python3 "$HERE/loadgen.py" --port "$sp" --out "$dir/calls.jsonl" --workflows "$WORKFLOWS" \
    --contexts "$CONTEXTS" --seed "$SEED" --timeout 300 || die "$label: load generator"
  log "$label: load sent; waiting for the backlog to drain (at most $DRAIN_TIMEOUT s)"
  local drained
  drained=$(python3 "$HERE/analyze.py" drain --db "$dir/statussync.sqlite" --timeout "$DRAIN_TIMEOUT") \
    || die "$label: backlog did not drain"
  stop_pid "$serve" 20
  stop_pid "$fake" 5
  grep -E 'level=(error|critical)' "$dir/serve.log" | head -5 >&2 || true
  python3 "$HERE/analyze.py" metrics --db "$dir/statussync.sqlite" --fake-log "$dir/fake.jsonl" \
    --calls "$dir/calls.jsonl" --drained-at "$drained" --burst "$BURST" --per-second "$PER_SECOND" \
    --budget-per-second "$(python3 -c "print($SERVE_PER_MINUTE / 60)")" \
    > "$dir/metrics.json" || die "$label: analysis"
  log "$label: done: $(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print("%d provider calls, %d 403s, drained in %.1f s" % (m["provider_calls"], m["provider_403"], m["wall_drain_s"]))' "$dir/metrics.json")"
}

run_one baseline "$WORK/statussync-baseline"
run_one new "$WORK/statussync-new"

TABLE=$(python3 "$HERE/analyze.py" table --label "baseline ($BASELINE_REV)" --metrics "$WORK/baseline/metrics.json" \
  --label "new" --metrics "$WORK/new/metrics.json") || die "table"
ELAPSED=$(( $(date +%s) - RUN_START ))
{
  echo "# Delivery under the provider's budget: baseline vs new"
  echo
  echo "Run $(date -u +%FT%TZ) on $(nproc) cores by \`bench/budget/run.sh\` ($ELAPSED s including any build)."
  echo "$BIN_INFO."
  echo
  echo "Load: $WORKFLOWS workflows × $CONTEXTS contexts (seed $SEED), each context Pending at the workflow's start"
  echo "(U(0,3) s), Running at +U(0.5,2) s, final at +U(2,5) s (Failed for ~10%)."
  echo "Fake GitHub: burst $BURST, $PER_SECOND status calls/s (GitHub's 80/min × 60). serve: \`pacing: {burst: $BURST, perMinute: $SERVE_PER_MINUTE}\`,"
  echo "\`delivery: {concurrency: 8, timeout: 5s}\`."
  echo
  echo "$TABLE"
  echo
  echo "Budget-bound minimum of a final's latency: an ideal sender spends the budget on finals only, in"
  echo "acceptance order, each as soon as it is accepted and a token is free, from a bucket of the same shape"
  echo "(burst $BURST, serve's pacing: $SERVE_PER_MINUTE/min) full at the first final's acceptance; bound = ideal send time − accept time."
  echo "Under a steady backlog that is ((finals accepted before it + 1 − burst) ÷ rate) after the first final's"
  echo "acceptance. No sender delivers all finals with less total delay, so \"latency − bound\" is the delay"
  echo "added by the product (budget spent on pending/running, claim and request time). Latencies come from"
  echo "the database (created_at → delivered_at); provider calls and 403s from the fake's log."
} > "$WORK/results.md"
cp "$WORK/results.md" "$RESULTS"
cat "$WORK/results.md"
log "total $ELAPSED s; results in $RESULTS"
