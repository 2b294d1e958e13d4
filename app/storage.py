"""Stored images plus their `images` rows, written so that no orphan is left behind.

The bytes go to the object store (app/objects.py: the data dir, or an S3 bucket) before the row
commits: written first, or (`background=True`) on a thread while the transaction goes on, with the
session's commit waiting for that write; if the surrounding transaction fails, `FileLedger.rollback`
waits for writes still running and removes the objects it created.

Stored formats: photographs (couple photos, template originals, results) are high-quality JPEG
encoded afresh from the decoded pixels, so they carry no metadata and stay near the upload's size
(a PNG of a phone photo is about three times its JPEG); masks are lossless PNG.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.objects import ObjectStore

from db.models import Image, StorageType
from pipeline.intake import encode_jpeg, encode_png, sha256_hex
from pipeline.face import RGBImage
from pipeline.recent import RecentValues


log = logging.getLogger(__name__)

PHOTO_FORMAT = "jpeg"
TEMPLATES_KEPT = 6  # decoded templates a process keeps (at most 6 x 4 MP x 3 bytes = 72 MB)
TEMPLATE_KEPT_PIXELS = 4_200_000
PHOTO_QUALITY = 94  # 4:2:0; visually lossless for photographs, about a third of a PNG


def encode_photo(pixels: RGBImage) -> bytes:
    """A photograph as stored: baseline JPEG without EXIF, XMP, ICC or comments."""
    return encode_jpeg(pixels, quality=PHOTO_QUALITY)


RESULT_QUALITY = 92


def encode_result(pixels: RGBImage) -> bytes:
    """A swap result as stored: baseline JPEG (JFIF only, no metadata) through OpenCV's libjpeg-turbo,
    about 2 ms faster than Pillow on a 2 MP result (BENCHMARKS.md, per-task overhead)."""
    import cv2

    ok, data = cv2.imencode(".jpg", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, RESULT_QUALITY])
    if not ok:
        return encode_jpeg(pixels, quality=RESULT_QUALITY)
    return data.tobytes()


class PendingWrite:
    """One object write running on its own thread; `wait` returns once it is stored or raises its error."""

    def __init__(self, write: Callable[[], None]) -> None:
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(write,), name="object-write", daemon=True)
        self._thread.start()

    def _run(self, write: Callable[[], None]) -> None:
        try:
            write()
        except BaseException as exc:  # handed to the waiter
            self._error = exc

    def wait(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


@dataclass
class FileLedger:
    """Objects created in one unit of work; removed again if the work is rolled back."""

    created: list[tuple[ObjectStore, str]] = field(default_factory=list)
    pending: list[PendingWrite] = field(default_factory=list)

    def settle(self) -> None:
        """Wait for every write still running; then raise the first failure, if any."""
        pending, self.pending = self.pending, []
        failure: BaseException | None = None
        for write in pending:
            try:
                write.wait()
            except BaseException as exc:
                failure = failure or exc
        if failure is not None:
            raise failure

    def rollback(self) -> None:
        try:
            self.settle()  # a write still running would land after the delete below
        except Exception:
            pass  # the delete below removes whatever it left
        for objects, key in self.created:
            try:
                objects.delete(key)
            except OSError:
                pass  # left as an orphan; `visitors purge` removes orphans
        self.created.clear()


@dataclass(frozen=True)
class ImageStore:
    """Images by their rows: `images.path` is the object key."""

    objects: ObjectStore

    def path_for(self, image: Image) -> Path:
        """A local file with the image's bytes (in S3 mode a cached copy, downloaded if needed)."""
        return self.objects.local_path(image.path)

    def read_key(self, key: str) -> RGBImage:
        """Decode a stored image by its key."""
        return read_stored(self.objects.local_path(key))

    def locator(self, image: Image) -> str:
        return self.objects.locator(image.path)

    def save(
        self,
        session: Session,
        ledger: FileLedger,
        pixels: RGBImage,
        *,
        kind: str,
        storage_type: StorageType = "permanent",
        session_id: str | None = None,
        expires_at: datetime | None = None,
        key: str | None = None,
        fmt: str = "png",
        encoded: bytes | None = None,
        keep_local: bool = True,
        background: bool = False,
    ) -> Image:
        """Encode without metadata (unless `encoded` already holds those bytes), write, and add the row.

        Each row owns its own object. `key` makes the path deterministic, so a rerun
        of the same task overwrites its result instead of adding a second one.
        `keep_local=False`: this process will not read the image back (no cached copy in S3 mode).
        `background=True`: the bytes are written on a thread while the caller's transaction goes on;
        the session's commit waits for the write and fails (rolling back) if the write failed.
        """
        data = encoded if encoded is not None else encode_png(pixels) if fmt == "png" else encode_photo(pixels)
        token = key or uuid.uuid4().hex
        suffix = "jpg" if fmt == "jpeg" else fmt
        relative = f"{kind}/{token[:2]}/{token}.{suffix}"
        if background:
            ledger.created.append((self.objects, relative))  # before it starts: a rollback waits, then deletes
            ledger.pending.append(PendingWrite(lambda: self.objects.put(relative, data, keep_local=keep_local)))
            event.listen(session, "before_commit", lambda _session: ledger.settle(), once=True)
        else:
            self.objects.put(relative, data, keep_local=keep_local)
            ledger.created.append((self.objects, relative))
        digest = sha256_hex(data)
        image = Image(
            path=relative,
            sha256=digest,
            width=int(pixels.shape[1]),
            height=int(pixels.shape[0]),
            content_type=f"image/{'png' if fmt == 'png' else 'jpeg'}",
            storage_type=storage_type,
            session_id=session_id,
            expires_at=expires_at,
        )
        session.add(image)
        session.flush()
        return image

    def remove(self, keys: list[str]) -> tuple[int, int]:
        """Remove the objects (and cached copies) of deleted rows: (removed, missing or failed)."""
        removed = missing = 0
        for key in keys:
            try:
                if self.objects.delete(key):
                    removed += 1
                else:
                    missing += 1
            except OSError:
                log.warning("could not remove a stored image; it is now an orphan")
                missing += 1
        return removed, missing


