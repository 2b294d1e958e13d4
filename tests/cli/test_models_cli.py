"""`models status` says which engine runs and why; a bad file is named, not loaded."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_helpers import run_cli


def test_status_without_files_falls_back_to_classic(tmp_path: Path) -> None:
    result = run_cli("models", "status", "--json", env={"FACESWAP_DATA_DIR": str(tmp_path), "FACESWAP_ENGINE": "auto"})
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["engine"] == "classic"
    assert "models download" in status["reason"]
    assert {f["state"] for f in status["files"]} == {"missing"}


def test_truncated_file_is_reported_and_insightface_refused(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "inswapper_128.onnx").write_bytes(b"\x08\x01" * 100)
    env = {"FACESWAP_DATA_DIR": str(tmp_path), "FACESWAP_ENGINE": "insightface"}
    status = run_cli("models", "status", env=env)
    assert "inswapper_128.onnx: wrong size" in status.stdout
    from PIL import Image

    Image.new("RGB", (64, 64), "white").save(tmp_path / "plain.png")
    added = run_cli("templates", "add", str(tmp_path / "plain.png"), env=env)
    assert added.returncode == 2, added.stderr
    assert "inswapper_128.onnx" in added.stderr and "Traceback" not in added.stderr
    assert not (tmp_path / "images").exists(), "nothing may be stored when the engine is unusable"


def test_status_names_the_face_enhancer_and_why_it_is_unavailable(tmp_path: Path) -> None:
    result = run_cli("models", "status", "--json", env={"FACESWAP_DATA_DIR": str(tmp_path)})
    status = json.loads(result.stdout)
    assert status["enhancer"]["available"] is False
    assert "GFPGANv1.4.onnx is not in" in status["enhancer"]["reason"]
    assert {"name": "GFPGANv1.4.onnx", "for": "face enhancer", "state": "missing"} in status["files"]


def test_download_offline_names_each_set_and_leaves_nothing(tmp_path: Path) -> None:
    from tests.model_host import closed_port_url

    env = {"FACESWAP_DATA_DIR": str(tmp_path), "FACESWAP_MODELS_BASE_URL": closed_port_url()}
    result = run_cli("models", "download", env=env)
    assert result.returncode == 1, result.stderr
    assert "insightface: could not download buffalo_l.zip" in result.stderr
    assert "face enhancer: could not download GFPGANv1.4.onnx" in result.stderr
    assert "Traceback" not in result.stderr
    assert list((tmp_path / "models").iterdir()) == []
