"""`bench` times the face enhancer per face on the GFPGAN stand-in; keys and types only, never timings."""

from __future__ import annotations

from pipeline.face import FaceEngine

from app.bench.enhance import enhance_seconds_per_face, main


def test_the_figure_has_a_stat_per_face_size_and_names_what_ran(classic: FaceEngine) -> None:
    figure = enhance_seconds_per_face(classic, runs=2)
    assert figure["runs"] == 2 and figure["faces"] == 2 and figure["provider"] == "CPU"
    assert set(figure["by_face_size"]) == {"1x", "3x"}
    for stat in figure["by_face_size"].values():
        assert 0 < stat["min"] <= stat["median"] <= stat["max"]
        assert isinstance(stat["face_box_px"], int) and "x" in stat["image"]
    assert "stand-in" in figure["model"]


def test_the_module_prints_json(capsys) -> None:  # type: ignore[no-untyped-def]
    import json

    assert main(["--runs", "1"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["enhance_seconds_per_face"]["runs"] == 1
