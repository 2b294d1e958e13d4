"""`worker [--workers N]` and `cleanup [--json]`."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli import EXIT_OK
from app.cli.common import app_context, print_json
from app.config import Settings

MAX_WORKERS = 64


def register(sub: Any) -> None:
    worker = sub.add_parser("worker", help="run the Huey consumer for queued batches")
    worker.add_argument("--workers", type=_worker_count, default=1, metavar="N", help="worker processes (default 1)")
    worker.add_argument("--no-periodic", action="store_true", help="do not schedule reconcile and cleanup here")
    worker.add_argument("--health-port", type=int, default=None, metavar="P",
                        help="answer GET /healthz on this port (database and image store)")
    worker.set_defaults(handler=worker_command)
    cleanup = sub.add_parser("cleanup", help="delete expired temporary images (rows and files)")
    cleanup.add_argument("--json", action="store_true")
    cleanup.set_defaults(handler=cleanup_command)


def _worker_count(value: str) -> int:
    try:
        count = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 1 <= count <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_WORKERS}")
    return count


def worker_command(settings: Settings, args: argparse.Namespace) -> int:
    from app.queue.worker import run_worker

    with app_context(settings):  # brings the embedded schema up to date; disposed before the fork
        pass
    if args.health_port is not None:
        from app.health import serve_health_process

        serve_health_process(settings, args.health_port)
    return run_worker(settings, workers=args.workers, periodic=not args.no_periodic)


def cleanup_command(settings: Settings, args: argparse.Namespace) -> int:
    from app.services.cleanup import cleanup_expired
    from db.base import utcnow

    with app_context(settings) as ctx:
        report = cleanup_expired(ctx, now=utcnow())
    if args.json:
        print_json(report.to_json())
    else:
        print(f"cleanup: {report.summary()}")
    return EXIT_OK
