"""`bench [--quick [--couples]] [--json] [--plot] [--out DIR] [--markdown FILE] [--from-json FILE]`; `bench quality`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from app.cli import EXIT_FAILED, EXIT_OK, first_line, refuse
from app.cli.common import print_json
from app.config import Settings

QUIET_WHILE_BENCHING = ("app.services", "coswap.tasks", "coswap.worker", "huey")


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "bench",
        help="measure the pipeline, the batch path and the queue on scratch data",
        description="Warm, repeated measurements in a temporary data dir and database (never the user's).",
    )
    parser.add_argument("--quick", action="store_true", help="fewer repeats and smaller batches (under a minute)")
    parser.add_argument(
        "--couples",
        action="store_true",
        help="with --quick: the full plan's 1.6-2 MP couple templates (faces 250-450 px) instead of t1.jpg crops",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON on stdout")
    parser.add_argument("--plot", action="store_true", help="also run the sweeps; write bench.json and the plot")
    parser.add_argument("--out", type=Path, default=Path("docs"), metavar="DIR", help="where --plot writes (docs)")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="regenerate the bench sections of FILE")
    parser.add_argument("--from-json", type=Path, metavar="FILE", help="render a saved bench.json; measure nothing")
    parser.set_defaults(handler=bench_command)
    from app.cli import bench_quality

    bench_quality.register(parser)


def bench_command(settings: Settings, args: argparse.Namespace) -> int:
    from app.bench.workspace import BenchFailed
    from app.bench.couple import BenchError

    if args.from_json:
        try:
            data = _load(args.from_json)
        except (OSError, ValueError, TypeError) as exc:
            return refuse(f"cannot read {args.from_json}: {first_line(exc)}")
    else:
        try:
            data = _measure(settings, args)
        except (BenchFailed, BenchError) as exc:
            print(f"error: bench failed: {first_line(exc)}", file=sys.stderr)
            return EXIT_FAILED
    if args.plot:
        _write_outputs(data, args.out)
    if args.markdown:
        from app.bench.report import update_markdown

        update_markdown(args.markdown, data, plot_dir=args.out)
    if args.json:
        print_json(_public(data, with_sweeps=args.plot))
    else:
        from app.bench.report import summary_lines

        print("\n".join(summary_lines(data)))
    return EXIT_OK


def _measure(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    from app.bench.plan import FULL, QUICK, QUICK_COUPLES
    from app.bench.runner import run_bench

    root = logging.getLogger()
    if root.getEffectiveLevel() >= logging.INFO:
        for name in QUIET_WHILE_BENCHING:
            logging.getLogger(name).setLevel(logging.WARNING)
    plan = (QUICK_COUPLES if args.couples else QUICK) if args.quick else FULL
    return run_bench(settings, plan, sweeps=args.plot)


def _load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise TypeError("not a JSON object")
    return data


def _public(data: dict[str, Any], *, with_sweeps: bool) -> dict[str, Any]:
    from app.bench.runner import REPORT_KEYS

    keys = [*REPORT_KEYS, *(("sweeps", "plan") if with_sweeps else ())]
    return {key: data[key] for key in keys if key in data}


def _write_outputs(data: dict[str, Any], out: Path) -> None:
    from app.bench.plot import plot_scaling

    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(data, indent=2) + "\n")
    if "sweeps" in data:
        plot_scaling(data, out / "bench_scaling.png")
