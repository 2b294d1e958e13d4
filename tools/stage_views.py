"""Each stage of the classic engine's swap, side by side, for tuning cases whose name contains a text.

    python tools/stage_views.py "s1_1 -> s1" [--with warp.max_stretch=4 ...] [--height 480] [--out stages.png]

One row per swapped face: the template's face box, the source warped onto it, the warp toned to the
template, where the source goes, what of the template stays in front, and the result. It shows which
stage a defect on the sheet comes from (a template band kept, hair pasted, a tone ghost). Only the
tuning half is read.
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
from app.bench.quality.pool_run import PoolRunner  # noqa: E402
from app.bench.quality.probe import IdentityProbe  # noqa: E402
from pipeline.classic import ClassicEngine  # noqa: E402
from pipeline.classic.swapper import SwapStages  # noqa: E402
from tools.sweep_settings import add_fixed_settings, fixed_settings  # noqa: E402

ROW_HEIGHT = 240  # pixels of each row in the output; a strand or a cut brow shows from about 400
PANELS = ("template", "warped", "toned", "source goes", "template kept", "result")


def stage_row(stages: SwapStages, height: int = ROW_HEIGHT) -> NDArray[np.uint8]:
    """The six panels of one face, each `height` pixels high, side by side (RGB)."""
    x0, y0, x1, y1 = stages.box
    width = max(1, round(height * (x1 - x0) / (y1 - y0)))

    def grey(mask: NDArray[np.generic]) -> NDArray[np.uint8]:
        values = mask.astype(np.float32) / (255.0 if mask.dtype == np.uint8 else 1.0)
        return np.repeat((np.clip(values, 0.0, 1.0) * 255.0).astype(np.uint8)[..., None], 3, axis=2)

    panels = [
        stages.template,
        stages.warped,
        np.clip(stages.toned + 0.5, 0, 255).astype(np.uint8),
        grey(stages.face),
        grey(stages.kept),
        stages.result,
    ]
    return np.concatenate([cv2.resize(panel, (width, height), interpolation=cv2.INTER_AREA) for panel in panels], axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("text", help="part of a tuning case's name, e.g. 's1_1 -> s1'")
    parser.add_argument("--out", type=Path, default=Path("stages.png"))
    parser.add_argument("--height", type=int, default=ROW_HEIGHT, help="pixels of each row")
    add_fixed_settings(parser)
    args = parser.parse_args()
    if not 32 <= args.height <= 1024:
        parser.error("--height is 32 to 1024 pixels")
    seen: list[SwapStages] = []
    engine = ClassicEngine(settings=fixed_settings(args.fixed), observe=seen.append)
    probe = IdentityProbe()
    runner = PoolRunner(engine, probe)
    rows = []
    for case in cases("tuning", probe):
        if args.text not in case.name:
            continue
        seen.clear()
        runner.swapped(case)
        if not seen:
            print(f"{case.name}: not swapped (the template face stays)")
            continue
        print(f"{case.name}: {', '.join(PANELS)}")
        rows.extend(stage_row(stages, args.height) for stages in seen)
    if not rows:
        sys.exit(f"no tuning case swapped whose name contains {args.text!r}")
    width = max(row.shape[1] for row in rows)
    sheet = np.concatenate([np.pad(row, ((0, 0), (0, width - row.shape[1]), (0, 0))) for row in rows], axis=0)
    cv2.imwrite(str(args.out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
