#!/usr/bin/env python3
"""A minimal GitHub statuses API for benchmarks: 201 for every status, a fixed PR head.
Usage: fake_github.py PORT. Counts statuses and prints the count on SIGTERM."""
import json, signal, sys
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

count = 0

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        global count
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        count += 1
        self.reply(201, {"id": count, "state": body.get("state"), "context": body.get("context")})

    def do_GET(self):
        self.reply(200, {"head": {"sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e"}})

def stop(*_):
    print(f"fake_github: {count} statuses", file=sys.stderr)
    sys.exit(0)

signal.signal(signal.SIGTERM, stop)
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
