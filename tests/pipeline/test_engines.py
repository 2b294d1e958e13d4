"""Engine selection: auto picks insightface only when its files verify; engines are built lazily."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.engines import create_engine, describe_engine, resolve_engine
from pipeline.insight.engine import InsightFaceEngine
from tests.pipeline.insight_fixtures import TinyModels

ROOT = Path(__file__).resolve().parents[2]


def test_auto_picks_classic_when_the_files_are_missing(tmp_path: Path) -> None:
    decision = resolve_engine("auto", tmp_path)
    assert decision.name == "classic"
    assert f"insightface model files missing in {tmp_path}" in decision.reason
    assert "python app.py models download" in decision.reason


def test_auto_picks_insightface_when_the_files_verify(tiny_models: TinyModels) -> None:
    decision = resolve_engine("auto", tiny_models.directory, tiny_models.manifest)
    assert decision.name == "insightface"
    assert "verified" in decision.reason


def test_auto_falls_back_to_classic_when_a_file_is_corrupt(tiny_models: TinyModels, tmp_path: Path) -> None:
    directory = tmp_path / "models"
    shutil.copytree(tiny_models.directory, directory)
    (directory / "w600k_r50.onnx").write_bytes(b"oops")
    decision = resolve_engine("auto", directory, tiny_models.manifest)
    assert decision.name == "classic"
    assert "w600k_r50.onnx: wrong size" in decision.reason


def test_an_explicit_choice_is_kept_and_explained(tmp_path: Path) -> None:
    assert resolve_engine("classic", tmp_path).name == "classic"
    forced = resolve_engine("insightface", tmp_path)
    assert forced.name == "insightface"
    assert "not usable" in forced.reason and "python app.py models download" in forced.reason
    with pytest.raises(ValueError):
        resolve_engine("fastest", tmp_path)  # type: ignore[arg-type]


def test_create_engine_builds_each_engine_without_loading(tiny_models: TinyModels, tmp_path: Path) -> None:
    classic = create_engine("classic", tmp_path)
    assert classic.name == "classic"
    assert describe_engine(classic) == "classic (offline)"
    insight = create_engine("insightface", tmp_path / "nothing-here")  # no files: fine until loaded
    assert isinstance(insight, InsightFaceEngine)
    with pytest.raises(ValueError):
        create_engine("dlib", tmp_path)  # type: ignore[arg-type]


def test_describe_names_the_provider_in_use(insightface_engine: InsightFaceEngine) -> None:
    label = insightface_engine.provider.removesuffix("ExecutionProvider")
    assert describe_engine(insightface_engine) == f"insightface on {label}"
    assert label in {"CPU", "CUDA"}


def test_selection_imports_no_engine() -> None:
    """resolve_engine and describe_engine run without importing insightface or either engine (the light
    pipeline.insight.model_files catalogue is all they read)."""
    code = (
        "import sys, tempfile; from pathlib import Path; from pipeline.engines import resolve_engine; "
        "resolve_engine('auto', Path(tempfile.mkdtemp())); "
        "names = ('insightface', 'onnxruntime', 'pipeline.classic', 'pipeline.insight.engine'); "
        "print(sorted(m for m in names if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
