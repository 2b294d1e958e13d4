"""Loading the classic engine's pinned TFLite models and running them with ai-edge-litert."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.errors import ModelUnavailable


def read_pinned(path: Path, sha256: str, label: str, installer: str) -> bytes:
    """The model file's bytes; ModelUnavailable when it is missing or is not the pinned file."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ModelUnavailable(f"{label} missing: {path} (run `python {installer}`)") from error
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise ModelUnavailable(f"{label} {path.name} fails its checksum (sha256 {digest[:12]}...)")
    return data


def interpreter(model: bytes) -> Any:
    """A one-thread LiteRT interpreter with its tensors allocated (not thread-safe: callers lock)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as error:
        raise ModelUnavailable("package ai-edge-litert is not installed") from error
    with native_stderr_silenced():  # LiteRT prints an INFO line about its XNNPACK delegate
        loaded = Interpreter(model_content=model, num_threads=1)
        loaded.allocate_tensors()
    return loaded


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the duration (native libraries write there directly).

    CLI refusals must stay one line on stderr; this runs once per engine, while its models load.
    """
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)
