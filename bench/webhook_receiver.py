#!/usr/bin/env python3
"""A webhook receiver for bench/webhooks.sh: answers every POST with 204 after DELAY_MS,
records per path the arrival time and `seq` of each event (one, or a batch's), and serves
`GET /stats?path=<path>` as JSON: count, distinct, in_order (seq never went down), first and
last arrival (monotonic seconds). Python 3 standard library only.

    bench/webhook_receiver.py PORT DELAY_MS"""

import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, DELAY = int(sys.argv[1]), float(sys.argv[2]) / 1000
LOCK = threading.Lock()
SEEN = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        event = json.loads(body)
        seqs = [e["seq"] for e in event["events"]] if "events" in event else [event["seq"]]
        if DELAY:
            time.sleep(DELAY)
        now = time.monotonic()
        with LOCK:
            SEEN.setdefault(self.path, []).extend((now, seq) for seq in seqs)
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        path = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)["path"][0]
        with LOCK:
            seen = list(SEEN.get(path, []))
        seqs = [s for _, s in seen]
        stats = {
            "count": len(seen),
            "distinct": len(set(seqs)),
            "in_order": all(a < b for a, b in zip(seqs, seqs[1:])),
            "first": seen[0][0] if seen else None,
            "last": seen[-1][0] if seen else None,
        }
        body = json.dumps(stats).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
