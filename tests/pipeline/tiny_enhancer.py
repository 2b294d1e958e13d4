"""The GFPGANv1.4.onnx stand-in for tests (app/bench/enhancer_standin.py builds it): the real input and
output names, shapes and value ranges; its output is the input's negative, so a value v becomes 255 - v
where the enhancer blended it in fully."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.bench.enhancer_standin import write_enhancer_standin
from pipeline.model_download import ModelManifest


@dataclass(frozen=True)
class TinyEnhancer:
    directory: Path
    manifest: ModelManifest
    data: bytes


def write_tiny_enhancer(directory: Path, *, side: int = 512) -> TinyEnhancer:
    """The stand-in under the real file name, and a manifest pinning its own size and sha256."""
    data, manifest = write_enhancer_standin(directory, side=side)
    return TinyEnhancer(directory, manifest, data)
