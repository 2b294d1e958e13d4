"""A small measurement of the mesh swap: time per face against face size (photos from packages)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.classic.engine import ClassicEngine
from pipeline.face import Assignment, Face, RGBImage, SourceFace
from pipeline.intake import read_image_file
from pipeline.samples import astronaut_rgb, sample_paths

FACE_SIZES: tuple[int, ...] = (150, 300, 600)
TEMPLATE_SIDE = 1200  # every timed template is at most 1200 x 1200 (1.4 MP): only the face size varies


@dataclass(frozen=True)
class SizeTiming:
    face_px: int  # face box width in the template
    seconds: float  # median wall time of swapping one face (template preprocessed: mesh stored)
    cpu_seconds: float  # median CPU time of the same (steadier on a shared machine)


def time_per_face_size(
    engine: ClassicEngine, sizes: Sequence[int] = FACE_SIZES, *, runs: int = 5
) -> list[SizeTiming]:
    """Median time of swapping Tom Hanks onto the astronaut scaled so her face is `size` px wide."""
    source = _source(engine, read_image_file(sample_paths().tom_hanks).array)
    base = astronaut_rgb()
    base_face = engine.detect(base)[0]
    base_width = base_face.bbox[2] - base_face.bbox[0]
    timings = []
    for size in sizes:
        factor = size / base_width
        scaled = cv2.resize(base, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
        template = _window(scaled, base_face, factor, TEMPLATE_SIDE)
        target = engine.detect(template)[0]
        engine.swap(template, [Assignment(target, source)])
        walls, cpus = [], []
        for _ in range(runs):
            start, start_cpu = time.perf_counter(), time.process_time()
            engine.swap(template, [Assignment(target, source)])
            walls.append(time.perf_counter() - start)
            cpus.append(time.process_time() - start_cpu)
        timings.append(
            SizeTiming(
                face_px=int(round(target.bbox[2] - target.bbox[0])),
                seconds=float(np.median(walls)),
                cpu_seconds=float(np.median(cpus)),
            )
        )
    return timings


def _window(image: RGBImage, face: Face, factor: float, side: int) -> RGBImage:
    """A side x side window of `image` around the (scaled) face, so image size stays fixed."""
    height, width = image.shape[:2]
    centre_x = (face.bbox[0] + face.bbox[2]) / 2 * factor
    centre_y = (face.bbox[1] + face.bbox[3]) / 2 * factor
    x0 = int(np.clip(centre_x - side / 2, 0, max(0, width - side)))
    y0 = int(np.clip(centre_y - side / 2, 0, max(0, height - side)))
    return np.ascontiguousarray(image[y0 : y0 + side, x0 : x0 + side])


def _source(engine: ClassicEngine, image: RGBImage) -> SourceFace:
    face = engine.detect(image)[0]
    return SourceFace(engine.prepare_source(SourceFace(face, image)), image)
