"""`python app.py bench --quick --couples --json` runs end to end on scratch data; keys and types only, never timings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.bench.report import BEGIN, END, render_markdown, update_markdown
from app.bench.runner import REPORT_KEYS
from tests.cli_helpers import run_cli

TIMED = (
    "preprocess_seconds",
    "swap_seconds_per_face",
    "enhance_seconds_per_face",
    "template_seconds_marginal",
    "batch_templates_per_second_1_worker",
    "batch_templates_per_second_2_workers",
    "first_result_seconds",
)
MACHINE = {"cpu": str, "cores_logical": int, "cores_physical": int, "ram_gb": float, "python": str, "date": str}


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("user-data")
    result = run_cli("bench", "--quick", "--couples", "--json", env={"FACESWAP_DATA_DIR": str(home)}, timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    assert list(home.iterdir()) == [], "the bench wrote into the user's data dir"
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def test_couples_runs_on_the_realistic_templates(quick: dict[str, Any]) -> None:
    from app.bench.sample_portraits import opencv_doc_available

    expected = "couples" if opencv_doc_available() else "t1 crops"  # the documented fallback without opencv-doc
    assert quick["template_set"] == expected
    assert sorted(int(size) for size in quick["swap_seconds_by_face_size"]) == [150, 300, 600]


def _is_stat(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and all(isinstance(value.get(k), (int, float)) for k in ("median", "q1", "q3", "min", "max"))
        and isinstance(value.get("runs"), int)
        and value["runs"] >= 1
    )


@pytest.mark.slow
def test_quick_json_has_exactly_the_documented_keys(quick: dict[str, Any]) -> None:
    assert set(quick) == set(REPORT_KEYS)
    assert quick["engine"] == "classic"
    assert isinstance(quick["provider"], str)
    for key, kind in MACHINE.items():
        assert isinstance(quick["machine"][key], kind), key


@pytest.mark.slow
def test_quick_json_figures_have_the_documented_types(quick: dict[str, Any]) -> None:
    for key in TIMED:
        assert _is_stat(quick[key]), key
    for key in ("preprocess_seconds", "swap_seconds_per_face", "template_seconds_marginal", "first_result_seconds"):
        assert quick[key]["runs"] >= 5, key
    overhead = quick["queue_overhead_ms_per_task"]
    assert isinstance(overhead["median"], float) and isinstance(overhead["p90"], float)
    assert isinstance(quick["peak_rss_mb"], float)
    assert isinstance(quick["gender_accuracy"], float)
    two_workers = quick["batch_templates_per_second_2_workers"]
    assert isinstance(two_workers["speedup_vs_1_worker"], float)
    assert isinstance(two_workers["machine_2_process_speedup"], float)
    faces = quick["identity_distance"]
    assert isinstance(faces, list) and faces
    for face in faces:
        assert isinstance(face["index"], int) and face["role"] in ("husband", "wife")
        assert isinstance(face["distance_to_source"], float)
    ratio = quick["use_preprocessed"]
    assert _is_stat(ratio["on_seconds"]) and _is_stat(ratio["off_seconds"])
    assert isinstance(ratio["off_over_on"], float)


@pytest.mark.slow
def test_the_markdown_renders_from_the_json_and_keeps_hand_written_text(quick: dict[str, Any], tmp_path: Path) -> None:
    page = tmp_path / "BENCHMARKS.md"
    page.write_text(f"# Benchmarks\n\nby hand\n\n{BEGIN}\nold\n{END}\n\nreading by hand\n")
    update_markdown(page, quick, plot_dir=tmp_path / "docs")
    text = page.read_text()
    assert "by hand" in text and "reading by hand" in text and "\nold\n" not in text
    assert render_markdown(quick) in text
