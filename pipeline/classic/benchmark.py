"""Small measurements of the mesh swap: time per face against face size, and the geometry share sweep.

Both use only photos that installed packages ship. The sweep scores identity with dlib's ResNet
descriptor (as the quality harness does), which the engine itself never uses.
"""

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


@dataclass(frozen=True)
class ShareScore:
    share: float
    to_source: float  # mean descriptor distance, result face to its source (lower: more source identity)
    to_original: float  # mean descriptor distance, result face to the template's original face


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


def geometry_share_sweep(shares: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0)) -> list[ShareScore]:
    """Identity distances for each share over t1.jpg (6 faces) and the astronaut/Tom Hanks pair."""
    from pipeline.classic.recognition import descriptor_distance
    from pipeline.quality import _IdentityProbe

    probe = _IdentityProbe()
    engine = ClassicEngine()
    astronaut = astronaut_rgb()
    hanks = read_image_file(sample_paths().tom_hanks).array
    t1 = read_image_file(sample_paths().t1).array
    woman, man = _source(engine, astronaut), _source(engine, hanks)
    cases: list[tuple[RGBImage, Face, SourceFace]] = []
    for index, face in enumerate(engine.detect(t1)):
        cases.append((t1, face, woman if index % 2 == 0 else man))
    cases.append((hanks, engine.detect(hanks)[0], woman))
    cases.append((astronaut, engine.detect(astronaut)[0], man))

    def descriptor(image: RGBImage, face: Face) -> np.ndarray:
        return probe.descriptor(image, probe.box_for(image, face))

    source_descriptors = {id(s): descriptor(s.image, s.face) for s in (woman, man)}
    scores = []
    for share in shares:
        swapper = ClassicEngine(geometry_share=share)
        to_source, to_original = [], []
        for template, target, source in cases:
            result = swapper.swap(template, [Assignment(target, source)])
            found = descriptor(result, target)
            to_source.append(descriptor_distance(found, source_descriptors[id(source)]))
            to_original.append(descriptor_distance(found, descriptor(template, target)))
        scores.append(ShareScore(share, float(np.mean(to_source)), float(np.mean(to_original))))
    return scores


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
