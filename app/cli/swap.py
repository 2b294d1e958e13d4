"""`swap --husband F --wife F --template ID... [--mapping JSON] [--out DIR] [--queue [--no-wait]] [--json]`."""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from typing import Any

from app.cli import EXIT_FAILED, EXIT_OK
from app.cli.common import app_context, print_json, progress
from app.config import Settings
from app.context import AppContext

POLL_SECONDS = 0.25
IDLE_HINT_SECONDS = 10.0


def register(sub: Any) -> None:
    parser = sub.add_parser("swap", help="swap a couple into one or more templates")
    parser.add_argument("--husband", required=True, metavar="FILE")
    parser.add_argument("--wife", required=True, metavar="FILE")
    parser.add_argument("--template", required=True, type=int, action="append", metavar="ID", dest="templates")
    parser.add_argument("--mapping", metavar="JSON", help='{"<face index>": "husband"|"wife"|"keep"}')
    parser.add_argument("--out", metavar="DIR", help="copy results into this folder")
    parser.add_argument("--queue", action="store_true", help="run on the job queue")
    parser.add_argument("--no-wait", action="store_true", help="with --queue: print the batch id and return")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(handler=swap)


def swap(settings: Settings, args: argparse.Namespace) -> int:
    from app.errors import InvalidRequest
    from app.services import batches, runs

    if args.no_wait and not args.queue:
        raise InvalidRequest("--no-wait needs --queue")
    for label, path in (("husband", args.husband), ("wife", args.wife)):
        if not Path(path).is_file():
            raise InvalidRequest(f"{label} photo not found: {Path(path).name}")
    with app_context(settings) as ctx:
        mappings = runs.parse_template_mappings(args.mapping, args.templates)
        if args.queue:
            batch_id = _submit_to_queue(ctx, args, mappings)
            if args.no_wait:
                print_json({"batch_id": batch_id})
                return EXIT_OK
            _wait(ctx, batch_id)
        else:
            batch_id = runs.start_from_files(ctx, args.husband, args.wife, args.templates, mappings)
            with progress(len(args.templates), "swapping") as bar:
                runs.run_inline(ctx, batch_id, on_done=lambda _outcome: bar.update(1))
        report = batches.batch_report(ctx, batch_id)
    if args.out:
        _copy_results(report, Path(args.out))
    _show(report, as_json=args.json)
    return EXIT_OK if report["status"] == "completed" else EXIT_FAILED


def _submit_to_queue(ctx: AppContext, args: argparse.Namespace, mappings: dict[int, dict[str, str]]) -> str:
    from app.services import runs
    from app.tasks import enqueue_swap_tasks, make_huey

    huey = make_huey(ctx.settings)
    return runs.start_from_files(
        ctx, args.husband, args.wife, args.templates, mappings, enqueue=lambda ids: enqueue_swap_tasks(huey, ids)
    )


def _wait(ctx: AppContext, batch_id: str) -> None:
    """Poll until every task is done; say once if no worker seems to be picking the batch up."""
    import sys

    from app.services.batches import batch_report

    report = batch_report(ctx, batch_id)
    waiting_since, hinted = time.monotonic(), False
    with progress(report["total"], "queued batch") as bar:
        while True:
            report = batch_report(ctx, batch_id)
            done = report["completed"] + report["failed"]
            bar.update(done - bar.n)
            if done >= report["total"]:
                return
            if not hinted and report["status"] == "pending" and time.monotonic() - waiting_since > IDLE_HINT_SECONDS:
                print(
                    f"waiting for a worker: start `python app.py worker` (or `python app.py`); "
                    f"batch {batch_id} stays queued until one runs",
                    file=sys.stderr,
                )
                hinted = True
            time.sleep(POLL_SECONDS)


def _copy_results(report: dict[str, Any], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for result in report["results"]:
        if result["output"]:
            target = out_dir / f"template_{result['template_id']}{Path(result['output']).suffix}"
            shutil.copyfile(result["output"], target)
            result["output"] = str(target.resolve())


def _show(report: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        print_json(report)
        return
    print(f"batch {report['batch_id']} ({report['engine']}): {report['status']}")
    for note in report["notes"]:
        print(f"  note: {note}")
    for r in report["results"]:
        where = r["output"] or r["error"] or ""
        print(f"  template {r['template_id']}: {r['status']} {where}")
