"""ClassicEngine: the offline CPU engine built only from what registry packages ship."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

import numpy as np

from pipeline.classic.detector import FaceDetector, HogDetector, LandmarkPredictor, Points, five_points
from pipeline.classic.full_range import FullRangeDetector, HogThenFullRange
from pipeline.classic.gender import GenderAgeClassifier
from pipeline.classic.hands import HandFinder
from pipeline.classic.mesh import MESH_POINTS, FaceMesher, Mesh, mesh_model_path
from pipeline.classic.models import ClassicModelFiles, classic_model_files, ensure_present
from pipeline.classic.large_faces import reduction, swap_reduced
from pipeline.classic.face_geometry import face_size
from pipeline.classic.settings import ClassicSettings
from pipeline.classic.source import PreparedSource, prepare_source
from pipeline.classic.swapper import StageObserver, swap_into
from pipeline.errors import ImageRejected
from pipeline.face import Assignment, EngineName, Face, RGBImage, SourceFace, order_left_to_right
from pipeline.masks import FOREHEAD_SHARE, restrict_in_place
from pipeline.recent import RecentValues

FALLBACK_PRESENCE: Final = 0.5  # the mesh's face-presence score a face only the full-range detector found needs
PREPARED_SOURCES_KEPT: Final = 2  # a couple's two sources: a batch prepares each once, not per template


@dataclass(frozen=True)
class _Models:
    detector: FaceDetector
    landmarks: LandmarkPredictor
    classifier: GenderAgeClassifier
    mesher: FaceMesher
    hands: HandFinder


class ClassicEngine:
    """dlib HOG (then MediaPipe's full-range detector for the faces HOG missed) + dlib's 68 landmarks, the CC0
    gender/age networks, MediaPipe's 478-point mesh, and a mesh warp.

    Models load on the first call (or in warmup) and are shared read-only by all callers. Faces from
    detect() carry their mesh, so a stored template face is never meshed again; a face without one (an
    old stored face, or another engine's) is meshed from its 5 keypoints when it is swapped.
    """

    name: EngineName = "classic"
    # classic-2: faces carry the 478-point mesh; classic-3: HOG then the full-range detector (bump on changes)
    face_data_version: str = "classic-3"

    def __init__(
        self,
        model_files: ClassicModelFiles | None = None,
        mesh_model: Path | None = None,
        *,
        settings: ClassicSettings | None = None,
        detector: FaceDetector | None = None,
        observe: StageObserver | None = None,
    ) -> None:
        self._model_files = model_files
        self._mesh_model = mesh_model
        self._settings = settings or ClassicSettings()
        self._detector = detector
        self._observe = observe  # sees every swapped face's stages (tools/stage_views.py)
        self._models: _Models | None = None
        self._load_lock = threading.Lock()
        # The last prepared sources (cropped, deblocked, frames inpainted) by a fingerprint of photo and
        # mesh: a batch swaps one couple into every template. Dropped by forget_sources on deletion.
        self._prepared: RecentValues[bytes, PreparedSource] = RecentValues(PREPARED_SOURCES_KEPT)

    @property
    def provider(self) -> str:
        return "CPU"

    def warmup(self) -> None:
        models = self._loaded()
        probe = np.full((64, 64, 3), 128, dtype=np.uint8)
        models.detector.detect(probe)
        box = (8.0, 8.0, 56.0, 56.0)
        models.classifier.classify(probe, [(box, models.landmarks.predict(probe, box))])
        models.mesher.mesh(probe, np.array([[24, 28], [40, 28], [32, 36], [26, 44], [38, 44]], np.float32))

    def detect(self, image: RGBImage) -> list[Face]:
        models = self._loaded()
        pixels = _rgb_pixels(image)
        detections = models.detector.detect(pixels)
        landmarks = [models.landmarks.predict(pixels, detection.box) for detection in detections]
        attributes = models.classifier.classify(
            pixels, [(detection.box, points) for detection, points in zip(detections, landmarks)]
        )
        faces = []
        for detection, points, attribute in zip(detections, landmarks, attributes):
            kps = five_points(points)
            mesh, presence = models.mesher.mesh(pixels, kps)
            if detection.found_by != "hog" and presence < FALLBACK_PRESENCE:
                continue  # a full-range box the face mesh does not take for a face
            faces.append(
                Face(
                    bbox=_face_box(detection.box, points, pixels.shape[:2]),
                    kps=tuple((float(x), float(y)) for x, y in kps),
                    det_score=detection.confidence,
                    gender=attribute.gender,
                    gender_score=attribute.gender_score,
                    age=attribute.age,
                    landmarks=tuple((float(x), float(y)) for x, y in points),
                    mesh=_mesh_tuple(mesh),
                )
            )
        return order_left_to_right(faces)

    def prepare_source(self, source: SourceFace) -> Face:
        """The source face with its mesh (computed once per couple when it has none)."""
        if source.face.mesh is not None:
            return source.face
        mesh = self._mesh(_rgb_pixels(source.image), source.face)
        return replace(source.face, mesh=_mesh_tuple(mesh))

    def swap(self, image: RGBImage, assignments: list[Assignment]) -> RGBImage:
        original = _rgb_pixels(image)
        if not assignments:
            return original.copy()
        canonical = self._loaded().mesher.canonical
        result = original.copy()
        prepared: dict[int, PreparedSource] = {}
        for assignment in assignments:
            source = assignment.source
            key = id(source)
            if key not in prepared:
                source_pixels = _rgb_pixels(source.image)
                mesh = self._mesh(source_pixels, source.face)
                prepared[key] = self._prepare(source_pixels, mesh)
            target_mesh = self._mesh(original, assignment.target)
            source_face = prepared[key]

            def swap_face(pixels: RGBImage, target: Face, mesh: Mesh, source: PreparedSource = source_face) -> None:
                swap_into(pixels, target, mesh, source, canonical, self._settings, self._observe)

            scale = reduction(face_size(target_mesh), source_face.face_size)
            if scale < 1.0:  # a large face (full-resolution phone photo): swapped on a reduced crop
                swap_reduced(result, assignment.target, target_mesh, scale, swap_face)
            else:
                swap_face(result, assignment.target, target_mesh)
        restrict_in_place(original, result, [assignment.target for assignment in assignments])
        return result

    def wears_glasses(self, source: SourceFace) -> bool:
        """Whether the swap takes this source for a glasses wearer (and inpaints its frames): the very
        prepared source the swap uses, kept for it."""
        pixels = _rgb_pixels(source.image)
        return self._prepare(pixels, self._mesh(pixels, source.face)).had_glasses

    def _prepare(self, pixels: RGBImage, mesh: Mesh) -> PreparedSource:
        """The source prepared once per photo and mesh (kept among the last PREPARED_SOURCES_KEPT)."""

        def prepare() -> PreparedSource:
            models = self._loaded()
            box = (float(mesh[:, 0].min()), float(mesh[:, 1].min()), float(mesh[:, 0].max()), float(mesh[:, 1].max()))
            hands = models.hands.near_face(pixels, box)
            return prepare_source(pixels, mesh, models.mesher.canonical, self._settings, hands=hands)

        return self._prepared.get(_fingerprint(pixels, mesh), prepare)

    def forget_sources(self) -> None:
        self._prepared.clear()

    @property
    def kept_sources(self) -> int:
        """How many prepared sources the engine holds in memory now."""
        return len(self._prepared)

    def _mesh(self, image: RGBImage, face: Face) -> Mesh:
        """The face's stored mesh, or one computed now from its 5 keypoints."""
        mesh = face.mesh_array()
        if mesh is not None and len(mesh) == MESH_POINTS:
            return mesh
        points, _ = self._loaded().mesher.mesh(image, face.kps_array())
        return points

    def _loaded(self) -> _Models:
        if self._models is None:
            with self._load_lock:
                if self._models is None:
                    files = ensure_present(self._model_files) if self._model_files else classic_model_files()
                    self._models = _Models(
                        detector=self._detector or HogThenFullRange(HogDetector(), FullRangeDetector()),
                        landmarks=LandmarkPredictor(files.landmarks_68),
                        classifier=GenderAgeClassifier(
                            files.gender_onnx, files.age_onnx, files.gender_xception_onnx, files.gender_faceapi_onnx
                        ),
                        mesher=FaceMesher(self._mesh_model or mesh_model_path()),
                        hands=HandFinder(),
                    )
        return self._models


def _fingerprint(image: RGBImage, mesh: Mesh) -> bytes:
    """The photo's size, its mesh (478 x 3 floats, itself all but unique to a photo) and every 8th
    pixel each way: cheap (tens of microseconds) and never equal for two different photos in practice."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(np.asarray(image.shape, dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(mesh, dtype=np.float32).tobytes())
    digest.update(np.ascontiguousarray(image[::8, ::8]).tobytes())
    return digest.digest()


def create_classic_engine(model_files: ClassicModelFiles | None = None) -> ClassicEngine:
    """Factory used by the app; models still load lazily (call warmup() to load them now)."""
    return ClassicEngine(model_files)


def _mesh_tuple(mesh: Mesh) -> tuple[tuple[float, float, float], ...]:
    return tuple((float(x), float(y), float(z)) for x, y, z in mesh)


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
