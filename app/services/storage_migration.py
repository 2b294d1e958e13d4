"""Move a data dir's image files into the configured bucket (`python app.py storage migrate`), and
check that the image store answers (`storage check`, the health endpoint).

Every `images` row's file is uploaded under its key, checked (sha256 against the row), and then
removed from the data dir. An object already in the bucket with the row's size counts as moved
before, so a second run changes nothing. Files no row names are left where they are (orphans:
`visitors purge` removes them); a row with neither a file nor an object is reported as missing.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import select

from app.context import AppContext
from app.errors import InvalidRequest
from app.objects import LocalObjects, S3Objects
from db.models import Image
from pipeline.intake import sha256_hex


@dataclass
class MigrationReport:
    moved: int = 0
    bytes_moved: int = 0
    already_in_bucket: int = 0
    missing: int = 0
    corrupt: int = 0  # a local file whose sha256 is not its row's: left in place, not uploaded
    files_left: int = 0  # files in the source no row names

    @property
    def changed(self) -> bool:
        return self.moved > 0

    def summary(self) -> str:
        text = (
            f"moved {self.moved} images ({self.bytes_moved / 1e6:.1f} MB) into the bucket; "
            f"{self.already_in_bucket} were there already"
        )
        if self.missing:
            text += f"; {self.missing} rows have no file and no object"
        if self.corrupt:
            text += f"; {self.corrupt} files differ from their row's sha256 and stay in place"
        if self.files_left:
            text += f"; {self.files_left} files without a row stay in place"
        return text

    def to_json(self) -> dict[str, int]:
        return asdict(self)


def migrate_to_bucket(ctx: AppContext, source: Path | None = None, *, keep_local: bool = False) -> MigrationReport:
    """Upload every row's file from `source` (default: this data dir's images/) into the bucket."""
    target = ctx.image_store.objects
    if not isinstance(target, S3Objects):
        raise InvalidRequest("FACESWAP_STORAGE_URL is not set: there is no bucket to migrate into")
    root = (source or ctx.settings.images_dir).expanduser().resolve()
    if source is not None and not root.is_dir():
        raise InvalidRequest(f"not a folder: {root.name}")
    local = LocalObjects(root)
    with ctx.sessions() as session:
        rows = session.execute(select(Image.path, Image.sha256)).all()
    in_bucket = {item.key: item.size for item in target.listing()}
    report = MigrationReport()
    for key, digest in rows:
        path = local.local_path(key)
        if not path.is_file():
            if key in in_bucket:
                report.already_in_bucket += 1
            else:
                report.missing += 1
            continue
        data = path.read_bytes()
        if digest and sha256_hex(data) != digest:
            report.corrupt += 1
            continue
        if in_bucket.get(key) == len(data):
            report.already_in_bucket += 1
        else:
            target.put(key, data)
            report.moved += 1
            report.bytes_moved += len(data)
        if not keep_local:
            path.unlink(missing_ok=True)
    known = {key for key, _ in rows}
    report.files_left = sum(1 for item in local.listing() if item.key not in known)
    _prune_empty_folders(root)
    return report


def _prune_empty_folders(root: Path) -> None:
    if not root.is_dir():
        return
    for folder in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        try:
            folder.rmdir()
        except OSError:
            continue


def check_store(ctx: AppContext) -> dict[str, object]:
    """Write, read back and delete one small probe object; raises OSError when the store fails."""
    objects = ctx.image_store.objects
    key = f"health/{uuid.uuid4().hex}.txt"
    started = time.perf_counter()
    objects.put(key, b"ok")
    try:
        if objects.get(key) != b"ok":
            raise OSError("the image store returned other bytes than were written")
    finally:
        objects.delete(key)
    store = "bucket" if isinstance(objects, S3Objects) else "data dir"
    return {"store": store, "round_trip_ms": round((time.perf_counter() - started) * 1000, 1)}
