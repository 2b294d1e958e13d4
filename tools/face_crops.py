"""Each pool case's source, template, engine result and crack marks side by side, large enough to judge.

    python tools/face_crops.py [TEXT ...] [--half validation] [--size 300] [--failing] [--out crops.png]

The contact sheet's tiles are 128 px; strands, doubled brows, a lip crease or a pale patch often show
only at 300 px or more. One row per case whose name contains one of the TEXTs (every case when none
is given), with its failures printed. The validation half is only looked at, with the engine's
defaults: `--with` (to see a setting's effect) applies to the tuning half alone, as settings are chosen
there.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.bench.quality.pool_cases import cases  # noqa: E402
from app.bench.quality.pool_run import PoolFaceResult, PoolRunner  # noqa: E402
from app.bench.quality.probe import IdentityProbe  # noqa: E402
from pipeline.classic import ClassicEngine  # noqa: E402
from tools.sweep_settings import add_fixed_settings, fixed_settings  # noqa: E402

PANELS = ("source", "template", "result", "cracks")
LABEL_COLOUR = (255, 255, 0)


def case_row(result: PoolFaceResult, size: int) -> NDArray[np.uint8]:
    """The case's four crops side by side (RGB), its name written on the first; a black panel where the
    crack measure marked nothing."""
    blank = np.zeros((size, size, 3), dtype=np.uint8)
    row = np.concatenate([result.crops.get(name, blank) for name in PANELS], axis=1)
    cv2.putText(row, result.case[:60], (5, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, LABEL_COLOUR, 1, cv2.LINE_AA)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("texts", nargs="*", metavar="TEXT", help="part of a case's name, e.g. 's1_1 -> s1'")
    parser.add_argument("--half", choices=("tuning", "validation"), default="tuning")
    parser.add_argument("--size", type=int, default=300, help="side of each crop in pixels")
    parser.add_argument("--failing", action="store_true", help="only the cases that fail a gate")
    parser.add_argument("--out", type=Path, default=Path("crops.png"))
    add_fixed_settings(parser)
    args = parser.parse_args()
    if args.fixed and args.half != "tuning":
        parser.error("--with applies to the tuning half only: settings are never chosen on the validation half")
    if not 32 <= args.size <= 1024:
        parser.error("--size is 32 to 1024 pixels")
    probe = IdentityProbe()
    runner = PoolRunner(ClassicEngine(settings=fixed_settings(args.fixed)), probe, tile=args.size)
    rows = []
    for case in cases(args.half, probe):
        if args.texts and not any(text in case.name for text in args.texts):
            continue
        result = runner.run_case(case)
        if result.error is not None:
            print(f"{case.name}: {result.error}")
            continue
        if args.failing and result.passed:
            continue
        print(f"{case.name}: {', '.join(result.failures) or 'passes'}")
        rows.append(case_row(result, args.size))
    if not rows:
        sys.exit(f"no {args.half} case to draw")
    cv2.imwrite(str(args.out), cv2.cvtColor(np.concatenate(rows, axis=0), cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out} ({len(rows)} rows)")


if __name__ == "__main__":
    main()
