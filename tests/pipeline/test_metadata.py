"""pipeline.metadata: camera, GPS and text metadata leave the bytes; the pixels and orientation stay."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from pipeline.metadata import MetadataError, has_metadata, strip_metadata

GPS_IFD = 0x8825
MAKE, ORIENTATION = 0x010F, 0x0112


def _pixels() -> np.ndarray:
    rng = np.random.default_rng(3)
    return rng.integers(0, 255, (40, 64, 3), dtype=np.uint8)


def _exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[MAKE] = "SecretCam"
    exif[ORIENTATION] = orientation
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 7.0)})
    return exif


def _encode(fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(_pixels()).save(buffer, format=fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize("progressive", [False, True])
def test_jpeg_loses_gps_camera_and_comments_but_keeps_pixels_and_orientation(progressive: bool) -> None:
    data = _encode("JPEG", exif=_exif(orientation=6), comment=b"home address", progressive=progressive)
    data += b"trailing secret"
    clean = strip_metadata(data)
    assert b"SecretCam" not in clean and b"home address" not in clean and b"trailing secret" not in clean
    with Image.open(io.BytesIO(clean)) as image:
        exif = image.getexif()
        assert dict(exif) == {ORIENTATION: 6}
        assert not exif.get_ifd(GPS_IFD)
        assert np.array_equal(np.asarray(image), np.asarray(Image.open(io.BytesIO(data))))
    assert not has_metadata(clean)
    assert has_metadata(data)


def test_png_loses_text_and_exif_chunks() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Jane Doe")
    info.add_itxt("Location", "48.85 N, 2.35 E")
    data = _encode("PNG", pnginfo=info, exif=_exif())
    clean = strip_metadata(data)
    assert b"Jane Doe" not in clean and b"SecretCam" not in clean and b"48.85" not in clean
    with Image.open(io.BytesIO(clean)) as image:
        assert np.array_equal(np.asarray(image), _pixels())
        assert not image.getexif()


def test_webp_loses_exif_and_xmp() -> None:
    data = _encode("WEBP", exif=_exif(), xmp=b"<x:xmpmeta>GPS 48.85</x:xmpmeta>", lossless=True)
    clean = strip_metadata(data)
    assert b"SecretCam" not in clean and b"GPS 48.85" not in clean
    with Image.open(io.BytesIO(clean)) as image:
        assert np.array_equal(np.asarray(image.convert("RGB")), _pixels())
        assert not image.getexif()


def test_clean_images_and_other_bytes_are_left_alone() -> None:
    plain = _encode("PNG")
    assert strip_metadata(plain) == plain
    assert strip_metadata(b"GIF89a....") == b"GIF89a...."


def test_a_truncated_container_is_refused_with_one_line() -> None:
    data = _encode("PNG")
    with pytest.raises(MetadataError, match="PNG"):
        strip_metadata(data[:40])
