"""`serve [--host H] [--port P] [--share]`: the web UI (also what `python app.py` runs).

On the embedded default the schema is brought up to date first and a queue consumer runs in
this process; the face engine is warmed in a background thread so the page answers at once.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
import time
from typing import Any

from app.cli import EXIT_OK
from app.cli.common import app_context
from app.config import Settings
from app.errors import one_line

log = logging.getLogger("coswap.serve")

DEFAULT_PORT = 7860
MALLOC_MMAP_THRESHOLD = -3  # glibc's M_MMAP_THRESHOLD
MMAP_THRESHOLD_BYTES = 8 << 20  # decoded images and Pillow's 16 MB blocks; small arrays stay on the heap


def register(sub: Any) -> None:
    parser = sub.add_parser("serve", help="serve the web UI (the default command)")
    parser.add_argument(
        "--host", default=None, metavar="H", help="interface to bind (default 127.0.0.1, or GRADIO_SERVER_NAME)"
    )
    parser.add_argument(
        "--port", type=int, default=None, metavar="P", help=f"port (default {DEFAULT_PORT}, or GRADIO_SERVER_PORT)"
    )
    parser.add_argument("--share", action="store_true", help="also open a temporary public gradio.live link")
    parser.set_defaults(handler=serve)


def serve(settings: Settings, args: argparse.Namespace) -> int:
    """Page first, models second: the server answers before the consumer starts and the engine warms."""
    started = time.perf_counter()
    _return_freed_memory()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    # uvicorn would take X-Forwarded-For from any loopback peer; the app reads it itself, and only from
    # the proxies FACESWAP_TRUSTED_PROXIES names (app.services.visitors.client_address).
    os.environ["FORWARDED_ALLOW_IPS"] = ""
    port = args.port if args.port is not None else int(os.environ.get("GRADIO_SERVER_PORT", DEFAULT_PORT))
    host = args.host if args.host is not None else os.environ.get("GRADIO_SERVER_NAME")
    settings = settings.model_copy(update={"public_demo": settings.public_demo_for(host)})
    log.info("public-demo mode %s", "on" if settings.is_public_demo else "off (local: the UI curates the gallery)")
    with app_context(settings) as ctx:
        from app.queue.submit import make_crawl_starter, make_submitter
        from app.ui import build_ui, configure_queue, launch_options

        demo = configure_queue(build_ui(ctx, submit=make_submitter(ctx), crawl_start=make_crawl_starter(ctx)))
        options = launch_options(settings)
        options["app_kwargs"]["middleware"].insert(0, _health_route(ctx))
        demo.launch(
            server_name=args.host,
            server_port=port,
            share=args.share,
            prevent_thread_lock=True,
            **options,
        )
        log.info("serving after %.1fs", time.perf_counter() - started)
        consumer = None
        try:
            consumer = _start_consumer(settings, ctx)
            _start_model_download(ctx)
            threading.Thread(target=_warm_engine, args=(ctx,), name="coswap-warm-engine", daemon=True).start()
            _stop_on_sigterm()
            demo.block_thread()
        finally:
            if consumer is not None:
                consumer.stop()
            demo.close()
    return EXIT_OK


def _health_route(ctx: Any) -> Any:
    """`GET /healthz` (database and image store), answered before Gradio and its guards."""
    from starlette.middleware import Middleware

    from app.health import HealthRoute

    return Middleware(HealthRoute, ctx=ctx, role="web")


def _return_freed_memory() -> None:
    """Large buffers (decoded images) are mapped and unmapped one by one, so what a request frees goes
    back to the system: glibc otherwise raises its mmap threshold after the first big free and keeps
    such buffers in per-thread arenas, and the process grows with every thread that decoded an image."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to tune
        return
    libc.mallopt(MALLOC_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)


def _start_consumer(settings: Settings, ctx: Any) -> Any:
    from app.queue.worker import needs_embedded_consumer, start_embedded_consumer

    if not needs_embedded_consumer(settings):
        log.info("REDIS_URL is set: batches run on `python app.py worker` processes")
        return None
    return start_embedded_consumer(settings, context=ctx, workers=settings.embedded_worker_count)


def _warm_engine(ctx: Any) -> None:
    started = time.perf_counter()
    try:
        ctx.face_engine()
    except Exception as exc:  # noqa: BLE001  (a background thread: log it; each request shows its own refusal)
        log.warning("face engine could not be loaded: %s", one_line(exc))
        return
    log.info("face engine ready in %.1fs", time.perf_counter() - started)
    from app.services.seeding import seed_shared_gallery

    try:
        report = seed_shared_gallery(ctx)
    except Exception as exc:  # noqa: BLE001  (a background thread: log it)
        log.warning("seeding the gallery failed: %s", one_line(exc))
        return
    log.info("template seeding %s: %s", report.status, report.reason)


def _start_model_download(ctx: Any) -> None:
    """FACESWAP_AUTO_DOWNLOAD: the insightface files and the face enhancer's, each in the background."""
    from app.services.engine_status import start_model_download
    from app.services.enhancing import start_enhancer_download

    start_model_download(ctx)
    start_enhancer_download(ctx)


def _stop_on_sigterm() -> None:
    """SIGTERM ends the server like Ctrl-C, so the embedded consumer stops gracefully."""

    def interrupt(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)
