"""The post-swap seam: services apply an ordered list of steps after engine.swap (the AI mark last)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from app.services.post_swap import AIMark, apply_steps, default_steps
from app.services.swapping import render_swap
from pipeline.face import Assignment, FaceEngine, RGBImage, SourceFace
from pipeline.intake import read_image_file
from pipeline.watermark import add_ai_mark
from tests.fixtures_data import SamplePhotos


@dataclass
class Recorder:
    """A later step (say, a face enhancer): records what it was given and inverts the image."""

    name: str = "recorder"
    seen: list[tuple[RGBImage, int]] = field(default_factory=list)

    def apply(self, image: RGBImage, assignments: Sequence[Assignment]) -> RGBImage:
        self.seen.append((image.copy(), len(assignments)))
        return (255 - image).astype(np.uint8)


def test_the_ai_mark_is_the_default_step() -> None:
    steps = default_steps()
    assert [type(step) for step in steps] == [AIMark]
    image = np.full((64, 96, 3), 128, np.uint8)
    assert np.array_equal(apply_steps(image, [], steps).image, add_ai_mark(image))


def test_render_swap_runs_the_steps_in_order_after_the_swap(classic: FaceEngine, photos: SamplePhotos) -> None:
    template = read_image_file(str(photos.pair), max_side=1600).array
    faces = classic.detect(template)
    husband_pixels = read_image_file(str(photos.husband), max_side=1600).array
    wife_pixels = read_image_file(str(photos.wife), max_side=1600).array
    husband = SourceFace(classic.detect(husband_pixels)[0], husband_pixels)
    wife = SourceFace(classic.detect(wife_pixels)[0], wife_pixels)
    recorder = Recorder()

    render = render_swap(classic, template, faces, husband, wife, steps=[AIMark(), recorder])

    [(marked, assignments)] = recorder.seen
    assert assignments == sum(role != "keep" for role in render.roles.values()) == 2
    assert np.array_equal(render.image, 255 - marked)  # the recorder ran last, on the marked image
    unmarked = render_swap(classic, template, faces, husband, wife, steps=[]).image
    assert np.array_equal(marked, add_ai_mark(unmarked))
