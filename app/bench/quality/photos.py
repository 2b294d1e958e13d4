"""The stress set's photos: the package portraits of app.bench.sample_portraits and t1.jpg."""

from __future__ import annotations

from pipeline.face import RGBImage
from pipeline.intake import read_image_file
from app.bench.sample_portraits import (
    OPENCV_DOC_HINT,
    PORTRAITS,
    PhotoMissing,
    load_portrait,
    opencv_doc_available,
)
from pipeline.samples import sample_paths

__all__ = ["OPENCV_DOC_HINT", "PORTRAITS", "PhotoMissing", "load_portrait", "opencv_doc_available", "t1_image"]


def t1_image() -> RGBImage:
    return read_image_file(sample_paths().t1, max_side=4096).array
