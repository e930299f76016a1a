"""A loopback HTTP server that sends files at a fixed rate per connection, with Range requests.

``bench/extract.py --network`` reads a WARC through it at the per-stream speeds of S3 and
Common Crawl's HTTPS endpoint (20-50 MB/s), to show how much of a task's wall time its core
works with and without read-ahead. Run it as its own process (``python -m support.throttled
ROOT MB_PER_S``; it prints its URL), so that its CPU time is not counted as the task's. Only
127.0.0.1 is ever bound.
"""

from __future__ import annotations

import http.server
import re
import sys
import time
from pathlib import Path

_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")
_BLOCK = 1 << 16


def make_handler(root: Path, bytes_per_s: float) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            """Quiet: the bench reads timings, not access logs."""

        def do_GET(self) -> None:
            path = root / self.path.lstrip("/").split("?")[0]
            if not path.is_file():
                self.send_error(404)
                return
            size = path.stat().st_size
            start, end = 0, size
            match = _RANGE.match(self.headers.get("Range", ""))
            if match:
                start, end = int(match.group(1)), int(match.group(2) or size - 1) + 1
                if start >= size:
                    self.send_error(416)
                    return
            self.send_response(206 if match else 200)
            self.send_header("Content-Length", str(end - start))
            if match:
                self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
            self.end_headers()
            send(self.wfile, path, start, end, bytes_per_s)

    return Handler


def send(out, path: Path, start: int, end: int, bytes_per_s: float) -> None:
    """Write bytes [start, end) of ``path`` at ``bytes_per_s`` (paced per 64 KiB block)."""
    began, sent = time.monotonic(), 0
    with open(path, "rb") as fh:
        fh.seek(start)
        while sent < end - start:
            block = fh.read(min(_BLOCK, end - start - sent))
            try:
                out.write(block)
            except (BrokenPipeError, ConnectionResetError):
                return  # the client closed early (a check read, or a stream closed at its end)
            sent += len(block)
            ahead = sent / bytes_per_s - (time.monotonic() - began)
            if ahead > 0:
                time.sleep(ahead)


def serve(root: str, mb_per_s: float) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(Path(root), mb_per_s * 1e6))
    server.daemon_threads = True
    print(f"http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    serve(sys.argv[1], float(sys.argv[2]))
