"""Loading the four models through insightface's own model_zoo, after the files pass their checks."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from insightface import model_zoo
from insightface.model_zoo.arcface_onnx import ArcFaceONNX
from insightface.model_zoo.attribute import Attribute
from insightface.model_zoo.inswapper import INSwapper
from insightface.model_zoo.scrfd import SCRFD

from pipeline.errors import ModelUnavailable
from pipeline.insight.providers import ctx_id_for
from pipeline.insight.model_files import InsightRole
from pipeline.model_download import ModelManifest, verified_paths

DET_SIZE = (640, 640)  # SCRFD input (width, height); one size, no multi-scale pass
DET_THRESHOLD = 0.5

ROUTED_CLASS: dict[InsightRole, type] = {
    "detector": SCRFD,
    "genderage": Attribute,
    "recognizer": ArcFaceONNX,
    "swapper": INSwapper,
}


@dataclass(frozen=True)
class InsightModels:
    detector: SCRFD
    genderage: Attribute
    recognizer: ArcFaceONNX
    swapper: INSwapper

    @property
    def provider(self) -> str:
        """The provider the detector session actually runs on (onnxruntime may fall back to CPU)."""
        return str(self.detector.session.get_providers()[0])


def load_models(models_dir: Path, manifest: ModelManifest, providers: Sequence[str]) -> InsightModels:
    """Verify every file against `manifest` first, so a bad file never reaches onnxruntime."""
    paths = verified_paths(models_dir, manifest)
    ctx_id = ctx_id_for(providers)
    detector = _routed("detector", paths["detector"], providers)
    genderage = _routed("genderage", paths["genderage"], providers)
    recognizer = _routed("recognizer", paths["recognizer"], providers)
    swapper = _routed("swapper", paths["swapper"], providers)
    # SCRFD.prepare reads `input_size` (FaceAnalysis calls the same value det_size).
    detector.prepare(ctx_id, input_size=DET_SIZE, det_thresh=DET_THRESHOLD)
    genderage.prepare(ctx_id)
    recognizer.prepare(ctx_id)
    return InsightModels(detector=detector, genderage=genderage, recognizer=recognizer, swapper=swapper)


def _routed(role: InsightRole, path: Path, providers: Sequence[str]):  # type: ignore[no-untyped-def]
    try:
        # INSwapper prints its input shape; keep stdout clean for `--json` output.
        with contextlib.redirect_stdout(sys.stderr):
            model = model_zoo.get_model(str(path), providers=list(providers))
    except Exception as exc:  # onnx/onnxruntime raise many types for an unloadable file
        raise ModelUnavailable(f"{path.name} could not be loaded: {exc}") from exc
    expected = ROUTED_CLASS[role]
    if not isinstance(model, expected):
        routed = type(model).__name__ if model is not None else "nothing"
        raise ModelUnavailable(
            f"{path.name} is not the {role} model: insightface routed it to {routed}, expected {expected.__name__}"
        )
    return model
