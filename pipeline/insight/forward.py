"""The only functions that run inference: each calls one insightface model object on a BGR image."""

from __future__ import annotations

import cv2
import numpy as np
from insightface.app.common import Face as InsightFace
from insightface.model_zoo.arcface_onnx import ArcFaceONNX
from insightface.model_zoo.attribute import Attribute
from insightface.model_zoo.inswapper import INSwapper
from insightface.model_zoo.scrfd import SCRFD
from insightface.utils import face_align
from numpy.typing import NDArray

from pipeline.errors import ModelUnavailable, NoFaceFound
from pipeline.insight.models import DET_SIZE

BGRImage = NDArray[np.uint8]
Vector = NDArray[np.float32]


def forward_detect(detector: SCRFD, image_bgr: BGRImage) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """SCRFD boxes (N x 5: x1, y1, x2, y2, score) and five keypoints (N x 5 x 2)."""
    dets, kpss = detector.detect(image_bgr, input_size=DET_SIZE)
    if kpss is None:
        raise ModelUnavailable("the detector gives no keypoints; det_10g.onnx does")
    return dets.astype(np.float32), kpss.astype(np.float32)


def forward_genderage(attribute: Attribute, image_bgr: BGRImage, bbox: NDArray[np.float32]) -> Vector:
    """The raw [female, male, age / 100] prediction, from Attribute.get's own crop and blob."""
    x1, y1, x2, y2 = (float(v) for v in bbox[:4])
    size = int(attribute.input_size[0])
    scale = size / (max(x2 - x1, y2 - y1) * 1.5)
    crop, _ = face_align.transform(image_bgr, ((x1 + x2) / 2, (y1 + y2) / 2), size, scale, 0)
    mean = attribute.input_mean
    blob = cv2.dnn.blobFromImage(crop, 1.0 / attribute.input_std, (size, size), (mean, mean, mean), swapRB=True)
    prediction = attribute.session.run(attribute.output_names, {attribute.input_name: blob})[0][0]
    return np.asarray(prediction, dtype=np.float32)


def forward_embedding(recognizer: ArcFaceONNX, image_bgr: BGRImage, kps: NDArray[np.float32]) -> Vector:
    """The L2-normed ArcFace embedding of the face with these keypoints."""
    embedding = np.asarray(recognizer.get(image_bgr, InsightFace(kps=kps)), dtype=np.float32).ravel()
    norm = float(np.linalg.norm(embedding))
    if not np.isfinite(norm) or norm < 1e-12:
        raise NoFaceFound("the source face gives no identity embedding")
    return embedding / norm


def forward_swap(
    swapper: INSwapper,
    image_bgr: BGRImage,
    target_bbox: NDArray[np.float32],
    target_kps: NDArray[np.float32],
    source_embedding: Vector,
) -> BGRImage:
    """INSwapper.get with insightface's own paste-back, run on a window around the face.

    The paste-back leaves every pixel outside the aligned 128x128 square untouched, so running it on
    a window that holds that square (plus room for its erode and blur) gives the same pixels as on
    the whole image, at a fraction of the cost on large images.
    """
    top, bottom, left, right = _paste_window(image_bgr.shape[:2], target_kps, int(swapper.input_size[0]))
    offset = np.array([left, top], dtype=np.float32)
    target = InsightFace(bbox=target_bbox - np.tile(offset, 2), kps=target_kps - offset)
    source = InsightFace(embedding=source_embedding)
    window = np.ascontiguousarray(image_bgr[top:bottom, left:right])
    result = image_bgr.copy()
    result[top:bottom, left:right] = swapper.get(window, target, source, paste_back=True)
    return result


def _paste_window(shape_hw: tuple[int, ...], kps: NDArray[np.float32], size: int) -> tuple[int, int, int, int]:
    """top, bottom, left, right of the aligned square's bounds in the image, grown by a quarter."""
    inverse = cv2.invertAffineTransform(face_align.estimate_norm(kps, size))
    corners = np.array([[0, 0], [size, 0], [0, size], [size, size]], dtype=np.float64)
    points = corners @ inverse[:, :2].T + inverse[:, 2]
    low, high = points.min(axis=0), points.max(axis=0)
    margin = 0.25 * float(max(high - low)) + 8.0
    height, width = int(shape_hw[0]), int(shape_hw[1])
    left = int(np.clip(np.floor(low[0] - margin), 0, width))
    right = int(np.clip(np.ceil(high[0] + margin), 0, width))
    top = int(np.clip(np.floor(low[1] - margin), 0, height))
    bottom = int(np.clip(np.ceil(high[1] + margin), 0, height))
    return top, bottom, left, right
