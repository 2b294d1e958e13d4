"""`GET /healthz` of web and worker processes: the database and the image store answer.

The web server answers it through `HealthRoute` (ASGI middleware, before Gradio); `python app.py
worker --health-port P` answers it from a small process of its own (`serve_health_process`): the
consumer forks its worker processes, and the S3 client's runtime must never run in a process that
forks afterwards (a forked child that inherits it crashes on its first request). 200 with `{"status": "ok", ...}` when
both answer, 503 with the failing part named in one line otherwise. No secrets, paths or keys.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Awaitable, Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import text

from app.config import Settings
from app.context import AppContext
from app.errors import one_line

HEALTH_PATH = "/healthz"
PROBE_KEY = "health/probe"


def health(ctx: AppContext, role: str) -> tuple[int, dict[str, str]]:
    """(HTTP status, body): a `SELECT 1` and one HEAD of the image store."""
    body = {"status": "ok", "role": role, "database": "ok", "storage": "ok"}
    try:
        with ctx.db_engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001  (any failure is the answer)
        body["database"] = f"failing: {type(exc).__name__}"
    try:
        ctx.image_store.objects.exists(PROBE_KEY)
    except Exception as exc:  # noqa: BLE001
        body["storage"] = f"failing: {one_line(exc)[:120]}"
    healthy = body["database"] == "ok" and body["storage"] == "ok"
    if not healthy:
        body["status"] = "failing"
    return (200 if healthy else 503), body


Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


class HealthRoute:
    """ASGI middleware: `GET /healthz` answered from `ctx`; everything else goes to the app."""

    def __init__(self, app: ASGIApp, *, ctx: AppContext, role: str = "web") -> None:
        self.app = app
        self.ctx = ctx
        self.role = role

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("path") != HEALTH_PATH or scope.get("method") not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        import anyio

        status, body = await anyio.to_thread.run_sync(health, self.ctx, self.role)
        data = json.dumps(body).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                   (b"cache-control", b"no-store")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})


def serve_health_thread(ctx_factory: Callable[[], AppContext], port: int, role: str = "worker") -> ThreadingHTTPServer:
    """Answer `GET /healthz` on 0.0.0.0:`port` from a daemon thread; the context is built on first use."""
    holder: dict[str, AppContext] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self.path != HEALTH_PATH:
                self.send_error(404)
                return
            with lock:
                if "ctx" not in holder:
                    holder["ctx"] = ctx_factory()
            status, body = health(holder["ctx"], role)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (quiet: probes every few seconds)
            return None

    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="coswap-health", daemon=True).start()
    return server


def serve_health_process(settings: Settings, port: int, role: str = "worker") -> Any:
    """Answer `GET /healthz` on `port` from a spawned process (no fork) that ends with this one."""
    import multiprocessing

    process = multiprocessing.get_context("spawn").Process(
        target=_health_main, args=(settings, port, role, os.getpid()), name="coswap-health", daemon=True
    )
    process.start()
    return process


def _health_main(settings: Settings, port: int, role: str, parent: int) -> None:
    from app.context import build_context

    _die_with(parent)
    server = serve_health_thread(lambda: build_context(settings), port, role)
    while os.getppid() == parent:
        time.sleep(1.0)
    server.shutdown()


def _die_with(parent: int) -> None:
    """Linux: SIGKILL this process when its parent dies, even by SIGKILL."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:
        os._exit(0)
