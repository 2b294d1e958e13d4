"""One real source and target for the per-stage tests: Tom Hanks's face put on the astronaut's."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from numpy.typing import NDArray

from pipeline.classic import ClassicEngine
from pipeline.classic.mesh import CanonicalFace, Mesh
from pipeline.classic.settings import ClassicSettings
from pipeline.classic.source import PreparedSource, prepare_source
from pipeline.face import Face


@dataclass(frozen=True)
class StagePair:
    target_image: NDArray[np.uint8]
    target: Face
    target_mesh: Mesh
    source: PreparedSource
    canonical: CanonicalFace


@pytest.fixture(scope="module")
def stage_pair(
    classic_engine: ClassicEngine, astronaut_image: NDArray[np.uint8], tom_hanks_image: NDArray[np.uint8]
) -> StagePair:
    [source_face] = classic_engine.detect(tom_hanks_image)
    [target] = classic_engine.detect(astronaut_image)
    canonical = classic_engine._loaded().mesher.canonical
    source_mesh, target_mesh = source_face.mesh_array(), target.mesh_array()
    assert source_mesh is not None and target_mesh is not None
    source = prepare_source(tom_hanks_image, source_mesh, canonical, ClassicSettings())
    return StagePair(astronaut_image, target, target_mesh, source, canonical)
