"""Test photos from installed packages, written once per session as files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class SamplePhotos:
    t1: Path  # 6 faces: 3 women, 3 men
    husband: Path  # Tom Hanks
    wife: Path  # skimage astronaut
    landscape: Path  # no face at all
    pair: Path  # a 2-face crop of t1


def write_sample_photos(folder: Path) -> SamplePhotos:
    import insightface
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    images = Path(insightface.__file__).parent / "data" / "images"
    wife = folder / "astronaut.png"
    Image.fromarray(data.astronaut()).save(wife)
    landscape = folder / "no_face.png"
    gradient = np.linspace(0, 255, 320 * 240 * 3).reshape(240, 320, 3).astype(np.uint8)
    Image.fromarray(gradient).save(landscape)
    pair = folder / "pair.png"
    t1 = Image.open(images / "t1.jpg").convert("RGB")
    t1.crop((0, 0, t1.width // 2, t1.height)).save(pair)
    return SamplePhotos(images / "t1.jpg", images / "Tom_Hanks_54745.png", wife, landscape, pair)
