"""Verified model files for any engine or step: pins (URL, size, sha256), checks, and downloads that
never leave a partial file under a final name.

Engine-neutral: the insightface catalogue lives in pipeline/insight/model_files.py and the face
enhancer's in pipeline/enhance/model_files.py; both are `ModelManifest`s of this module's types.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

import httpx
from tqdm import tqdm

from pipeline.errors import ModelUnavailable

FileState = Literal["present", "missing", "wrong_size", "checksum_mismatch"]

DOWNLOAD_HINT = "run `python app.py models download`"
CHUNK_BYTES = 1 << 20
HTTP_TIMEOUT = httpx.Timeout(30.0, read=120.0)
ProgressCallback = Callable[[str, int, int], None]  # (file name, bytes so far, bytes expected)


@dataclass(frozen=True)
class Download:
    """One file fetched over HTTP: a model file itself, or a zip archive holding some."""

    file_name: str
    urls: tuple[str, ...]
    sha256: str
    size: int

    def urls_with_base(self, base_url_override: str | None) -> tuple[str, ...]:
        if base_url_override is None:
            return self.urls
        return (f"{base_url_override.rstrip('/')}/{self.file_name}",)


@dataclass(frozen=True)
class ModelFile:
    """A file the engine loads, by role. `member` names it inside `source` when that is a zip."""

    role: str  # what the file is to its engine or step, e.g. "detector", "enhancer"
    name: str
    sha256: str
    size: int
    source: Download
    member: str | None = None


@dataclass(frozen=True)
class ModelManifest:
    files: tuple[ModelFile, ...]
    label: str = "model"  # who loads them, in messages: "insightface", "face enhancer"

    def for_role(self, role: str) -> ModelFile:
        for model_file in self.files:
            if model_file.role == role:
                return model_file
        raise ModelUnavailable(f"the model manifest has no {role} file")

    def downloads(self) -> tuple[Download, ...]:
        return tuple(dict.fromkeys(f.source for f in self.files))

    def files_from(self, download: Download) -> tuple[ModelFile, ...]:
        return tuple(f for f in self.files if f.source == download)


@dataclass(frozen=True)
class ModelFileStatus:
    file: ModelFile
    path: Path
    state: FileState
    actual_size: int | None = None

    @property
    def ok(self) -> bool:
        return self.state == "present"

    def describe(self) -> str:
        if self.state == "present":
            return f"{self.file.name}: verified"
        if self.state == "missing":
            return f"{self.file.name}: missing"
        if self.state == "wrong_size":
            expected = f"expected {self.file.size}; truncated or not this model"
            return f"{self.file.name}: wrong size ({self.actual_size} bytes, {expected})"
        return f"{self.file.name}: checksum mismatch (not the pinned file)"


# --- checking -------------------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    """sha256 of a file, computed once per (path, size, mtime) in this process."""
    stat = path.stat()
    return _sha256_of(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _sha256_of(path: str, size: int, mtime_ns: int) -> str:
    del size, mtime_ns  # part of the cache key only
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_status(models_dir: Path, model_file: ModelFile) -> ModelFileStatus:
    """Missing and wrong sizes are found without reading the file; only then is it hashed."""
    path = Path(models_dir) / model_file.name
    if not path.is_file():
        return ModelFileStatus(model_file, path, "missing")
    size = path.stat().st_size
    if size != model_file.size:
        return ModelFileStatus(model_file, path, "wrong_size", size)
    if file_sha256(path) != model_file.sha256:
        return ModelFileStatus(model_file, path, "checksum_mismatch", size)
    return ModelFileStatus(model_file, path, "present", size)


def check_model_files(models_dir: Path, manifest: ModelManifest) -> list[ModelFileStatus]:
    return [file_status(models_dir, model_file) for model_file in manifest.files]


def all_verified(models_dir: Path, manifest: ModelManifest) -> bool:
    return all(status.ok for status in check_model_files(models_dir, manifest))


def problems_summary(statuses: list[ModelFileStatus]) -> str:
    return "; ".join(status.describe() for status in statuses if not status.ok)


def verified_paths(models_dir: Path, manifest: ModelManifest) -> dict[str, Path]:
    """The path of every model file by role, or ModelUnavailable naming each problem."""
    statuses = check_model_files(models_dir, manifest)
    if not all(status.ok for status in statuses):
        raise ModelUnavailable(
            f"{manifest.label} model files in {models_dir} are not usable: {problems_summary(statuses)}; {DOWNLOAD_HINT}"
        )
    return {status.file.role: status.path for status in statuses}


# --- downloading ----------------------------------------------------------------------------


def download_models(
    models_dir: Path,
    manifest: ModelManifest,
    *,
    progress: bool,
    base_url_override: str | None = None,
    on_progress: ProgressCallback | None = None,
    timeout: httpx.Timeout = HTTP_TIMEOUT,
) -> list[ModelFileStatus]:
    """Fetch every model file that is not already verified, then return the final statuses.

    Each file is written to a temporary name in `models_dir`, checked for size and sha256, and
    renamed into place atomically. Raises ModelUnavailable when a file cannot be had.
    `on_progress` is called from this thread as bytes arrive (for a status line).
    """
    models_dir = Path(models_dir)
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
        for download in manifest.downloads():
            wanted = [f for f in manifest.files_from(download) if not file_status(models_dir, f).ok]
            if wanted:
                fetch = _Fetch(base_url_override, progress, on_progress, timeout)
                _download_and_install(download, wanted, models_dir, fetch)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ModelUnavailable(f"cannot write model files in {models_dir}: {exc}") from exc
    statuses = check_model_files(models_dir, manifest)
    if not all(status.ok for status in statuses):
        raise ModelUnavailable(f"downloaded model files failed verification: {problems_summary(statuses)}")
    return statuses


@dataclass(frozen=True)
class _Fetch:
    """How to fetch: base URL override, terminal bar, progress callback, timeouts."""

    base_url_override: str | None
    progress: bool
    on_progress: ProgressCallback | None
    timeout: httpx.Timeout


def _download_and_install(download: Download, wanted: list[ModelFile], models_dir: Path, fetch: _Fetch) -> None:
    with _fetched(download, models_dir, fetch) as fetched:
        for model_file in wanted:
            if model_file.member is None:
                _install_download(fetched, model_file, models_dir)
            else:
                _install_member(fetched, model_file, models_dir)


@contextmanager
def _fetched(download: Download, directory: Path, fetch: _Fetch) -> Iterator[Path]:
    """A verified temporary copy of `download` from the first URL that delivers it; removed afterwards."""
    with _temporary(directory, download.file_name) as (path, stream):
        failures = []
        for url in download.urls_with_base(fetch.base_url_override):
            stream.seek(0)
            stream.truncate()
            try:
                _download_into(url, download, stream, fetch)
                break
            except (httpx.HTTPError, ModelUnavailable) as exc:
                failures.append(f"{url}: {exc}")
        else:
            raise ModelUnavailable(f"could not download {download.file_name}: " + "; ".join(failures))
        stream.close()
        yield path


def _download_into(url: str, download: Download, stream: IO[bytes], fetch: _Fetch) -> None:
    with httpx.Client(follow_redirects=True, timeout=fetch.timeout) as client, client.stream("GET", url) as response:
        response.raise_for_status()
        announced = response.headers.get("content-length")
        if announced is not None and announced.isdigit() and int(announced) != download.size:
            raise ModelUnavailable(f"server announces {announced} bytes, expected {download.size}")
        with tqdm(
            total=download.size,
            unit="B",
            unit_scale=True,
            desc=download.file_name,
            file=sys.stderr,
            disable=not fetch.progress,
        ) as bar:
            chunks = _counted(response.iter_bytes(CHUNK_BYTES), bar, download, fetch.on_progress)
            _copy_verified(chunks, stream, download.file_name, download.size, download.sha256)


def _counted(
    chunks: Iterator[bytes], bar: tqdm, download: Download, on_progress: ProgressCallback | None
) -> Iterator[bytes]:
    received = 0
    if on_progress is not None:
        on_progress(download.file_name, 0, download.size)
    for chunk in chunks:
        bar.update(len(chunk))
        received += len(chunk)
        if on_progress is not None:
            on_progress(download.file_name, received, download.size)
        yield chunk


def _copy_verified(chunks: Iterator[bytes], stream: IO[bytes], name: str, size: int, sha256: str) -> None:
    """Write `chunks`, hashing on the way; refuse more or fewer bytes than `size` or another sha256."""
    digest = hashlib.sha256()
    received = 0
    for chunk in chunks:
        received += len(chunk)
        if received > size:
            raise ModelUnavailable(f"{name}: more than the expected {size} bytes")
        digest.update(chunk)
        stream.write(chunk)
    if received != size:
        raise ModelUnavailable(f"{name}: got {received} bytes, expected {size} (truncated)")
    if digest.hexdigest() != sha256:
        raise ModelUnavailable(f"{name}: sha256 {digest.hexdigest()} does not match the pinned {sha256}")


def _install_download(fetched: Path, model_file: ModelFile, directory: Path) -> None:
    """The downloaded file is the model file itself: it was verified as it arrived."""
    if (model_file.sha256, model_file.size) != (model_file.source.sha256, model_file.source.size):
        raise ModelUnavailable(f"manifest error: {model_file.name} and its download pin different files")
    os.replace(fetched, directory / model_file.name)


def _install_member(archive: Path, model_file: ModelFile, directory: Path) -> None:
    with zipfile.ZipFile(archive) as bundle:
        member = _find_member(bundle, model_file)
        with bundle.open(member) as source, _temporary(directory, model_file.name) as (path, stream):
            chunks = iter(lambda: source.read(CHUNK_BYTES), b"")
            _copy_verified(chunks, stream, model_file.name, model_file.size, model_file.sha256)
            stream.close()
            os.replace(path, directory / model_file.name)


def _find_member(bundle: zipfile.ZipFile, model_file: ModelFile) -> zipfile.ZipInfo:
    """The member by exact name, else the one entry with that base name (archives may nest a folder)."""
    wanted = model_file.member or model_file.name
    infos = [i for i in bundle.infolist() if not i.is_dir()]
    exact = [i for i in infos if i.filename == wanted]
    by_base = [i for i in infos if i.filename.rsplit("/", 1)[-1] == wanted.rsplit("/", 1)[-1]]
    found = exact or by_base
    if len(found) != 1:
        raise ModelUnavailable(f"{wanted} is not in the archive exactly once")
    return found[0]


@contextmanager
def _temporary(directory: Path, name: str) -> Iterator[tuple[Path, IO[bytes]]]:
    """A hidden temp file next to the final one; removed on exit unless it was renamed away."""
    handle, raw_path = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".part")
    path = Path(raw_path)
    stream = os.fdopen(handle, "wb")
    try:
        yield path, stream
    finally:
        stream.close()
        path.unlink(missing_ok=True)
