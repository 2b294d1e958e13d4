"""The model files of the insightface engine: where they come from, pinned sizes and sha256 sums,
how to check them, and how to download them without ever leaving a partial file under a final name.

Pinned values (public sources, cross-checked in several independent manifests):
- buffalo_l.zip from the deepinsight/insightface GitHub release v0.7, 288,621,354 bytes,
  sha256 80ffe37d…0ca2f; its members det_10g.onnx, genderage.onnx and w600k_r50.onnx with
  the sizes and sums below (the same sums ReActor's README publishes for these files).
- inswapper_128.onnx, 554,253,681 bytes, sha256 e4a3f08c…16af (Hugging Face mirror
  ezioruan/inswapper_128.onnx and facefusion-assets carry the same file).
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

ModelRole = Literal["detector", "genderage", "recognizer", "swapper"]
MODEL_ROLES: tuple[ModelRole, ...] = ("detector", "genderage", "recognizer", "swapper")
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

    role: ModelRole
    name: str
    sha256: str
    size: int
    source: Download
    member: str | None = None


@dataclass(frozen=True)
class ModelManifest:
    files: tuple[ModelFile, ...]

    def for_role(self, role: ModelRole) -> ModelFile:
        for model_file in self.files:
            if model_file.role == role:
                return model_file
        raise ModelUnavailable(f"the model manifest has no {role} file")

    def downloads(self) -> tuple[Download, ...]:
        return tuple(dict.fromkeys(f.source for f in self.files))

    def files_from(self, download: Download) -> tuple[ModelFile, ...]:
        return tuple(f for f in self.files if f.source == download)


BUFFALO_L_ZIP = Download(
    file_name="buffalo_l.zip",
    urls=("https://github.com/deepinsight/insightface/releases/download/v0.7/buffalo_l.zip",),
    sha256="80ffe37d8a5940d59a7384c201a2a38d4741f2f3c51eef46ebb28218a7b0ca2f",
    size=288_621_354,
)
INSWAPPER_128 = Download(
    file_name="inswapper_128.onnx",
    urls=(
        "https://huggingface.co/ezioruan/inswapper_128.onnx/resolve/main/inswapper_128.onnx",
        "https://github.com/facefusion/facefusion-assets/releases/download/models/inswapper_128.onnx",
    ),
    sha256="e4a3f08c753cb72d04e10aa0f7dbe3deebbf39567d4ead6dce08e98aa49e16af",
    size=554_253_681,
)

INSIGHTFACE_MANIFEST = ModelManifest(
    files=(
        ModelFile(
            role="detector",
            name="det_10g.onnx",
            sha256="5838f7fe053675b1c7a08b633df49e7af5495cee0493c7dcf6697200b85b5b91",
            size=16_923_827,
            source=BUFFALO_L_ZIP,
            member="det_10g.onnx",
        ),
        ModelFile(
            role="genderage",
            name="genderage.onnx",
            sha256="4fde69b1c810857b88c64a335084f1c3fe8f01246c9a191b48c7bb756d6652fb",
            size=1_322_532,
            source=BUFFALO_L_ZIP,
            member="genderage.onnx",
        ),
        ModelFile(
            role="recognizer",
            name="w600k_r50.onnx",
            sha256="4c06341c33c2ca1f86781dab0e829f88ad5b64be9fba56e56bc9ebdefc619e43",
            size=174_383_860,
            source=BUFFALO_L_ZIP,
            member="w600k_r50.onnx",
        ),
        ModelFile(
            role="swapper",
            name="inswapper_128.onnx",
            sha256=INSWAPPER_128.sha256,
            size=INSWAPPER_128.size,
            source=INSWAPPER_128,
        ),
    )
)


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


def check_model_files(models_dir: Path, manifest: ModelManifest = INSIGHTFACE_MANIFEST) -> list[ModelFileStatus]:
    return [file_status(models_dir, model_file) for model_file in manifest.files]


def all_verified(models_dir: Path, manifest: ModelManifest = INSIGHTFACE_MANIFEST) -> bool:
    return all(status.ok for status in check_model_files(models_dir, manifest))


def problems_summary(statuses: list[ModelFileStatus]) -> str:
    return "; ".join(status.describe() for status in statuses if not status.ok)


def verified_paths(models_dir: Path, manifest: ModelManifest = INSIGHTFACE_MANIFEST) -> dict[ModelRole, Path]:
    """The path of every model file by role, or ModelUnavailable naming each problem."""
    statuses = check_model_files(models_dir, manifest)
    if not all(status.ok for status in statuses):
        raise ModelUnavailable(
            f"insightface model files in {models_dir} are not usable: {problems_summary(statuses)}; {DOWNLOAD_HINT}"
        )
    return {status.file.role: status.path for status in statuses}


# --- downloading ----------------------------------------------------------------------------


def download_models(
    models_dir: Path,
    *,
    progress: bool,
    base_url_override: str | None = None,
    manifest: ModelManifest = INSIGHTFACE_MANIFEST,
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
