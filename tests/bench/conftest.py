"""Bench fixtures: one warm classic engine, and one run of the quality harness for every gate test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.classic import ClassicEngine
from tests.conftest import require_service


@pytest.fixture(scope="session")
def classic_engine() -> ClassicEngine:
    engine = ClassicEngine()
    engine.warmup()
    return engine


@pytest.fixture(scope="session")
def quality_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """`run_quality` on the classic engine over the whole stress set, with its sheet (about 40 s)."""
    from app.bench.quality.photos import OPENCV_DOC_HINT, opencv_doc_available
    from app.bench.quality.report import run_quality

    require_service(opencv_doc_available(), f"the stress set needs opencv-doc's portraits; {OPENCV_DOC_HINT}")
    sheet = tmp_path_factory.mktemp("quality") / "sheet.jpg"
    engine = ClassicEngine()
    report, _ = run_quality(engine, sheet=sheet)
    return report, sheet
