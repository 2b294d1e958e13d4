"""`batch status BATCH_ID [--json]`."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli import EXIT_FAILED, EXIT_OK
from app.cli.common import app_context
from app.config import Settings


def register(sub: Any) -> None:
    parser = sub.add_parser("batch", help="queued batches")
    actions = parser.add_subparsers(dest="batch_command", required=True)
    status = actions.add_parser("status", help="show a batch and its results")
    status.add_argument("batch_id")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=batch_status)


def batch_status(settings: Settings, args: argparse.Namespace) -> int:
    from app.cli.swap import show_report
    from app.services.batches import batch_report

    with app_context(settings) as ctx:
        report = batch_report(ctx, args.batch_id)
    show_report(report, as_json=args.json)
    return EXIT_OK if report.status in ("completed", "pending", "running") else EXIT_FAILED
