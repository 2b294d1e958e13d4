"""One pool variant made on every source of the tuning half that variants are made from, each swapped
onto its clean case's target, beside the clean case.

    python tools/variant_check.py two-tone [--with regions.source_occluder_share=0.06 ...] [--sheet two-tone.png]

The pool itself gives each variant to one source per half; this shows whether a defect a variant brings
out is general, and whether a change mends it, without reading the validation half. The check-only
variants (`curtain`: a wide dark lock over one temple; `brim`: a white hat's brim low over the forehead;
`rimless`: rimless glasses, bare lenses on a metal bar and arms) are not in the pool.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.bench.quality.pool_cases import CHECK_VARIANTS, VARIANTS, variant_check_cases  # noqa: E402
from app.bench.quality.pool_run import PoolFaceResult, PoolRunner  # noqa: E402
from app.bench.quality.probe import IdentityProbe  # noqa: E402
from app.bench.quality.sheet import render_pool_sheet, save_sheet  # noqa: E402
from pipeline.classic import ClassicEngine  # noqa: E402
from tools.sweep_settings import add_fixed_settings, fixed_settings  # noqa: E402


def _line(result: PoolFaceResult) -> str:
    figures = result.figures or {}
    verdict = "pass" if result.passed else "FAIL " + ",".join(result.failures)
    leakage = figures.get("leakage")
    leaked = "" if leakage is None else f" leak {leakage:.2f}"
    return (
        f"id {figures.get('identity_to_source', float('nan')):.3f} / {figures.get('identity_to_original', float('nan')):.3f}"
        f"{leaked} {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variant", choices=VARIANTS + CHECK_VARIANTS)
    add_fixed_settings(parser)
    parser.add_argument("--sheet", type=Path, help="also write a contact sheet, each clean case beside its variant")
    args = parser.parse_args()
    probe = IdentityProbe()
    engine = ClassicEngine(settings=fixed_settings(args.fixed))
    engine.warmup()
    runner = PoolRunner(engine, probe)
    passed = {"clean": 0, "variant": 0}
    leaks: list[float] = []
    pairs = variant_check_cases("tuning", args.variant, probe)
    results: list[PoolFaceResult] = []
    for clean, made in pairs:
        clean_result, made_result = runner.run_case(clean), runner.run_case(made)
        results += [clean_result, made_result]
        passed["clean"] += clean_result.passed
        passed["variant"] += made_result.passed
        if (made_result.figures or {}).get("leakage") is not None:
            leaks.append(float(made_result.figures["leakage"]))  # type: ignore[index]
        print(f"{clean.name:48s} clean {_line(clean_result):34s} {args.variant} {_line(made_result)}", flush=True)
    mean_leak = f", mean leakage {sum(leaks) / len(leaks):.3f} over {len(leaks)}" if leaks else ""
    print(f"passed: clean {passed['clean']}/{len(pairs)}, {args.variant} {passed['variant']}/{len(pairs)}{mean_leak}")
    if args.sheet:
        save_sheet(render_pool_sheet(results, f"variant check: {args.variant}, tuning half"), args.sheet)


if __name__ == "__main__":
    main()
