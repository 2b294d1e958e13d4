"""Hands near a face: MediaPipe's palm detector and hand landmark model, run with ai-edge-litert.

A hand over a source face is skin-coloured, so the skin model does not see it; pasted, it becomes a
flesh band or a row of fingernail spots on the target. The hands found here are drawn as a mask (the
palm, and a stroke along each finger) that the source preparation treats as an occluder: the target
keeps its own face there.

The models are `palm_detection_full.tflite` and `hand_landmark_full.tflite` (Apache-2.0) from the
mediapipe 0.10.21 wheel, installed by `install_hand_models.py` and pinned by sha256.
- Palm detector: 1x192x192x3 RGB in 0..1, the image letterboxed. 2016 anchors (24x24 x 2 at stride 8,
  12x12 x 6 at stride 16, fixed unit size) x 18 regressors (box centre, width, height, 7 palm keypoints)
  and a score logit each; decoding and weighted non-maximum suppression follow MediaPipe's
  palm_detection graph.
- Hand landmarks: a 224x224 crop around the palm, turned so that the wrist-to-middle-finger line points
  up, the palm box 2.6 times enlarged and shifted half a box towards the fingers (MediaPipe's
  hand rectangle); 21 points (x, y, z) in crop pixels and a hand-presence probability.
"""

from __future__ import annotations

import math
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import cv2
import numpy as np
from numpy.typing import NDArray

from pipeline.classic.full_range import FoundFace, suppress_weighted
from pipeline.classic.litert import interpreter, read_pinned

PALM_MODEL_NAME: Final = "palm_detection_full.tflite"
PALM_MODEL_SHA256: Final = "1b14e9422c6ad006cde6581a46c8b90dd573c07ab7f3934b5589e7cea3f89a54"
LANDMARK_MODEL_NAME: Final = "hand_landmark_full.tflite"
LANDMARK_MODEL_SHA256: Final = "11c272b891e1a99ab034208e23937a8008388cf11ed2a9d776ed3d01d0ba00e3"
PALM_INPUT: Final = 192
LANDMARK_INPUT: Final = 224
PALM_MIN_SCORE: Final = 0.5  # MediaPipe's palm detection threshold
PALM_SUPPRESSION_IOU: Final = 0.3  # MediaPipe's weighted NMS overlap
HAND_MIN_PRESENCE: Final = 0.5  # MediaPipe's hand-presence threshold for landmarks
HAND_BOX_SCALE: Final = 2.6  # the hand rectangle around a palm box (MediaPipe)
HAND_BOX_SHIFT: Final = -0.5  # ... shifted this many palm boxes towards the fingers
SEARCH_MARGIN: Final = 1.0  # hands are looked for within this many face sizes around the face
COVER_WIDTH_SHARE: Final = 0.5  # a finger's stroke: its width and the shadow beside it, as a share of the palm's width (index to little knuckle)
FINGERS: Final = ((1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11, 12), (13, 14, 15, 16), (17, 18, 19, 20))
PALM: Final = (0, 1, 5, 9, 13, 17)
TIP_EXTENSION: Final = 0.6  # a fingertip reaches this share of its last segment past the tip point (the nail)


@dataclass(frozen=True)
class Hand:
    """21 hand landmarks in image pixels (MediaPipe's order: wrist, then thumb to little finger)."""

    points: NDArray[np.float32]  # 21 x 2
    presence: float

    @property
    def palm_width(self) -> float:
        return float(np.hypot(*(self.points[5] - self.points[17])))


def hand_model_paths() -> tuple[Path, Path]:
    """Where install_hand_models.py puts the files: <sys.prefix>/share/coswap/<name>."""
    folder = Path(sys.prefix) / "share" / "coswap"
    return folder / PALM_MODEL_NAME, folder / LANDMARK_MODEL_NAME


