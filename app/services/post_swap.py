"""Steps applied, in order, to every swapped image after `engine.swap` (both engines).

The face enhancer (when asked for) runs first, on the swapped faces only; the AI-generated mark
comes after it, so the mark is drawn on the final pixels and never enhanced. Any later step is one
class with an `apply` method, added to `default_steps` (or passed to `render_swap`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from pipeline.face import Assignment, RGBImage
from pipeline.watermark import add_ai_mark

if TYPE_CHECKING:
    from pipeline.enhance.enhancer import FaceEnhancer


@dataclass(frozen=True)
class StepResult:
    """A step's new image, and which assignments (by position) had their face enhanced."""

    image: RGBImage
    enhanced: frozenset[int] = field(default_factory=frozenset)


class PostSwapStep(Protocol):
    """One step after the swap: takes the swapped image and the assignments, returns a new image
    (or a StepResult that also says which faces it enhanced)."""

    name: str

    def apply(self, image: RGBImage, assignments: Sequence[Assignment]) -> RGBImage | StepResult: ...


@dataclass(frozen=True)
class AIMark:
    """The visible "AI-generated" mark that every result carries."""

    name: str = "ai_mark"

    def apply(self, image: RGBImage, assignments: Sequence[Assignment]) -> RGBImage:
        return add_ai_mark(image)


@dataclass(frozen=True)
class FaceEnhance:
    """The face enhancer on each assignment's target face, blended in at `strength` (0..1)."""

    enhancer: FaceEnhancer
    strength: float
    name: str = "face_enhance"

    def apply(self, image: RGBImage, assignments: Sequence[Assignment]) -> StepResult:
        outcome = self.enhancer.enhance(image, [a.target for a in assignments], self.strength)
        return StepResult(outcome.image, frozenset(i for i, done in enumerate(outcome.enhanced) if done))


def default_steps(enhance: FaceEnhance | None = None) -> tuple[PostSwapStep, ...]:
    """The ordered steps services apply after every swap: the enhancer when asked for, then the AI mark."""
    return (AIMark(),) if enhance is None else (enhance, AIMark())


def apply_steps(image: RGBImage, assignments: Sequence[Assignment], steps: Sequence[PostSwapStep]) -> StepResult:
    enhanced: set[int] = set()
    for step in steps:
        result = step.apply(image, assignments)
        if isinstance(result, StepResult):
            image, enhanced = result.image, enhanced | result.enhanced
        else:
            image = result
    return StepResult(image, frozenset(enhanced))
