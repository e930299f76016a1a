"""A loopback HTTP proxy in front of a real S3 endpoint (moto's server) that injects faults.

Used by the fault tests and bench/faults.py. Each GET of a key takes the next fault from that
key's schedule: "ok", "slowdown" (503 SlowDown, as S3 answers under load), "reset" (half the
body, then a TCP reset), "stall" (half the body, then silence longer than the client's read
timeout). Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import http.client
import http.server
import socket
import struct
import threading
import time
from collections import defaultdict, deque
from urllib.parse import urlsplit

SLOWDOWN = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
            b"<Message>Please reduce your request rate.</Message></Error>")


class FaultProxy:
    def __init__(self, upstream: str, stall_s: float = 3.0):
        self.upstream = urlsplit(upstream)
        self.stall_s = stall_s
        self.schedules: dict[str, deque[str]] = defaultdict(deque)
        self.injected: list[tuple[str, str]] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                """Quiet: the tests read outcomes, not access logs."""

            def do_GET(self):
                proxy._handle(self, "GET")

            def do_HEAD(self):
                proxy._handle(self, "HEAD")

            def do_PUT(self):
                proxy._handle(self, "PUT")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def schedule(self, key: str, *faults: str) -> None:
        """Faults for the next GETs of ``/bucket/key`` (path as the client sends it)."""
        self.schedules[key].extend(faults)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------------ internals
    def _handle(self, req: http.server.BaseHTTPRequestHandler, method: str) -> None:
        path = urlsplit(req.path).path
        fault = self.schedules[path].popleft() if method == "GET" and self.schedules[path] else "ok"
        if fault != "ok":
            self.injected.append((path, fault))
        if fault == "slowdown":
            req.send_response(503)
            req.send_header("Content-Type", "application/xml")
            req.send_header("Content-Length", str(len(SLOWDOWN)))
            req.end_headers()
            req.wfile.write(SLOWDOWN)
            return
        body = req.rfile.read(int(req.headers.get("Content-Length") or 0)) if method == "PUT" else None
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=30)
        headers = {k: v for k, v in req.headers.items() if k.lower() not in ("connection",)}
        conn.request(method, req.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        req.send_response(resp.status)
        for key, value in resp.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                req.send_header(key, value)
        # a HEAD has no body: its Content-Length is the object's (pyarrow sizes files by it)
        req.send_header("Content-Length", resp.getheader("Content-Length", "0") if method == "HEAD" else str(len(data)))
        req.end_headers()
        if method == "HEAD":
            return
        if fault in ("reset", "stall") and len(data) > 1:
            req.wfile.write(data[: len(data) // 2])
            req.wfile.flush()
            if fault == "stall":
                time.sleep(self.stall_s)
            sock = req.connection
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST on close
            req.close_connection = True
            sock.close()
            return
        req.wfile.write(data)
