"""dlib's frontal HOG face detector and its 68-point landmark predictor."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

import cv2
import dlib
import numpy as np
from numpy.typing import NDArray

from pipeline.errors import ModelUnavailable

DETECT_LONG_SIDE: Final = 1280  # larger images are detected on a downscaled copy
UPSAMPLE_BELOW: Final = 640  # a smaller image with no face found is searched again, upsampled once
SCORE_THRESHOLD: Final = 0.0  # dlib's own default decision threshold
LANDMARK_COUNT: Final = 68

Points = NDArray[np.float32]  # N x 2, x then y


@dataclass(frozen=True)
class Detection:
    """A dlib-style box in full-image pixels (left, top, right, bottom) and its raw HOG score (a
    full-range detection's score is mapped so that `confidence` is its probability)."""

    box: tuple[float, float, float, float]
    score: float
    found_by: str = "hog"  # "hog", or "full range" (MediaPipe's detector, a face HOG missed)

    @property
    def confidence(self) -> float:
        """The raw SVM margin squashed into (0, 1); 0.5 sits one unit below dlib's threshold."""
        return 1.0 / (1.0 + math.exp(-2.0 * (self.score + 1.0)))


class FaceDetector(Protocol):
    """What the classic engine needs from a face detector (dlib HOG today; MTCNN could plug in here)."""

    def detect(self, image: NDArray[np.uint8]) -> list[Detection]:
        """Face boxes in full-image pixels with their scores."""
        ...


class HogDetector:
    """Finds faces on a working copy at most DETECT_LONG_SIDE pixels long; boxes come back full size.

    dlib's detector keeps scratch state per call, so calls are serialised by a lock.
    """

    def __init__(self) -> None:
        self._detector = dlib.get_frontal_face_detector()
        self._lock = threading.Lock()

    def detect(self, image: NDArray[np.uint8]) -> list[Detection]:
        height, width = image.shape[:2]
        scale = min(1.0, DETECT_LONG_SIDE / max(height, width))
        working = image if scale == 1.0 else _resize(image, scale)
        with self._lock:
            rects, scores, _ = self._detector.run(working, 0, SCORE_THRESHOLD)
            if not rects and max(working.shape[:2]) < UPSAMPLE_BELOW:
                rects, scores, _ = self._detector.run(working, 1, SCORE_THRESHOLD)
        return [
            Detection(
                box=(
                    rect.left() / scale,
                    rect.top() / scale,
                    (rect.right() + 1) / scale,
                    (rect.bottom() + 1) / scale,
                ),
                score=float(score),
            )
            for rect, score in zip(rects, scores)
        ]


class LandmarkPredictor:
    """dlib's 68-point shape predictor (iBUG 300-W layout)."""

    def __init__(self, model_path: Path) -> None:
        try:
            self._predictor = dlib.shape_predictor(str(model_path))
        except RuntimeError as error:
            raise ModelUnavailable(f"cannot load landmark model {model_path.name}") from error

    def predict(self, image: NDArray[np.uint8], box: tuple[float, float, float, float]) -> Points:
        shape = self._predictor(image, to_dlib_rect(box))
        return np.array(
            [(shape.part(i).x, shape.part(i).y) for i in range(shape.num_parts)], dtype=np.float32
        )


def to_dlib_rect(box: tuple[float, float, float, float]) -> dlib.rectangle:
    left, top, right, bottom = box
    return dlib.rectangle(int(round(left)), int(round(top)), int(round(right)) - 1, int(round(bottom)) - 1)


def five_points(landmarks: Points) -> Points:
    """insightface-style keypoints from the 68: image-left eye, image-right eye, nose tip, mouth corners."""
    return np.stack(
        [
            landmarks[36:42].mean(axis=0),
            landmarks[42:48].mean(axis=0),
            landmarks[30],
            landmarks[48],
            landmarks[54],
        ]
    ).astype(np.float32)


def hog_box_from_keypoints(kps: Points) -> tuple[float, float, float, float]:
    """A dlib-style box for a face known only by its 5 keypoints (faces another engine found)."""
    eyes = (kps[0] + kps[1]) / 2.0
    mouth = (kps[3] + kps[4]) / 2.0
    centre = (eyes + mouth) / 2.0
    side = HOG_BOX_PER_EYE_MOUTH * float(np.hypot(*(mouth - eyes)))
    half = side / 2.0
    return (
        float(centre[0] - half),
        float(centre[1] - half + HOG_BOX_SHIFT * side),
        float(centre[0] + half),
        float(centre[1] + half + HOG_BOX_SHIFT * side),
    )


HOG_BOX_PER_EYE_MOUTH: Final = 2.4  # dlib box side / eye-to-mouth distance (mean over t1.jpg)
HOG_BOX_SHIFT: Final = 0.0  # box centre below the eye-mouth midpoint, as a share of the side


def _resize(image: NDArray[np.uint8], scale: float) -> NDArray[np.uint8]:
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
