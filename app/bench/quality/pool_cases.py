"""The pool's swap cases: source crops and their variants made in code, template faces, and one case per source.

Variants (each applied to one clean, near-frontal source of each half, chosen in order of person key):
dim, warm cast, side light, small (80 px), heavy JPEG, turned (a 30 deg perspective warp), thin metal
glasses drawn on, sunglasses drawn on, a skin-coloured hand of four fingers across the forehead, and a
dark phone-sized object over the mouth corner, and a warm light from one side with a cool one from the
other (two-tone). Occluder variants keep their mask, for the leakage measure.

Each source goes onto one template face of its own half: the next face, round-robin, of the same gender
and another person.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Final

import cv2
import numpy as np
from numpy.typing import NDArray

from app.bench.quality.pool import (
    FACES,
    Glasses,
    Half,
    Labels,
    Occluder,
    PoolFace,
    couple_image,
    faces_in,
    load_photo,
)
from app.bench.quality.probe import IdentityProbe
from app.bench.quality.stress import Template, dim, heavy_jpeg, side_lit, small, turned, two_tone, warm
from pipeline.face import RGBImage

SOURCE_CROP: Final = 2.6  # a source is the photo cropped to this many jaw widths around the face
VARIANTS: Final = (
    "dim", "warm", "side-lit", "small", "jpeg", "turned", "glasses", "sunglasses", "hand", "object", "two-tone",
    "fringe", "lock",
)
CHECK_VARIANTS: Final = ("curtain", "brim", "rimless")  # made only for tools/variant_check.py, not in the pool
RIM_AXES: Final = (0.36, 0.26)  # a drawn lens's half width and half height, in eye distances
COUPLES: Final[dict[Half, tuple[str, str]]] = {
    "tuning": ("smiling_man", "astronaut"),
    "validation": ("fx_elder", "s6_0"),
}

Mask = NDArray[np.bool_]


@dataclass(frozen=True)
class PoolSource:
    key: str  # "s1_0" or "s1_0/dim"
    face: PoolFace
    labels: Labels  # the face's labels, changed by the variant
    image: RGBImage = field(repr=False)
    at: tuple[float, float]  # the face centre in `image` (crops may show a neighbour's face too)
    occluder: Mask | None = field(default=None, repr=False)  # pixels of a drawn occluder
    base: PoolSource | None = field(default=None, repr=False)  # the clean source a variant was made from


@dataclass(frozen=True)
class PoolTarget:
    template: str  # template key
    face: PoolFace
    at: tuple[float, float]  # the face centre in the template image


@dataclass(frozen=True)
class PoolTemplate:
    key: str
    image: RGBImage = field(repr=False)
    targets: tuple[PoolTarget, ...]


@dataclass(frozen=True)
class PoolCase:
    half: Half
    source: PoolSource
    template: PoolTemplate
    target: PoolTarget

    @property
    def name(self) -> str:
        return f"{self.source.key} -> {self.template.key}:{self.target.face.person}"


def source_crop(face: PoolFace) -> tuple[RGBImage, tuple[float, float]]:
    """The photo around the face (single portraits whole), and the face centre in it: what a user would
    upload as a source."""
    image = load_photo(face.photo)
    if face.photo == face.person:
        return image, face.centre
    half = SOURCE_CROP * face.width / 2
    cx, cy = face.centre
    height, width = image.shape[:2]
    x1, y1 = max(0, int(cx - half)), max(0, int(cy - half))
    x2, y2 = min(width, int(cx + half)), min(height, int(cy + half))
    return np.ascontiguousarray(image[y1:y2, x1:x2]), (cx - x1, cy - y1)


def templates(half: Half) -> list[PoolTemplate]:
    """The half's templates: its photos with target faces, and one composed couple."""
    by_photo: dict[str, list[PoolFace]] = {}
    for face in faces_in(half):
        if face.target:
            by_photo.setdefault(face.photo, []).append(face)
    result = [
        PoolTemplate(photo, load_photo(photo), tuple(PoolTarget(photo, face, face.centre) for face in faces))
        for photo, faces in by_photo.items()
    ]
    man, woman = COUPLES[half]
    image, man_at, woman_at = couple_image(man, woman)
    key = f"couple:{man}+{woman}"
    faces = {face.person: face for face in FACES}
    result.append(PoolTemplate(key, image, (PoolTarget(key, faces[man], man_at), PoolTarget(key, faces[woman], woman_at))))
    return result


