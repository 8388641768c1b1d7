#!/usr/bin/env bash
# The shipped artifact, proven without Docker (docs/deployment.md#checking-the-image-without-docker).
#
#   sudo deploy/smoke.sh                     # builds dist/statussync first (deploy/build-release.sh)
#   sudo SMOKE_SKIP_BUILD=1 deploy/smoke.sh  # reuses dist/statussync
#
# As root, with network access only to Debian's package mirror (the host's apt sources, or
# SMOKE_MIRROR):
#   1. builds the binary the image ships (deploy/build-release.sh);
#   2. builds a bookworm-slim-like root with `mmdebstrap --variant=minbase` plus exactly the
#      runtime packages deploy/Containerfile installs, and lays out user 8737, /var/lib/statussync
#      and /usr/local/bin/statussync as the Containerfile does;
#   3. in new mount, PID and network namespaces (unshare), with that root read-only, a tmpfs /tmp,
#      a writable data directory and the agent token laid out as Argo lays it
#      (/var/run/argo/token, owner 8737:0, mode 0440, directory 0750, read-only bind), runs
#      statussync as UID 8737 with no capabilities (setpriv) and checks: ldd finds every library;
#      `serve` with a tenant and `relay` start; /healthz and /readyz answer; one plugin call goes
#      relay -> serve -> a fake GitHub inside the namespace (the host's python3, not in the root);
#      `statussync history` in the root shows it delivered; both exit cleanly on SIGTERM.
# Prints the binary's size and the resident memory of serve and relay; exits non-zero on any
# failure; removes everything it made (trap).
set -euo pipefail

cd "$(dirname "$0")/.."
REPO="$PWD"
STARTED=$(date +%s)
PORT=7313             # the sidecar port of deploy/ (relay on 127.0.0.1, serve on 127.0.0.2)
FAKE_GITHUB_PORT=8080 # inside the namespace only
SHA=6dcb09b5b57875f334f61aebed695e2e4193db5e

