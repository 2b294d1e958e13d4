"""A hostile visitor against the services: tokens, quotas that new tokens do not reset, the queue cap
under concurrent requests, the byte budget, compact storage, and the operator's `visitors` command."""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage
from sqlalchemy import func, select, update

from app.config import parse_networks
from app.context import AppContext
from app.errors import InvalidRequest, QueueBusy
from app.services import photos as photo_service
from app.services import public_demo, quotas, runs, sessions, uploads, visitors
from app.services import templates as template_service
from app.services.quotas import QuotaExceeded, StorageFull
from db.base import utcnow
from db.models import Image, SwapTask, Template
from db.session import transaction
from tests.cli_helpers import run_cli
from tests.fixtures_data import SamplePhotos

pytestmark = pytest.mark.slow

NAT = "198.51.100.7"


def _public(ctx: AppContext, **settings: object) -> AppContext:
    ctx.settings = ctx.settings.model_copy(update={"public_demo": True, **settings})
    return ctx


def _visitor() -> str:
    return visitors.key_of(visitors.new_token())


def _read(path: str) -> bytes:
    return Path(path).read_bytes()


# ------------------------------------------------------------------ identity


def test_a_token_is_random_long_and_only_its_hash_is_an_owner_key() -> None:
    tokens = {visitors.new_token() for _ in range(200)}
    assert len(tokens) == 200
    token = next(iter(tokens))
    assert len(token) == 43 and visitors.is_token(token)  # 32 random bytes: 256 bits
    key = visitors.key_of(token)
    assert len(key) == 64 and token not in key and key == visitors.key_of(token)
    for bad in ("", "x" * 42, "x" * 44, token[:-1] + "!", "../" + token[3:], None, 12):
        assert not visitors.is_token(bad)
        with pytest.raises(InvalidRequest, match="not valid"):
            visitors.key_of(bad)
    assert visitors.chosen_token(None, token) == token  # no token passed: the session's
    assert visitors.chosen_token(token, visitors.new_token()) == token  # a passed token wins
    with pytest.raises(InvalidRequest, match="not valid"):
        visitors.chosen_token("guess", token)  # a malformed token is refused, never replaced


def test_a_guessed_token_owns_nothing(ctx: AppContext, photos: SamplePhotos) -> None:
    token = visitors.new_token()
    uploads.upload_photo(ctx, str(photos.husband), role="husband", session_id=visitors.key_of(token), keep=False)
    assert len(sessions.my_photos(ctx, visitors.key_of(token))) == 1
    guessed = visitors.new_token()
    assert sessions.my_photos(ctx, visitors.key_of(guessed)) == []
    with ctx.sessions() as session:
        stored = session.execute(select(Image.session_id)).scalars().all()
    assert stored == [visitors.key_of(token)]  # the hash is stored, never the token


def test_x_forwarded_for_is_read_only_from_a_trusted_proxy() -> None:
    none = parse_networks("")
    proxies = parse_networks("10.0.0.0/8, 127.0.0.1")
    assert visitors.client_address("203.0.113.5", "1.2.3.4", none) == "203.0.113.5"
    assert visitors.client_address("203.0.113.5", "1.2.3.4", proxies) == "203.0.113.5"  # peer not trusted
    assert visitors.client_address("10.1.2.3", "1.2.3.4", proxies) == "1.2.3.4"
    # a client's own X-Forwarded-For entries sit left of what the proxy appended: never believed
    assert visitors.client_address("10.1.2.3", "6.6.6.6, 1.2.3.4", proxies) == "1.2.3.4"
    assert visitors.client_address("10.1.2.3", "1.2.3.4, 10.9.9.9", proxies) == "1.2.3.4"  # two proxies
    assert visitors.client_address("10.1.2.3", "junk", proxies) == "10.1.2.3"
    assert visitors.client_address("10.1.2.3", None, proxies) == "10.1.2.3"


# ------------------------------------------------------------------ nothing permanent


def test_keep_is_refused_in_public_mode_and_nothing_is_stored(ctx: AppContext, photos: SamplePhotos) -> None:
    _public(ctx)
    with pytest.raises(InvalidRequest, match="keeps nothing permanently"):
        uploads.upload_photo(ctx, str(photos.husband), role="husband", session_id=_visitor(), keep=True)
    prepared = [photo_service.prepare_photo_file(ctx, str(photos.husband), "husband")]
    with pytest.raises(InvalidRequest, match="keeps nothing permanently"):
        photo_service.store_photos(ctx, prepared, session_id=_visitor(), keep=True)
    with ctx.sessions() as session:
        assert session.execute(select(func.count()).select_from(Image)).scalar_one() == 0
    stored = uploads.upload_photo(ctx, str(photos.husband), role="husband", session_id=_visitor(), keep=False)
    with ctx.sessions() as session:
        image = session.get_one(Image, stored.stored_id)
        assert image.storage_type == "temporary" and image.expires_at is not None
        hours = (image.expires_at - image.created_at).total_seconds() / 3600
    assert abs(hours - ctx.settings.temporary_ttl_hours) < 0.1


