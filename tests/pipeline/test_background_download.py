"""The background model download against a local model host serving tiny files of the real names."""

from __future__ import annotations

import time
from pathlib import Path

from pipeline.background_download import BackgroundDownload, DownloadProgress
from pipeline.insight.model_files import INSIGHTFACE_MANIFEST
from pipeline.model_download import all_verified, file_sha256
from tests.model_host import closed_port_url, serve_folder
from tests.pipeline.insight_fixtures import TinyModels


def test_downloads_verifies_reports_progress_and_calls_back(tiny_models: TinyModels, tmp_path: Path) -> None:
    target = tmp_path / "models"
    seen: list[DownloadProgress] = []
    called: list[bool] = []
    with serve_folder(tiny_models.directory, chunk_delay=0.002) as host:
        download = BackgroundDownload(
            target, base_url_override=host.url, manifest=tiny_models.manifest, on_verified=lambda: called.append(True)
        )
        download.start()
        download.start()  # a second start does nothing
        deadline = time.monotonic() + 30
        while not download.progress().finished and time.monotonic() < deadline:
            seen.append(download.progress())
            time.sleep(0.005)
        final = download.wait(5)
    assert final.state == "verified", final.describe()
    assert called == [True]
    assert all_verified(target, tiny_models.manifest)
    for model_file in tiny_models.manifest.files:
        assert file_sha256(target / model_file.name) == model_file.sha256  # the pins the test holds
    assert sorted(host.requests) == sorted(f"/{f.name}" for f in tiny_models.manifest.files)
    downloading = [p for p in seen if p.state == "downloading"]
    assert downloading, "no progress was reported while bytes arrived"
    assert any(0 < p.received < p.expected for p in downloading)
    assert "%" in downloading[-1].describe() and downloading[-1].file_name in downloading[-1].describe()


def test_offline_it_gives_up_within_two_seconds_and_says_why(tmp_path: Path) -> None:
    started = time.monotonic()
    download = BackgroundDownload(tmp_path / "models", manifest=INSIGHTFACE_MANIFEST, base_url_override=closed_port_url())
    download.start()
    final = download.wait(5)
    assert time.monotonic() - started < 2.0
    assert final.state == "failed"
    assert "could not download" in (final.error or "")
    assert final.describe().startswith("model download failed: ")
    assert not all_verified(tmp_path / "models", INSIGHTFACE_MANIFEST)


def test_a_file_with_another_checksum_is_not_installed(tiny_models: TinyModels, tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    for model_file in tiny_models.manifest.files:
        data = (tiny_models.directory / model_file.name).read_bytes()
        if model_file.role == "swapper":
            data = bytes([data[0] ^ 0xFF]) + data[1:]  # same size, other bytes
        (served / model_file.name).write_bytes(data)
    called: list[bool] = []
    with serve_folder(served) as host:
        download = BackgroundDownload(
            tmp_path / "models", base_url_override=host.url, manifest=tiny_models.manifest,
            on_verified=lambda: called.append(True),
        )
        download.start()
        final = download.wait(10)
    assert final.state == "failed" and "does not match the pinned" in (final.error or "")
    assert called == []
    assert not (tmp_path / "models" / "inswapper_128.onnx").exists()