@contextmanager
def files_guard() -> Iterator[FileLedger]:
    """Yield a ledger; on any exception remove the files written under it."""
    ledger = FileLedger()
    try:
        yield ledger
    except BaseException:
        ledger.rollback()
        raise


def read_stored(path: Path) -> RGBImage:
    """Decode a file this app wrote itself (already sanitised); OpenCV is the fastest here."""
    import cv2

    pixels = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if pixels is None:
        raise FileNotFoundError(f"stored image missing: {path.name}")
    return cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)


class DecodedImageCache:
    """A few recently decoded stored images of this process (couple photos reused by every task of a batch).

    Keyed by path, size and mtime, so a replaced file is decoded again. Held per AppContext, never
    in a module global; entries are only reachable through rows the caller was allowed to read.
    """

    def __init__(self, capacity: int = 6, objects: int = TEMPLATES_KEPT) -> None:
        self._images: RecentValues[tuple[str, int, int], RGBImage] = RecentValues(capacity)
        self._objects: RecentValues[str, RGBImage] = RecentValues(objects)

    def read(self, path: Path) -> RGBImage:
        stat = path.stat()
        return self._images.get((str(path), stat.st_size, stat.st_mtime_ns), lambda: _read_only(read_stored(path)))

    def read_object(self, key: str, load: Callable[[str], RGBImage]) -> RGBImage:
        """A stored image by its object key (a key never changes its bytes), decoded by `load` once:
        the templates a worker swaps into again and again. Images over TEMPLATE_KEPT_PIXELS are not kept."""
        return self._objects.get(key, lambda: _read_only(load(key)), keep=lambda p: p.shape[0] * p.shape[1] <= TEMPLATE_KEPT_PIXELS)

    def clear(self) -> None:
        self._images.clear()
        self._objects.clear()

    def __len__(self) -> int:
        return len(self._images) + len(self._objects)


def _read_only(pixels: RGBImage) -> RGBImage:
    pixels.setflags(write=False)
    return pixels


K = TypeVar("K", bound=Hashable)


class ReadAhead(Generic[K]):
    """Decodes the next stored image on one thread while the caller works on the current one.

    OpenCV's decoder releases the GIL, so on a machine with a spare core the decode of a 2 MP PNG
    (about 30 ms) overlaps the swap. At most `depth` images wait decoded (2: the one about to be read
    and the next; the oldest is dropped); a path never requested is read on the caller's thread. A
    decode error is raised by `read`, as a direct read would.
    """

    def __init__(self, read: Callable[[K], RGBImage], depth: int = 2) -> None:
        self._read = read
        self._depth = depth
        self._pending: dict[K, Future[RGBImage]] = {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead")

    def request(self, path: K) -> None:
        if path in self._pending:
            return
        while len(self._pending) >= self._depth:
            self._pending.pop(next(iter(self._pending))).cancel()
        self._pending[path] = self._executor.submit(self._read, path)

    def read(self, path: K) -> RGBImage:
        future = self._pending.pop(path, None)
        return future.result() if future is not None else self._read(path)

    def __enter__(self) -> ReadAhead[K]:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()
        self._executor.shutdown(wait=True)
