"""The face enhancer's cost per face on this machine, on the GFPGAN stand-in of the real shape.

What is timed: FaceEnhancer.enhance on faces already swapped (alignment to the 512 px template, the crop
in and out of onnxruntime, paste-back and the blend inside each swap region), divided by the faces. The
real GFPGAN network's own compute comes on top; its weights cannot be fetched here.

`python -m app.bench.enhance [--runs N]` prints the figure as JSON (the `bench` report carries it too).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any, Final

import cv2

from app.bench.enhancer_standin import write_enhancer_standin
from app.bench.images import t1_pixels
from app.bench.stats import summarize, timed_samples
from pipeline.enhance.enhancer import FaceEnhancer
from pipeline.face import Face, FaceEngine, RGBImage
from pipeline.mapping import default_mapping
from pipeline.providers import provider_label

SCALES: Final[tuple[int, ...]] = (1, 3)  # t1.jpg as it is (faces about 110 px) and 3x (about 330 px)
STRENGTH: Final = 0.8


def enhance_seconds_per_face(engine: FaceEngine, runs: int) -> dict[str, Any]:
    """{"1x": stat + face box, "3x": ...}: the enhancer on t1.jpg's two default-mapped faces, per face."""
    with tempfile.TemporaryDirectory(prefix="coswap-enhance-") as folder:
        _data, manifest = write_enhancer_standin(Path(folder))
        enhancer = FaceEnhancer(Path(folder), manifest=manifest)
        figures: dict[str, Any] = {}
        for scale in SCALES:
            image = _scaled(t1_pixels(), scale)
            faces = _mapped(engine.detect(image))
            samples = timed_samples(lambda: enhancer.enhance(image, faces, STRENGTH), runs)
            height, width = image.shape[:2]
            figures[f"{scale}x"] = {
                **summarize([value / len(faces) for value in samples]).to_json(4),
                "face_box_px": round(sum(f.bbox[2] - f.bbox[0] for f in faces) / len(faces)),
                "image": f"{width}x{height}",
            }
        head = figures[f"{SCALES[0]}x"]
        return {
            **{k: head[k] for k in ("median", "q1", "q3", "min", "max", "runs")},
            "by_face_size": figures,
            "faces": 2,
            "model": "GFPGAN 1.4 stand-in (1x3x512x512, real interface; not the network's compute)",
            "provider": provider_label(enhancer.provider),
        }


def _mapped(faces: list[Face]) -> list[Face]:
    decision = default_mapping(faces)
    chosen = [faces[i] for i, role in sorted(decision.roles.items()) if role != "keep"]
    if len(chosen) != 2:
        raise RuntimeError("the default mapping of t1.jpg did not pick two faces")
    return chosen


def _scaled(image: RGBImage, scale: int) -> RGBImage:
    if scale == 1:
        return image
    height, width = image.shape[:2]
    return cv2.resize(image, (width * scale, height * scale), interpolation=cv2.INTER_CUBIC)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.bench.enhance", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    from pipeline.engines import create_engine

    engine = create_engine("classic", Path(tempfile.gettempdir()))
    engine.warmup()
    print(json.dumps({"engine": engine.name, "enhance_seconds_per_face": enhance_seconds_per_face(engine, args.runs)}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
