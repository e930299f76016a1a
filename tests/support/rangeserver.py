"""A loopback HTTP server for a directory, with Range support (as data.commoncrawl.org) and a
tally of what it served, for the targeted-refresh tests and bench/targeted.py.

``GET`` with ``Range: bytes=a-b`` / ``bytes=a-`` / ``bytes=-n`` answers 206 with exactly those
bytes; ``HEAD`` gives the size. Every request and every body byte sent is counted per path, so a
test or the bench measures what a run read instead of assuming it. Only 127.0.0.1 is served.
"""

from __future__ import annotations

import http.server
import os
import re
import threading
import time
from collections import Counter
from pathlib import Path

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeServer:
    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.delay_s = 0.0  # per WARC GET: lets a test kill a run between two of its reads
        self.requests: Counter[str] = Counter()
        self.bytes: Counter[str] = Counter()
        self._lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                """Quiet: callers read the tallies, not access logs."""

            def do_HEAD(self):
                server._serve(self, body=False)

            def do_GET(self):
                server._serve(self, body=True)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.bytes.clear()

    def total(self, prefix: str = "") -> tuple[int, int]:
        """(requests, body bytes) served for paths under ``prefix``."""
        with self._lock:
            return (sum(n for p, n in self.requests.items() if p.startswith(prefix)),
                    sum(n for p, n in self.bytes.items() if p.startswith(prefix)))

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _serve(self, req: http.server.BaseHTTPRequestHandler, body: bool) -> None:
        rel = req.path.split("?", 1)[0].lstrip("/")
        path = (self.root / rel).resolve()
        if self.root not in path.parents or not path.is_file():
            req.send_error(404)
            return
        size = os.path.getsize(path)
        start, end, status = 0, size, 200
        match = _RANGE.match(req.headers.get("Range", "") or "")
        if match and (match.group(1) or match.group(2)):
            a, b = match.groups()
            start, end = (int(a), min(size, int(b) + 1) if b else size) if a else (max(0, size - int(b)), size)
            if start >= size or start >= end:
                req.send_response(416)
                req.send_header("Content-Range", f"bytes */{size}")
                req.send_header("Content-Length", "0")
                req.end_headers()
                return
            status = 206
        req.send_response(status)
        req.send_header("Content-Length", str(end - start))
        req.send_header("Accept-Ranges", "bytes")
        if status == 206:
            req.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        req.end_headers()
        if not body:
            return
        if self.delay_s and rel.endswith(".warc.gz"):
            time.sleep(self.delay_s)
        with open(path, "rb") as fh:
            fh.seek(start)
            data = fh.read(end - start)
        with self._lock:
            self.requests[rel] += 1
            self.bytes[rel] += len(data)
        try:
            req.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client closed early (a stream closed before its end)