# ------------------------------------------------------------------ quotas per address


def test_uploads_an_hour_count_per_address_across_new_tokens(ctx: AppContext, photos: SamplePhotos) -> None:
    _public(ctx, max_uploads_per_hour=10, max_uploads_per_hour_per_address=3)
    for _ in range(3):  # a new token per upload, as a client opening a new session each time would
        uploads.upload_photo(ctx, str(photos.husband), role="husband", session_id=_visitor(), keep=False, address=NAT)
    with pytest.raises(QuotaExceeded, match="from your address") as refused:
        uploads.upload_photo(ctx, str(photos.husband), role="husband", session_id=_visitor(), keep=False, address=NAT)
    assert "\n" not in str(refused.value)
    other = "203.0.113.9"
    uploads.upload_photo(ctx, str(photos.husband), role="husband", session_id=_visitor(), keep=False, address=other)


def test_private_templates_count_per_address_across_new_tokens(ctx: AppContext, photos: SamplePhotos) -> None:
    _public(ctx, max_private_templates=5, max_private_templates_per_address=2)
    for path in (photos.pair, photos.wife):
        [done] = public_demo.add_templates_for(ctx, [str(path)], session_id=_visitor(), read=_read, address=NAT)
        assert done.refusal is None, done.refusal
    with pytest.raises(QuotaExceeded, match="from one address"):
        public_demo.add_templates_for(ctx, [str(photos.husband)], session_id=_visitor(), read=_read, address=NAT)
    [elsewhere] = public_demo.add_templates_for(
        ctx, [str(photos.husband)], session_id=_visitor(), read=_read, address="203.0.113.9"
    )
    assert elsewhere.refusal is None


Couple = tuple[photo_service.CouplePhoto, photo_service.CouplePhoto, int]


@pytest.fixture
def couple(ctx: AppContext, photos: SamplePhotos) -> Couple:
    return _couple(ctx, photos)


def _couple(ctx: AppContext, sample: SamplePhotos) -> Couple:
    template = template_service.add_template_files(ctx, [str(sample.pair)], name="pair")[0].id
    husband = photo_service.prepare_photo_file(ctx, str(sample.husband), "husband")
    wife = photo_service.prepare_photo_file(ctx, str(sample.wife), "wife")
    husband, wife = photo_service.store_photos(ctx, [husband, wife], session_id=None)  # usable by every key
    return husband, wife, template


def test_pending_swaps_count_per_address_across_new_tokens(ctx: AppContext, couple: Couple) -> None:
    _public(ctx)
    husband, wife, template = couple
    limits = runs.RunLimits(max_session_backlog=2, max_address_backlog=3)
    for _ in range(3):
        key = _visitor()
        quotas.record_uploads(ctx, key, 1, NAT)  # the address stored something as this key
        checked = runs.check_request(ctx, [template], {}, session_id=key, limits=limits, address=NAT)
        runs.start_batch(ctx, checked, husband, wife)
    key = _visitor()
    quotas.record_uploads(ctx, key, 1, NAT)
    with pytest.raises(QueueBusy, match="from your address"):
        runs.check_request(ctx, [template], {}, session_id=key, limits=limits, address=NAT)


# ------------------------------------------------------------------ the queue cap, atomically

THREADS = 16
CAP = 5


def _race_for_the_cap(ctx: AppContext, couple: Couple) -> tuple[int, int]:
    """THREADS requests, each checked first (all see an empty queue), then started at once."""
    husband, wife, template = couple
    limits = runs.RunLimits(max_backlog=CAP)
    checked = [runs.check_request(ctx, [template], {}, session_id=_visitor(), limits=limits) for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS)
    admitted: list[str] = []
    busy: list[str] = []

    def go(request: runs.CheckedRequest) -> None:
        barrier.wait(timeout=30)
        try:
            admitted.append(runs.start_batch(ctx, request, husband, wife))
        except QueueBusy as exc:
            busy.append(str(exc))

    threads = [threading.Thread(target=go, args=(request,)) for request in checked]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    with ctx.sessions() as session:
        queued = session.execute(select(func.count()).select_from(SwapTask).where(SwapTask.status == "pending"))
        return len(admitted), int(queued.scalar_one())


def test_the_queue_cap_holds_under_concurrent_requests_on_sqlite(ctx: AppContext, couple: Couple) -> None:
    admitted, queued = _race_for_the_cap(ctx, couple)
    assert (admitted, queued) == (CAP, CAP)


@pytest.mark.postgres
def test_the_queue_cap_holds_under_concurrent_requests_on_postgresql(
    pg_ctx: AppContext, photos: SamplePhotos
) -> None:
    admitted, queued = _race_for_the_cap(pg_ctx, _couple(pg_ctx, photos))
    assert (admitted, queued) == (CAP, CAP)


# ------------------------------------------------------------------ bytes