def _palm_anchors() -> NDArray[np.float32]:
    """Anchor centres (0..1) in the model's output order."""
    centres = []
    for stride, per_cell in ((8, 2), (16, 6)):
        cells = PALM_INPUT // stride
        for row in range(cells):
            for column in range(cells):
                centres.extend([((column + 0.5) / cells, (row + 0.5) / cells)] * per_cell)
    return np.asarray(centres, dtype=np.float32)


class HandFinder:
    """Palms, then the landmarks of each, near one face. Two interpreters, serialised by a lock."""

    def __init__(self, palm_model: Path | None = None, landmark_model: Path | None = None) -> None:
        default_palm, default_landmarks = hand_model_paths()
        installer = "pipeline/classic/install_hand_models.py"
        self._palm = interpreter(read_pinned(palm_model or default_palm, PALM_MODEL_SHA256, "hand model", installer))
        self._landmarks = interpreter(
            read_pinned(landmark_model or default_landmarks, LANDMARK_MODEL_SHA256, "hand model", installer)
        )
        palm_outputs = sorted(self._palm.get_output_details(), key=lambda d: int(d["shape"][-1]))
        self._palm_scores, self._palm_boxes = palm_outputs[0]["index"], palm_outputs[1]["index"]
        by_name = {d["name"]: d["index"] for d in self._landmarks.get_output_details()}
        self._points, self._presence = by_name["Identity"], by_name["Identity_1"]
        self._anchors = _palm_anchors()
        self._lock = threading.Lock()

    def near_face(self, image: NDArray[np.uint8], face_box: tuple[float, float, float, float]) -> list[Hand]:
        """Hands in the face's surroundings (SEARCH_MARGIN face sizes each way), in image pixels."""
        x1, y1, x2, y2 = face_box
        margin = SEARCH_MARGIN * max(x2 - x1, y2 - y1)
        height, width = image.shape[:2]
        left, top = int(max(0, x1 - margin)), int(max(0, y1 - margin))
        right, bottom = int(min(width, x2 + margin)), int(min(height, y2 + margin))
        if right - left < 8 or bottom - top < 8:
            return []
        region = np.ascontiguousarray(image[top:bottom, left:right])
        shift = np.array([left, top], dtype=np.float32)
        hands = []
        for palm in self._palms(region):
            hand = self._hand(region, palm)
            if hand is not None:
                hands.append(Hand(points=hand.points + shift, presence=hand.presence))
        return hands

    def _palms(self, image: NDArray[np.uint8]) -> list[FoundFace]:
        """Palm boxes and keypoints in `image` pixels (a FoundFace holds the same fields)."""
        height, width = image.shape[:2]
        scale = PALM_INPUT / max(height, width)
        new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
        pad_x, pad_y = (PALM_INPUT - new_w) // 2, (PALM_INPUT - new_h) // 2
        tensor = np.zeros((1, PALM_INPUT, PALM_INPUT, 3), dtype=np.float32)
        resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA)
        tensor[0, pad_y : pad_y + new_h, pad_x : pad_x + new_w] = resized.astype(np.float32) / 255.0
        with self._lock:
            self._palm.set_tensor(self._palm.get_input_details()[0]["index"], tensor)
            self._palm.invoke()
            logits = self._palm.get_tensor(self._palm_scores).reshape(-1).copy()
            raw = self._palm.get_tensor(self._palm_boxes).reshape(-1, 18).copy()
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -100.0, 100.0)))
        offset = np.array([pad_x, pad_y], dtype=np.float32)
        palms = []
        for index in np.flatnonzero(scores >= PALM_MIN_SCORE):
            anchor = self._anchors[index] * PALM_INPUT
            centre, half = raw[index, :2] + anchor, raw[index, 2:4] / 2.0
            keypoints = raw[index, 4:18].reshape(7, 2) + anchor
            (bx1, by1), (bx2, by2) = (centre - half - offset) / scale, (centre + half - offset) / scale
            palms.append(
                FoundFace(
                    box=(float(bx1), float(by1), float(bx2), float(by2)),
                    keypoints=((keypoints - offset) / scale).astype(np.float32),
                    score=float(scores[index]),
                )
            )
        return suppress_weighted(palms, PALM_SUPPRESSION_IOU)

    def _hand(self, image: NDArray[np.uint8], palm: FoundFace) -> Hand | None:
        """The palm's 21 landmarks, or None when the landmark model says it is no hand."""
        to_crop = hand_crop_transform(palm)
        crop = cv2.warpAffine(image, to_crop, (LANDMARK_INPUT, LANDMARK_INPUT), flags=cv2.INTER_LINEAR)
        tensor = (crop.astype(np.float32) / 255.0)[None]
        with self._lock:
            self._landmarks.set_tensor(self._landmarks.get_input_details()[0]["index"], tensor)
            self._landmarks.invoke()
            points = self._landmarks.get_tensor(self._points).reshape(21, 3)[:, :2].copy()
            presence = float(self._landmarks.get_tensor(self._presence).reshape(-1)[0])
        if presence < HAND_MIN_PRESENCE:
            return None
        back = cv2.invertAffineTransform(to_crop)
        in_image = np.hstack([points, np.ones((21, 1), np.float32)]) @ back.T
        return Hand(points=in_image.astype(np.float32), presence=presence)


