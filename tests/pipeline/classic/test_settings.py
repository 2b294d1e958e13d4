"""The classic engine's tunables are frozen per-stage settings that a harness sweeps without patching."""

from __future__ import annotations

import dataclasses
from dataclasses import replace

import numpy as np
import pytest
from numpy.typing import NDArray

from pipeline.classic import ClassicEngine
from pipeline.classic.settings import ClassicSettings, WarpSettings
from pipeline.face import Assignment, SourceFace


def test_settings_are_frozen() -> None:
    settings = ClassicSettings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.warp.geometry_share = 0.5  # type: ignore[misc]


def test_a_swept_setting_changes_the_swap_and_the_default_does_not(
    classic_engine: ClassicEngine, astronaut_image: NDArray[np.uint8], tom_hanks_image: NDArray[np.uint8]
) -> None:
    [target] = classic_engine.detect(astronaut_image)
    [source] = classic_engine.detect(tom_hanks_image)

    def swap(engine: ClassicEngine) -> NDArray[np.uint8]:
        return engine.swap(astronaut_image, [Assignment(target, SourceFace(source, tom_hanks_image))])

    swept = ClassicEngine(settings=replace(ClassicSettings(), warp=replace(WarpSettings(), geometry_share=0.0)))
    default = swap(classic_engine)
    assert np.array_equal(swap(ClassicEngine(settings=ClassicSettings())), default)
    assert not np.array_equal(swap(swept), default)