def _photo_file(sample: SamplePhotos, target: Path, side: int, quality: int, seed: int = 0) -> Path:
    """A photo-like JPEG with camera EXIF and GPS: the astronaut scaled up, with sensor noise."""
    base = PILImage.open(sample.wife).convert("RGB").resize((side, side), PILImage.Resampling.LANCZOS)
    noise = np.random.default_rng(seed).normal(0, 4, (side, side, 3))
    pixels = np.clip(np.asarray(base, dtype=np.float32) + noise, 0, 255).astype(np.uint8)
    exif = PILImage.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}  # GPS
    PILImage.fromarray(pixels).save(target, format="JPEG", quality=quality, exif=exif)
    return target


def test_past_the_byte_budget_uploads_are_refused_and_nothing_is_lost(
    ctx: AppContext, photos: SamplePhotos, tmp_path: Path
) -> None:
    _public(ctx, visitor_storage_mb=1)
    big = _photo_file(photos, tmp_path / "big.jpg", 1400, 95)
    assert 500_000 < big.stat().st_size < 1_000_000, big.stat().st_size
    first = uploads.upload_photo(ctx, str(big), role="wife", session_id=_visitor(), keep=False)
    used = quotas.visitor_bytes(ctx)
    assert used > 300_000
    with pytest.raises(StorageFull, match="storage for visitors is full") as refused:
        uploads.upload_photo(ctx, str(big), role="wife", session_id=_visitor(), keep=False)
    assert "\n" not in str(refused.value)
    with pytest.raises(StorageFull):
        public_demo.add_templates_for(ctx, [str(big)], session_id=_visitor(), read=_read)
    with ctx.sessions() as session:
        assert session.execute(select(func.count()).select_from(Image)).scalar_one() == 1
        image = session.get_one(Image, first.stored_id)
        assert (ctx.settings.images_dir / image.path).exists()
    assert quotas.visitor_bytes(ctx) == used


def test_an_upload_is_stored_as_a_compact_jpeg_without_metadata(
    ctx: AppContext, photos: SamplePhotos, tmp_path: Path
) -> None:
    cases = {
        "phone photo, resized": _photo_file(photos, tmp_path / "phone.jpg", 3000, 95),
        "small JPEG, kept size": _photo_file(photos, tmp_path / "small.jpg", 1200, 80, seed=1),
        "PNG upload": photos.wife,
    }
    for label, path in cases.items():
        photo = uploads.upload_photo(ctx, str(path), role="wife", session_id=_visitor(), keep=False)
        with ctx.sessions() as session:
            image = session.get_one(Image, photo.stored_id)
            stored = (ctx.settings.images_dir / image.path).read_bytes()
            assert image.content_type == "image/jpeg", label
        upload = path.stat().st_size
        assert stored[:2] == b"\xff\xd8" and b"Exif" not in stored and b"PhoneMaker" not in stored, label
        limit = 1.0 if label != "small JPEG, kept size" else 1.6  # re-encoded at q94: never near 3x
        assert len(stored) <= upload * limit, (label, len(stored), upload)


# ------------------------------------------------------------------ `visitors list | purge`


def test_visitors_list_and_purge_clean_old_and_legacy_data(ctx: AppContext, photos: SamplePhotos) -> None:
    legacy = "0123456789abcdef0123456789abcdef"  # a Gradio session id of an older version
    kept = uploads.upload_photo(ctx, str(photos.husband), role="husband", session_id=legacy, keep=True)
    recent_key = _visitor()
    recent = uploads.upload_photo(ctx, str(photos.wife), role="wife", session_id=recent_key, keep=False)
    shared = template_service.add_template_files(ctx, [str(photos.pair)], name="shared")[0].id
    with transaction(ctx.sessions) as session:
        session.execute(update(Image).where(Image.session_id == legacy).values(created_at=utcnow() - timedelta(hours=48)))
    orphan = ctx.settings.images_dir / "photos" / "zz" / "orphan.jpg"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"\xff\xd8" + b"0" * 1000)
    stamp = time.time() - 48 * 3600
    os.utime(orphan, (stamp, stamp))
    env = {"FACESWAP_DATA_DIR": str(ctx.settings.data_dir)}

    listed = run_cli("visitors", "list", "--older-than", "24", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    assert [v["owner"] for v in data["visitors"]] == [legacy[:12]]
    assert data["visitors"][0]["permanent"] == 1 and data["visitors"][0]["age_hours"] >= 47
    assert data["orphan_files"] == 1
    everyone = json.loads(run_cli("visitors", "list", "--json", env=env).stdout)
    assert len(everyone["visitors"]) == 2 and everyone["total_bytes"] > 0

    bad = run_cli("visitors", "purge", "--older-than", "soon", env=env)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr
    purged = run_cli("visitors", "purge", "--older-than", "24", "--json", env=env)
    assert purged.returncode == 0, purged.stderr
    report = json.loads(purged.stdout)
    assert report["visitors"] == 1 and report["images"] == 1 and report["orphan_files_removed"] == 1
    assert not orphan.exists()
    with ctx.sessions() as session:
        assert session.get(Image, kept.stored_id) is None
        assert session.get(Image, recent.stored_id) is not None
        assert session.get(Template, shared) is not None
