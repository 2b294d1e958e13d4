"""ClassicEngine: the offline CPU engine built only from what registry packages ship."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from pipeline.classic.detector import (
    HogDetector,
    LandmarkPredictor,
    Points,
    five_points,
    hog_box_from_keypoints,
)
from pipeline.classic.gender import GenderAgeClassifier
from pipeline.classic.models import ClassicModelFiles, classic_model_files, ensure_present
from pipeline.classic.swapper import PreparedSource, prepare_source, swap_into
from pipeline.errors import ImageRejected
from pipeline.face import Assignment, EngineName, Face, RGBImage, SourceFace, order_left_to_right
from pipeline.masks import FOREHEAD_SHARE, restrict_to_regions

DENSE_POINTS = 68


@dataclass(frozen=True)
class _Models:
    detector: HogDetector
    landmarks: LandmarkPredictor
    classifier: GenderAgeClassifier


class ClassicEngine:
    """dlib HOG + 68 landmarks, the CC0 gender/age networks, and a landmark-aligned blend swap.

    Models load on the first call (or in warmup) and are shared read-only by all callers.
    """

    name: EngineName = "classic"

    def __init__(self, model_files: ClassicModelFiles | None = None) -> None:
        self._model_files = model_files
        self._models: _Models | None = None
        self._load_lock = threading.Lock()

    @property
    def provider(self) -> str:
        return "CPU"

    def warmup(self) -> None:
        models = self._loaded()
        probe = np.full((64, 64, 3), 128, dtype=np.uint8)
        models.detector.detect(probe)
        box = (8.0, 8.0, 56.0, 56.0)
        models.classifier.classify(probe, [(box, models.landmarks.predict(probe, box))])

    def detect(self, image: RGBImage) -> list[Face]:
        models = self._loaded()
        pixels = _rgb_pixels(image)
        detections = models.detector.detect(pixels)
        landmarks = [models.landmarks.predict(pixels, detection.box) for detection in detections]
        attributes = models.classifier.classify(
            pixels, [(detection.box, points) for detection, points in zip(detections, landmarks)]
        )
        faces = [
            Face(
                bbox=_face_box(detection.box, points, pixels.shape[:2]),
                kps=tuple((float(x), float(y)) for x, y in five_points(points)),
                det_score=detection.confidence,
                gender=attribute.gender,
                gender_score=attribute.gender_score,
                age=attribute.age,
                landmarks=tuple((float(x), float(y)) for x, y in points),
            )
            for detection, points, attribute in zip(detections, landmarks, attributes)
        ]
        return order_left_to_right(faces)

    def prepare_source(self, source: SourceFace) -> Face:
        """Nothing to precompute: the swap warps from the source photo's landmarks."""
        return source.face

    def swap(self, image: RGBImage, assignments: list[Assignment]) -> RGBImage:
        original = _rgb_pixels(image)
        if not assignments:
            return original.copy()
        result = original.copy()
        prepared: dict[int, PreparedSource] = {}
        for assignment in assignments:
            source = assignment.source
            key = id(source)
            if key not in prepared:
                source_pixels = _rgb_pixels(source.image)
                prepared[key] = prepare_source(
                    source_pixels, source.face, self._dense_landmarks(source_pixels, source.face)
                )
            target_points = self._dense_landmarks(original, assignment.target)
            swap_into(result, assignment.target, target_points, prepared[key])
        return restrict_to_regions(original, result, [assignment.target for assignment in assignments])

    def _dense_landmarks(self, image: RGBImage, face: Face) -> Points:
        points = face.landmarks_array()
        if points is not None and len(points) == DENSE_POINTS:
            return points
        box = hog_box_from_keypoints(face.kps_array())
        return self._loaded().landmarks.predict(image, box)

    def _loaded(self) -> _Models:
        if self._models is None:
            with self._load_lock:
                if self._models is None:
                    files = ensure_present(self._model_files) if self._model_files else classic_model_files()
                    self._models = _Models(
                        detector=HogDetector(),
                        landmarks=LandmarkPredictor(files.landmarks_68),
                        classifier=GenderAgeClassifier(
                            files.gender_onnx, files.age_onnx, files.gender_xception_onnx
                        ),
                    )
        return self._models


def create_classic_engine(model_files: ClassicModelFiles | None = None) -> ClassicEngine:
    """Factory used by the app; models still load lazily (call warmup() to load them now)."""
    return ClassicEngine(model_files)


def _rgb_pixels(image: RGBImage) -> RGBImage:
    pixels = np.asarray(image)
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3 or min(pixels.shape[:2]) < 1:
        raise ImageRejected(f"expected an RGB uint8 image (H x W x 3), got {pixels.dtype} {pixels.shape}")
    return np.ascontiguousarray(pixels)


def _face_box(
    hog_box: tuple[float, float, float, float], landmarks: Points, shape_hw: tuple[int, ...]
) -> tuple[float, float, float, float]:
    """The face's box: landmarks (jaw to brows) grown up to the forehead, clipped to the image.

    dlib's own box stops at the brows; this one is comparable to other engines' face boxes.
    """
    brows = landmarks[17:27]
    chin = landmarks[8]
    lift = FOREHEAD_SHARE * float(np.hypot(*(brows.mean(axis=0) - chin)))
    x1 = float(min(landmarks[:, 0].min(), hog_box[0]))
    x2 = float(max(landmarks[:, 0].max(), hog_box[2]))
    y1 = float(min(landmarks[:, 1].min(), brows[:, 1].min() - lift))
    y2 = float(max(landmarks[:, 1].max(), hog_box[3]))
    height, width = shape_hw[0], shape_hw[1]
    return (max(0.0, x1), max(0.0, y1), min(float(width), x2), min(float(height), y2))
