"""A real HTTP server on 127.0.0.1 that serves files from a folder, slowly if asked: a stand-in model host."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class ModelHost:
    url: str
    requests: list[str] = field(default_factory=list)


@contextmanager
def serve_folder(folder: Path, *, chunk_delay: float = 0.0, chunk_bytes: int = 4096) -> Iterator[ModelHost]:
    """Serve `folder`'s files by name; with `chunk_delay`, pause between chunks so progress is visible."""
    host = ModelHost(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            host.requests.append(self.path)
            path = folder / self.path.rsplit("/", 1)[-1]
            if not path.is_file():
                self.send_error(404)
                return
            data = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            for start in range(0, len(data), chunk_bytes):
                self.wfile.write(data[start : start + chunk_bytes])
                if chunk_delay:
                    time.sleep(chunk_delay)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - keep test output quiet
            pass

    with serving(Handler) as url:
        host.url = url
        yield host


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Run `handler` on a free 127.0.0.1 port in a thread; yield its base URL; shut it down on exit."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def closed_port_url() -> str:
    """A 127.0.0.1 URL nothing listens on (the port was just freed): connections are refused at once."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
