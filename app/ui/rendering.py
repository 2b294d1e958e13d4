"""Drawing for the UI: numbered face boxes with genders, face thumbnails, small previews.

Pure functions on RGB arrays; they only draw what the services already decided.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pipeline.face import RGBImage

GENDER_COLOURS = {"male": (37, 99, 235), "female": (219, 39, 119), "unknown": (113, 113, 122)}
GENDER_WORDS = {"male": "man", "female": "woman", "unknown": "unknown"}
PREVIEW_SIDE = 900
MIN_PREVIEW_SIDE = 480  # tiny photos are enlarged so their box and label stay readable
THUMB_SIDE = 360
FACE_THUMB_SIDE = 128


@dataclass(frozen=True)
class FaceBox:
    bbox: tuple[float, float, float, float]
    gender: str
    label: str
    highlight: bool = True


def gender_word(gender: str) -> str:
    return GENDER_WORDS.get(gender, "unknown")


def shrink(pixels: RGBImage, max_side: int, min_side: int = 0) -> tuple[Image.Image, float]:
    """A PIL copy whose long side is at most `max_side` (and at least `min_side`), and the scale applied."""
    image = Image.fromarray(pixels)
    scale = min(1.0, max_side / max(image.size))
    if min_side and max(image.size) < min_side:
        scale = min_side / max(image.size)
    if scale != 1.0:
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.LANCZOS)
    return image, scale


def draw_faces(
    pixels: RGBImage, boxes: Sequence[FaceBox], *, max_side: int = PREVIEW_SIDE, text_ratio: int = 20
) -> RGBImage:
    """The image (downscaled for display) with each face boxed, coloured by gender and labelled.

    Labels are 1/`text_ratio` of the long side: larger for one face, smaller for a crowded template.
    """
    image, scale = shrink(pixels, max_side, MIN_PREVIEW_SIDE)
    draw = ImageDraw.Draw(image, "RGBA")
    line = max(2, round(max(image.size) / 200))
    font = _font(max(14, round(max(image.size) / text_ratio)))
    for box in boxes:
        x1, y1, x2, y2 = (v * scale for v in box.bbox)
        colour = GENDER_COLOURS.get(box.gender, GENDER_COLOURS["unknown"])
        alpha = 255 if box.highlight else 120
        draw.rectangle((x1, y1, x2, y2), outline=(*colour, alpha), width=line)
        left, top, right, bottom = draw.textbbox((0, 0), box.label, font=font)
        pad = max(3, line)
        width, height = right - left + 2 * pad, bottom - top + 2 * pad
        ty = y1 - height if y1 - height >= 0 else y1
        tx = min(max(0.0, x1), max(0.0, image.width - width))
        draw.rectangle((tx, ty, tx + width, ty + height), fill=(*colour, 230 if box.highlight else 150))
        draw.text((tx + pad - left, ty + pad - top), box.label, fill=(255, 255, 255, 255), font=font)
    return np.asarray(image)


def template_boxes(faces: Sequence[dict[str, Any]]) -> list[FaceBox]:
    """Boxes numbered by the faces' JSON index (0, 1, ... left to right), as --mapping and the notes number them."""
    return [
        FaceBox(tuple(face["bbox"]), face["gender"], f"{face['index']} · {gender_word(face['gender'])}")  # type: ignore[arg-type]
        for face in faces
    ]


def face_thumbnail(pixels: RGBImage, bbox: Sequence[float], *, side: int = FACE_THUMB_SIDE) -> RGBImage:
    """A square crop around one face with some margin, resized to `side`."""
    height, width = pixels.shape[:2]
    x1, y1, x2, y2 = bbox
    size = max(x2 - x1, y2 - y1) * 1.5
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left, top = int(max(0, cx - size / 2)), int(max(0, cy - size / 2))
    right, bottom = int(min(width, cx + size / 2)), int(min(height, cy + size / 2))
    if right - left < 2 or bottom - top < 2:
        left, top, right, bottom = 0, 0, width, height
    crop = Image.fromarray(pixels[top:bottom, left:right])
    crop.thumbnail((side, side), Image.LANCZOS)
    canvas = Image.new("RGB", (side, side), (244, 244, 245))
    canvas.paste(crop, ((side - crop.width) // 2, (side - crop.height) // 2))
    return np.asarray(canvas)


def preview(pixels: RGBImage, *, max_side: int = THUMB_SIDE) -> RGBImage:
    return np.asarray(shrink(pixels, max_side)[0])


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType
        return ImageFont.load_default()