def sources(half: Half, probe: IdentityProbe) -> list[PoolSource]:
    """The half's clean sources, then one of each variant."""
    clean = clean_sources(half)
    eligible = variant_bases(clean)
    made = []
    for number, name in enumerate(VARIANTS):
        base = eligible[number % len(eligible)]
        made.append(make_variant(base, name, probe))
    return clean + made


def clean_sources(half: Half) -> list[PoolSource]:
    return [PoolSource(face.person, face, face.labels, *source_crop(face)) for face in faces_in(half) if face.source]


def variant_bases(clean: list[PoolSource]) -> list[PoolSource]:
    """The clean, near-frontal sources without glasses or occluders that variants are made from, by key."""
    return sorted(
        (s for s in clean if s.labels.yaw in ("0-15", "15-35") and s.labels.glasses == "none"
         and s.labels.occluder == "none" and s.face.width >= 150 and s.labels.light != "grey"),
        key=lambda s: s.key,
    )


def variant_check_cases(half: Half, variant: str, probe: IdentityProbe) -> list[tuple[PoolCase, PoolCase]]:
    """(clean case, variant case) for every source variants are made from, each onto its clean case's
    target: how one variant does across a half, not only on the one source the pool gives it."""
    bases = {source.key for source in variant_bases(clean_sources(half))}
    return [
        (case, replace(case, source=make_variant(case.source, variant, probe)))
        for case in cases(half, probe)
        if case.source.key in bases
    ]


def make_variant(base: PoolSource, name: str, probe: IdentityProbe) -> PoolSource:
    image, labels = base.image, base.labels
    at = base.at
    key = f"{base.key}/{name}"
    simple: dict[str, tuple[Callable[[RGBImage], RGBImage], Labels]] = {
        "dim": (dim, replace(labels, light="dim")),
        "warm": (warm, replace(labels, light="cast")),
        "side-lit": (side_lit, replace(labels, light="side")),
        "two-tone": (lambda image: two_tone(image, at[0], base.face.width), replace(labels, light="two-tone")),
        "jpeg": (heavy_jpeg, labels),
    }
    if name in simple:
        change, changed = simple[name]
        return PoolSource(key, base.face, changed, change(image), at, base=base)
    if name == "small":
        shrunk = small(image, base.face.width)
        scale = shrunk.shape[1] / image.shape[1]
        return PoolSource(key, base.face, labels, shrunk, (at[0] * scale, at[1] * scale), base=base)
    if name == "turned":
        side = turned(Template("source", image, at, at))
        return PoolSource(key, base.face, labels, side.image, side.husband_at, base=base)
    points = probe.find_near(image, at).points
    if name == "rimless":
        drawn = draw_rimless(image, *_eyes(points)[:2])
        return PoolSource(key, base.face, replace(labels, glasses="clear"), drawn, at, base=base)
    if name in ("glasses", "sunglasses"):
        drawn = draw_glasses(image, points, dark=name == "sunglasses")
        glasses: Glasses = "clear" if name == "glasses" else "sunglasses"
        return PoolSource(key, base.face, replace(labels, glasses=glasses), drawn, at, base=base)
    drawers: dict[str, tuple[Callable[[RGBImage, NDArray[np.float32]], tuple[RGBImage, Mask]], Occluder]] = {
        "hand": (draw_hand, "hand"),
        "object": (draw_object, "object"),
        "fringe": (draw_fringe, "hair"),
        "lock": (draw_lock, "hair"),
        "curtain": (draw_curtain, "hair"),
        "brim": (draw_brim, "object"),
    }
    drawer, occluder = drawers[name]
    drawn, mask = drawer(image, points)
    return PoolSource(key, base.face, replace(labels, occluder=occluder), drawn, at, mask, base)


