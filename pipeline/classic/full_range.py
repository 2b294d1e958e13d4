"""MediaPipe's full-range face detector (BlazeFace, 192x192), run with ai-edge-litert, and the detector
the classic engine uses: dlib HOG first, then the full-range detector for the faces HOG missed.

The model is `face_detection_full_range_sparse.tflite` (Apache-2.0) from the mediapipe 0.10.21 wheel,
installed by `install_face_detector.py` and pinned by sha256. Input: 1x192x192x3 RGB in -1..1, the image
letterboxed. Outputs: 2304 anchors (a 48x48 grid, stride 4, fixed unit size) x 16 regressors (box centre,
width, height, then 6 keypoints: the subject's right eye, left eye, nose tip, mouth centre, right and
left ear), and one score logit each. Decoding and the weighted non-maximum suppression follow
MediaPipe's face_detection_full_range graph.

HOG misses faces it was not trained on: sunglasses, heads turned past about 30 degrees, faces under its
80 px window. The full-range detector finds those; the 68 landmarks still come from dlib's shape
predictor on a dlib-style box made from its keypoints, and the face mesh's presence score rejects what
is not a face.
"""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import cv2
import numpy as np
from numpy.typing import NDArray

from pipeline.classic.detector import DETECT_LONG_SIDE, Detection, FaceDetector, hog_box_from_keypoints
from pipeline.classic.litert import interpreter, read_pinned

DETECTOR_MODEL_NAME: Final = "face_detection_full_range_sparse.tflite"
DETECTOR_MODEL_SHA256: Final = "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1"
INPUT_SIZE: Final = 192
GRID: Final = 48  # anchors per side (stride 4)


@dataclass(frozen=True)
class FullRangeSettings:
    min_score: float = 0.6  # MediaPipe's threshold for the full-range model
    suppression_iou: float = 0.3  # MediaPipe's weighted NMS overlap
    tile_side: int = 768  # the working copy is also searched in tiles this large (small faces)
    tile_overlap: float = 0.25  # share of a tile its neighbour covers again
    tile_face_share: float = 0.5  # in a tile, only faces inside it and at most this share of its side count
    same_face_share: float = 0.5  # a detection whose centre is this close (x its box side) to a kept one is the same face


FULL_RANGE: Final = FullRangeSettings()


@dataclass(frozen=True)
class FoundFace:
    """One full-range detection in image pixels: a square box, 6 keypoints (x, y) and the score."""

    box: tuple[float, float, float, float]
    keypoints: NDArray[np.float32]  # 6 x 2
    score: float

    def five_points(self) -> NDArray[np.float32]:
        """insightface-style keypoints (eyes, nose, mouth corners); both corners at the mouth centre."""
        eyes, nose, mouth = self.keypoints[:2], self.keypoints[2], self.keypoints[3]
        ordered = eyes[np.argsort(eyes[:, 0])]
        return np.stack([ordered[0], ordered[1], nose, mouth, mouth]).astype(np.float32)

    def detection(self) -> Detection:
        """A Detection whose dlib-style box comes from the keypoints and whose confidence is the score."""
        probability = min(max(self.score, 1e-6), 1.0 - 1e-6)
        raw = 0.5 * math.log(probability / (1.0 - probability)) - 1.0  # Detection.confidence inverts this
        return Detection(box=hog_box_from_keypoints(self.five_points()), score=raw, found_by="full range")


def detector_model_path() -> Path:
    """Where install_face_detector.py puts the file: <sys.prefix>/share/coswap/<name>."""
    return Path(sys.prefix) / "share" / "coswap" / DETECTOR_MODEL_NAME


