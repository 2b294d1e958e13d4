"""Fixtures that build the insightface engine and the face enhancer on tiny ONNX models (tiny_models.py,
tiny_enhancer.py).

tests/pipeline/conftest.py star-imports this module, so these fixtures serve every pipeline test,
including the engine contract tests parametrized over both engines.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.enhance.enhancer import FaceEnhancer
from pipeline.insight.engine import InsightFaceEngine
from pipeline.model_download import ModelManifest
from tests.pipeline.tiny_enhancer import TinyEnhancer, write_tiny_enhancer
from tests.pipeline.tiny_models import write_tiny_models

__all__ = ["TinyModels", "face_enhancer", "insightface_engine", "tiny_enhancer", "tiny_models"]


@dataclass(frozen=True)
class TinyModels:
    directory: Path
    manifest: ModelManifest


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> TinyModels:
    """The four tiny models under their real names, and a manifest pinning their own sha256 sums."""
    directory = tmp_path_factory.mktemp("tiny_insightface_models")
    return TinyModels(directory=directory, manifest=write_tiny_models(directory))


@pytest.fixture(scope="session")
def insightface_engine(tiny_models: TinyModels) -> InsightFaceEngine:
    """A warmed InsightFaceEngine on the tiny models, on CPU."""
    engine = InsightFaceEngine(tiny_models.directory, manifest=tiny_models.manifest, providers=["CPUExecutionProvider"])
    engine.warmup()
    return engine


@pytest.fixture(scope="session")
def tiny_enhancer(tmp_path_factory: pytest.TempPathFactory) -> TinyEnhancer:
    """The GFPGAN stand-in under its real name, with a manifest pinning it."""
    return write_tiny_enhancer(tmp_path_factory.mktemp("tiny_enhancer"))


@pytest.fixture(scope="session")
def face_enhancer(tiny_enhancer: TinyEnhancer) -> FaceEnhancer:
    """A FaceEnhancer on the stand-in, on CPU."""
    return FaceEnhancer(tiny_enhancer.directory, manifest=tiny_enhancer.manifest, providers=["CPUExecutionProvider"])
