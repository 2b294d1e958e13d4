"""The judge's own eyes: dlib HOG boxes, 68 landmarks and ResNet descriptors, independent of any engine.

The models are the files of the pip package face_recognition_models 0.3.0 (Adam Geitgey, CC0 1.0;
the weights are Davis King's dlib models, public domain), checked against the sha256 sums below before
they are loaded. No engine may use the recogniser: it is what the harness judges identity with.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from pipeline.face import Face, RGBImage

Box = tuple[float, float, float, float]  # left, top, right, bottom
Points68 = NDArray[np.float32]

UPSAMPLE_BELOW: Final = 900  # images with a shorter long side are also searched upsampled once
SAME_PERSON_BELOW: Final = 0.6  # dlib's documented threshold on descriptor distance
PINNED_SHA256: Final[dict[str, str]] = {
    "shape_predictor_68_face_landmarks.dat": "fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f",
    "dlib_face_recognition_resnet_model_v1.dat": "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
}


class ProbeUnavailable(Exception):
    """dlib or face_recognition_models is missing."""


@dataclass(frozen=True)
class ProbedFace:
    box: Box
    points: Points68  # 68 x 2, iBUG 300-W layout

    @property
    def jaw_width(self) -> float:
        """Width of the jaw line (points 0-16): the harness's face size."""
        jaw = self.points[:17, 0]
        return float(jaw.max() - jaw.min())


class IdentityProbe:
    """Finds the face near an engine's face, predicts its 68 points and computes descriptors."""

    def __init__(self) -> None:
        try:
            import dlib
            import face_recognition_models
        except ImportError as error:
            raise ProbeUnavailable(f"the quality probe needs dlib and face_recognition_models: {error}") from error
        landmarks, recogniser = self.model_paths()
        for path in (landmarks, recogniser):
            verify_sha256(path)
        self._dlib = dlib
        self._detector = dlib.get_frontal_face_detector()
        self._landmarks = dlib.shape_predictor(str(landmarks))
        self._recogniser = dlib.face_recognition_model_v1(str(recogniser))

    @staticmethod
    def model_paths() -> tuple[Path, Path]:
        import face_recognition_models

        return (
            Path(face_recognition_models.pose_predictor_model_location()),
            Path(face_recognition_models.face_recognition_model_location()),
        )

    def find(self, image: RGBImage, near: Face) -> ProbedFace:
        """dlib's own box for the face whose centre is nearest `near`'s keypoints, else a box from them."""
        kps = near.kps_array()
        centre = kps.mean(axis=0)
        x1, y1, x2, y2 = near.bbox
        inside = [
            box
            for box in self._boxes(image)
            if x1 <= (box[0] + box[2]) / 2 <= x2 and y1 <= (box[1] + box[3]) / 2 <= y2
        ]
        if inside:
            box = min(inside, key=lambda b: float(np.hypot((b[0] + b[2]) / 2 - centre[0], (b[1] + b[3]) / 2 - centre[1])))
        else:
            box = box_from_keypoints(kps)
        return ProbedFace(box=box, points=self.points(image, box))

    def largest(self, image: RGBImage) -> ProbedFace:
        """The largest face dlib finds in `image`; LookupError when there is none."""
        boxes = self._boxes(image)
        if not boxes:
            raise LookupError("dlib finds no face")
        box = max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
        return ProbedFace(box=box, points=self.points(image, box))

    def find_near(self, image: RGBImage, at: tuple[float, float]) -> ProbedFace:
        """The face dlib finds whose box holds `at` (the nearest centre); LookupError when none does."""
        x, y = at
        inside = [b for b in self._boxes(image) if b[0] <= x <= b[2] and b[1] <= y <= b[3]]
        if not inside:
            raise LookupError(f"dlib finds no face at ({x:.0f}, {y:.0f})")
        box = min(inside, key=lambda b: float(np.hypot((b[0] + b[2]) / 2 - x, (b[1] + b[3]) / 2 - y)))
        return ProbedFace(box=box, points=self.points(image, box))

    def detected_near(self, image: RGBImage, points: Points68) -> bool:
        """Whether dlib's detector finds a face whose box holds the centre of `points` (in a crop around them)."""
        centre = points.mean(axis=0)
        jaw = max(8.0, float(points[:17, 0].max() - points[:17, 0].min()))
        x1, y1 = max(0, int(centre[0] - 1.2 * jaw)), max(0, int(centre[1] - 1.2 * jaw))
        crop = image[y1 : int(centre[1] + 1.2 * jaw), x1 : int(centre[0] + 1.2 * jaw)]
        x, y = centre[0] - x1, centre[1] - y1
        return any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in self._boxes(crop))

    def points(self, image: RGBImage, box: Box) -> Points68:
        shape = self._landmarks(np.ascontiguousarray(image), self._rect(box))
        return np.array([(shape.part(i).x, shape.part(i).y) for i in range(shape.num_parts)], dtype=np.float32)

    def descriptor(self, image: RGBImage, box: Box, points: Points68 | None = None) -> NDArray[np.float64]:
        """128-d descriptor of the face in `box` (landmarks predicted on `image` when not given)."""
        dlib = self._dlib
        pts = self.points(image, box) if points is None else points
        parts = dlib.points()
        for x, y in pts:
            parts.append(dlib.point(int(round(float(x))), int(round(float(y)))))
        shape = dlib.full_object_detection(self._rect(box), parts)
        return np.asarray(self._recogniser.compute_face_descriptor(np.ascontiguousarray(image), shape), dtype=np.float64)

    def _boxes(self, image: RGBImage) -> list[Box]:
        pixels = np.ascontiguousarray(image)
        upsample = 1 if max(pixels.shape[:2]) < UPSAMPLE_BELOW else 0
        rects = self._detector(pixels, upsample)
        return [(r.left(), r.top(), r.right() + 1, r.bottom() + 1) for r in rects]

    def _rect(self, box: Box) -> object:
        left, top, right, bottom = box
        return self._dlib.rectangle(int(round(left)), int(round(top)), int(round(right)) - 1, int(round(bottom)) - 1)


def verify_sha256(path: Path) -> None:
    """ProbeUnavailable unless `path` is a pinned file with the pinned content."""
    import hashlib

    expected = PINNED_SHA256.get(path.name)
    if expected is None or not path.is_file():
        raise ProbeUnavailable(f"model file missing or not pinned: {path.name}")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise ProbeUnavailable(f"{path.name} does not match its pinned sha256")


def box_from_keypoints(kps: NDArray[np.float32]) -> Box:
    """A dlib-style box for a face known only by its 5 keypoints (eye-to-mouth distance x 2.4)."""
    eyes = (kps[0] + kps[1]) / 2.0
    mouth = (kps[3] + kps[4]) / 2.0
    centre = (eyes + mouth) / 2.0
    half = 1.2 * float(np.hypot(*(mouth - eyes)))
    return (float(centre[0] - half), float(centre[1] - half), float(centre[0] + half), float(centre[1] + half))


def distance(first: NDArray[np.float64], second: NDArray[np.float64]) -> float:
    return float(np.linalg.norm(first - second))