class FullRangeDetector:
    """The full-range model on the letterboxed image and on overlapping tiles of a working copy at most
    DETECT_LONG_SIDE long. One interpreter, serialised by a lock."""

    def __init__(self, model_path: Path | None = None, settings: FullRangeSettings = FULL_RANGE) -> None:
        data = read_pinned(
            model_path or detector_model_path(), DETECTOR_MODEL_SHA256, "face detector model",
            "pipeline/classic/install_face_detector.py",
        )
        self._interpreter = interpreter(data)
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = sorted(self._interpreter.get_output_details(), key=lambda d: int(d["shape"][-1]))
        self._scores, self._boxes = outputs[0]["index"], outputs[1]["index"]  # (1, 2304, 1), (1, 2304, 16)
        centres = (np.arange(GRID, dtype=np.float32) + 0.5) / GRID
        grid_x, grid_y = np.meshgrid(centres, centres)
        self._anchors = np.stack([grid_x.ravel(), grid_y.ravel()], axis=1)
        self._settings = settings
        self._lock = threading.Lock()

    def find(self, image: NDArray[np.uint8]) -> list[FoundFace]:
        """Every face found, in full-image pixels, best first."""
        height, width = image.shape[:2]
        scale = min(1.0, DETECT_LONG_SIDE / max(height, width))
        working = image if scale == 1.0 else _resize(image, scale)
        found: list[FoundFace] = []
        for left, top, part in self._views(working):
            whole = part is working
            for face in self._run(part):
                if not whole and not _whole_in_tile(face.box, part.shape[:2], self._settings.tile_face_share):
                    continue  # a face cut by the tile's edge, or large: the whole-image pass has it
                shift = np.array([left, top], dtype=np.float32)
                x1, y1, x2, y2 = face.box
                found.append(
                    FoundFace(
                        box=((x1 + left) / scale, (y1 + top) / scale, (x2 + left) / scale, (y2 + top) / scale),
                        keypoints=(face.keypoints + shift) / scale,
                        score=face.score,
                    )
                )
        return suppress_weighted(found, self._settings.suppression_iou)

    def detect(self, image: NDArray[np.uint8]) -> list[Detection]:
        return [face.detection() for face in self.find(image)]

    def _views(self, image: NDArray[np.uint8]) -> Iterator[tuple[int, int, NDArray[np.uint8]]]:
        """The whole image, then overlapping tiles when it is larger than one tile."""
        yield 0, 0, image
        height, width = image.shape[:2]
        side = self._settings.tile_side
        if max(height, width) <= side:
            return
        step = max(1, int(side * (1.0 - self._settings.tile_overlap)))
        for top in _starts(height, side, step):
            for left in _starts(width, side, step):
                yield left, top, image[top : top + side, left : left + side]

    def _run(self, image: NDArray[np.uint8]) -> list[FoundFace]:
        """One letterboxed pass; boxes and keypoints in `image` pixels."""
        height, width = image.shape[:2]
        scale = INPUT_SIZE / max(height, width)
        new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
        pad_x, pad_y = (INPUT_SIZE - new_w) // 2, (INPUT_SIZE - new_h) // 2
        tensor = np.full((1, INPUT_SIZE, INPUT_SIZE, 3), -1.0, dtype=np.float32)
        resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA)
        tensor[0, pad_y : pad_y + new_h, pad_x : pad_x + new_w] = resized.astype(np.float32) / 127.5 - 1.0
        with self._lock:
            self._interpreter.set_tensor(self._input, tensor)
            self._interpreter.invoke()
            logits = self._interpreter.get_tensor(self._scores).reshape(-1).copy()
            raw = self._interpreter.get_tensor(self._boxes).reshape(-1, 16).copy()
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -100.0, 100.0)))
        keep = np.flatnonzero(scores >= self._settings.min_score)
        faces = []
        for index in keep:
            anchor = self._anchors[index] * INPUT_SIZE
            values = raw[index]
            centre = values[:2] + anchor
            half = values[2:4] / 2.0
            points = values[4:16].reshape(6, 2) + anchor
            offset = np.array([pad_x, pad_y], dtype=np.float32)
            x1, y1 = (centre - half - offset) / scale
            x2, y2 = (centre + half - offset) / scale
            faces.append(
                FoundFace(
                    box=(float(x1), float(y1), float(x2), float(y2)),
                    keypoints=((points - offset) / scale).astype(np.float32),
                    score=float(scores[index]),
                )
            )
        return faces


class HogThenFullRange:
    """dlib HOG first; then every full-range face whose centre is not on a HOG face is added."""

    def __init__(
        self, hog: FaceDetector, full_range: FullRangeDetector, settings: FullRangeSettings = FULL_RANGE
    ) -> None:
        self._hog = hog
        self._full_range = full_range
        self._settings = settings

    def detect(self, image: NDArray[np.uint8]) -> list[Detection]:
        found = self._hog.detect(image)
        for detection in self._full_range.detect(image):
            if not any(_same_face(detection.box, kept.box, self._settings.same_face_share) for kept in found):
                found.append(detection)
        return found


def _same_face(a: tuple[float, ...], b: tuple[float, ...], share: float) -> bool:
    """Either centre inside the other box, or centres closer than `share` x the smaller box side."""
    centre_a = ((a[0] + a[2]) / 2.0, (a[1] + a[3]) / 2.0)
    centre_b = ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0)
    if _inside(centre_a, b) or _inside(centre_b, a):
        return True
    side = min(a[2] - a[0], a[3] - a[1], b[2] - b[0], b[3] - b[1])
    return math.hypot(centre_a[0] - centre_b[0], centre_a[1] - centre_b[1]) < share * max(side, 1.0)


def _inside(point: tuple[float, float], box: tuple[float, ...]) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


def _whole_in_tile(box: tuple[float, float, float, float], shape_hw: tuple[int, ...], share: float) -> bool:
    """The box lies inside the tile (a few pixels' slack) and is at most `share` of its longer side."""
    height, width = shape_hw[0], shape_hw[1]
    slack = 0.02 * max(height, width)
    inside = box[0] >= -slack and box[1] >= -slack and box[2] <= width + slack and box[3] <= height + slack
    return inside and max(box[2] - box[0], box[3] - box[1]) <= share * max(height, width)


def suppress_weighted(faces: list[FoundFace], iou_limit: float) -> list[FoundFace]:
    """MediaPipe's weighted NMS: each cluster (IoU over the limit with its best) becomes the score-weighted
    mean of its boxes and keypoints, with the best score."""
    remaining = sorted(faces, key=lambda face: -face.score)
    kept: list[FoundFace] = []
    while remaining:
        best = remaining[0]
        cluster = [face for face in remaining if face is best or _iou(best.box, face.box) > iou_limit]
        taken = {id(face) for face in cluster}
        remaining = [face for face in remaining if id(face) not in taken]
        weights = np.array([face.score for face in cluster], dtype=np.float32)
        weights /= weights.sum()
        box = np.average(np.array([face.box for face in cluster], dtype=np.float32), axis=0, weights=weights)
        points = np.tensordot(weights, np.stack([face.keypoints for face in cluster]), axes=1)
        kept.append(FoundFace(box=tuple(float(v) for v in box), keypoints=points.astype(np.float32), score=best.score))  # type: ignore[arg-type]
    return kept


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _starts(length: int, side: int, step: int) -> list[int]:
    """Tile origins along one axis: every `step`, the last one flush with the end."""
    if length <= side:
        return [0]
    starts = list(range(0, length - side, step))
    return [*starts, length - side]


def _resize(image: NDArray[np.uint8], scale: float) -> NDArray[np.uint8]:
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
