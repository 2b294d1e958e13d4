"""InsightFaceEngine: the FaceEngine on buffalo_l (detect, gender/age, ArcFace) and inswapper_128.

Project images are RGB; insightface works on BGR. The conversion happens here, at the boundary,
as does the translation of insightface's gender code (1 = male, 0 = female).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime
from numpy.typing import NDArray

from pipeline.errors import ImageRejected
from pipeline.face import Assignment, EngineName, Face, Gender, RGBImage, SourceFace, order_left_to_right
from pipeline.insight.forward import forward_detect, forward_embedding, forward_genderage, forward_swap
from pipeline.insight.models import DET_SIZE, InsightModels, load_models
from pipeline.insight.providers import choose_providers
from pipeline.masks import FaceRegion, face_region, feathered_weight
from pipeline.insight.model_files import INSIGHTFACE_MANIFEST
from pipeline.model_download import ModelManifest

EMBEDDING_SIZE = 512
INSIGHTFACE_GENDER: dict[int, Gender] = {1: Gender.MALE, 0: Gender.FEMALE}
FEATHER_SHARE = 0.04  # blend ramp inside the swap region, as a share of its size


class InsightFaceEngine:
    """FaceEngine on insightface models. Sessions load lazily (or in warmup) and are shared by threads."""

    name: EngineName = "insightface"
    face_data_version: str = "insightface-1"  # bump when stored face data of older versions must be redone

    def __init__(
        self,
        models_dir: Path,
        *,
        manifest: ModelManifest = INSIGHTFACE_MANIFEST,
        providers: Sequence[str] | None = None,
    ) -> None:
        """`manifest` pins the files to load; tests pass one for their tiny models."""
        self._models_dir = Path(models_dir)
        self._manifest = manifest
        self._providers = (
            list(providers) if providers is not None else choose_providers(onnxruntime.get_available_providers())
        )
        self._models: InsightModels | None = None
        self._warm = False
        self._lock = threading.RLock()

    @property
    def provider(self) -> str:
        """The provider the sessions run on once loaded; before that, the one that will be asked for."""
        return self._models.provider if self._models is not None else self._providers[0]

    @property
    def models(self) -> InsightModels:
        """The loaded insightface model objects (loads them on first use)."""
        with self._lock:
            if self._models is None:
                self._models = load_models(self._models_dir, self._manifest, self._providers)
            return self._models

    def warmup(self) -> None:
        with self._lock:
            if not self._warm:
                _run_once(self.models)
                self._warm = True

    def detect(self, image: RGBImage) -> list[Face]:
        bgr = _to_bgr(image)
        models = self.models
        dets, kpss = forward_detect(models.detector, bgr)
        faces = [_face_from(models, bgr, det, kps) for det, kps in zip(dets, kpss, strict=True)]
        return order_left_to_right(faces)

    def prepare_source(self, source: SourceFace) -> Face:
        return self.embed(source)

    def forget_sources(self) -> None:
        """Nothing to drop: embeddings live on the caller's faces, not in the engine."""

    def wears_glasses(self, source: SourceFace) -> bool:
        """Never: inswapper draws the face from the identity embedding, so no source frames reach the result."""
        return False

    def embed(self, source: SourceFace) -> Face:
        """The source face with its normed ArcFace embedding (what inswapper needs)."""
        embedding = self._embedding(source)
        return dataclasses.replace(source.face, embedding=tuple(float(v) for v in embedding))

    def swap(self, image: RGBImage, assignments: list[Assignment]) -> RGBImage:
        bgr = _to_bgr(image)
        if not assignments:
            return image.copy()
        models = self.models
        embeddings: dict[int, NDArray[np.float32]] = {}
        for assignment in assignments:
            key = id(assignment.source)
            if key not in embeddings:
                embeddings[key] = self._embedding(assignment.source)
            target = assignment.target
            swapped = forward_swap(
                models.swapper,
                bgr,
                np.asarray(target.bbox, dtype=np.float32),
                target.kps_array(),
                embeddings[key],
            )
            bgr = _blend_inside(bgr, swapped, face_region(image.shape[:2], target))
        return np.ascontiguousarray(bgr[:, :, ::-1])

    def _embedding(self, source: SourceFace) -> NDArray[np.float32]:
        stored = source.face.embedding
        if stored is not None and len(stored) == EMBEDDING_SIZE:
            vector = np.asarray(stored, dtype=np.float32)
            return vector / max(float(np.linalg.norm(vector)), 1e-12)
        return forward_embedding(self.models.recognizer, _to_bgr(source.image), source.face.kps_array())


def _to_bgr(image: RGBImage) -> NDArray[np.uint8]:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ImageRejected("expected an RGB uint8 image of shape H x W x 3")
    return np.ascontiguousarray(image[:, :, ::-1])


def _face_from(
    models: InsightModels, bgr: NDArray[np.uint8], det: NDArray[np.float32], kps: NDArray[np.float32]
) -> Face:
    prediction = forward_genderage(models.genderage, bgr, det)
    code = int(np.argmax(prediction[:2]))  # insightface's own rule: 1 = male, 0 = female
    height, width = bgr.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in det[:4])
    return Face(
        bbox=(
            float(np.clip(x1, 0, width)),
            float(np.clip(y1, 0, height)),
            float(np.clip(x2, 0, width)),
            float(np.clip(y2, 0, height)),
        ),
        kps=tuple((float(x), float(y)) for x, y in kps),
        det_score=float(det[4]),
        gender=INSIGHTFACE_GENDER[code],
        gender_score=float(_gender_probabilities(prediction[:2])[code]),
        age=float(np.round(prediction[2] * 100)),
    )


def _gender_probabilities(scores: NDArray[np.float32]) -> NDArray[np.float64]:
    """Use the two scores as probabilities when they already are, else softmax them."""
    values = scores.astype(np.float64)
    if np.all((values >= 0) & (values <= 1)) and abs(values.sum() - 1.0) < 1e-3:
        return values
    exp = np.exp(values - values.max())
    return exp / exp.sum()


def _blend_inside(base: NDArray[np.uint8], edited: NDArray[np.uint8], region: FaceRegion) -> NDArray[np.uint8]:
    """`edited` over `base` with a soft edge inside the region's swap area (pipeline.masks.swap_region);
    outside it `base` is kept exactly."""
    weight = feathered_weight(region, FEATHER_SHARE)
    if not weight.any():
        return base
    rows, cols = slice(region.top, region.bottom), slice(region.left, region.right)
    mixed = base[rows, cols] * (1.0 - weight[:, :, None]) + edited[rows, cols] * weight[:, :, None]
    result = base.copy()
    result[rows, cols] = np.rint(mixed).astype(np.uint8)
    return result


def _run_once(models: InsightModels) -> None:
    """One inference per model: builds the detector's 640x640 session and touches every other one."""
    width, height = DET_SIZE
    canvas = np.full((height, width, 3), 127, dtype=np.uint8)
    forward_detect(models.detector, canvas)
    box = np.array([192.0, 192.0, 448.0, 448.0, 1.0], dtype=np.float32)
    kps = np.array([[270, 290], [370, 290], [320, 340], [280, 390], [360, 390]], dtype=np.float32)
    forward_genderage(models.genderage, canvas, box)
    embedding = forward_embedding(models.recognizer, canvas, kps)
    forward_swap(models.swapper, canvas, box[:4], kps, embedding)
