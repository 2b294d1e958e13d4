"""A cluster on one machine that behaves like many: 2 web and 3 worker processes, each with its own
empty data dir, sharing only PostgreSQL, Redis and a real S3 server (SeaweedFS).

A visitor's batch submitted to web A is done by the workers and its results are listed and
downloaded through web B; a worker SIGKILLed mid-batch loses nothing and every task completes
exactly once; an expiry run from another machine removes the objects; no process holds image
bytes outside its own bounded cache.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.bench.cluster import Cluster
from app.context import AppContext
from app.objects import CACHE_DIR
from app.services.cleanup import cleanup_expired
from db.base import utcnow
from db.models import Image, SwapTask
from pipeline.face import FaceEngine
from tests.conftest import make_settings, open_context
from tests.fixtures_data import SamplePhotos
from tests.queue.conftest import add_templates, image_files_outside_cache, wait_until, write_pair_templates

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
TEMPLATES = 6


@pytest.fixture
def shared(postgres_url: str, redis_url: str, queue_name: str, s3_env: dict[str, str]) -> Iterator[dict[str, str]]:
    env = {
        **s3_env,
        "DATABASE_URL": postgres_url,
        "REDIS_URL": redis_url,
        "FACESWAP_QUEUE_NAME": queue_name,
        "FACESWAP_ENGINE": "classic",
        "FACESWAP_PUBLIC_DEMO": "true",
        "FACESWAP_SEED_TEMPLATES": "false",
        "FACESWAP_TASK_LEASE_SECONDS": "5",
    }
    yield env
    from app.config import Settings
    from app.queue.tasks import make_huey

    make_huey(Settings(REDIS_URL=redis_url, FACESWAP_QUEUE_NAME=queue_name)).storage.flush_all()  # type: ignore[call-arg]


@pytest.fixture
def operator(tmp_path: Path, shared: dict[str, str], classic: FaceEngine) -> Iterator[AppContext]:
    """The operator's machine: migrates the schema and adds the shared gallery (its own data dir)."""
    ctx = open_context(make_settings(tmp_path / "operator", **shared), classic)
    yield ctx
    ctx.dispose()


def _counts(ctx: AppContext) -> dict[str, int]:
    with ctx.sessions() as session:
        return dict(session.execute(select(SwapTask.status, func.count()).group_by(SwapTask.status)).all())


def test_two_webs_and_three_workers_share_only_postgres_redis_and_the_bucket(
    tmp_path: Path, shared: dict[str, str], operator: AppContext, photos: SamplePhotos
) -> None:
    from gradio_client import Client, handle_file

    template_ids = add_templates(operator, write_pair_templates(tmp_path, photos.t1, TEMPLATES))
    with Cluster(tmp_path / "cluster", shared, webs=2, workers=3) as cluster:
        web_a, web_b = cluster.web_members
        for member in (web_a, web_b, cluster.worker_members[0]):
            health = httpx.get(str(member.health), timeout=10).json()
            assert (health["status"], health["database"], health["storage"]) == ("ok", "ok", "ok")
        client_a = Client(str(web_a.url), verbose=False, httpx_kwargs={"timeout": 120})
        token = client_a.predict(api_name="/visitor")["visitor"]
        swapped: dict[str, Any] = {}

        def submit() -> None:
            try:
                swapped["gallery"] = client_a.predict(
                    handle_file(str(photos.husband)), handle_file(str(photos.wife)),
                    ",".join(map(str, template_ids)), "", True, api_name="/swap",
                )
            except Exception as exc:  # noqa: BLE001  (reported by the assertion below)
                swapped["error"] = exc

        submitting = threading.Thread(target=submit, daemon=True)
        submitting.start()
        # SIGKILL one worker while it holds a task: wait until all three are busy (any one is then mid-task).
        def running(count: int) -> bool:
            assert "error" not in swapped, swapped.get("error")
            return _counts(operator).get("running", 0) >= count

        all_busy = True
        try:
            wait_until(lambda: running(3), 60, "three running tasks", poll=0.005)
        except AssertionError:
            all_busy = False
            wait_until(lambda: running(1), 30, "a running task", poll=0.005)
        victim = cluster.worker_members[0]
        cluster.kill_worker(victim)
        cluster.restart_worker()  # its replacement, on a fresh data dir, as an orchestrator would start
        submitting.join(timeout=150)
        assert "error" not in swapped, swapped.get("error")
        assert len(swapped["gallery"]) == TEMPLATES

        # Web B, the same visitor: lists the batch and downloads every result.
        client_b = Client(str(web_b.url), verbose=False, httpx_kwargs={"timeout": 120})
        batches = client_b.predict(visitor=token, api_name="/my_batches")
        batch_id = batches[0]["batch_id"] if isinstance(batches, list) else batches["batches"][0]["batch_id"]
        gallery = client_b.predict(batch_id, visitor=token, api_name="/batch_results")
        assert len(gallery) == TEMPLATES
        for item in gallery:
            image = Path(item["image"])
            assert image.stat().st_size > 10_000 and image.read_bytes()[:2] == b"\xff\xd8"
        stranger = client_b.predict(visitor=Client(str(web_b.url), verbose=False).predict(api_name="/visitor")["visitor"],
                                    api_name="/my_batches")
        assert batch_id not in str(stranger)

        # Exactly once: every task completed, one result object per task, none extra.
        with operator.sessions() as session:
            rows = session.execute(select(SwapTask).where(SwapTask.batch_id == batch_id)).scalars().all()
            result_keys = set(session.execute(select(Image.path).where(Image.path.like("results/%"))).scalars())
        assert [r.status for r in rows] == ["completed"] * TEMPLATES
        assert {f"results/{r.task_id[:2]}/{r.task_id}.jpg" for r in rows} == result_keys
        assert {o.key for o in operator.image_store.objects.listing("results/")} == result_keys
        if all_busy:  # the killed worker held a task: it was taken over after its lease, and done once
            assert sorted(r.attempts for r in rows)[-1] == 2 and sum(r.attempts for r in rows) <= TEMPLATES + 1
        web_b_cache = web_b.data_dir / CACHE_DIR / "results"
        assert web_b_cache.is_dir()  # web B read the results from the bucket, into its own cache

    # No process kept image bytes outside its own bounded cache; each had its own data dir.
    dirs = [m.data_dir for m in cluster.members]
    assert len(set(dirs)) == len(dirs) == 6
    for folder in dirs:
        assert image_files_outside_cache(folder) == [], folder.name
    # Expiry, run from the operator's machine (neither a web nor a worker), removes the objects.
    report = cleanup_expired(operator, now=utcnow() + timedelta(hours=25))
    assert report.images == TEMPLATES + 2 and report.files_removed == TEMPLATES + 2
    left = {o.key.split("/")[0] for o in operator.image_store.objects.listing()}
    assert left <= {"templates", "masks"}
