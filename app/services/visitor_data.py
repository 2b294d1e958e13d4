"""What visitors have stored, by owner and age, for the operator's `visitors list | purge`.

An owner is a `session_id` value other than the CLI's: a visitor key (the hash of a token), or a
Gradio session id of an older version. Its age is the time since its newest row (image or batch).
Purging an owner removes all of its rows and stored objects at once (as "Delete my data" does),
permanent images of older versions included. Orphan objects (in the image store, the data dir or
the bucket, with no image row) older than the cutoff, and never younger than ORPHAN_MIN_AGE (an
object is written just before its row), go too.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.context import AppContext
from app.objects import StoredObject
from app.services.cleanup import delete_session_data
from app.services.quotas import OPERATOR_SESSIONS
from db.base import utcnow
from db.models import Batch, Image

ORPHAN_MIN_AGE = timedelta(minutes=10)
KEY_SHOWN = 12  # characters of an owner key shown (a hash; the token is never stored)


@dataclass
class OwnerData:
    owner: str
    photos: int = 0
    results: int = 0
    templates: int = 0
    other: int = 0
    permanent: int = 0
    batches: int = 0
    bytes: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None

    def age_hours(self, now: datetime) -> float:
        return (now - self.last_seen).total_seconds() / 3600 if self.last_seen else 0.0

    def to_json(self, now: datetime) -> dict[str, object]:
        data = asdict(self)
        data["owner"] = self.owner[:KEY_SHOWN]
        data["first_seen"] = self.first_seen.isoformat() if self.first_seen else None
        data["last_seen"] = self.last_seen.isoformat() if self.last_seen else None
        data["age_hours"] = round(self.age_hours(now), 2)
        return data

    def seen(self, when: datetime | None) -> None:
        if when is None:
            return
        self.first_seen = when if self.first_seen is None else min(self.first_seen, when)
        self.last_seen = when if self.last_seen is None else max(self.last_seen, when)


@dataclass(frozen=True)
class Orphans:
    files: list[StoredObject] = field(default_factory=list)
    bytes: int = 0


@dataclass(frozen=True)
class VisitorListing:
    owners: list[OwnerData]
    orphans: Orphans
    now: datetime

    @property
    def total_bytes(self) -> int:
        return sum(owner.bytes for owner in self.owners)

    def to_json(self) -> dict[str, object]:
        return {
            "visitors": [owner.to_json(self.now) for owner in self.owners],
            "total_bytes": self.total_bytes,
            "orphan_files": len(self.orphans.files),
            "orphan_bytes": self.orphans.bytes,
        }


@dataclass(frozen=True)
class PurgeReport:
    visitors: int
    images: int
    batches: int
    files_removed: int
    orphan_files_removed: int
    orphan_bytes_removed: int

    def summary(self) -> str:
        return (
            f"removed the data of {self.visitors} visitors ({self.images} images, {self.batches} batches, "
            f"{self.files_removed} files) and {self.orphan_files_removed} orphan files "
            f"({self.orphan_bytes_removed / 1e6:.1f} MB)"
        )

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def list_visitors(ctx: AppContext, *, older_than_hours: float | None = None) -> VisitorListing:
    """Every visitor owner with what it stores, oldest activity first; with `older_than_hours`, only
    owners (and orphan files) idle for longer than that."""
    now = utcnow()
    owners: dict[str, OwnerData] = {}
    objects = ctx.image_store.objects
    with ctx.sessions() as session:
        images = session.execute(
            select(Image.session_id, Image.path, Image.storage_type, Image.created_at).where(_visitor(Image.session_id))
        ).all()
        batches = session.execute(
            select(Batch.session_id, func.count(), func.min(Batch.created_at), func.max(Batch.created_at))
            .where(_visitor(Batch.session_id))
            .group_by(Batch.session_id)
        ).all()
        known = set(session.execute(select(Image.path)).scalars())
    sized: dict[str, list[str]] = {}
    for owner, path, storage_type, created in images:
        data = owners.setdefault(owner, OwnerData(owner))
        kind = path.split("/", 1)[0]
        if kind in ("photos", "results", "templates"):
            setattr(data, kind, getattr(data, kind) + 1)
        else:
            data.other += 1
        data.permanent += storage_type == "permanent"
        sized.setdefault(owner, []).append(path)
        data.seen(created)
    stored = {item.key: item for item in objects.listing()}
    for owner, keys in sized.items():
        owners[owner].bytes = sum(stored[key].size for key in keys if key in stored)
    for owner, count, first, last in batches:
        data = owners.setdefault(owner, OwnerData(owner))
        data.batches = int(count)
        data.seen(first)
        data.seen(last)
    cutoff = None if older_than_hours is None else now - timedelta(hours=older_than_hours)
    chosen = [o for o in owners.values() if cutoff is None or (o.last_seen is not None and o.last_seen <= cutoff)]
    chosen.sort(key=lambda o: o.last_seen or now)
    return VisitorListing(chosen, _orphans(stored.values(), known, cutoff, now), now)


def purge_visitors(ctx: AppContext, *, older_than_hours: float) -> PurgeReport:
    """Remove every owner idle for longer than `older_than_hours`, and old orphan files."""
    listing = list_visitors(ctx, older_than_hours=older_than_hours)
    images = batches = files = 0
    for owner in listing.owners:
        report = delete_session_data(ctx, owner.owner)
        images += report.images
        batches += report.batches
        files += report.files_removed
    removed = removed_bytes = 0
    for item in listing.orphans.files:
        try:
            if not ctx.image_store.objects.delete(item.key):
                continue
        except OSError:
            continue
        removed += 1
        removed_bytes += item.size
    return PurgeReport(len(listing.owners), images, batches, files, removed, removed_bytes)


def _visitor(column):  # type: ignore[no-untyped-def]
    return column.is_not(None) & column.not_in(OPERATOR_SESSIONS)


def _orphans(stored: Iterable[StoredObject], known: set[str], cutoff: datetime | None, now: datetime) -> Orphans:
    """Stored objects that no row names, older than the cutoff and ORPHAN_MIN_AGE."""
    newest = time.time() - ORPHAN_MIN_AGE.total_seconds()
    if cutoff is not None:
        newest = min(newest, time.time() - (now - cutoff).total_seconds())
    files = [item for item in stored if item.key not in known and item.modified <= newest]
    return Orphans(files, sum(item.size for item in files))
