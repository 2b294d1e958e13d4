"""`bench quality [--json] [--sheet FILE] [--markdown FILE --before JSON [--pool-before JSON]] [--no-pool]`: the quality harness.

The stress set, then the evaluation pool's tuning and validation halves (skipped with --no-pool); with
--sheet sheet.jpg, the pool's sheets go beside it as sheet-tuning.jpg and sheet-validation.jpg (a .png
path writes lossless PNGs).
Exit 0 when every stress-set face passes the gate and the pool meets its targets, 1 when the harness ran
but some face failed (or a case could not run, or a pool target is unmet), 2 when a file it was asked to
read is unusable.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from app.cli import EXIT_FAILED, EXIT_OK, first_line, refuse
from app.cli.common import print_json
from app.config import Settings


def register(bench_parser: argparse.ArgumentParser) -> None:
    sub = bench_parser.add_subparsers(dest="bench_command", parser_class=type(bench_parser))
    parser = sub.add_parser(
        "quality",
        help="swap the stress set and the evaluation pool; measure identity, colour, seam, eyes, cracks per face",
        description="The quality harness on the stress set and the evaluation pool, built from package photos (nothing is stored).",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    parser.add_argument("--sheet", type=Path, metavar="FILE", help="write the contact sheet to FILE (.jpg: JPEG, else PNG)")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="regenerate the quality sections of FILE")
    parser.add_argument("--before", type=Path, metavar="JSON", help="a saved report to show as 'before' there")
    parser.add_argument("--pool-before", type=Path, metavar="JSON", help="a saved report whose pool to show as 'before' (default: --before's)")
    parser.add_argument("--no-pool", action="store_true", help="the stress set only, without the evaluation pool")
    parser.set_defaults(handler=quality_command)


def quality_command(settings: Settings, args: argparse.Namespace) -> int:
    from app.bench.quality.photos import PhotoMissing
    from app.bench.quality.probe import ProbeUnavailable
    from app.bench.quality.report import (
        load_report,
        pool_sheet_path,
        run_quality,
        summary_lines,
        update_markdown,
        update_pool_markdown,
    )
    from pipeline.engines import create_engine, resolve_engine

    saved: dict[Path, dict[str, Any]] = {}
    for path in (args.before, args.pool_before):
        if path is not None:
            try:
                saved[path] = load_report(path)
            except (OSError, ValueError, TypeError) as exc:
                return refuse(f"cannot read {path}: {first_line(exc)}")
    before = saved.get(args.before)
    pool_before = saved.get(args.pool_before, before or {}).get("pool")
    engine = create_engine(resolve_engine(settings.engine, settings.models_dir).name, settings.models_dir)
    try:
        report, _ = run_quality(engine, sheet=args.sheet, pool=not args.no_pool)
    except (PhotoMissing, ProbeUnavailable) as exc:
        print(f"error: bench quality cannot run: {first_line(exc)}", file=sys.stderr)
        return EXIT_FAILED
    if args.markdown:
        sheet = _relative(args.sheet, args.markdown.parent) if args.sheet else None
        update_markdown(args.markdown, report, before=before, sheet=sheet)
        if "pool" in report:
            sheets = {half: _relative(pool_sheet_path(args.sheet, half), args.markdown.parent) for half in ("tuning", "validation")} if args.sheet else None
            update_pool_markdown(args.markdown, report["pool"], before=pool_before, sheets=sheets)
    if args.json:
        print_json(report)
    else:
        print("\n".join(summary_lines(report)))
    pool_met = all(report["pool"]["targets"].values()) if "pool" in report else True
    return EXIT_OK if report["summary"]["passed"] and pool_met else EXIT_FAILED


def _relative(target: Path, start: Path) -> str:
    try:
        return str(target.resolve().relative_to(start.resolve()))
    except ValueError:
        return str(target)
