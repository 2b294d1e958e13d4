"""FACESWAP_AUTO_DOWNLOAD: progress in the engine status line, and insightface without a restart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.context import AppContext
from app.services.engine_status import engine_status, start_model_download
from pipeline.face import FaceEngine
from tests.conftest import make_settings, open_context
from tests.model_host import closed_port_url, serve_folder
from tests.pipeline.insight_fixtures import TinyModels, tiny_models  # noqa: F401  (fixture)


def _auto_ctx(tmp_path: Path, classic: FaceEngine, base_url: str) -> AppContext:
    settings = make_settings(
        tmp_path / "data", FACESWAP_ENGINE="auto", FACESWAP_AUTO_DOWNLOAD=True, FACESWAP_MODELS_BASE_URL=base_url
    )
    return open_context(settings, classic)


@pytest.fixture
def offline_ctx(tmp_path: Path, classic: FaceEngine) -> Iterator[AppContext]:
    ctx = _auto_ctx(tmp_path, classic, closed_port_url())
    yield ctx
    ctx.dispose()


def test_offline_the_status_line_says_classic_and_why_within_two_seconds(offline_ctx: AppContext) -> None:
    started = time.monotonic()
    assert start_model_download(offline_ctx) is True
    assert offline_ctx.model_download is not None
    offline_ctx.model_download.wait(2.0)
    status = engine_status(offline_ctx)
    assert time.monotonic() - started < 2.0
    assert status.name == "classic" and status.line == "classic (offline)"
    assert status.hint is not None and status.hint.startswith("insightface unavailable, staying on classic")
    assert "could not download" in status.hint
    assert status.ready  # nothing more will change: the UI stops polling


def test_no_download_without_the_setting(tmp_path: Path, classic: FaceEngine) -> None:
    ctx = open_context(make_settings(tmp_path / "data", FACESWAP_ENGINE="auto"), classic)
    try:
        assert start_model_download(ctx) is False
        assert ctx.model_download is None
        assert "models download" in (engine_status(ctx).hint or "")
    finally:
        ctx.dispose()


def test_switches_to_insightface_once_the_files_verify(
    tmp_path: Path, classic: FaceEngine, tiny_models: TinyModels  # noqa: F811
) -> None:
    with serve_folder(tiny_models.directory, chunk_delay=0.003) as host:
        ctx = _auto_ctx(tmp_path, classic, host.url)
        ctx.model_manifest = tiny_models.manifest  # files of the right names whose sha256 the test pins
        try:
            assert engine_status(ctx).name == "classic"
            assert start_model_download(ctx) is True
            lines = []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                status = engine_status(ctx)
                lines.append(status.hint or "")
                if status.ready:
                    break
                time.sleep(0.01)
            assert any("insightface: downloading" in line and "%" in line for line in lines), lines[:5]
            assert status.ready and status.name == "insightface", status
            assert ctx.face_engine().name == "insightface"
            assert status.line.startswith("insightface on ")
        finally:
            ctx.dispose()
