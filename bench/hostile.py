#!/usr/bin/env python3
"""Hostile clients against statussync serve: malformed requests from clients that vanish.

  bench/hostile.py --start [--binary .build/debug/statussync] [--idle-timeout 60s] [--count 1000]
  bench/hostile.py --port 3001 [--pid PID] [--idle-timeout 60s] [--count 1000]

Sends --count malformed requests (oversized header, bad request line, Content-Length: -1, a
control byte in a header, headers that never end, a body cut short), each followed by as much of
a 600 KB body as the socket buffers take; every client reads what the server answers and closes.
Prints the server's open descriptors and RSS before, right after, and idleTimeout + 5 s after
(see docs/design.md#hostile-clients). Exit status 0 when the descriptors are back within 20 and
RSS within 30 MB of before.

--start runs its own `statussync serve` on a temporary database with `http.idleTimeout` set to
--idle-timeout; otherwise the server listening on --port is measured (its pid is found from the
listening socket when --pid is not given; reading another user's /proc needs root) and
--idle-timeout must match its config.
"""
import argparse, os, re, socket, subprocess, sys, tempfile, threading, time

BODY = 600 * 1024
BIG = "a" * (100 * 1024)
# (name, head, bytes of body sent after it, whether the client waits for the answer before closing)
KINDS = [
    ("oversized header", f"POST /api/v1/template.execute HTTP/1.1\r\nHost: x\r\nX-Big: {BIG}\r\nContent-Length: 600000\r\n\r\n", BODY, True),
    ("bad request line", "POST /api/v1/template.execute HTTP/1.1 extra\r\nHost: x\r\nContent-Length: 600000\r\n\r\n", BODY, True),
    ("negative Content-Length", "POST /api/v1/template.execute HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", BODY, True),
    ("control byte in a header", "POST /api/v1/template.execute HTTP/1.1\r\nHost: x\r\nX-Evil: a\x01b\r\nContent-Length: 600000\r\n\r\n", BODY, True),
    ("headers that never end", "POST /api/v1/template.execute HTTP/1.1\r\nHost: x\r\nX-Slow: ", 0, False),
    ("body cut short", "POST /api/v1/template.execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 600000\r\n\r\n", BODY // 2, False),
]


def parse_duration(text):
    m = re.fullmatch(r"(\d+)(ms|s|m)", text.strip())
    if not m:
        sys.exit(f"hostile: --idle-timeout must be like 500ms, 60s or 1m, not {text!r}")
    n, unit = int(m.group(1)), m.group(2)
    return n / 1000 if unit == "ms" else n * 60 if unit == "m" else n


def footprint(pid):
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return fds, rss


def listener_pid(port):
    """The process holding the listening socket on `port` (from /proc/net/tcp*)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                for line in list(f)[1:]:
                    cols = line.split()
                    if int(cols[1].rsplit(":", 1)[1], 16) == port and cols[3] == "0A":
                        inodes.add(cols[9])
        except FileNotFoundError:
            pass
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(pid)
        except OSError:
            continue
    sys.exit(f"hostile: no process found listening on port {port}; pass --pid")


def one_client(port, head, body, wait):
    """One malformed request; returns the status the server answered (None: the client left
    without waiting for one)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setblocking(False)
    data = head.encode("latin-1") + b"x" * body
    sent = 0
    try:
        while sent < len(data):
            sent += s.send(data[sent:sent + 65536])
    except (BlockingIOError, OSError):
        pass  # buffers full or the server gave up: the rest stays unsent
    s.settimeout(3)
    answer = b""
    if wait:
        try:
            while b"\r\n\r\n" not in answer:
                chunk = s.recv(4096)
                if not chunk:
                    break
                answer += chunk
        except OSError:
            pass
    s.close()  # a graceful close: the FIN waits behind whatever is still unsent
    m = re.match(rb"HTTP/1\.1 (\d{3})", answer)
    return int(m.group(1)) if m else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--start", action="store_true", help="start statussync serve here")
    ap.add_argument("--binary", default=".build/debug/statussync")
    ap.add_argument("--port", type=int, default=3001)
    ap.add_argument("--pid", type=int)
    ap.add_argument("--idle-timeout", default="60s")
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--parallel", type=int, default=50)
    args = ap.parse_args()
    idle = parse_duration(args.idle_timeout)

    serve = None
    if args.start:
        tmp = tempfile.mkdtemp(prefix="statussync-hostile-")
        s = socket.socket(); s.bind(("127.0.0.1", 0)); args.port = s.getsockname()[1]; s.close()
        config = os.path.join(tmp, "statussync.yaml")
        with open(config, "w") as f:
            f.write(f"listen: 127.0.0.1:{args.port}\ndatabase: {tmp}/statussync.sqlite\n"
                    f"http: {{idleTimeout: {args.idle_timeout}, requestTimeout: 30s}}\n")
        serve = subprocess.Popen([args.binary, "serve", "--config", config], stdout=subprocess.DEVNULL, stderr=open(f"{tmp}/serve.log", "w"))
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", args.port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or serve.poll() is not None:
                    sys.exit(f"hostile: serve did not start; see {tmp}/serve.log")
                time.sleep(0.05)
        args.pid = serve.pid
    pid = args.pid or listener_pid(args.port)

    try:
        time.sleep(0.5)
        before = footprint(pid)
        print(f"before:                 {before[0]:5d} descriptors, RSS {before[1] / 1024:6.1f} MB")
        statuses = {}
        lock = threading.Lock()
        next_index = iter(range(args.count))

        def worker():
            for i in next_index:
                name, head, body, wait = KINDS[i % len(KINDS)]
                try:
                    status = one_client(args.port, head, body, wait)
                except OSError as e:
                    status = f"error {e.errno}"
                with lock:
                    statuses.setdefault(name, {}).setdefault(status, 0)
                    statuses[name][status] += 1

        started = time.time()
        threads = [threading.Thread(target=worker) for _ in range(args.parallel)]
        for t in threads: t.start()
        for t in threads: t.join()
        print(f"sent {args.count} malformed requests in {time.time() - started:.1f} s; answers:")
        for name, *_ in KINDS:
            print(f"  {name:26s} {statuses.get(name)}")
        right_after = footprint(pid)
        print(f"right after:            {right_after[0]:5d} descriptors, RSS {right_after[1] / 1024:6.1f} MB")
        time.sleep(idle + 5)
        after = footprint(pid)
        print(f"idleTimeout + 5 s later:{after[0]:5d} descriptors, RSS {after[1] / 1024:6.1f} MB")
        ok = after[0] - before[0] <= 20 and after[1] - before[1] <= 30 * 1024
        print(f"{'PASS' if ok else 'FAIL'}: descriptors {after[0] - before[0]:+d} (limit +20), RSS {(after[1] - before[1]) / 1024:+.1f} MB (limit +30 MB)")
        return 0 if ok else 1
    finally:
        if serve:
            serve.terminate()
            serve.wait()


if __name__ == "__main__":
    sys.exit(main())
