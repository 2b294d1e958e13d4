"""Sample photos that installed packages ship, for tests, the quality check and the bench."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib import util
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from pipeline.errors import ModelUnavailable
from pipeline.face import Gender

# insightface/data/images/t1.jpg, faces ordered left to right by bbox x (checked by eye):
# Rachel, Monica, Ross, Chandler, Joey, Phoebe.
T1_GENDERS_LEFT_TO_RIGHT: Final[tuple[Gender, ...]] = (
    Gender.FEMALE,
    Gender.FEMALE,
    Gender.MALE,
    Gender.MALE,
    Gender.MALE,
    Gender.FEMALE,
)

# Approximate centre (x, y) of each of those faces, between the eyes and the mouth, same order.
T1_FACE_CENTRES: Final[tuple[tuple[float, float], ...]] = (
    (118.0, 336.0),
    (319.0, 223.0),
    (515.0, 362.0),
    (786.0, 418.0),
    (936.0, 141.0),
    (1166.0, 336.0),
)


# face_recognition 1.3.0's sdist test photos (obama.jpg, obama2.jpg, obama3.jpg, biden.jpg: US government
# portraits, public domain), extracted by `make` (sha256-pinned) into the venv; absent where only
# requirements.txt was installed (a Space).
FACE_RECOGNITION_DIR: Final = Path(sys.prefix) / "share" / "coswap" / "face_recognition_test_images"


@dataclass(frozen=True)
class SamplePaths:
    t1: Path  # 1280x886, six faces
    tom_hanks: Path  # 112x112 aligned grey crop, one man


def sample_paths() -> SamplePaths:
    """Paths of the sample photos inside the installed insightface package (nothing is imported)."""
    spec = util.find_spec("insightface")
    if spec is None or spec.origin is None:
        raise ModelUnavailable("package insightface is not installed; its sample photos are missing")
    images = Path(spec.origin).parent / "data" / "images"
    paths = SamplePaths(t1=images / "t1.jpg", tom_hanks=images / "Tom_Hanks_54745.png")
    for path in (paths.t1, paths.tom_hanks):
        if not path.is_file():
            raise ModelUnavailable(f"sample photo missing from insightface: {path.name}")
    return paths


def astronaut_rgb() -> NDArray[np.uint8]:
    """skimage.data.astronaut(): 512x512 RGB, one woman."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut(), dtype=np.uint8)


def sample_husband() -> Path:
    """The UI's sample husband: face_recognition's obama.jpg (the official portrait: colour, face about 250 px)
    when `make` fetched it, else insightface's Tom_Hanks_54745.png (a 112 px crop with muted colour)."""
    portrait = FACE_RECOGNITION_DIR / "obama.jpg"
    return portrait if portrait.is_file() else sample_paths().tom_hanks
