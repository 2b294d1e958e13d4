"""The queue from the command line, on the embedded default (SQLite database, SQLite queue):
`worker`, `swap --queue`, `swap --queue --no-wait`, `batch status --json`, `cleanup`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings
from app.context import AppContext
from tests.cli_helpers import run_cli
from tests.fixtures_data import SamplePhotos
from tests.queue.conftest import (
    WorkerProcess,
    add_templates,
    assert_no_orphans,
    batch_done,
    start_worker,
    wait_until,
    worker_env,
)

FACE_KEYS = {"index", "bbox", "gender", "gender_score", "role"}


@pytest.fixture
def running_worker(
    ctx: AppContext, settings: Settings, workers: list[WorkerProcess], tmp_path: Path
) -> Iterator[WorkerProcess]:
    worker = start_worker(settings, tmp_path / "worker.log")
    workers.append(worker)
    wait_until(lambda: "ready" in worker.log(), 60, "the worker to warm up")
    yield worker
    assert worker.stop() == 0
    log = worker.log()
    assert "Traceback" not in log
    assert str(settings.images_dir) not in log  # logs name no photo or result paths


def _swap_args(photos: SamplePhotos, template_ids: list[int], *extra: str) -> list[str]:
    args = ["swap", "--husband", str(photos.husband), "--wife", str(photos.wife), *extra]
    for template_id in template_ids:
        args += ["--template", str(template_id)]
    return args


def test_queued_swap_waits_for_the_worker_and_prints_the_design_json(
    ctx: AppContext,
    settings: Settings,
    photos: SamplePhotos,
    template_files: list[Path],
    running_worker: WorkerProcess,
    tmp_path: Path,
) -> None:
    template_ids = add_templates(ctx, template_files[:3])
    out_dir = tmp_path / "out"
    done = run_cli(*_swap_args(photos, template_ids, "--queue", "--json", "--out", str(out_dir)), env=worker_env(settings))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert {"batch_id", "engine", "status", "results"} <= set(report)
    assert (report["engine"], report["status"]) == ("classic", "completed")
    assert [r["template_id"] for r in report["results"]] == template_ids
    for result in report["results"]:
        assert result["status"] == "completed" and result["error"] is None
        assert Path(result["output"]).is_file() and Path(result["output"]).parent == out_dir.resolve()
        assert isinstance(result["seconds"], float) and result["seconds"] > 0
        assert [face["index"] for face in result["faces"]] == [0, 1]
        assert all(set(face) >= FACE_KEYS for face in result["faces"])
        assert {face["role"] for face in result["faces"]} == {"husband", "wife"}
    assert running_worker.log().count(" completed ") == 3  # one line per task
    assert_no_orphans(ctx)


def test_no_wait_prints_the_batch_id_and_batch_status_follows_it(
    ctx: AppContext,
    settings: Settings,
    photos: SamplePhotos,
    template_files: list[Path],
    running_worker: WorkerProcess,
) -> None:
    template_ids = add_templates(ctx, template_files[:2])
    submitted = run_cli(*_swap_args(photos, template_ids, "--queue", "--no-wait"), env=worker_env(settings))
    assert submitted.returncode == 0, submitted.stderr
    answer = json.loads(submitted.stdout)
    assert list(answer) == ["batch_id"]

    wait_until(batch_done(ctx, answer["batch_id"]), 60, "the worker to finish the batch")
    status = run_cli("batch", "status", answer["batch_id"], "--json", env=worker_env(settings))
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["batch_id"] == answer["batch_id"] and report["status"] == "completed"
    assert [(r["template_id"], r["status"]) for r in report["results"]] == [(t, "completed") for t in template_ids]
    assert all(Path(r["output"]).is_file() for r in report["results"])

    text = run_cli("batch", "status", answer["batch_id"], env=worker_env(settings))
    assert text.returncode == 0 and f"batch {answer['batch_id']} (classic): completed" in text.stdout


def test_unknown_batch_and_bad_flags_are_refused_in_one_line(settings: Settings) -> None:
    env = worker_env(settings)
    missing = run_cli("batch", "status", "no-such-batch", "--json", env=env)
    assert missing.returncode == 2 and missing.stderr.strip().count("\n") == 0
    assert "does not exist" in missing.stderr
    assert run_cli("worker", "--workers", "0", env=env).returncode == 2
    no_queue = run_cli("swap", "--husband", "x", "--wife", "y", "--template", "1", "--no-wait", env=env)
    assert no_queue.returncode == 2 and "--no-wait needs --queue" in no_queue.stderr


def test_cleanup_command_prints_a_one_line_summary(settings: Settings) -> None:
    done = run_cli("cleanup", env=worker_env(settings))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1
    assert done.stdout.startswith("cleanup: deleted 0 images (0 files), 0 batches, 0 tasks")
    as_json = run_cli("cleanup", "--json", env=worker_env(settings))
    assert json.loads(as_json.stdout)["images"] == 0


def test_worker_processes_die_with_a_sigkilled_consumer(
    ctx: AppContext, settings: Settings, workers: list[WorkerProcess], tmp_path: Path
) -> None:
    import os
    import signal

    import psutil

    worker = start_worker(settings, tmp_path / "worker.log", workers=2)
    workers.append(worker)
    wait_until(lambda: worker.log().count("ready") >= 2, 60, "two warm worker processes")
    children = psutil.Process(worker.process.pid).children(recursive=True)
    assert len(children) == 3  # two workers and the scheduler
    os.kill(worker.process.pid, signal.SIGKILL)  # the consumer only, not its process group
    worker.process.wait(timeout=10)
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert alive == [] or all(p.status() == psutil.STATUS_ZOMBIE for p in alive)
    worker_pids = {int(line.split("worker ")[1].split()[0]) for line in worker.log().splitlines() if " ready" in line}
    assert worker_pids <= {p.pid for p in gone} | {p.pid for p in alive}
