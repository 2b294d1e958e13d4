"""`python app.py templates list | remove | rename | reprocess`, run as an operator would."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_helpers import run_cli
from tests.fixtures_data import SamplePhotos


def _env(tmp_path: Path) -> dict[str, str]:
    return {"FACESWAP_DATA_DIR": str(tmp_path / "data")}


def _add(env: dict[str, str], *files: Path) -> list[int]:
    done = run_cli("templates", "add", *map(str, files), "--json", env=env)
    assert done.returncode == 0, done.stderr
    return [t["id"] for t in json.loads(done.stdout)["templates"]]


def test_list_rename_reprocess_remove(tmp_path: Path, photos: SamplePhotos) -> None:
    env = _env(tmp_path)
    empty = run_cli("templates", "list", env=env)
    assert empty.returncode == 0 and "no templates yet" in empty.stdout
    first, second = _add(env, photos.pair, photos.t1)

    listed = run_cli("templates", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)["templates"]
    assert [(r["id"], r["name"], r["status"], r["private"]) for r in rows] == [
        (first, "pair", "completed", False),
        (second, "t1", "completed", False),
    ]
    assert len(rows[1]["faces"]) == 6

    renamed = run_cli("templates", "rename", str(first), "Beach wedding", env=env)
    assert renamed.returncode == 0 and f"template {first} is now 'Beach wedding'" in renamed.stdout

    redone = run_cli("templates", "reprocess", "--json", env=env)
    assert redone.returncode == 0, redone.stderr
    assert [(t["id"], t["name"], t["kept_as_it_was"]) for t in json.loads(redone.stdout)["templates"]] == [
        (first, "Beach wedding", None),
        (second, "t1", None),
    ]

    removed = run_cli("templates", "remove", str(first), env=env)
    assert removed.returncode == 0, removed.stderr
    assert f"removed template {first} 'Beach wedding' (2 files)" in removed.stdout
    plain = run_cli("templates", "list", env=env)
    assert "Beach wedding" not in plain.stdout and "'t1'  shared  completed  6 faces" in plain.stdout


def test_refusals_are_one_line_with_exit_2(tmp_path: Path, photos: SamplePhotos) -> None:
    env = _env(tmp_path)
    [template_id] = _add(env, photos.pair)
    for args, expected in (
        (("remove", "999"), "template 999 does not exist"),
        (("remove", "abc"), "template ids are whole numbers"),
        (("rename", str(template_id), "  "), "a template name cannot be empty"),
        (("reprocess", "42"), "template 42 does not exist"),
        (("remove",), "the following arguments are required"),
    ):
        done = run_cli("templates", *args, env=env)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert expected in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_remove_refuses_while_a_queued_swap_needs_the_template(tmp_path: Path, photos: SamplePhotos) -> None:
    env = _env(tmp_path)
    [template_id] = _add(env, photos.pair)
    queued = run_cli(
        "swap", "--husband", str(photos.husband), "--wife", str(photos.wife), "--template", str(template_id),
        "--queue", "--no-wait", "--json", env=env,
    )
    assert queued.returncode == 0, queued.stderr
    refused = run_cli("templates", "remove", str(template_id), env=env)
    assert refused.returncode == 2
    assert f"refused: tasks still need template {template_id} (1 pending or running)" in refused.stderr
    still = run_cli("templates", "list", "--json", env=env)
    assert [t["id"] for t in json.loads(still.stdout)["templates"]] == [template_id]