say() { printf 'smoke: %s\n' "$*"; }
fail() { printf 'smoke: FAILED: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "run as root (mmdebstrap, unshare, chroot, mount)"
for tool in unshare setpriv chroot mount ip curl python3; do
  command -v "$tool" >/dev/null || fail "$tool is missing"
done
if ! command -v mmdebstrap >/dev/null; then
  say "installing mmdebstrap"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q mmdebstrap >/dev/null
fi

WORK="$(mktemp -d /var/tmp/statussync-smoke.XXXXXX)"
ROOTFS="$WORK/rootfs"
cleanup() {
  local rc=$?
  # The namespaces (and every process and mount in them) end with the unshare'd shell.
  if [ -n "${INNER_PID:-}" ] && kill -0 "$INNER_PID" 2>/dev/null; then kill -KILL "$INNER_PID" 2>/dev/null || true; fi
  rm -rf --one-file-system "$WORK"
  if [ "$rc" -eq 0 ]; then say "PASSED in $(( $(date +%s) - STARTED )) s"; else say "FAILED after $(( $(date +%s) - STARTED )) s (exit $rc)"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- 1. the binary ------------------------------------------------------------------------------
BIN="$REPO/dist/statussync"
if [ "${SMOKE_SKIP_BUILD:-0}" = 1 ]; then
  [ -x "$BIN" ] || fail "SMOKE_SKIP_BUILD=1 but $BIN does not exist"
  say "using $BIN (not rebuilt)"
else
  say "building $BIN (deploy/build-release.sh)"
  build_started=$(date +%s)
  deploy/build-release.sh "$BIN"
  say "release build took $(( $(date +%s) - build_started )) s"
fi

# ---- 2. the root file system ----------------------------------------------------------------------
# Exactly the packages the runtime stage of the Containerfile installs.
packages="$(awk '/^FROM \$\{RUNTIME_IMAGE\}/ {runtime = 1}
                 runtime && /apt-get install/ {sub(/.*--no-install-recommends/, ""); sub(/\\$/, ""); print; exit}' deploy/Containerfile | xargs)"
[ -n "$packages" ] || fail "cannot find the runtime packages in deploy/Containerfile"
mirror="${SMOKE_MIRROR:-}"
if [ -z "$mirror" ]; then
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then mirror=/etc/apt/sources.list.d/debian.sources; else mirror=http://deb.debian.org/debian; fi
fi
say "mmdebstrap --variant=minbase bookworm + ${packages// /, } (from $mirror)"
mmdebstrap_started=$(date +%s)
mmdebstrap --quiet --variant=minbase --include="${packages// /,}" bookworm "$ROOTFS" "$mirror" \
  || fail "mmdebstrap"
say "root file system built in $(( $(date +%s) - mmdebstrap_started )) s ($(du -sh --apparent-size "$ROOTFS" | cut -f1))"

# As the Containerfile's runtime stage does.
chroot "$ROOTFS" groupadd --system --gid 8737 statussync
chroot "$ROOTFS" useradd --system --uid 8737 --gid 8737 --home-dir /var/lib/statussync --no-create-home \
  --shell /usr/sbin/nologin statussync
chroot "$ROOTFS" install -d -o 8737 -g 8737 -m 0750 /var/lib/statussync
install -m 0755 "$BIN" "$ROOTFS/usr/local/bin/statussync"
BINARY_BYTES=$(stat -c %s "$ROOTFS/usr/local/bin/statussync")

# The central service's configuration and Secret files (as the Deployment mounts them: readable
# through group 8737, the pod's fsGroup).
install -d -m 0755 "$ROOTFS/etc/statussync" "$ROOTFS/etc/statussync/github" "$ROOTFS/etc/statussync/tenants"
TENANT_TOKEN="$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
printf 'ghp_smoke_fake_github_token\n' > "$ROOTFS/etc/statussync/github/token"
printf '%s\n' "$TENANT_TOKEN" > "$ROOTFS/etc/statussync/tenants/ci"
chown 0:8737 "$ROOTFS/etc/statussync/github/token" "$ROOTFS/etc/statussync/tenants/ci"
chmod 0440 "$ROOTFS/etc/statussync/github/token" "$ROOTFS/etc/statussync/tenants/ci"
cat > "$ROOTFS/etc/statussync/config.yaml" <<EOF
listen: 127.0.0.2:$PORT
database: /var/lib/statussync/statussync.sqlite
argoBaseURL: https://argo.example.com
providers:
  - name: github
    kind: github
    baseURL: http://127.0.0.1:$FAKE_GITHUB_PORT
    tokenFile: /etc/statussync/github/token
tenants:
  - name: ci
    tokenFile: /etc/statussync/tenants/ci
    namespaces: [ci]
    repos: ["my-org/*"]
shutdownGrace: 2s
EOF

# The agent's token, as argoexec's init container writes it for a plugin sidecar.
install -d -o 8737 -g 0 -m 0750 "$WORK/argo"
# 32 characters of k8s.io/apimachinery's rand alphabet, no trailing newline.
python3 -c 'import secrets, sys; sys.stdout.write("".join(secrets.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(32)))' \
  > "$WORK/argo/token"
chown 8737:0 "$WORK/argo/token"
chmod 0440 "$WORK/argo/token"
# The data directory (the PVC), writable by 8737 only.
install -d -o 8737 -g 8737 -m 0750 "$WORK/data"

# A fake GitHub: answers the status call and records what it got.
cat > "$WORK/fake_github.py" <<'EOF'
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = open(sys.argv[3], "a", buffering=1)

class Handler(BaseHTTPRequestHandler):
    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        log.write(json.dumps({"method": "GET", "path": self.path, "auth": self.headers.get("Authorization")}) + "\n")
        self.reply(200, {"login": "smoke"} if self.path == "/user" else {})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        log.write(json.dumps({"method": "POST", "path": self.path, "auth": self.headers.get("Authorization"),
                              "body": json.loads(body or b"{}")}) + "\n")
        if "/statuses/" in self.path:
            self.reply(201, {"id": 1, "state": json.loads(body)["state"]})
        else:
            self.reply(404, {"message": "Not Found"})

    def log_message(self, *args):
        pass

ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), Handler).serve_forever()
EOF

cat > "$WORK/call.json" <<EOF
{"workflow":{"metadata":{"name":"smoke-1","namespace":"ci","uid":"0b6a4a8e-4d5f-4f55-9c59-2f3c6f0f5e11"}},"template":{"name":"report","inputs":{"parameters":[{"name":"state","value":"Succeeded"}]},"outputs":{},"metadata":{},"plugin":{"statussync":{"repo":"my-org/app","sha":"$SHA","state":"Succeeded","context":"ci/argo","key":"0b6a4a8e/smoke-1.onExit"}}}}
EOF

# ---- 3. inside the namespaces ---------------------------------------------------------------------
cat > "$WORK/inner.sh" <<'INNER'
set -euo pipefail
say() { printf 'smoke: %s\n' "$*"; }
fail() { printf 'smoke: FAILED: %s\n' "$*" >&2; for f in serve relay; do [ -s "$WORK/$f.log" ] && { echo "--- $f log" >&2; tail -n 20 "$WORK/$f.log" >&2; }; done; exit 1; }

