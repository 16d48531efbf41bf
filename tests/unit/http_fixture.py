"""A local HTTP server on 127.0.0.1 serving good, truncated, corrupt, slow and trickling files."""
from __future__ import annotations

import gzip
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Routes:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.truncated: dict[str, bytes] = {}  # announced in full, half sent
        self.slow: dict[str, tuple[float, bytes]] = {}
        # announced in full, then one byte every `delay` seconds, `count` bytes at most
        self.trickle: dict[str, tuple[float, bytes, int]] = {}
        self.gzipped: dict[str, bytes] = {}  # sent with Content-Encoding: gzip, as CDNs do
        self.hits: dict[str, int] = {}


def serve(routes: Routes) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path = self.path
            routes.hits[path] = routes.hits.get(path, 0) + 1
            if path in routes.gzipped:
                self._send(gzip.compress(routes.gzipped[path]), ("Content-Encoding", "gzip"))
            elif path in routes.trickle:
                self._trickle(*routes.trickle[path])
            elif path in routes.slow:
                delay, body = routes.slow[path]
                time.sleep(delay)
                self._send(body)
            elif path in routes.truncated:
                body = routes.truncated[path]
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
            elif path in routes.files:
                self._send(routes.files[path])
            else:
                self.send_error(404)

        def _trickle(self, delay: float, body: bytes, count: int) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.close_connection = True
            try:
                for index in range(min(count, len(body))):
                    self.wfile.write(body[index:index + 1])
                    self.wfile.flush()
                    time.sleep(delay)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _send(self, body: bytes, *headers: tuple[str, str]) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def dead_url() -> str:
    """A URL on a port where nothing listens (a mirror that is down)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/model.onnx"
