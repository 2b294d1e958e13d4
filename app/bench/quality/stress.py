"""The stress set: sources degraded in code, templates composed from package photos, and the cases.

Every case swaps a husband and a wife source into one template, face indexes given by position
(the harness judges the swap, not the gender model). Sources and templates never show the same person
within a case.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import cv2
import numpy as np
from PIL import Image

from app.bench.quality.photos import PORTRAITS, load_portrait, t1_image
from pipeline.face import RGBImage
from app.bench.sample_portraits import compose_couple
from pipeline.samples import T1_FACE_CENTRES

DIM_GAMMA: Final = 2.0
SMALL_FACE_PX: Final = 80  # jaw width of the "small" source
HEAVY_JPEG_QUALITY: Final = 8
TURN_DEGREES: Final = 30.0
TWO_TONE_WARM: Final = np.array([1.2, 0.8, 0.4], dtype=np.float32)  # linear RGB gains at the left edge
TWO_TONE_COOL: Final = np.array([0.3, 0.45, 1.4], dtype=np.float32)  # ... and at the right edge
T1_HUSBAND, T1_WIFE = 3, 5  # t1.jpg faces (left to right) the group case swaps: Chandler and Phoebe


@dataclass(frozen=True)
class Source:
    key: str  # e.g. "bearded_man/dim"
    image: RGBImage = field(repr=False)


@dataclass(frozen=True)
class Template:
    key: str
    image: RGBImage = field(repr=False)
    husband_at: tuple[float, float]  # a point inside the face the husband goes onto
    wife_at: tuple[float, float]
    note: str = ""


@dataclass(frozen=True)
class Case:
    name: str
    husband: Source
    wife: Source
    template: Template
    what: str  # the stress in words


# -- source variants ---------------------------------------------------------------------------


def dim(image: RGBImage, gamma: float = DIM_GAMMA) -> RGBImage:
    return _u8(255.0 * (image.astype(np.float32) / 255.0) ** gamma)


def cast(image: RGBImage, gains: tuple[float, float, float]) -> RGBImage:
    return _u8(image.astype(np.float32) * np.array(gains, dtype=np.float32))


def warm(image: RGBImage) -> RGBImage:
    return cast(image, (1.12, 1.0, 0.72))


def green(image: RGBImage) -> RGBImage:
    return cast(image, (0.82, 1.08, 0.80))


def side_lit(image: RGBImage) -> RGBImage:
    """A left-to-right brightness ramp, 0.3x to 1.2x, applied in linear light."""
    width = image.shape[1]
    ramp = np.linspace(0.3, 1.2, width, dtype=np.float32)[None, :, None]
    linear = (image.astype(np.float32) / 255.0) ** 2.2
    return _u8(255.0 * np.clip(linear * ramp, 0.0, 1.0) ** (1 / 2.2))


def two_tone(image: RGBImage, centre_x: float, face_width: float) -> RGBImage:
    """A warm light from the left fading into a cool light from the right (a lamp and a window) across
    the face at `centre_x`, in linear light: the two cheeks differ in colour, not only in brightness."""
    columns = np.arange(image.shape[1], dtype=np.float32)
    ramp = np.clip((columns - centre_x) / max(face_width, 1.0) + 0.5, 0.0, 1.0)[None, :, None]
    gains = (1.0 - ramp) * TWO_TONE_WARM + ramp * TWO_TONE_COOL
    linear = (image.astype(np.float32) / 255.0) ** 2.2
    return _u8(255.0 * np.clip(linear * gains, 0.0, 1.0) ** (1 / 2.2))


def small(image: RGBImage, jaw_width: float, target: float = SMALL_FACE_PX) -> RGBImage:
    scale = target / jaw_width
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return np.ascontiguousarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA))


def heavy_jpeg(image: RGBImage, quality: int = HEAVY_JPEG_QUALITY) -> RGBImage:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"), dtype=np.uint8)


def mirrored(image: RGBImage) -> RGBImage:
    return np.ascontiguousarray(image[:, ::-1])


def greyscale(image: RGBImage) -> RGBImage:
    luma = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return np.ascontiguousarray(np.repeat(luma[:, :, None], 3, axis=2))


# -- templates ---------------------------------------------------------------------------------


def turned(template: Template, degrees: float = TURN_DEGREES) -> Template:
    """The template seen from the side: its plane rotated `degrees` about a vertical axis (a homography).

    A synthesised stand-in for a head turned ~30 deg: faces are foreshortened, not truly rotated in depth.
    """
    image = template.image
    height, width = image.shape[:2]
    focal = float(width)
    theta = np.radians(degrees)
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)

    def project(points: np.ndarray) -> np.ndarray:
        x = points[:, 0] - width / 2
        y = points[:, 1] - height / 2
        depth = focal + x * np.sin(theta)
        return np.stack([focal * x * np.cos(theta) / depth, focal * y / depth], axis=1)

    moved = project(corners)
    moved -= moved.min(axis=0)
    matrix = cv2.getPerspectiveTransform(corners, moved.astype(np.float32))
    size = (int(np.ceil(moved[:, 0].max())), int(np.ceil(moved[:, 1].max())))
    warped = cv2.warpPerspective(image, matrix, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)

    def where(point: tuple[float, float]) -> tuple[float, float]:
        mapped = cv2.perspectiveTransform(np.array([[point]], dtype=np.float32), matrix)[0, 0]
        return float(mapped[0]), float(mapped[1])

    return Template(
        key=f"{template.key}/turned",
        image=np.ascontiguousarray(warped),
        husband_at=where(template.husband_at),
        wife_at=where(template.wife_at),
        note=f"{template.key} rotated {degrees:.0f} deg about a vertical axis (perspective warp)",
    )


# -- the set -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StressSet:
    cases: list[Case]
    photos: dict[str, str]  # portrait key -> note


def build_stress_set() -> StressSet:
    """The cases of `bench quality` (PhotoMissing when a package photo is absent)."""
    keys = ("bearded_man", "astronaut", "smiling_man", "blonde_woman", "glasses_man", "grace_hopper", "talking_woman")
    images = {key: load_portrait(key) for key in keys}
    first = compose_couple("smiling_man", "blonde_woman", images=images)
    couple = Template("couple", first.image, first.man_at, first.woman_at, "smiling_man (open smile) + blonde_woman")
    second = compose_couple("bearded_man", "astronaut", images=images)
    couple_b = Template("couple_b", second.image, second.man_at, second.woman_at, "bearded_man + astronaut")
    man_at, woman_at = first.man_at, first.woman_at
    group = Template("t1", t1_image(), T1_FACE_CENTRES[T1_HUSBAND], T1_FACE_CENTRES[T1_WIFE], "t1.jpg, faces ~110 px")
    dim_couple = Template("couple/dim", dim(couple.image), man_at, woman_at, f"couple at gamma {DIM_GAMMA}")
    side = turned(couple)

    def variant(key: str, label: str, change: Callable[[RGBImage], RGBImage]) -> Source:
        return Source(f"{key}/{label}", change(images[key]))

    def pair(label: str, change: Callable[[RGBImage], RGBImage]) -> tuple[Source, Source]:
        return variant("bearded_man", label, change), variant("astronaut", label, change)

    def shrink(key: str) -> Source:
        return Source(f"{key}/small", small(images[key], PORTRAITS[key].jaw_px))

    clean = pair("clean", lambda image: image)
    cases = [
        Case("clean", *clean, couple, "clean sources; closed mouth onto an open smile"),
        Case("group", *clean, group, "clean sources onto t1.jpg's small faces"),
        Case("dim template", *clean, dim_couple, "template at gamma 2"),
        Case("turned template", *clean, side, "template turned 30 deg (perspective warp)"),
        Case("dim", *pair("dim", dim), couple, f"sources at gamma {DIM_GAMMA}"),
        Case("dim on group", *pair("dim", dim), group, "dim sources onto t1.jpg"),
        Case("warm cast", *pair("warm", warm), couple, "sources with a warm cast"),
        Case("green cast", *pair("green", green), couple, "sources with a green cast"),
        Case("side-lit", *pair("side-lit", side_lit), couple, "left-to-right ramp 0.3x-1.2x"),
        Case("small", shrink("bearded_man"), shrink("astronaut"), couple, f"source faces {SMALL_FACE_PX} px wide"),
        Case("heavy jpeg", *pair("jpeg", heavy_jpeg), couple, f"JPEG quality {HEAVY_JPEG_QUALITY}"),
        Case("greyscale", *pair("grey", greyscale), couple, "greyscale sources"),
        Case(
            "glasses",
            Source("glasses_man", images["glasses_man"]),
            Source("grace_hopper", images["grace_hopper"]),
            couple,
            "both sources wear glasses",
        ),
        Case(
            "open mouth",
            Source("smiling_man", images["smiling_man"]),
            Source("blonde_woman", images["blonde_woman"]),
            couple_b,
            "open-smile source onto a closed mouth",
        ),
        Case(
            "dim side-lit still",
            variant("smiling_man", "dim+side-lit", lambda image: side_lit(dim(image))),
            variant("blonde_woman", "dim+side-lit", lambda image: side_lit(dim(image))),
            group,
            "the indoor movie still (and the smiling man), dimmed and side-lit, onto t1.jpg",
        ),
        Case(
            "facing the other way",
            variant("bearded_man", "mirrored", mirrored),
            Source("talking_woman", images["talking_woman"]),
            couple,
            "sources turned 11-17 deg one way onto faces turned 10-11 deg the other; the woman talks",
        ),
    ]
    return StressSet(cases=cases, photos={key: f"{PORTRAITS[key].package} {PORTRAITS[key].file}: {PORTRAITS[key].note}" for key in keys})


def _u8(values: np.ndarray) -> RGBImage:
    return np.ascontiguousarray(np.clip(np.round(values), 0, 255).astype(np.uint8))
