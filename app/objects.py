"""Where image bytes live: the local data dir (the embedded default) or an S3-compatible bucket.

`ObjectStore` is the one interface: put, get, delete, a readable local file for a key, sizes and a
listing. `LocalObjects` keeps each object as a file under `<data dir>/images/` (unchanged layout).
`S3Objects` keeps them in `s3://BUCKET/PREFIX/` (AWS S3, MinIO, Cloudflare R2, SeaweedFS) through
obstore, and keeps downloaded or written copies in an `ObjectCache` of bounded size under
`<data dir>/cache/objects/` (a write the writer will not read back, such as a worker's result, is not
copied there); a delete removes the object and this process's cached copy.

Keys are the `images.path` values (`results/ab/ab12….jpg`); they never change once written (a
rerun of a task writes the same bytes under the same key), so a cached copy never goes stale.
The bucket is private: the app reads objects and serves them to their owner itself.

obstore runs a Rust (tokio) runtime that does not survive a fork: a process that has used S3Objects
must not fork workers afterwards (the worker's consumer never touches storage; its health endpoint
runs in a spawned process, app/health.py).
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from app.config import Settings

CACHE_DIR = Path("cache") / "objects"
TOUCH_AFTER_SECONDS = 60


class StorageError(OSError):
    """The object store failed (network, credentials, server); an OSError so tasks retry it."""


class StorageUrlError(ValueError):
    """FACESWAP_STORAGE_URL is not `s3://BUCKET[/PREFIX]`."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    modified: float  # seconds since the epoch


class ObjectStore(Protocol):
    """Image bytes by key. Every implementation is safe to use from several threads."""

    def put(self, key: str, data: bytes, *, keep_local: bool = True) -> None:
        """Store the object; `keep_local=False`: this machine will not read it back (no cached copy)."""
        ...

    def get(self, key: str) -> bytes: ...

    def local_path(self, key: str) -> Path:
        """A local file holding the object (the file itself, or a cached copy); FileNotFoundError if none."""
        ...

    def delete(self, key: str) -> bool:
        """Remove the object and any cached copy; True if it existed."""
        ...

    def exists(self, key: str) -> bool: ...

    def listing(self, prefix: str = "") -> Iterator[StoredObject]: ...

    def locator(self, key: str) -> str:
        """Where the object is, for an operator (a path or an s3:// URL); never a public URL."""
        ...


def atomic_write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _walk(root: Path, prefix: str) -> Iterator[StoredObject]:
    base = root / prefix if prefix else root
    if not base.is_dir():
        return
    for path in base.rglob("*"):
        if path.name.startswith(".tmp-") or path.is_symlink() or not path.is_file():
            continue
        try:
            stat = path.stat()
        except OSError:
            continue
        yield StoredObject(path.relative_to(root).as_posix(), stat.st_size, stat.st_mtime)