def cases(half: Half, probe: IdentityProbe) -> list[PoolCase]:
    """One case per source of the half, onto the next template face of the same gender (another person)."""
    temps = templates(half)
    targets = [(template, target) for template in temps for target in template.targets]
    turn: dict[str, int] = {}
    result = []
    for source in sources(half, probe):
        gender = source.labels.gender
        same = [pair for pair in targets if pair[1].face.labels.gender == gender] or targets
        start = turn.get(gender, 0)
        for step in range(len(same)):
            template, target = same[(start + step) % len(same)]
            if target.face.person != source.face.person:
                turn[gender] = start + step + 1
                result.append(PoolCase(half, source, template, target))
                break
    return result


# -- drawn glasses and occluders --------------------------------------------------------------------


def _eyes(points: NDArray[np.float32]) -> tuple[NDArray[np.float32], NDArray[np.float32], float, float]:
    right, left = points[36:42].mean(axis=0), points[42:48].mean(axis=0)
    delta = left - right
    return right, left, float(np.hypot(*delta)), float(np.degrees(np.arctan2(delta[1], delta[0])))


def draw_glasses(image: RGBImage, points: NDArray[np.float32], *, dark: bool = False) -> RGBImage:
    """Thin metal frames (or sunglasses: dark lenses in thick frames) drawn on the face's eyes."""
    right, left, distance, angle = _eyes(points)
    out = image.copy()
    if dark:
        axes = (int(round(RIM_AXES[0] * distance)), int(round(RIM_AXES[1] * distance)))
        lens = np.zeros(image.shape[:2], np.uint8)
        for centre in (right, left):
            cv2.ellipse(lens, _pt(centre), axes, angle, 0, 360, 255, -1, cv2.LINE_AA)
        alpha = (lens.astype(np.float32) / 255.0 * 0.9)[..., None]
        out = (out.astype(np.float32) * (1 - alpha) + np.array((18, 18, 22), np.float32) * alpha).astype(np.uint8)
        return draw_frames(out, right, left, colour=(25, 25, 28), thickness_share=0.06)
    return draw_frames(out, right, left)


def draw_frames(
    image: RGBImage,
    right: NDArray[np.float32],
    left: NDArray[np.float32],
    *,
    colour: tuple[int, int, int] = (70, 66, 60),
    thickness_share: float = 0.022,
    axes_share: tuple[float, float] = RIM_AXES,
) -> RGBImage:
    """Frames round the two eye centres (the subject's right first): two oval rims `axes_share` eye distances
    wide and high (half), a bridge and the temple arms, `thickness_share` eye distances thick."""
    delta = left - right
    distance = float(np.hypot(*delta))
    angle = float(np.degrees(np.arctan2(delta[1], delta[0])))
    out = image.copy()
    axes = (int(round(axes_share[0] * distance)), int(round(axes_share[1] * distance)))
    thickness = max(1, int(round(thickness_share * distance)))
    unit = (right - left) / max(distance, 1e-6)
    for centre in (right, left):
        cv2.ellipse(out, _pt(centre), axes, angle, 0, 360, colour, thickness, cv2.LINE_AA)
    inner = axes_share[0] * distance
    cv2.line(out, _pt(right - unit * inner), _pt(left + unit * inner), colour, thickness, cv2.LINE_AA)
    cv2.line(out, _pt(right + unit * inner), _pt(right + unit * 0.75 * distance), colour, thickness, cv2.LINE_AA)
    cv2.line(out, _pt(left - unit * inner), _pt(left - unit * 0.75 * distance), colour, thickness, cv2.LINE_AA)
    return np.ascontiguousarray(out)