ip link set lo up
# Private mounts: nothing here reaches the host's mount table.
mount --make-rprivate /
mount --bind "$ROOTFS" "$ROOTFS"
mount -t proc -o nosuid,nodev,noexec proc "$ROOTFS/proc"
mount -t tmpfs -o nosuid,noexec,mode=0755,size=64k tmpfs "$ROOTFS/dev"
for node in null zero full random urandom; do
  touch "$ROOTFS/dev/$node"
  mount --bind "/dev/$node" "$ROOTFS/dev/$node"
done
mount -t tmpfs -o nosuid,nodev,mode=1777,size=64m tmpfs "$ROOTFS/tmp"
mount --bind "$WORK/data" "$ROOTFS/var/lib/statussync"
# /var/run is a symbolic link to /run in Debian: the token directory ends up at /run/argo.
install -d -m 0755 "$ROOTFS/run/argo"
mount --bind "$WORK/argo" "$ROOTFS/run/argo"
mount -o remount,bind,ro,nosuid,nodev "$ROOTFS/run/argo"
mount -o remount,bind,ro "$ROOTFS"
touch "$ROOTFS/usr/local/bin/probe" 2>/dev/null && fail "the root file system is writable"

# As a container of the image: UID/GID 8737, no supplementary groups, no capabilities at all,
# no privilege gain, a clean environment, working directory /var/lib/statussync.
# Each program replaces the one before (chroot, setpriv, env, sh all exec), so a process started
# with "${AS8737[@]}" … & has $! = the statussync process itself.
AS8737=(chroot "$ROOTFS" /usr/bin/setpriv --reuid=8737 --regid=8737 --clear-groups
        --inh-caps=-all --ambient-caps=-all --bounding-set=-all --no-new-privs
        /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/var/lib/statussync)
IN_WORKDIR=("${AS8737[@]}" /bin/sh -c 'cd /var/lib/statussync && exec "$@"' sh)
as8737() { "${AS8737[@]}" "$@"; }
in_workdir() { "${IN_WORKDIR[@]}" "$@"; }

say "ldd /usr/local/bin/statussync (in the root)"
chroot "$ROOTFS" /usr/bin/ldd /usr/local/bin/statussync | tee "$WORK/ldd.txt" | sed 's/^/    /'
if grep -q "not found" "$WORK/ldd.txt"; then fail "a shared library is missing"; fi

ids="$(as8737 /bin/sh -c 'id -u; id -G; grep -E "^Cap(Inh|Prm|Eff|Bnd|Amb):" /proc/self/status | tr -s "\t" " "')"
printf '%s\n' "$ids" | sed 's/^/    /'
printf '%s\n' "$ids" | head -n 1 | grep -qx 8737 || fail "not UID 8737"
printf '%s\n' "$ids" | sed -n 2p | grep -qx 8737 || fail "groups are not just 8737"
if printf '%s\n' "$ids" | grep '^Cap' | grep -vq ' 0000000000000000$'; then fail "a capability is left"; fi
as8737 /bin/sh -c 'cat /var/run/argo/token >/dev/null' || fail "UID 8737 cannot read /var/run/argo/token"
as8737 /bin/sh -c 'touch /var/run/argo/x' 2>/dev/null && fail "the token directory is writable"
in_workdir statussync --version | sed 's/^/    statussync --version: /'

