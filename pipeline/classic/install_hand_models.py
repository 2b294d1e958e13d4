"""Install MediaPipe's palm detector and hand landmark model at install time (run by the Makefile's venv step).

Where they come from: `palm_detection_full.tflite` and `hand_landmark_full.tflite` (Apache-2.0, Google
MediaPipe) as shipped inside the `mediapipe==0.10.21` wheel on PyPI (Apache-2.0) at
`mediapipe/modules/palm_detection/` and `mediapipe/modules/hand_landmark/`. The wheel is fetched once with
`pip download --no-deps`, only those two files are extracted (mediapipe is never installed), each is
checked against a pinned sha256 and written to `<sys.prefix>/share/coswap/<name>`.

Usage: python pipeline/classic/install_hand_models.py [--dest-dir DIR] [--wheel FILE]
Standard library only (pipeline.classic.wheel_model); the repository is put on sys.path when run as a script.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as a script by the Makefile: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pipeline.classic.wheel_model import InstallError, WheelModel

WHEEL = ("mediapipe==0.10.21", "mediapipe-0.10.21-*.whl")
PALM_MODEL = WheelModel(
    "palm detector model", *WHEEL,
    "mediapipe/modules/palm_detection/palm_detection_full.tflite", "palm_detection_full.tflite",
    "1b14e9422c6ad006cde6581a46c8b90dd573c07ab7f3934b5589e7cea3f89a54", 2339846,
)
HAND_LANDMARK_MODEL = WheelModel(
    "hand landmark model", *WHEEL,
    "mediapipe/modules/hand_landmark/hand_landmark_full.tflite", "hand_landmark_full.tflite",
    "11c272b891e1a99ab034208e23937a8008388cf11ed2a9d776ed3d01d0ba00e3", 5478917,
)
MODELS = (PALM_MODEL, HAND_LANDMARK_MODEL)


def install(directory: Path | None = None, wheel: Path | None = None) -> list[Path]:
    """Both pinned files in `directory` (default <sys.prefix>/share/coswap), from one wheel download."""
    destinations = [(directory / model.name) if directory else model.default_destination() for model in MODELS]
    missing = [model for model, path in zip(MODELS, destinations) if not path.is_file()]
    with tempfile.TemporaryDirectory() as scratch:
        if wheel is None and missing:
            wheel = missing[0].download(Path(scratch))
        return [model.install(path, wheel) for model, path in zip(MODELS, destinations)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest-dir", type=Path, default=None, help="where to write the two model files")
    parser.add_argument("--wheel", type=Path, default=None, help=f"use this {WHEEL[0]} wheel, no download")
    args = parser.parse_args(argv)
    try:
        paths = install(args.dest_dir, args.wheel)
    except InstallError as error:
        sys.stderr.write(f"hand models: {error}\n")
        return 1
    sys.stdout.write("".join(f"hand models: {path}\n" for path in paths))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