@dataclass(frozen=True)
class LocalObjects:
    """Objects as files under one folder (the data dir's images/)."""

    root: Path

    def put(self, key: str, data: bytes, *, keep_local: bool = True) -> None:
        atomic_write(self.root / key, data)  # the object is the local file: `keep_local` changes nothing

    def get(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def local_path(self, key: str) -> Path:
        return self.root / key

    def delete(self, key: str) -> bool:
        try:
            (self.root / key).unlink()
        except FileNotFoundError:
            return False
        return True

    def exists(self, key: str) -> bool:
        return (self.root / key).is_file()

    def listing(self, prefix: str = "") -> Iterator[StoredObject]:
        return _walk(self.root, prefix)

    def locator(self, key: str) -> str:
        return str(self.root / key)


class ObjectCache:
    """Copies of objects on local disk, at most `max_bytes` (least recently used go first).

    Shared safely by the processes of one machine: files are written atomically, a hit refreshes
    the file's mtime, and eviction removes the oldest files once the folder passes its bound."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._added = max_bytes  # scan on the first store

    def path(self, key: str) -> Path:
        return self.root / key

    def hit(self, key: str) -> Path | None:
        """The cached copy, marked as used (its mtime, refreshed at most once a minute so readers that
        key on mtime, like the decoded-image cache, see a stable file)."""
        path = self.root / key
        try:
            if time.time() - path.stat().st_mtime > TOUCH_AFTER_SECONDS:
                os.utime(path)
        except OSError:
            return None
        return path

    def store(self, key: str, data: bytes) -> Path:
        path = self.root / key
        atomic_write(path, data)
        with self._lock:
            self._added += len(data)
            if self._added * 10 >= self.max_bytes:  # rescan after a tenth of the bound was added
                self._added = 0
                self._evict(keep=path)
        return path

    def discard(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)

    def size(self) -> int:
        return sum(item.size for item in _walk(self.root, ""))

    def _evict(self, keep: Path) -> None:
        items = sorted(_walk(self.root, ""), key=lambda item: item.modified)
        total = sum(item.size for item in items)
        for item in items:
            if total <= self.max_bytes:
                break
            path = self.root / item.key
            if path == keep:
                continue
            path.unlink(missing_ok=True)
            total -= item.size


class S3Objects:
    """Objects in an S3-compatible bucket under a prefix, read through a bounded local cache."""

    def __init__(self, bucket: str, prefix: str, cache: ObjectCache, options: dict[str, Any]) -> None:
        from obstore.store import S3Store

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.cache = cache
        endpoint = str(options.get("endpoint") or "")
        self._store = S3Store(
            bucket,
            prefix=self.prefix or None,
            client_options={"allow_http": endpoint.startswith("http://"), "timeout": "60s", "connect_timeout": "10s"},
            **{k: v for k, v in options.items() if v},
        )

    def put(self, key: str, data: bytes, *, keep_local: bool = True) -> None:
        import obstore

        with _translated(key):
            obstore.put(self._store, key, data)
        if keep_local:
            self.cache.store(key, data)  # write-through: the next read on this machine is local
        else:
            self.cache.discard(key)  # no copy kept, and none left from an earlier write of the key

    def get(self, key: str) -> bytes:
        cached = self.cache.hit(key)
        if cached is not None:
            try:
                return cached.read_bytes()
            except FileNotFoundError:
                pass  # evicted meanwhile
        return self._download(key)

    def _download(self, key: str) -> bytes:
        import obstore

        with _translated(key):
            data = bytes(obstore.get(self._store, key).bytes())
        self.cache.store(key, data)
        return data

    def local_path(self, key: str) -> Path:
        cached = self.cache.hit(key)
        if cached is not None:
            return cached
        self._download(key)
        return self.cache.path(key)

    def delete(self, key: str) -> bool:
        import obstore

        self.cache.discard(key)
        existed = self.exists(key)
        if existed:
            with _translated(key):
                obstore.delete(self._store, key)
        self.cache.discard(key)  # again: a read on this machine between the two may have cached it anew
        return existed

    def exists(self, key: str) -> bool:
        import obstore

        try:
            with _translated(key):
                obstore.head(self._store, key)
        except FileNotFoundError:
            return False
        return True

    def listing(self, prefix: str = "") -> Iterator[StoredObject]:
        import obstore

        try:
            with _translated(prefix or "/"):
                for chunk in obstore.list(self._store, prefix=prefix or None):
                    for meta in chunk:
                        modified = meta["last_modified"]
                        yield StoredObject(str(meta["path"]), int(meta["size"]), _epoch(modified))
        except FileNotFoundError:
            return  # no bucket yet (created by the first write on SeaweedFS and MinIO): nothing stored

    def locator(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.prefix + '/' if self.prefix else ''}{key}"


def _epoch(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


class _translated:
    """Map obstore's errors onto FileNotFoundError (missing object) and StorageError (the rest)."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: object) -> bool:
        if error is None or isinstance(error, FileNotFoundError):
            return False
        from obstore.exceptions import BaseError, NotFoundError

        if isinstance(error, NotFoundError) or "status code: 404" in str(error):
            raise FileNotFoundError(f"stored object missing: {Path(self.key).name}") from None
        if isinstance(error, BaseError):
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise StorageError(f"object storage: {type(error).__name__}: {first[:200]}") from None
        return False


def parse_storage_url(url: str) -> tuple[str, str]:
    """`s3://BUCKET/PREFIX` → (bucket, prefix); anything else raises StorageUrlError."""
    parts = urlsplit(url.strip())
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise StorageUrlError("FACESWAP_STORAGE_URL must look like s3://BUCKET/PREFIX")
    return parts.netloc, parts.path.strip("/")


def open_objects(settings: Settings) -> ObjectStore:
    """The object store the settings name: the data dir's images/, or the bucket behind a cache."""
    if not settings.storage_url:
        return LocalObjects(settings.images_dir)
    bucket, prefix = parse_storage_url(settings.storage_url)
    cache = ObjectCache(settings.resolved_data_dir / CACHE_DIR, settings.storage_cache_mb * 1024 * 1024)
    options = {
        "endpoint": settings.aws_endpoint_url,
        "region": settings.aws_region,
        "access_key_id": settings.aws_access_key_id,
        "secret_access_key": settings.aws_secret_access_key,
    }
    if not settings.aws_access_key_id:
        options["skip_signature"] = True  # an anonymous bucket (a local test server)
    return S3Objects(bucket, prefix, cache, options)


def total_size(store: ObjectStore, keys: Iterable[str]) -> int:
    """Bytes of the named objects that exist (one listing per top folder, not a request per key)."""
    wanted = set(keys)
    if isinstance(store, LocalObjects):
        total = 0
        for key in wanted:
            try:
                total += (store.root / key).stat().st_size
            except OSError:
                continue
        return total
    folders = {key.split("/", 1)[0] for key in wanted}
    return sum(item.size for folder in folders for item in store.listing(folder + "/") if item.key in wanted)