def draw_rimless(image: RGBImage, right: NDArray[np.float32], left: NDArray[np.float32]) -> RGBImage:
    """Rimless glasses round the two eye centres (the subject's right first): bare lenses whose cut edges
    catch the light (a thin light line with a faint shadow outside it), held by a thin metal bar across
    the bridge and two temple arms; nothing rims the lenses."""
    distance = float(np.hypot(*(left - right)))
    along = (left - right) / max(distance, 1e-6)
    down = np.array((-along[1], along[0]), np.float32)
    turn = np.linspace(0.0, 2.0 * np.pi, 96, endpoint=False)
    unit = np.stack([np.sign(np.cos(turn)) * np.abs(np.cos(turn)) ** (2 / 3),
                     np.sign(np.sin(turn)) * np.abs(np.sin(turn)) ** (2 / 3)], axis=1)  # a rounded rectangle
    lenses = []
    for centre, side in ((right, -1.0), (left, 1.0)):
        middle = centre + along * side * 0.03 * distance + down * 0.06 * distance
        outline = middle + (unit[:, :1] * 0.4 * distance) * along + (unit[:, 1:] * 0.27 * distance) * down
        lenses.append(np.round(outline * 4).astype(np.int32))
    edge, shade = np.zeros(image.shape[:2], np.uint8), np.zeros(image.shape[:2], np.uint8)
    thin = max(1, int(round(0.018 * distance)))
    cv2.polylines(shade, lenses, True, 255, thin + 2, cv2.LINE_AA, shift=2)
    cv2.polylines(edge, lenses, True, 255, thin, cv2.LINE_AA, shift=2)
    out = image.astype(np.float32)
    for layer, colour, strength in ((shade, (40, 40, 40), 0.12), (edge, (245, 245, 240), 0.35)):
        alpha = (layer.astype(np.float32) / 255.0 * strength)[..., None]
        out = out * (1 - alpha) + np.array(colour, np.float32) * alpha
    out = np.ascontiguousarray(np.clip(out, 0, 255).astype(np.uint8))
    metal, bar = (95, 92, 88), max(1, int(round(0.02 * distance)))
    top = -0.12 * distance
    inner_r, inner_l = right + along * 0.35 * distance + down * top, left - along * 0.35 * distance + down * top
    peak = (inner_r + inner_l) / 2 - down * 0.04 * distance
    cv2.polylines(out, [np.round(np.stack([inner_r, peak, inner_l]) * 4).astype(np.int32)], False, metal, bar,
                  cv2.LINE_AA, shift=2)
    for centre, side in ((right, -1.0), (left, 1.0)):
        start = centre + along * side * 0.42 * distance + down * top
        cv2.line(out, _pt(start), _pt(start + along * side * 0.45 * distance - down * 0.03 * distance), metal, bar,
                 cv2.LINE_AA)
    return out


def draw_hand(image: RGBImage, points: NDArray[np.float32]) -> tuple[RGBImage, Mask]:
    """Four skin-coloured fingers across the forehead, one brow and the top of one eye, each shaded as a
    cylinder (darker at its edges, as a real finger is)."""
    right, left, distance, _ = _eyes(points)
    cheek = image[int(points[29, 1]) - 2 : int(points[29, 1]) + 3, int(points[2, 0]) : int(points[14, 0])]
    skin = np.median(cheek.reshape(-1, 3), axis=0) * np.array((1.08, 1.0, 0.94))
    out = image.astype(np.float32)
    mask = np.zeros(image.shape[:2], np.uint8)
    finger = 0.2 * distance
    top = min(right[1], left[1]) - 0.8 * distance
    x1, x2 = right[0] - 0.9 * distance, left[0] + 0.1 * distance
    for number in range(4):
        y = top + number * 1.2 * finger
        layer = np.zeros(image.shape[:2], np.uint8)
        cv2.line(layer, _pt((x1, y)), _pt((x2 - 0.08 * number * distance, y)), 255, int(round(finger)), cv2.LINE_AA)
        depth = cv2.distanceTransform((layer > 127).astype(np.uint8), cv2.DIST_L2, 5)
        shade = 0.62 + 0.38 * np.sqrt(np.clip(depth / max(1.0, finger / 2), 0, 1))
        alpha = (layer.astype(np.float32) / 255.0)[..., None]
        out = out * (1 - alpha) + skin * shade[..., None] * alpha
        mask = np.maximum(mask, layer)
    return np.ascontiguousarray(np.clip(out, 0, 255).astype(np.uint8)), mask > 127


