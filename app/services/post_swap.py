"""Steps applied, in order, to every swapped image after `engine.swap` (both engines).

The AI-generated mark is the first step. A face enhancer or any later step is one class with an
`apply` method, added to `default_steps` (or passed to `render_swap`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from pipeline.face import Assignment, RGBImage
from pipeline.watermark import add_ai_mark


class PostSwapStep(Protocol):
    """One step after the swap: takes the swapped image and the assignments, returns a new image."""

    name: str

    def apply(self, image: RGBImage, assignments: Sequence[Assignment]) -> RGBImage: ...


@dataclass(frozen=True)
class AIMark:
    """The visible "AI-generated" mark that every result carries."""

    name: str = "ai_mark"

    def apply(self, image: RGBImage, assignments: Sequence[Assignment]) -> RGBImage:
        return add_ai_mark(image)


def default_steps() -> tuple[PostSwapStep, ...]:
    """The ordered steps services apply after every swap; the AI mark comes first."""
    return (AIMark(),)


def apply_steps(image: RGBImage, assignments: Sequence[Assignment], steps: Sequence[PostSwapStep]) -> RGBImage:
    for step in steps:
        image = step.apply(image, assignments)
    return image
