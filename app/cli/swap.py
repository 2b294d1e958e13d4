"""`swap --husband F --wife F --template ID... [--mapping JSON] [--enhance [STRENGTH]] [--out DIR]
[--queue [--no-wait]] [--json]`."""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from app.cli import EXIT_FAILED, EXIT_OK
from app.cli.common import app_context, print_json, progress
from app.config import Settings
from app.context import AppContext
from app.services.reports import BatchReport

POLL_SECONDS = 0.25
IDLE_HINT_SECONDS = 10.0


def register(sub: Any) -> None:
    parser = sub.add_parser("swap", help="swap a couple into one or more templates")
    parser.add_argument("--husband", required=True, metavar="FILE")
    parser.add_argument("--wife", required=True, metavar="FILE")
    parser.add_argument("--template", required=True, type=int, action="append", metavar="ID", dest="templates")
    parser.add_argument("--mapping", metavar="JSON", help='{"<face index>": "husband"|"wife"|"keep"}')
    parser.add_argument(
        "--enhance",
        nargs="?",
        const="default",
        metavar="STRENGTH",
        help="enhance the swapped faces (GFPGAN 1.4), blended in at STRENGTH from 0 to 1 (default 0.8)",
    )
    parser.add_argument("--out", metavar="DIR", help="copy results into this folder")
    parser.add_argument("--queue", action="store_true", help="run on the job queue")
    parser.add_argument("--no-wait", action="store_true", help="with --queue: print the batch id and return")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(handler=swap)


def swap(settings: Settings, args: argparse.Namespace) -> int:
    from app.errors import InvalidRequest
    from app.services import batches, runs
    from pipeline.mapping import parse_batch_mapping

    if args.no_wait and not args.queue:
        raise InvalidRequest("--no-wait needs --queue")
    for label, path in (("husband", args.husband), ("wife", args.wife)):
        if not Path(path).is_file():
            raise InvalidRequest(f"{label} photo not found: {Path(path).name}")
    with app_context(settings) as ctx:
        mappings = parse_batch_mapping(args.mapping, args.templates)
        args.strength = _strength(args.enhance)
        if args.queue:
            batch_id = _submit_to_queue(ctx, args, mappings)
            if args.no_wait:
                print_json({"batch_id": batch_id})
                return EXIT_OK
            _wait(ctx, batch_id)
        else:
            batch_id = runs.start_from_files(
                ctx, args.husband, args.wife, args.templates, mappings, enhance=args.strength
            )
            with progress(len(args.templates), "swapping") as bar:
                runs.run_inline(ctx, batch_id, on_done=lambda _outcome: bar.update(1))
        report = batches.batch_report(ctx, batch_id)
    if args.out:
        report = _copy_results(report, Path(args.out))
    show_report(report, as_json=args.json)
    return EXIT_OK if report.status == "completed" else EXIT_FAILED


def _submit_to_queue(ctx: AppContext, args: argparse.Namespace, mappings: dict[int, dict[str, str]]) -> str:
    from app.queue.submit import make_submitter
    from app.services import runs

    return runs.start_from_files(
        ctx, args.husband, args.wife, args.templates, mappings, submit=make_submitter(ctx, "queue"),
        enhance=args.strength,
    )


def _strength(value: str | None) -> float | None:
    """`--enhance` alone: the default strength; `--enhance 0.6`: that one; absent: None."""
    from app.services.enhancing import DEFAULT_STRENGTH, parse_strength

    if value is None:
        return None
    return DEFAULT_STRENGTH if value == "default" else parse_strength(value, label="--enhance")


def _wait(ctx: AppContext, batch_id: str) -> None:
    """Poll until every task is done; say once if no worker seems to be picking the batch up."""
    from app.polling import poll
    from app.services.batches import batch_report

    waiting_since, hinted = time.monotonic(), False
    total = batch_report(ctx, batch_id).total
    with progress(total, "queued batch") as bar:
        reports = poll(lambda: batch_report(ctx, batch_id), BatchReport.is_finished, timeout=None, interval=POLL_SECONDS)
        for report in reports:
            bar.update(report.completed + report.failed - bar.n)
            if not hinted and report.status == "pending" and time.monotonic() - waiting_since > IDLE_HINT_SECONDS:
                print(
                    f"waiting for a worker: start `python app.py worker` (or `python app.py`); "
                    f"batch {batch_id} stays queued until one runs",
                    file=sys.stderr,
                )
                hinted = True


def _copy_results(report: BatchReport, out_dir: Path) -> BatchReport:
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs = {}
    for result in report.results:
        if result.output:
            target = out_dir / f"template_{result.template_id}{Path(result.output).suffix}"
            shutil.copyfile(result.output, target)
            outputs[result.template_id] = str(target.resolve())
    return report.with_outputs(outputs)


def show_report(report: BatchReport, *, as_json: bool) -> None:
    """The design's `--json` batch report, or a few lines for people."""
    if as_json:
        print_json(report.to_json())
        return
    enhanced = f", faces enhanced at {report.enhance:g}" if report.enhance is not None else ""
    print(f"batch {report.batch_id} ({report.engine}{enhanced}): {report.status}")
    for note in report.notes:
        print(f"  note: {note}")
    for r in report.results:
        where = r.output or r.error or ""
        enhanced = [str(f["index"]) for f in r.faces if f.get("enhanced")]
        faces = f" (faces enhanced: {', '.join(enhanced)})" if enhanced else ""
        print(f"  template {r.template_id}: {r.status} {where}{faces}")