def draw_object(image: RGBImage, points: NDArray[np.float32]) -> tuple[RGBImage, Mask]:
    """A dark blue phone-sized rectangle held over the left mouth corner and cheek."""
    _, _, distance, _ = _eyes(points)
    centre = points[54] + np.array((0.25 * distance, -0.2 * distance))
    box = cv2.boxPoints(((float(centre[0]), float(centre[1])), (0.55 * distance, 1.0 * distance), 15.0))
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, np.round(box).astype(np.int32), 255, cv2.LINE_AA)
    out = image.copy()
    out[mask > 127] = (28, 36, 92)
    return np.ascontiguousarray(out), mask > 127


def draw_fringe(image: RGBImage, points: NDArray[np.float32]) -> tuple[RGBImage, Mask]:
    """Strands of dark hair falling from above the forehead across it, the last ones over one brow."""
    right, left, distance, _ = _eyes(points)
    brow_y = float(points[17:27, 1].min())
    top = brow_y - 1.1 * distance
    layer = np.zeros(image.shape[:2], np.uint8)
    for number in range(9):
        share = number / 8.0
        start = np.array((right[0] - 0.5 * distance + share * 1.3 * distance, top))
        end = np.array((start[0] + 0.35 * distance, brow_y - 0.5 * distance + share * 0.65 * distance))
        bend = (start + end) / 2.0 + np.array((-0.12 * distance, 0.05 * distance))
        steps = np.linspace(0.0, 1.0, 16)[:, None]
        curve = (1 - steps) ** 2 * start + 2 * (1 - steps) * steps * bend + steps**2 * end
        width = max(1, int(round((0.035 if number % 2 else 0.05) * distance)))
        cv2.polylines(layer, [np.round(curve * 4).astype(np.int32)], False, 255, width, cv2.LINE_AA, shift=2)
    alpha = (layer.astype(np.float32) / 255.0 * 0.9)[..., None]
    out = image.astype(np.float32) * (1 - alpha) + np.array((48, 34, 26), np.float32) * alpha
    return np.ascontiguousarray(np.clip(out, 0, 255).astype(np.uint8)), layer > 127


def draw_lock(image: RGBImage, points: NDArray[np.float32]) -> tuple[RGBImage, Mask]:
    """Seven strands of dark hair falling down the face's right side (the image's left): from above the
    brow's outer end, past the eye's outer corner, to the cheek, with a little grain along them."""
    _, _, distance, _ = _eyes(points)
    brow_end, cheek = points[17], points[3]
    layer = np.zeros(image.shape[:2], np.uint8)
    for number in range(7):
        share = number / 6.0
        start = np.array((brow_end[0] + (share * 0.6 - 0.3) * distance, brow_end[1] - 0.9 * distance))
        end = np.array((cheek[0] + share * 0.5 * distance, cheek[1] + 0.1 * distance))
        bend = (start + end) / 2.0 + np.array((0.25 * distance, 0.0))
        steps = np.linspace(0.0, 1.0, 24)[:, None]
        curve = (1 - steps) ** 2 * start + 2 * (1 - steps) * steps * bend + steps**2 * end
        width = max(1, int(round((0.03 if number % 2 else 0.045) * distance)))
        cv2.polylines(layer, [np.round(curve * 4).astype(np.int32)], False, 255, width, cv2.LINE_AA, shift=2)
    alpha = (layer.astype(np.float32) / 255.0 * 0.92)[..., None]
    grain = 0.85 + 0.3 * np.random.default_rng(0).random(image.shape[:2], dtype=np.float32)[..., None]
    out = image.astype(np.float32) * (1 - alpha) + np.array((48, 34, 26), np.float32) * grain * alpha
    return np.ascontiguousarray(np.clip(out, 0, 255).astype(np.uint8)), layer > 127


