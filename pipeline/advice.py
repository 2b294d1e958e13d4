"""Advice about a couple member's photo, shown at upload. Engine-neutral: it needs a `Face`, and asks the
engine (an injected check) whether the face wears glasses, so the note and the swap agree.

Each piece of advice is one short sentence; an empty list means nothing to say.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from pipeline.face import Face, RGBImage, SourceFace

GLASSES_ADVICE: Final = "glasses on this photo: results look best without them"
SMALL_FACE_ADVICE: Final = "the face on this photo is small: a closer photo gives a sharper result"
SMALL_FACE_PX: Final = 80.0  # faces narrower than this (bbox width, pixels) get blurry once upscaled

GlassesCheck = Callable[[SourceFace], bool]  # the engine's own answer: does the swap treat it as glasses?


def glasses_advice(role: str | None = None) -> str:
    """The glasses note, naming the photo when the role (husband, wife) is known."""
    return GLASSES_ADVICE if role is None else GLASSES_ADVICE.replace("this photo", f"the {role} photo")


def small_face_advice(role: str | None = None) -> str:
    return SMALL_FACE_ADVICE if role is None else SMALL_FACE_ADVICE.replace("this photo", f"the {role} photo")


def source_advice(
    image: RGBImage, face: Face, *, wears_glasses: GlassesCheck | None = None, role: str | None = None
) -> list[str]:
    """What to tell the user about this source photo and face (glasses, a small face).

    Glasses are reported only through `wears_glasses`, the engine's check (e.g. ClassicEngine.wears_glasses),
    which is the very decision its swap acts on; without one, nothing is said about glasses.
    """
    advice: list[str] = []
    if wears_glasses is not None and wears_glasses(SourceFace(face, image)):
        advice.append(glasses_advice(role))
    x1, _, x2, _ = face.bbox
    if x2 - x1 < SMALL_FACE_PX:
        advice.append(small_face_advice(role))
    return advice
