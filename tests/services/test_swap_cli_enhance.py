"""`swap --enhance [STRENGTH]`: refused in one line (exit 2) without the enhancer's file or with a bad
strength; with the file (the GFPGAN stand-in, pinned for the test) the JSON says which faces were enhanced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from pipeline.enhance.enhancer import FaceEnhancer
from tests.cli_helpers import run_cli
from tests.pipeline.insight_fixtures import tiny_enhancer  # noqa: F401  (fixture)
from tests.pipeline.tiny_enhancer import TinyEnhancer
from tests.services.test_swap_cli import cli_env  # noqa: F401  (fixture)


def _swap_args(photos: object, template_id: int, *extra: str) -> list[str]:
    return ["swap", "--husband", str(photos.husband), "--wife", str(photos.wife), "--template", str(template_id), *extra]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--enhance"], "enhancing is unavailable: GFPGANv1.4.onnx is not in"),
        (["--enhance", "0.5"], "enhancing is unavailable: GFPGANv1.4.onnx is not in"),
        (["--enhance", "1.5"], "--enhance must be from 0 to 1, got 1.5"),
        (["--enhance", "lots"], "--enhance must be a number from 0 to 1"),
    ],
    ids=["no model", "no model with strength", "too strong", "not a number"],
)
def test_enhance_refusals_exit_2_with_one_line(cli_env: tuple, extra: list[str], expected: str) -> None:  # noqa: F811
    env, photos, ids = cli_env
    result = run_cli(*_swap_args(photos, ids["pair"], *extra, "--json"), env=env)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_enhance_runs_end_to_end_and_the_json_says_which_faces(
    cli_env: tuple,  # noqa: F811
    tiny_enhancer: TinyEnhancer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env, photos, ids = cli_env
    for name, value in {**env, "FACESWAP_ENGINE": "classic"}.items():
        monkeypatch.setenv(name, value)
    models = Path(env["FACESWAP_DATA_DIR"]) / "models"
    models.mkdir(parents=True, exist_ok=True)
    (models / "GFPGANv1.4.onnx").write_bytes(tiny_enhancer.data)
    # The one stand-in: the pins of the weights (the stand-in's own size and sha256), nothing else.
    monkeypatch.setitem(FaceEnhancer.__init__.__kwdefaults__, "manifest", tiny_enhancer.manifest)
    try:
        assert main(_swap_args(photos, ids["pair"], "--enhance", "0.6", "--json")) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["enhance"] == 0.6
        [entry] = report["results"]
        assert entry["status"] == "completed"
        assert sorted(f["enhanced"] for f in entry["faces"]) == sorted(f["role"] is not None for f in entry["faces"])
        swapped = [str(f["index"]) for f in entry["faces"] if f["enhanced"]]
        assert len(swapped) == 2

        assert main(_swap_args(photos, ids["pair"], "--enhance")) == 0  # the default strength, text output
        text = capsys.readouterr().out
        assert "(classic, faces enhanced at 0.8): completed" in text
        assert f"(faces enhanced: {', '.join(swapped)})" in text
    finally:
        (models / "GFPGANv1.4.onnx").unlink()
