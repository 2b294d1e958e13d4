"""`templates add` and `swap` as a user runs them: JSON contract and exit codes 0, 1, 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_helpers import run_cli
from tests.fixtures_data import SamplePhotos, write_sample_photos


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], SamplePhotos, dict[str, int]]:
    base = tmp_path_factory.mktemp("cli")
    photos = write_sample_photos(base / "photos")
    env = {"FACESWAP_DATA_DIR": str(base / "data")}
    added = run_cli("templates", "add", str(photos.pair), str(photos.landscape), "--json", env=env)
    assert added.returncode == 1, added.stderr  # the faceless one fails preprocessing
    data = json.loads(added.stdout)["templates"]
    assert [t["status"] for t in data] == ["completed", "failed"]
    assert set(data[0]) >= {"id", "name", "status", "faces"}
    return env, photos, {"pair": data[0]["id"], "blank": data[1]["id"]}


def test_swap_json_contract_and_exit_0(cli_env: tuple, tmp_path: Path) -> None:
    env, photos, ids = cli_env
    out = tmp_path / "out"
    result = run_cli(
        "swap", "--husband", str(photos.husband), "--wife", str(photos.wife),
        "--template", str(ids["pair"]), "--out", str(out), "--json", env=env,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) >= {"batch_id", "engine", "status", "results"}
    assert report["engine"] == "classic" and report["status"] == "completed"
    [entry] = report["results"]
    assert set(entry) >= {"template_id", "status", "error", "output", "seconds", "faces"}
    assert Path(entry["output"]).parent == out.resolve() and Path(entry["output"]).exists()
    for face in entry["faces"]:
        assert set(face) >= {"index", "bbox", "gender", "gender_score", "role"}
    status = run_cli("batch", "status", report["batch_id"], "--json", env=env)
    assert status.returncode == 0 and json.loads(status.stdout)["batch_id"] == report["batch_id"]


def test_failed_template_gives_exit_1(cli_env: tuple) -> None:
    env, photos, ids = cli_env
    result = run_cli(
        "swap", "--husband", str(photos.husband), "--wife", str(photos.wife),
        "--template", str(ids["pair"]), "--template", str(ids["blank"]), "--json", env=env,
    )
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["status"] == "partial"


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("unreadable", "not a recognised image"),
        ("no_face", "no face found in the husband photo"),
        ("unknown_template", "do not exist"),
        ("bad_mapping", "not valid json"),
        ("foreign_template_key", "not in the batch"),
    ],
)
def test_refusals_exit_2_with_one_line(cli_env: tuple, tmp_path: Path, case: str, expected: str) -> None:
    env, photos, ids = cli_env
    husband, template, extra = str(photos.husband), str(ids["pair"]), []
    if case == "unreadable":
        husband = str(tmp_path / "fake.jpg")
        Path(husband).write_text("hello")
    elif case == "no_face":
        husband = str(photos.landscape)
    elif case == "unknown_template":
        template = "9999"
    elif case == "bad_mapping":
        extra = ["--mapping", "{nope"]
    else:
        extra = ["--mapping", '{"x": {"0": "wife"}}']
    photos_dir = Path(env["FACESWAP_DATA_DIR"]) / "images" / "photos"
    before = sorted(photos_dir.rglob("*")) if photos_dir.exists() else []
    result = run_cli("swap", "--husband", husband, "--wife", str(photos.wife), "--template", template, *extra, env=env)
    assert result.returncode == 2
    after = sorted(photos_dir.rglob("*")) if photos_dir.exists() else []
    assert after == before, "a refused swap must not leave photos behind"
    assert expected in result.stderr.lower()
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
