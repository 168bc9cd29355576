"""A real HTTP server on loopback that serves calendar feeds and misbehaves on request."""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/calendar; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: bool = True              # send an ETag and honour If-None-Match
    delay: float = 0.0             # seconds before answering
    truncate_to: int | None = None  # send only this many bytes of a longer declared body
    hang: bool = False             # accept the request, then send nothing (until GIVE_UP or the server stops)
    trickle: float = 0.0           # seconds between the body's bytes, one byte at a time (until GIVE_UP)
    trickle_head: bool = False     # trickle the status line and headers too


GIVE_UP = 8.0   # seconds a hanging or trickling answer lasts at most, so a test that fails does not hang


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.requests.append((self.path, dict(self.headers.items())))
                route = server.routes.get(self.path.split("?")[0])
                if route is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                if route.delay:
                    time.sleep(route.delay)
                if route.hang:
                    server.stopping.wait(GIVE_UP)
                    self.close_connection = True
                    return
                if route.trickle_head:
                    head = (f"HTTP/1.1 {route.status} OK\r\nContent-Type: {route.content_type}\r\n"
                            f"Content-Length: {len(route.body)}\r\n\r\n").encode()
                    self._trickle(head + route.body, route.trickle or 0.5)
                    return
                tag = '"' + hashlib.sha256(route.body).hexdigest()[:16] + '"'
                if route.etag and self.headers.get("If-None-Match") == tag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                if route.etag:
                    self.send_header("ETag", tag)
                for k, v in route.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                body = route.body if route.truncate_to is None else route.body[: route.truncate_to]
                if route.trickle:
                    self._trickle(body, route.trickle)
                    return
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)
                if route.truncate_to is not None:
                    self.close_connection = True

            def _trickle(self, body: bytes, every: float) -> None:
                given_up = time.monotonic() + GIVE_UP
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    for i in range(len(body)):
                        if server.stopping.wait(every) or time.monotonic() > given_up:
                            break
                        self.wfile.write(body[i:i + 1])
                        self.wfile.flush()
                self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def count(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p.split("?")[0] == path)

    def start(self) -> FeedServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def serve_feed(example_dir: Path, server: FeedServer, route: Route | None = None, path: str = "/will.ics",
               query: str = "") -> bytes:
    """The `init` example's will-juv feed served by `server` at `path` (as `route`, else plainly) and read from
    there by the example's courtsync.toml; returns the feed's bytes."""
    body = (example_dir / "feeds" / "will-juvenile.ics").read_bytes()
    if route is not None and not route.body:
        route.body = body
    server.routes[path] = route or Route(body=body)
    toml = example_dir / "courtsync.toml"
    toml.write_text(toml.read_text().replace('feeds = ["feeds/will-juvenile.ics"]',
                                             f'feeds = ["{server.url(path)}{query}"]'))
    return body
