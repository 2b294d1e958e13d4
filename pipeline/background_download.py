"""Fetch a manifest's model files in a background thread and report progress for a status line.

`BackgroundDownload.start()` returns at once. `progress()` is safe to call from any thread and
says what happens: checking, downloading (file, bytes), verified, or failed (with the reason).
Offline, the first connection fails within `connect_timeout` seconds and the state is "failed",
so the caller can say at once why it stays on the classic engine. `on_verified` runs in the
download thread once every file is installed and verified (e.g. to switch engines).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import httpx

from pipeline.errors import ModelUnavailable
from pipeline.model_download import ModelManifest, all_verified, download_models

log = logging.getLogger(__name__)

DownloadState = Literal["idle", "checking", "downloading", "verified", "failed"]
CONNECT_TIMEOUT_SECONDS = 2.0
READ_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class DownloadProgress:
    state: DownloadState
    file_name: str | None = None
    received: int = 0
    expected: int = 0
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.state in ("verified", "failed")

    def describe(self) -> str:
        """One short line: 'downloading inswapper_128.onnx 41% (227/554 MB)'."""
        if self.state == "downloading" and self.file_name and self.expected:
            share = 100 * self.received / self.expected
            return (
                f"downloading {self.file_name} {share:.0f}% "
                f"({self.received / 1e6:.0f}/{self.expected / 1e6:.0f} MB)"
            )
        if self.state == "failed":
            return f"model download failed: {self.error}"
        return {
            "idle": "model download not started",
            "checking": "checking model files",
            "downloading": "downloading model files",
            "verified": "model files verified",
        }.get(self.state, self.state)


class BackgroundDownload:
    """One download of the manifest's files into `models_dir`, on a daemon thread."""

    def __init__(
        self,
        models_dir: Path,
        *,
        manifest: ModelManifest,
        base_url_override: str | None = None,
        on_verified: Callable[[], None] | None = None,
        connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
    ) -> None:
        self._models_dir = Path(models_dir)
        self._base_url_override = base_url_override
        self._manifest = manifest
        self._on_verified = on_verified
        self._timeout = httpx.Timeout(READ_TIMEOUT_SECONDS, connect=connect_timeout)
        self._lock = threading.Lock()
        self._progress = DownloadProgress("idle")
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread once; later calls do nothing."""
        with self._lock:
            if self._thread is not None:
                return
            self._progress = DownloadProgress("checking")
            self._thread = threading.Thread(target=self._run, name="coswap-model-download", daemon=True)
            self._thread.start()

    def progress(self) -> DownloadProgress:
        with self._lock:
            return self._progress

    def wait(self, timeout: float | None = None) -> DownloadProgress:
        """Block until verified or failed, or until `timeout` passes; returns the progress then."""
        self._done.wait(timeout)
        return self.progress()

    def _set(self, progress: DownloadProgress) -> None:
        with self._lock:
            self._progress = progress

    def _on_bytes(self, file_name: str, received: int, expected: int) -> None:
        self._set(DownloadProgress("downloading", file_name, received, expected))

    def _run(self) -> None:
        try:
            if not all_verified(self._models_dir, self._manifest):
                download_models(
                    self._models_dir,
                    self._manifest,
                    progress=False,
                    base_url_override=self._base_url_override,
                    on_progress=self._on_bytes,
                    timeout=self._timeout,
                )
        except ModelUnavailable as exc:
            self._fail(_short(str(exc)))
            return
        except Exception as exc:  # noqa: BLE001  (a daemon thread: record why, never die silently)
            self._fail(f"{type(exc).__name__}: {_short(str(exc))}")
            return
        last = self.progress()
        self._set(replace(last, state="verified", error=None))
        try:
            if self._on_verified is not None:
                self._on_verified()
        except Exception as exc:  # noqa: BLE001
            log.warning("model files verified, but switching engines failed: %s", _short(str(exc)))
            self._set(DownloadProgress("failed", error=f"verified, but the engine did not load: {_short(str(exc))}"))
        finally:
            self._done.set()

    def _fail(self, reason: str) -> None:
        log.warning("%s model download failed: %s", self._manifest.label, reason)
        self._set(DownloadProgress("failed", error=reason))
        self._done.set()


def _short(text: str, limit: int = 240) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "unknown error"
    return line if len(line) <= limit else line[: limit - 1] + "…"
