"""`bench quality [--json] [--sheet FILE] [--markdown FILE --before JSON]`: the quality harness.

Exit 0 when every face passes the gate, 1 when the harness ran but some face failed it (or a case
could not run), 2 when a file it was asked to read is unusable.
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
        help="swap the stress set and measure identity, colour, seam and clipping per face",
        description="The quality harness on the stress set built from package photos (nothing is stored).",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    parser.add_argument("--sheet", type=Path, metavar="FILE", help="write the contact sheet PNG to FILE")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="regenerate the quality section of FILE")
    parser.add_argument("--before", type=Path, metavar="JSON", help="a saved report to show as 'before' there")
    parser.set_defaults(handler=quality_command)


def quality_command(settings: Settings, args: argparse.Namespace) -> int:
    from app.bench.quality.photos import PhotoMissing
    from app.bench.quality.probe import ProbeUnavailable
    from app.bench.quality.report import load_report, run_quality, summary_lines, update_markdown
    from pipeline.engines import create_engine, resolve_engine

    before: dict[str, Any] | None = None
    if args.before:
        try:
            before = load_report(args.before)
        except (OSError, ValueError, TypeError) as exc:
            return refuse(f"cannot read {args.before}: {first_line(exc)}")
    engine = create_engine(resolve_engine(settings.engine, settings.models_dir).name, settings.models_dir)
    try:
        report, _ = run_quality(engine, sheet=args.sheet)
    except (PhotoMissing, ProbeUnavailable) as exc:
        print(f"error: bench quality cannot run: {first_line(exc)}", file=sys.stderr)
        return EXIT_FAILED
    if args.markdown:
        sheet = _relative(args.sheet, args.markdown.parent) if args.sheet else None
        update_markdown(args.markdown, report, before=before, sheet=sheet)
    if args.json:
        print_json(report)
    else:
        print("\n".join(summary_lines(report)))
    return EXIT_OK if report["summary"]["passed"] else EXIT_FAILED


def _relative(target: Path, start: Path) -> str:
    try:
        return str(target.resolve().relative_to(start.resolve()))
    except ValueError:
        return str(target)