def draw_curtain(image: RGBImage, points: NDArray[np.float32]) -> tuple[RGBImage, Mask]:
    """A wide lock of dark hair hanging down the face's left side (the image's right): from above the brow's
    outer end over the temple and the side of the cheek, 0.35 eye distances into the face, its inner edge
    wavy and soft, with a grain of strands along it."""
    _, _, distance, _ = _eyes(points)
    centre = points[30]
    side = points[[26, 16, 15, 14, 13]].astype(np.float32)
    side[0] = side[0] + np.array((0.1 * distance, -1.3 * distance), np.float32)  # up into the hair above the brow
    inward = (centre - side) / np.maximum(np.linalg.norm(centre - side, axis=1, keepdims=True), 1e-6)
    wave = np.array((0.3, 0.4, 0.34, 0.3, 0.1), np.float32)[:, None]  # its end tapers at the cheek
    inner = side + inward * wave * distance
    outer = side - inward * 0.3 * distance
    layer = np.zeros(image.shape[:2], np.uint8)
    outline = np.concatenate([outer, inner[::-1]]) * 4
    cv2.fillPoly(layer, [np.round(outline).astype(np.int32)], 255, cv2.LINE_AA, shift=2)
    soft = cv2.GaussianBlur(layer.astype(np.float32) / 255.0, (0, 0), max(0.8, 0.02 * distance))
    strands = np.random.default_rng(1).random((max(1, image.shape[0] // 8), image.shape[1]), dtype=np.float32)
    grain = 0.75 + 0.5 * cv2.resize(strands, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
    alpha = (soft * 0.95)[..., None]
    out = image.astype(np.float32) * (1 - alpha) + np.array((44, 31, 24), np.float32) * grain[..., None] * alpha
    return np.ascontiguousarray(np.clip(out, 0, 255).astype(np.uint8)), soft > 0.5


def draw_brim(image: RGBImage, points: NDArray[np.float32]) -> tuple[RGBImage, Mask]:
    """A white fur hat's brim worn low and aslant: a band across the forehead, reaching past both sides of the
    face, whose lower edge lies about 0.1 eye distances above one brow's top and 0.3 above the other's."""
    right, left, distance, _ = _eyes(points)
    brow_right, brow_left = points[17:22, 1].min(), points[22:27, 1].min()
    reach = 1.2 * distance
    lower = np.array(
        ((right[0] - reach, brow_right + 0.15 * distance), (left[0] + reach, brow_left - 0.55 * distance)), np.float32
    )
    band = np.concatenate([lower, lower[::-1] - np.array((0.0, 0.9 * distance), np.float32)])
    layer = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(layer, [np.round(band * 4).astype(np.int32)], 255, cv2.LINE_AA, shift=2)
    soft = cv2.GaussianBlur(layer.astype(np.float32) / 255.0, (0, 0), max(0.8, 0.03 * distance))
    fur = 0.85 + 0.15 * np.random.default_rng(2).random(image.shape[:2], dtype=np.float32)
    alpha = soft[..., None]
    out = image.astype(np.float32) * (1 - alpha) + np.array((238, 236, 232), np.float32) * fur[..., None] * alpha
    return np.ascontiguousarray(np.clip(out, 0, 255).astype(np.uint8)), soft > 0.5


def _pt(point: NDArray[np.float32] | tuple[float, float]) -> tuple[int, int]:
    return int(round(float(point[0]))), int(round(float(point[1])))

