"""The crack measure's recall on cracks drawn into the engine's own results, on the tuning half.

    python tools/crack_check.py [--with warp.max_stretch=5 ...]

Every tuning case is swapped once. Its result is measured as it is (a flag there is a crack the engine
made, or a false alarm: look at the sheet) and with each drawn defect:
- `dark`, `faint`: a line from a brow to the chin, 1/80 of the jaw wide, 40 / 25 grey levels darker;
- `pale`: a line down the temple and cheek, 30 levels lighter (a pale seam);
- `split`: the face's half beside the nose line taken back from the template (one half keeps the
  template person).
A drawn defect is seen when the score passes CRACKS_MAX. The validation half is never read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.bench.quality.measures import CRACKS_MAX, crack_map  # noqa: E402
from app.bench.quality.pool_cases import cases  # noqa: E402
from app.bench.quality.pool_run import PoolRunner, SwappedCase  # noqa: E402
from app.bench.quality.probe import IdentityProbe  # noqa: E402
from pipeline.classic import ClassicEngine  # noqa: E402
from pipeline.face import RGBImage  # noqa: E402
from tools.sweep_settings import add_fixed_settings, fixed_settings  # noqa: E402

LINE_SHARE = 1 / 80  # a drawn line's width, share of the jaw width


def _line(image: RGBImage, start: NDArray[np.float32], end: NDArray[np.float32], change: float, jaw: float) -> RGBImage:
    """`image` with an anti-aliased line from `start` to `end`, each channel moved by `change` levels."""
    mask = np.zeros(image.shape[:2], np.uint8)
    width = max(1, int(round(LINE_SHARE * jaw)))
    cv2.line(mask, tuple(int(v) for v in start), tuple(int(v) for v in end), 255, width, cv2.LINE_AA)
    moved = image.astype(np.float32) + change * (mask[..., None] / 255.0)
    return np.clip(moved, 0, 255).astype(np.uint8)


def _split(case: SwappedCase) -> RGBImage:
    """The result with everything beside the nose line (the image's left of it) taken from the template."""
    nose_x = int(round(float(case.points[27:31, 0].mean())))
    split = case.result.copy()
    split[:, :nose_x] = case.template[:, :nose_x]
    return split


def drawn_defects(case: SwappedCase) -> dict[str, RGBImage]:
    """The case's result with each defect of the module's list drawn into it, by name."""
    points = case.points
    jaw = float(np.ptp(points[:17, 0]))
    temple = points[17] + 0.3 * (points[36] - points[17])
    cheek = points[3] + 0.3 * (points[48] - points[3])
    return {
        "dark": _line(case.result, points[19], points[10], -40.0, jaw),
        "faint": _line(case.result, points[19], points[10], -25.0, jaw),
        "pale": _line(case.result, temple, cheek, 30.0, jaw),
        "split": _split(case),
    }


def _score(case: SwappedCase, image: RGBImage) -> float:
    return crack_map(image, case.template, case.warped_source, case.points)[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_fixed_settings(parser)
    args = parser.parse_args()
    probe = IdentityProbe()
    engine = ClassicEngine(settings=fixed_settings(args.fixed))
    engine.warmup()
    runner = PoolRunner(engine, probe)
    seen: dict[str, list[bool]] = {}
    flagged: list[str] = []
    for pool_case in cases("tuning", probe):
        try:
            swapped = runner.swapped(pool_case)
        except LookupError:
            continue
        as_made = _score(swapped, swapped.result)
        if as_made > CRACKS_MAX:
            flagged.append(f"{pool_case.name} ({as_made:.2f})")
        marks = []
        for name, image in drawn_defects(swapped).items():
            value = _score(swapped, image)
            seen.setdefault(name, []).append(value > CRACKS_MAX)
            marks.append(f"{name} {value:.2f}")
        print(f"{pool_case.name:52s} as made {as_made:.2f}  " + "  ".join(marks), flush=True)
    total = len(next(iter(seen.values()), []))
    print(f"results flagged as made: {len(flagged)}/{total}: {', '.join(flagged) or 'none'}")
    print("drawn defects seen: " + ", ".join(f"{name} {sum(hits)}/{len(hits)}" for name, hits in seen.items()))


if __name__ == "__main__":
    main()
