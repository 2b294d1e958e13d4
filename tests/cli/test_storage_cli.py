"""`python app.py storage migrate | check`: a data dir's images move into a real S3 bucket (SeaweedFS)
once, a second run changes nothing, and the app then works from the bucket alone."""

from __future__ import annotations

import json
from pathlib import Path

from app.services import runs
from app.services.templates import template_pixels
from pipeline.face import FaceEngine
from tests.cli_helpers import run_cli
from tests.conftest import make_settings, open_context
from tests.fixtures_data import SamplePhotos
from tests.queue.conftest import add_templates, create_batch, image_files_outside_cache, write_pair_templates


def test_migrate_moves_every_image_once_and_the_app_then_reads_the_bucket(
    tmp_path: Path, photos: SamplePhotos, classic: FaceEngine, s3_env: dict[str, str]
) -> None:
    data = tmp_path / "data"
    local = open_context(make_settings(data), classic)
    template_ids = add_templates(local, write_pair_templates(tmp_path, photos.t1, 2))
    runs.run_inline(local, create_batch(local, photos, template_ids, session_id="alice"))
    local.dispose()
    before = len(image_files_outside_cache(data / "images"))
    assert before == 8  # 2 templates, 2 masks, 2 photos, 2 results

    env = {"FACESWAP_DATA_DIR": str(data), **s3_env}
    first = run_cli("storage", "migrate", "--json", env=env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["moved"] == before
    assert image_files_outside_cache(data) == []
    again = run_cli("storage", "migrate", "--json", env=env)
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert (report["moved"], report["already_in_bucket"], report["missing"]) == (0, before, 0)

    remote = open_context(make_settings(data, **s3_env), classic)
    try:
        assert template_pixels(remote, template_ids[0]).shape[2] == 3
        batch_id = create_batch(remote, photos, template_ids[:1], session_id="bob")
        runs.run_inline(remote, batch_id)
        assert {o.key.split("/")[0] for o in remote.image_store.objects.listing()} >= {"templates", "results"}
    finally:
        remote.dispose()
    assert image_files_outside_cache(data) == []


def test_storage_usage_errors_are_one_line_with_exit_2(tmp_path: Path) -> None:
    env = {"FACESWAP_DATA_DIR": str(tmp_path / "data")}
    no_bucket = run_cli("storage", "migrate", env=env)
    assert no_bucket.returncode == 2 and no_bucket.stderr.count("\n") == 1
    assert "FACESWAP_STORAGE_URL is not set" in no_bucket.stderr
    bad_url = run_cli("storage", "check", env={**env, "FACESWAP_STORAGE_URL": "http://bucket"})
    assert bad_url.returncode == 2 and bad_url.stderr.count("\n") == 1 and "Traceback" not in bad_url.stderr
    no_action = run_cli("storage", env=env)
    assert no_action.returncode == 2 and "Traceback" not in no_action.stderr
    local = run_cli("storage", "check", "--json", env=env)
    assert local.returncode == 0 and json.loads(local.stdout)["store"] == "data dir"
