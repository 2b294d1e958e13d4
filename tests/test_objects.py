"""The object store: one contract for the data dir and a real S3 server (SeaweedFS), the bounded cache, and
the ledger that removes a failed unit of work's objects (waiting for writes still running first)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from app.config import Settings
from app.objects import CACHE_DIR, LocalObjects, ObjectCache, ObjectStore, S3Objects, open_objects, parse_storage_url
from app.storage import FileLedger, PendingWrite
from tests.conftest import make_settings


@pytest.fixture(params=["local", "s3"])
def objects(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return LocalObjects(tmp_path / "images")
    env = request.getfixturevalue("s3_env")
    return open_objects(make_settings(tmp_path / "data", **env))


def test_both_stores_keep_bytes_by_key_and_a_delete_removes_every_copy(objects: ObjectStore) -> None:
    data = os.urandom(300_000)
    objects.put("results/ab/ab12.jpg", data)
    assert objects.get("results/ab/ab12.jpg") == data
    assert objects.local_path("results/ab/ab12.jpg").read_bytes() == data
    assert objects.exists("results/ab/ab12.jpg")
    assert [(o.key, o.size) for o in objects.listing("results/")] == [("results/ab/ab12.jpg", 300_000)]
    local_copy = objects.local_path("results/ab/ab12.jpg")

    assert objects.delete("results/ab/ab12.jpg") is True
    assert objects.delete("results/ab/ab12.jpg") is False
    assert not objects.exists("results/ab/ab12.jpg") and not local_copy.exists()
    with pytest.raises(FileNotFoundError):
        objects.get("results/ab/ab12.jpg")
    assert list(objects.listing("results/")) == []


def test_a_second_machine_reads_what_the_first_wrote_through_its_own_cache(s3_env: dict[str, str], tmp_path: Path) -> None:
    first = open_objects(make_settings(tmp_path / "a", **s3_env))
    second = open_objects(make_settings(tmp_path / "b", **s3_env))
    first.put("photos/cd/cd34.jpg", b"jpeg bytes")
    path = second.local_path("photos/cd/cd34.jpg")
    assert path.read_bytes() == b"jpeg bytes" and path.is_relative_to(tmp_path / "b" / CACHE_DIR)
    assert "coswap-test" in second.locator("photos/cd/cd34.jpg")  # an s3:// locator, never a public URL


def test_a_write_kept_off_this_machine_leaves_no_cached_copy(s3_env: dict[str, str], tmp_path: Path) -> None:
    objects = open_objects(make_settings(tmp_path / "data", **s3_env))
    assert isinstance(objects, S3Objects)
    objects.put("results/ef/ef56.jpg", b"first")
    assert objects.cache.path("results/ef/ef56.jpg").read_bytes() == b"first"  # written through
    objects.put("results/ef/ef56.jpg", b"second", keep_local=False)
    assert not objects.cache.path("results/ef/ef56.jpg").exists()  # neither a copy nor a stale one
    assert objects.get("results/ef/ef56.jpg") == b"second"


def test_a_rollback_waits_for_a_write_still_running_before_it_deletes(objects: ObjectStore) -> None:
    def slow_write() -> None:
        time.sleep(0.3)
        objects.put("results/gh/gh78.jpg", b"late bytes")

    write = PendingWrite(slow_write)
    ledger = FileLedger(created=[(objects, "results/gh/gh78.jpg")], pending=[write])
    ledger.rollback()
    write.wait()  # had the rollback not waited, the write would land now, after the delete
    assert not objects.exists("results/gh/gh78.jpg")


def test_settling_a_ledger_raises_the_failed_write_once() -> None:
    def refused() -> None:
        raise OSError("the bucket refused the write")

    ledger = FileLedger(pending=[PendingWrite(refused)])
    with pytest.raises(OSError, match="refused"):
        ledger.settle()
    ledger.settle()  # already handed over


def test_the_cache_keeps_to_its_bound_dropping_the_least_recently_used(tmp_path: Path) -> None:
    cache = ObjectCache(tmp_path / "cache", max_bytes=10_000)
    for number in range(8):
        cache.store(f"k/{number}", b"x" * 2_000)
        os.utime(cache.path(f"k/{number}"), (time.time() - 1000 + number, time.time() - 1000 + number))
    cache.store("k/last", b"y" * 2_000)
    assert cache.size() <= 10_000
    assert cache.path("k/last").exists() and not cache.path("k/0").exists()


def test_a_bad_storage_url_is_refused_in_one_line() -> None:
    with pytest.raises(ValueError):
        parse_storage_url("https://bucket/prefix")
    with pytest.raises(ValueError):
        Settings(FACESWAP_STORAGE_URL="bucket/prefix")  # type: ignore[call-arg]
    assert parse_storage_url("s3://bucket/a/b/") == ("bucket", "a/b")
    assert Settings(FACESWAP_STORAGE_URL="").storage_url is None  # type: ignore[call-arg]
