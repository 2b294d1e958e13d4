"""Shared pipeline fixtures: the classic engine, sample photos, and `face_engine` over both engines."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from pipeline.classic import ClassicEngine
from pipeline.face import ENGINE_NAMES, Face, FaceEngine
from pipeline.intake import read_image_file
from pipeline.samples import astronaut_rgb, sample_paths
from tests.pipeline.insight_fixtures import *  # noqa: F401,F403


@pytest.fixture(scope="session")
def classic_engine() -> ClassicEngine:
    engine = ClassicEngine()
    engine.warmup()
    return engine


@pytest.fixture(params=list(ENGINE_NAMES))
def face_engine(request: pytest.FixtureRequest) -> FaceEngine:
    """Each engine in turn; contract tests take this fixture only."""
    try:
        return request.getfixturevalue(f"{request.param}_engine")
    except pytest.FixtureLookupError:
        pytest.skip(f"no `{request.param}_engine` fixture is defined yet")


@pytest.fixture(scope="session")
def t1_image() -> NDArray[np.uint8]:
    image = read_image_file(sample_paths().t1).array
    image.setflags(write=False)
    return image


@pytest.fixture(scope="session")
def tom_hanks_image() -> NDArray[np.uint8]:
    image = read_image_file(sample_paths().tom_hanks).array
    image.setflags(write=False)
    return image


@pytest.fixture(scope="session")
def astronaut_image() -> NDArray[np.uint8]:
    image = astronaut_rgb()
    image.setflags(write=False)
    return image


@pytest.fixture(scope="session")
def classic_t1_faces(classic_engine: ClassicEngine, t1_image: NDArray[np.uint8]) -> list[Face]:
    return classic_engine.detect(t1_image)
