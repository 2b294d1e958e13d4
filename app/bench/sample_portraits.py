"""Portraits that installed packages ship, and 2-face couple templates composed from them.

Nothing is downloaded. Where each photo comes from:
- scikit-image (pip): data.astronaut() (Eileen Collins, NASA, public domain);
- matplotlib (pip): mpl-data/sample_data/grace_hopper.jpg (US Navy portrait, public domain; glasses);
- insightface (pip): data/images/Tom_Hanks_54745.png (112 px aligned crop);
- Debian's opencv-doc (apt): portraits used as tutorial figures in /usr/share/doc/opencv-doc/opencv4/html.

Each portrait's face centre and jaw width (dlib 68 points, 0-16) were measured once and are kept here,
so composing a template needs no detector; tests check them against dlib.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import util
from pathlib import Path
from typing import Final

import cv2
import numpy as np

from pipeline.errors import ModelUnavailable
from pipeline.face import RGBImage
from pipeline.intake import read_image_file
from pipeline.samples import astronaut_rgb, sample_paths

OPENCV_DOC_HTML: Final = Path("/usr/share/doc/opencv-doc/opencv4/html")
OPENCV_DOC_HINT: Final = "install Debian's opencv-doc (apt-get install opencv-doc)"
COUPLE_JAW_PX: Final = 340  # jaw width of each face in a composed couple (1.8 MP, engine boxes ~400 px)
PANEL_WIDTH, PANEL_HEIGHT = 2.5, 3.1  # each half of a couple, in jaw widths: 15.5 x jaw^2 pixels in all
FACE_HEIGHT_SHARE: Final = 0.42  # where the face centre sits, from the top of the panel


class PhotoMissing(ModelUnavailable):
    """A package photo is not installed."""


@dataclass(frozen=True)
class PortraitSpec:
    package: str  # "opencv-doc" | "matplotlib" | "scikit-image" | "insightface"
    file: str
    crop: tuple[int, int, int, int] | None  # x1, y1, x2, y2 in the file, or the whole image
    gender: str  # by eye: "male" | "female"
    centre: tuple[float, float]  # mean of dlib's 68 points, in the cropped image
    jaw_px: float  # width of dlib points 0-16, in the cropped image
    note: str = ""


PORTRAITS: Final[dict[str, PortraitSpec]] = {
    "bearded_man": PortraitSpec("opencv-doc", "230501201_1.jpg", None, "male", (303.1, 437.9), 307.0, "closed mouth, goatee"),
    "smiling_man": PortraitSpec(
        "opencv-doc", "227943776_1.jpg", None, "male", (204.8, 207.9), 146.0, "open smile, head turned ~20 deg"
    ),
    "glasses_man": PortraitSpec(
        "opencv-doc", "example.jpg", (0, 0, 376, 580), "male", (184.5, 375.7), 321.0, "rimmed glasses (left panel of 3)"
    ),
    "blonde_woman": PortraitSpec(
        "opencv-doc", "12.jpg", (0, 19, 512, 480), "female", (283.1, 208.6), 284.0, "indoor movie still, looking down"
    ),
    "talking_woman": PortraitSpec(
        "opencv-doc", "05.jpg", (0, 0, 512, 460), "female", (259.1, 307.9), 290.0,
        "dim movie still (left panel of 3): talking, a pencil at her lips, head turned ~11 deg",
    ),
    "astronaut": PortraitSpec("scikit-image", "astronaut", None, "female", (224.0, 127.5), 93.0, "closed-lip smile"),
    "grace_hopper": PortraitSpec("matplotlib", "grace_hopper.jpg", None, "female", (266.5, 240.5), 177.0, "glasses"),
    "tom_hanks": PortraitSpec("insightface", "Tom_Hanks_54745.png", None, "male", (53.1, 73.9), 86.0, "112 px crop"),
}
BENCH_MEN: Final = ("smiling_man", "bearded_man", "glasses_man")
BENCH_WOMEN: Final = ("blonde_woman", "grace_hopper", "astronaut")
BENCH_JAWS: Final = (355, 340, 320)  # 1.95, 1.8 and 1.6 MP; engine face boxes of about 350-450 px


@dataclass(frozen=True)
class Couple:
    """A composed 2-face template: the man on the left, the woman on the right."""

    image: RGBImage
    man_at: tuple[float, float]  # face centres
    woman_at: tuple[float, float]
    name: str


def opencv_doc_available() -> bool:
    return all(
        (OPENCV_DOC_HTML / spec.file).is_file() for spec in PORTRAITS.values() if spec.package == "opencv-doc"
    )


def load_portrait(key: str) -> RGBImage:
    """The named portrait, cropped; PhotoMissing when its package is absent, KeyError for an unknown key."""
    spec = PORTRAITS[key]
    if spec.package == "scikit-image":
        image = astronaut_rgb()
    elif spec.package == "insightface":
        image = _read(sample_paths().tom_hanks)
    elif spec.package == "matplotlib":
        image = _read(_matplotlib_sample(spec.file))
    else:
        path = OPENCV_DOC_HTML / spec.file
        if not path.is_file():
            raise PhotoMissing(f"{spec.file} is missing; {OPENCV_DOC_HINT}")
        image = _read(path)
    if spec.crop is not None:
        x1, y1, x2, y2 = spec.crop
        image = np.ascontiguousarray(image[y1:y2, x1:x2])
    return image


def compose_couple(
    man: str, woman: str, *, jaw: float = COUPLE_JAW_PX, mirror: bool = False, images: dict[str, RGBImage] | None = None
) -> Couple:
    """`man` left and `woman` right, each photo scaled to a jaw width of `jaw` px on a panel of
    PANEL_WIDTH x PANEL_HEIGHT jaw widths, its face at FACE_HEIGHT_SHARE of the height. Where a photo
    does not cover its panel, a blurred, stretched copy of it does."""
    panels = []
    centres = []
    for key in (man, woman):
        photo = images[key] if images and key in images else load_portrait(key)
        if mirror:
            photo = np.ascontiguousarray(photo[:, ::-1])
        panel, centre = _panel(photo, PORTRAITS[key], jaw, mirror)
        panels.append(panel)
        centres.append((centre[0] + sum(p.shape[1] for p in panels[:-1]), centre[1]))
    name = f"{man}+{woman}" + (" mirrored" if mirror else "") + f" jaw {jaw:.0f}"
    return Couple(np.ascontiguousarray(np.hstack(panels)), centres[0], centres[1], name)


def _panel(photo: RGBImage, spec: PortraitSpec, jaw: float, mirror: bool) -> tuple[RGBImage, tuple[float, float]]:
    scale = jaw / spec.jaw_px
    width, height = int(PANEL_WIDTH * jaw), int(PANEL_HEIGHT * jaw)
    photo_h, photo_w = photo.shape[:2]
    cx = photo_w - spec.centre[0] if mirror else spec.centre[0]
    cy = spec.centre[1]
    # The window of the photo that the panel shows, in photo pixels, clipped to the photo.
    left, top = cx - width / 2 / scale, cy - height * FACE_HEIGHT_SHARE / scale
    x1, y1 = max(0, int(np.floor(left))), max(0, int(np.floor(top)))
    x2 = min(photo_w, int(np.ceil(left + width / scale)))
    y2 = min(photo_h, int(np.ceil(top + height / scale)))
    small = cv2.resize(photo, (max(1, width // 8), max(1, height // 8)), interpolation=cv2.INTER_AREA)
    panel = cv2.resize(cv2.GaussianBlur(small, (0, 0), sigmaX=3), (width, height), interpolation=cv2.INTER_LINEAR)
    sharp_w, sharp_h = round((x2 - x1) * scale), round((y2 - y1) * scale)
    interpolation = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
    sharp = cv2.resize(photo[y1:y2, x1:x2], (sharp_w, sharp_h), interpolation=interpolation)
    px, py = round(max(0.0, (x1 - left) * scale)), round(max(0.0, (y1 - top) * scale))
    sharp = sharp[: height - py, : width - px]
    panel[py : py + sharp.shape[0], px : px + sharp.shape[1]] = sharp
    return np.ascontiguousarray(panel), (float((cx - left) * scale), float((cy - top) * scale))


def bench_couples(count: int) -> list[Couple]:
    """`count` distinct couples (pairs x jaw sizes x mirroring), for the bench's templates."""
    variants = [
        (man, woman, jaw, mirror)
        for jaw in BENCH_JAWS
        for mirror in (False, True)
        for man in BENCH_MEN
        for woman in BENCH_WOMEN
    ]
    if not 1 <= count <= len(variants):
        raise ValueError(f"there are 1 to {len(variants)} bench couples, not {count}")
    images = {key: load_portrait(key) for key in (*BENCH_MEN, *BENCH_WOMEN)}
    return [compose_couple(m, w, jaw=j, mirror=r, images=images) for m, w, j, r in variants[:count]]


MAX_BENCH_COUPLES: Final = len(BENCH_JAWS) * 2 * len(BENCH_MEN) * len(BENCH_WOMEN)


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