def hand_crop_transform(palm: FoundFace) -> NDArray[np.float64]:
    """The affine map from image pixels to the landmark model's 224 px crop (MediaPipe's hand rectangle)."""
    x1, y1, x2, y2 = palm.box
    side = max(x2 - x1, y2 - y1)
    wrist, middle = palm.keypoints[0], palm.keypoints[2]
    angle = math.pi / 2.0 - math.atan2(-(float(middle[1]) - float(wrist[1])), float(middle[0]) - float(wrist[0]))
    cos, sin = math.cos(angle), math.sin(angle)
    shift = HAND_BOX_SHIFT * side  # along the rotated rectangle's own y axis
    centre_x = (x1 + x2) / 2.0 - shift * sin
    centre_y = (y1 + y2) / 2.0 + shift * cos
    half = HAND_BOX_SCALE * side / 2.0
    corners = np.array(
        [
            [centre_x - half * cos + half * sin, centre_y - half * sin - half * cos],  # top left
            [centre_x + half * cos + half * sin, centre_y + half * sin - half * cos],  # top right
            [centre_x - half * cos - half * sin, centre_y - half * sin + half * cos],  # bottom left
        ],
        dtype=np.float32,
    )
    target = np.array([[0, 0], [LANDMARK_INPUT, 0], [0, LANDMARK_INPUT]], dtype=np.float32)
    return cv2.getAffineTransform(corners, target)


def hand_mask(shape_hw: tuple[int, ...], hands: list[Hand], origin: tuple[float, float] = (0.0, 0.0)) -> NDArray[np.float32]:
    """The hands in an image of `shape_hw` whose top-left is `origin` in the hands' pixels: 0..1.

    Each hand is its palm (the polygon of wrist and knuckles) and every finger as a stroke through its
    joints, extended past the tip point (the nail lies beyond it) and COVER_WIDTH_SHARE of the palm
    wide: a finger and the shadow along its edges. The gap between a spread thumb and the fingers,
    where the face shows, stays out."""
    mask = np.zeros(shape_hw[:2], dtype=np.uint8)
    shift = np.array(origin, dtype=np.float32)
    for hand in hands:
        points = hand.points - shift
        width = max(2, int(round(COVER_WIDTH_SHARE * hand.palm_width)))
        cv2.fillPoly(mask, [np.rint(points[list(PALM)]).astype(np.int32)], 255)
        for finger in FINGERS:
            chain = points[list(finger)]
            tip = chain[-1] + TIP_EXTENSION * (chain[-1] - chain[-2])
            cv2.polylines(mask, [np.rint(np.vstack([chain, tip])).astype(np.int32)], False, 255, width, cv2.LINE_AA)
    return mask.astype(np.float32) / 255.0
