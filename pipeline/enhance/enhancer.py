"""FaceEnhancer: GFPGAN on each swapped face, blended back inside the face's swap region.

Per face: the five points align a square crop to the model's template; the model enhances it; the
result is warped back and blended with weight strength x (a soft box in crop space) x (the face's
feathered swap region). Outside the swap region the weight is exactly 0, so no other pixel changes.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnxruntime
from numpy.typing import NDArray

from pipeline.enhance.forward import forward_enhance
from pipeline.enhance.model_files import ENHANCER_MANIFEST, ENHANCER_ROLE, GFPGAN_1_4, EnhancerModel
from pipeline.errors import ModelUnavailable
from pipeline.face import Face, RGBImage
from pipeline.masks import face_region, feathered_weight
from pipeline.model_download import DOWNLOAD_HINT, ModelManifest, check_model_files, problems_summary, verified_paths
from pipeline.providers import choose_providers

FEATHER_SHARE = 0.04  # ramp inside the swap region, as a share of its size (as the insightface paste uses)
BOX_BLUR_SHARE = 0.1  # soft edge of the crop's own box, as a share of the crop side
BOX_PADDING_SHARE = 0.02  # crop border never used (the warp's replicated edge)
MIN_FACE_PIXELS = 8.0  # eye distance below which a face is too small to align


@dataclass(frozen=True)
class EnhanceOutcome:
    image: RGBImage
    enhanced: tuple[bool, ...]  # one per face given, in order


def unavailable_reason(models_dir: Path, manifest: ModelManifest = ENHANCER_MANIFEST) -> str | None:
    """Why enhancing cannot run (files missing, truncated or not the pinned ones), or None when it can."""
    statuses = check_model_files(models_dir, manifest)
    if all(status.ok for status in statuses):
        return None
    if all(status.state == "missing" for status in statuses):
        names = ", ".join(status.file.name for status in statuses)
        return f"enhancing is unavailable: {names} is not in {models_dir}; {DOWNLOAD_HINT}"
    return f"enhancing is unavailable: {problems_summary(statuses)}; {DOWNLOAD_HINT}"


class FaceEnhancer:
    """GFPGAN 1.4 over onnxruntime: CUDA first when onnxruntime offers it, CPU as fallback.
    The session loads on first use (after the file passes its size and sha256 check) and is shared."""

    def __init__(
        self,
        models_dir: Path,
        *,
        manifest: ModelManifest = ENHANCER_MANIFEST,
        model: EnhancerModel = GFPGAN_1_4,
        providers: Sequence[str] | None = None,
    ) -> None:
        self._models_dir = Path(models_dir)
        self._manifest = manifest
        self.model = model
        self._providers = (
            list(providers) if providers is not None else choose_providers(onnxruntime.get_available_providers())
        )
        self._session: onnxruntime.InferenceSession | None = None
        self._lock = threading.Lock()

    @property
    def provider(self) -> str:
        """The provider the session runs on once loaded; before that, the one that will be asked for."""
        if self._session is not None:
            return str(self._session.get_providers()[0])
        return self._providers[0]

    def unavailable_reason(self) -> str | None:
        return unavailable_reason(self._models_dir, self._manifest)

    @property
    def session(self) -> onnxruntime.InferenceSession:
        with self._lock:
            if self._session is None:
                self._session = self._load()
            return self._session

    def _load(self) -> onnxruntime.InferenceSession:
        path = verified_paths(self._models_dir, self._manifest)[ENHANCER_ROLE]
        try:
            session = onnxruntime.InferenceSession(str(path), providers=self._providers)
        except Exception as exc:  # onnxruntime raises several types for an unloadable file
            raise ModelUnavailable(f"{path.name} could not be loaded: {exc}") from exc
        side = self.model.size
        inputs, outputs = session.get_inputs(), session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 1 or not _fits(inputs[0].shape, side):
            raise ModelUnavailable(f"{path.name} is not a 1x3x{side}x{side} face enhancer")
        return session

    def enhance(self, image: RGBImage, faces: Sequence[Face], strength: float) -> EnhanceOutcome:
        """`image` with each face enhanced and blended in at `strength` (0..1); 0 changes nothing."""
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"strength must be between 0 and 1, got {strength}")
        if strength == 0.0 or not faces:
            return EnhanceOutcome(image, tuple(False for _ in faces))
        session = self.session
        result = image.copy()
        done = []
        for face in faces:
            done.append(self._enhance_face(session, result, face, strength))
        return EnhanceOutcome(result, tuple(done))

    def _enhance_face(
        self, session: onnxruntime.InferenceSession, image: RGBImage, face: Face, strength: float
    ) -> bool:
        """Enhance one face of `image` in place; False when it cannot be aligned or has no swap region."""
        kps = face.kps_array()
        if len(kps) != 5 or float(np.linalg.norm(kps[1] - kps[0])) < MIN_FACE_PIXELS:
            return False
        matrix, _ = cv2.estimateAffinePartial2D(kps.astype(np.float64), self.model.template, method=cv2.LMEDS)
        if matrix is None:
            return False
        region = face_region(image.shape[:2], face)
        weight = feathered_weight(region, FEATHER_SHARE)
        if not weight.any():
            return False
        side = self.model.size
        crop = cv2.warpAffine(image, matrix, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        enhanced = forward_enhance(session, crop)
        # Back into the region's box only: shift the inverse warp by the box's corner.
        inverse = cv2.invertAffineTransform(matrix)
        inverse[:, 2] -= (region.left, region.top)
        box_size = (region.right - region.left, region.bottom - region.top)
        pasted = cv2.warpAffine(enhanced, inverse, box_size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        box = cv2.warpAffine(_soft_box(side), inverse, box_size, flags=cv2.INTER_LINEAR, borderValue=0.0)
        alpha = (strength * weight * box)[:, :, None]
        rows, cols = slice(region.top, region.bottom), slice(region.left, region.right)
        base = image[rows, cols].astype(np.float32)
        image[rows, cols] = np.rint(base * (1.0 - alpha) + pasted.astype(np.float32) * alpha).astype(np.uint8)
        return True


def _fits(shape: Sequence[object], side: int) -> bool:
    """1 x 3 x side x side, where a named (dynamic) dimension fits any size."""
    wanted = (1, 3, side, side)
    return len(shape) == 4 and all(not isinstance(d, int) or d == w for d, w in zip(shape, wanted, strict=True))


def _soft_box(side: int) -> NDArray[np.float32]:
    """1 inside the crop, falling to 0 at its border (the model's view ends there)."""
    box = np.zeros((side, side), dtype=np.float32)
    pad = max(1, int(BOX_PADDING_SHARE * side))
    box[pad : side - pad, pad : side - pad] = 1.0
    blur = max(1, int(BOX_BLUR_SHARE * side)) | 1
    return cv2.GaussianBlur(box, (blur, blur), 0)
