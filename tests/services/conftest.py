from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings
from app.context import AppContext, build_context
from db import migrate
from pipeline.face import FaceEngine
from tests.conftest import make_settings
from tests.fixtures_data import SamplePhotos, write_sample_photos


@pytest.fixture(scope="session")
def photos(tmp_path_factory: pytest.TempPathFactory) -> SamplePhotos:
    return write_sample_photos(tmp_path_factory.mktemp("photos"))


@pytest.fixture(scope="session")
def classic(tmp_path_factory: pytest.TempPathFactory) -> FaceEngine:
    from pipeline.engines import create_engine

    engine = create_engine("classic", tmp_path_factory.mktemp("models"))
    engine.warmup()
    return engine


def _context(settings: Settings, engine: FaceEngine) -> AppContext:
    ctx = build_context(settings)
    migrate.upgrade(ctx.db_engine)
    ctx.use_face_engine(engine)
    return ctx


@pytest.fixture
def ctx(tmp_path: Path, classic: FaceEngine) -> Iterator[AppContext]:
    context = _context(make_settings(tmp_path / "data"), classic)
    yield context
    context.dispose()


@pytest.fixture
def pg_ctx(tmp_path: Path, classic: FaceEngine, postgres_url: str) -> Iterator[AppContext]:
    context = _context(make_settings(tmp_path / "data", DATABASE_URL=postgres_url), classic)
    yield context
    context.dispose()
