"""Sweep one classic-engine setting on the evaluation pool's tuning half only.

    python tools/sweep_settings.py warp.outline_share 0 0.3 0.6 [--with composite.feather_share=0.04 ...]

Each value runs every tuning case (the validation half is never read) and prints the pass rate, the
failures by kind, how many faces the identity moved on, the mean identity distance to the source, how
many faces sit within IDENTITY_GATE_BAND of the identity limit, and the faces whose verdict differs from
the first value's. A pass count that moves only through faces at the gate is noise; the mean distance
is the steadier figure. Pick on these figures, then judge the change once on both halves with
`python app.py bench quality`.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.bench.quality.pool_cases import cases  # noqa: E402
from app.bench.quality.pool_run import IDENTITY_GATE_BAND, PoolRunner, summarize_half  # noqa: E402
from app.bench.quality.probe import IdentityProbe  # noqa: E402
from pipeline.classic import ClassicEngine  # noqa: E402
from pipeline.classic.settings import ClassicSettings  # noqa: E402


def with_value(settings: ClassicSettings, path: str, raw: str) -> ClassicSettings:
    stage_name, _, name = path.partition(".")
    stage = getattr(settings, stage_name)
    kind = {field.name: field.type for field in fields(stage)}[name]
    value = tuple(float(part) for part in raw.split(",")) if "tuple" in str(kind) else float(raw)
    if kind in ("int", int):
        value = int(float(raw))
    return replace(settings, **{stage_name: replace(stage, **{name: value})})


def add_fixed_settings(parser: argparse.ArgumentParser) -> None:
    """The repeatable `--with STAGE.NAME=VALUE` option that sets other settings for the whole run."""
    parser.add_argument("--with", dest="fixed", action="append", default=[], metavar="STAGE.NAME=VALUE")


def fixed_settings(fixed: list[str]) -> ClassicSettings:
    """The defaults with each `STAGE.NAME=VALUE` of `--with` applied."""
    settings = ClassicSettings()
    for assignment in fixed:
        path, _, raw = assignment.partition("=")
        settings = with_value(settings, path, raw)
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("setting", help="STAGE.NAME, e.g. warp.outline_share")
    parser.add_argument("values", nargs="+")
    add_fixed_settings(parser)
    args = parser.parse_args()
    base = fixed_settings(args.fixed)
    probe = IdentityProbe()
    tuning = cases("tuning", probe)
    first: dict[str, bool] | None = None
    for raw in args.values:
        engine = ClassicEngine(settings=with_value(base, args.setting, raw))
        engine.warmup()
        runner = PoolRunner(engine, probe)
        results = [runner.run_case(case) for case in tuning]
        summary = summarize_half(results)
        failing = {kind: count for kind, count in summary["failures"].items() if count}
        verdicts = {result.case: result.passed for result in results}
        first = first or verdicts
        changed = [("+" if verdicts[case] else "-") + case for case in verdicts if verdicts[case] != first.get(case)]
        print(
            f"{args.setting}={raw}: passed {summary['passed']}/{summary['faces']}, identity moved "
            f"{summary['identity_moved']['engine']} (plain swap {summary['identity_moved']['baseline']}), "
            f"mean distance {summary.get('identity_mean', float('nan')):.4f}, {summary.get('identity_at_gate', 0)} "
            f"within {IDENTITY_GATE_BAND:g} of the limit, {failing}; against the first value: {', '.join(changed) or 'no changes'}",
            flush=True,
        )


if __name__ == "__main__":
    main()