python3 "$WORK/fake_github.py" 127.0.0.1 "$FAKE_GITHUB_PORT" "$WORK/github.log" &
wait_for() { # URL [seconds]
  local i
  for i in $(seq 1 $(( ${2:-20} * 10 ))); do
    curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
wait_for "http://127.0.0.1:$FAKE_GITHUB_PORT/user" 10 || fail "the fake GitHub did not start"

say "statussync serve (tenant ci) on 127.0.0.2:$PORT"
"${IN_WORKDIR[@]}" statussync serve --config /etc/statussync/config.yaml > "$WORK/serve.log" 2>&1 &
SERVE_PID=$!
say "statussync relay on 127.0.0.1:$PORT -> serve"
"${AS8737[@]}" STATUSSYNC_TENANT_TOKEN="$TENANT_TOKEN" statussync relay --listen "127.0.0.1:$PORT" \
  --upstream "http://127.0.0.2:$PORT" --agent-token-file /var/run/argo/token > "$WORK/relay.log" 2>&1 &
RELAY_PID=$!

wait_for "http://127.0.0.2:$PORT/healthz" 30 || fail "serve: /healthz does not answer"
wait_for "http://127.0.0.2:$PORT/readyz" 30 || fail "serve: /readyz does not answer 200"
wait_for "http://127.0.0.1:$PORT/healthz" 30 || fail "relay: /healthz does not answer"
say "/healthz and /readyz of serve, /healthz of relay: 200"
if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/readyz" 2>/dev/null; then say "/readyz of relay: 200"; fi

call() { # TOKEN -> writes the reply, prints the HTTP status
  curl -sS -o "$WORK/reply.json" -w '%{http_code}' --max-time 35 -X POST \
    -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
    --data-binary @"$WORK/call.json" "http://127.0.0.1:$PORT/api/v1/template.execute"
}
status="$(call "wrong-token")"
[ "$status" = 403 ] || fail "a wrong agent token got HTTP $status, not 403"
status="$(call "$(cat "$WORK/argo/token")")"
say "plugin call through the relay: HTTP $status $(cat "$WORK/reply.json")"
[ "$status" = 200 ] || fail "the plugin call got HTTP $status"
grep -q '"phase":"Succeeded"' "$WORK/reply.json" || fail "the plugin call did not succeed"

# A namespace without the (optional) tenant Secret: the relay starts all the same, and the
# central service refuses the call, which fails only this plugin's node.
"${AS8737[@]}" statussync relay --listen "127.0.0.1:$(( PORT + 1 ))" --upstream "http://127.0.0.2:$PORT" \
  --agent-token-file /var/run/argo/token > "$WORK/relay-without-tenant.log" 2>&1 &
BARE_RELAY_PID=$!
wait_for "http://127.0.0.1:$(( PORT + 1 ))/healthz" 30 || fail "a relay without tenant token does not start"
status="$(curl -sS -o "$WORK/reply-bare.json" -w '%{http_code}' --max-time 35 -X POST \
  -H "Authorization: Bearer $(cat "$WORK/argo/token")" -H 'Content-Type: application/json' \
  --data-binary @"$WORK/call.json" "http://127.0.0.1:$(( PORT + 1 ))/api/v1/template.execute")"
[ "$status" = 403 ] || fail "a relay without tenant token got HTTP $status from serve, not 403"
say "a relay without tenant token starts; serve answers its call with 403"
kill -TERM "$BARE_RELAY_PID"; wait "$BARE_RELAY_PID" || true

delivered=""
for i in $(seq 1 100); do
  if in_workdir statussync history --config /etc/statussync/config.yaml --delivery delivered --sha "$SHA" --json > "$WORK/history.json" 2>"$WORK/history.err" \
     && grep -q "$SHA" "$WORK/history.json"; then delivered=1; break; fi
  sleep 0.2
done
[ -n "$delivered" ] || { cat "$WORK/history.err" >&2; fail "statussync history shows no delivered update for $SHA"; }
in_workdir statussync history --config /etc/statussync/config.yaml --sha "$SHA" | sed 's/^/    /'
grep -q "\"path\": \"/repos/my-org/app/statuses/$SHA\"" "$WORK/github.log" || fail "the fake GitHub got no status call"
grep "/statuses/" "$WORK/github.log" | grep -q '"auth": "Bearer ghp_smoke_fake_github_token"' || fail "the status call did not carry the provider token"
grep -q '"state": "success"' "$WORK/github.log" || fail "the fake GitHub did not get state success"
say "the fake GitHub got POST /repos/my-org/app/statuses/${SHA:0:12}… (state success)"

for pid in "$SERVE_PID" "$RELAY_PID"; do
  [ "$(cat "/proc/$pid/comm")" = statussync ] || fail "process $pid is $(cat "/proc/$pid/comm"), not statussync"
done
rss() { awk '/^VmRSS:/ {printf "%.1f MiB", $2 / 1024}' "/proc/$1/status"; }
printf '%s\n%s\n' "$(rss "$SERVE_PID")" "$(rss "$RELAY_PID")" > "$WORK/rss.txt"
say "resident memory: serve $(sed -n 1p "$WORK/rss.txt"), relay $(sed -n 2p "$WORK/rss.txt")"

kill -TERM "$RELAY_PID" "$SERVE_PID"
rc=0; wait "$SERVE_PID" || rc=$?
[ "$rc" -eq 0 ] || fail "serve exited with $rc after SIGTERM"
rc=0; wait "$RELAY_PID" || rc=$?
[ "$rc" -eq 0 ] || fail "relay exited with $rc after SIGTERM"
say "serve and relay exited 0 on SIGTERM"
INNER

export WORK ROOTFS PORT FAKE_GITHUB_PORT SHA TENANT_TOKEN
unshare --mount --pid --net --fork --mount-proc --kill-child bash "$WORK/inner.sh" &
INNER_PID=$!
wait "$INNER_PID"
INNER_PID=""

say "binary: $BINARY_BYTES bytes ($(awk -v b="$BINARY_BYTES" 'BEGIN {printf "%.1f MiB", b / 1048576}'))"
