"""Portraits that installed packages ship, cropped to one person each. Nothing is downloaded.

Where each photo comes from:
- insightface (pip): data/images/t1.jpg (six faces) and Tom_Hanks_54745.png (112 px aligned crop);
- scikit-image (pip): data.astronaut() (Eileen Collins, NASA, public domain);
- matplotlib (pip): mpl-data/sample_data/grace_hopper.jpg (US Navy portrait, public domain; glasses);
- Debian's opencv-doc (apt): portraits used as tutorial figures in /usr/share/doc/opencv-doc/opencv4/html.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import util
from pathlib import Path
from typing import Final

import numpy as np

from pipeline.face import RGBImage
from pipeline.intake import read_image_file
from pipeline.samples import astronaut_rgb, sample_paths

OPENCV_DOC_HTML: Final = Path("/usr/share/doc/opencv-doc/opencv4/html")
OPENCV_DOC_HINT: Final = "install Debian's opencv-doc (apt-get install opencv-doc)"


class PhotoMissing(Exception):
    """A package photo the stress set needs is not installed."""


@dataclass(frozen=True)
class Portrait:
    """One person's photo: `key` names it in reports, `gender` is by eye, `note` says what is special."""

    key: str
    gender: str  # "male" | "female"
    image: RGBImage
    note: str = ""


# (file in opencv-doc's html dir, crop box x1, y1, x2, y2 or None for the whole image)
_OPENCV_DOC: Final[dict[str, tuple[str, tuple[int, int, int, int] | None]]] = {
    "bearded_man": ("230501201_1.jpg", None),  # frontal, closed mouth, beard
    "smiling_man": ("227943776_1.jpg", None),  # open smile, teeth, head turned about 20 deg
    "glasses_man": ("example.jpg", (0, 0, 376, 580)),  # left panel of three; rimmed glasses
    "blonde_woman": ("12.jpg", (0, 19, 512, 480)),  # left panel, black border and "Source" caption cut away
}


def opencv_doc_available() -> bool:
    return all((OPENCV_DOC_HTML / name).is_file() for name, _ in _OPENCV_DOC.values())


def portrait(key: str) -> Portrait:
    """The named portrait; PhotoMissing when its package is absent."""
    if key == "astronaut":
        return Portrait(key, "female", astronaut_rgb(), "closed-lip smile")
    if key == "grace_hopper":
        return Portrait(key, "female", _read(_matplotlib_sample("grace_hopper.jpg")), "glasses")
    if key == "tom_hanks":
        return Portrait(key, "male", _read(sample_paths().tom_hanks), "112 px crop")
    if key in _OPENCV_DOC:
        name, box = _OPENCV_DOC[key]
        path = OPENCV_DOC_HTML / name
        if not path.is_file():
            raise PhotoMissing(f"{name} is missing; {OPENCV_DOC_HINT}")
        image = _read(path)
        if box is not None:
            x1, y1, x2, y2 = box
            image = np.ascontiguousarray(image[y1:y2, x1:x2])
        gender = "female" if key.endswith("woman") else "male"
        return Portrait(key, gender, image, {"glasses_man": "glasses", "smiling_man": "open mouth"}.get(key, ""))
    raise KeyError(key)


def t1_image() -> RGBImage:
    return _read(sample_paths().t1)


def _read(path: Path) -> RGBImage:
    return read_image_file(path, max_side=4096).array


def _matplotlib_sample(name: str) -> Path:
    spec = util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        raise PhotoMissing("package matplotlib is not installed; its sample photos are missing")
    path = Path(spec.origin).parent / "mpl-data" / "sample_data" / name
    if not path.is_file():
        raise PhotoMissing(f"matplotlib sample photo missing: {name}")
    return path
