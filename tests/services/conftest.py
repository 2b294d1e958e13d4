from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.context import AppContext
from pipeline.face import FaceEngine
from tests.conftest import make_settings, open_context


@pytest.fixture
def ctx(tmp_path: Path, classic: FaceEngine) -> Iterator[AppContext]:
    context = open_context(make_settings(tmp_path / "data"), classic)
    yield context
    context.dispose()


@pytest.fixture
def pg_ctx(tmp_path: Path, classic: FaceEngine, postgres_url: str) -> Iterator[AppContext]:
    context = open_context(make_settings(tmp_path / "data", DATABASE_URL=postgres_url), classic)
    yield context
    context.dispose()
