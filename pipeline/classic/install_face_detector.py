"""Install MediaPipe's full-range face detector at install time (run by the Makefile's venv step).

Where it comes from: `face_detection_full_range_sparse.tflite` (Apache-2.0, Google MediaPipe; BlazeFace,
192x192 input) as shipped inside the `mediapipe==0.10.21` wheel on PyPI (Apache-2.0) at
`mediapipe/modules/face_detection/`. The wheel is fetched with `pip download --no-deps` and only that one
file is extracted; mediapipe is never installed. The file is checked against a pinned sha256 before it
is written where the engine looks for it: `<sys.prefix>/share/coswap/face_detection_full_range_sparse.tflite`.

Usage: python pipeline/classic/install_face_detector.py [--dest FILE] [--wheel FILE]
Standard library only (pipeline.classic.wheel_model); the repository is put on sys.path when run as a script.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script by the Makefile: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pipeline.classic.wheel_model import InstallError, WheelModel

DETECTOR_MODEL_NAME = "face_detection_full_range_sparse.tflite"
DETECTOR_MODEL_SHA256 = "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1"
MODEL = WheelModel(
    "face detector model", "mediapipe==0.10.21", "mediapipe-0.10.21-*.whl",
    "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite",
    DETECTOR_MODEL_NAME, DETECTOR_MODEL_SHA256, 676746,
)
WHEEL_MEMBER = MODEL.member

__all__ = ["MODEL", "WHEEL_MEMBER", "InstallError", "extract_from_wheel", "install", "main"]


def extract_from_wheel(wheel: Path) -> bytes:
    return MODEL.extract(wheel)


def install(destination: Path, wheel: Path | None = None) -> Path:
    return MODEL.install(destination, wheel)


def main(argv: list[str] | None = None) -> int:
    return MODEL.main(argv, __doc__.splitlines()[0])


if __name__ == "__main__":
    raise SystemExit(main())
