from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from pipeline.errors import ImageRejected
from pipeline.intake import (
    DecodedImage,
    decode_image,
    encode_jpeg,
    encode_png,
    read_image_file,
    sha256_hex,
)


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _gradient(width: int = 64, height: int = 48) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.uint8)[None, :].repeat(height, 0)
    y = np.linspace(0, 255, height, dtype=np.uint8)[:, None].repeat(width, 1)
    return Image.fromarray(np.dstack([x, y, 255 - x]))


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a size in its header but carries almost no pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def _png_chunk_types(data: bytes) -> list[bytes]:
    kinds, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kinds.append(data[offset + 4 : offset + 8])
        offset += 12 + length
    return kinds


def _jpeg_markers(data: bytes) -> set[int]:
    """Marker bytes of the JPEG segments before the scan data."""
    markers, offset = set(), 2
    while offset + 4 <= len(data) and data[offset] == 0xFF:
        marker = data[offset + 1]
        markers.add(marker)
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            break
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        offset += 2 + length
    return markers


def _assert_one_line_without_path(error: ImageRejected, path: Path | None = None) -> None:
    message = str(error)
    assert message and "\n" not in message
    if path is not None:
        assert str(path) not in message and path.name not in message


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_accepted_formats_decode_to_rgb(fmt: str) -> None:
    decoded = decode_image(_encode(_gradient(), fmt))
    assert isinstance(decoded, DecodedImage)
    assert decoded.source_format == fmt
    assert (decoded.width, decoded.height) == (64, 48)
    assert decoded.array.shape == (48, 64, 3) and decoded.array.dtype == np.uint8


def test_multi_picture_camera_jpeg_is_read_as_jpeg() -> None:
    first, second = Image.new("RGB", (30, 20), (200, 10, 10)), Image.new("RGB", (30, 20))
    decoded = decode_image(_encode(first, "MPO", save_all=True, append_images=[second]))
    assert decoded.source_format == "JPEG" and decoded.array.shape == (20, 30, 3)
    assert decoded.array[10, 15, 0] > 150


def test_png_decodes_losslessly() -> None:
    original = _gradient()
    decoded = decode_image(_encode(original, "PNG"))
    assert np.array_equal(decoded.array, np.asarray(original))


@pytest.mark.parametrize(("fmt", "name"), [("GIF", "GIF"), ("BMP", "BMP"), ("TIFF", "TIFF")])
def test_other_formats_are_refused_by_name(fmt: str, name: str) -> None:
    with pytest.raises(
        ImageRejected, match=rf"unsupported image format \({name}\); use JPEG, PNG or WEBP"
    ) as caught:
        decode_image(_encode(_gradient(), fmt))
    _assert_one_line_without_path(caught.value)


@pytest.mark.parametrize("data", [b"not an image at all", b"<svg xmlns='x'></svg>", bytes(range(256))])
def test_non_images_are_refused(data: bytes) -> None:
    with pytest.raises(ImageRejected) as caught:
        decode_image(data)
    _assert_one_line_without_path(caught.value)


def test_empty_input_is_refused() -> None:
    with pytest.raises(ImageRejected, match="empty"):
        decode_image(b"")


@pytest.mark.parametrize(("width", "height"), [(8000, 6000), (30000, 30000)])
def test_decompression_bombs_are_refused_before_decoding(
    monkeypatch: pytest.MonkeyPatch, width: int, height: int
) -> None:
    decoded_pixels = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded_pixels.append(self) or None)
    with pytest.raises(ImageRejected, match="too large") as caught:
        decode_image(_png_header_only(width, height))
    assert decoded_pixels == []
    _assert_one_line_without_path(caught.value)


def test_pixel_limit_is_configurable() -> None:
    data = _encode(_gradient(100, 100), "PNG")
    with pytest.raises(ImageRejected, match="too large"):
        decode_image(data, max_pixels=5_000)
    assert decode_image(data, max_pixels=10_000).width == 100


def test_byte_limit_is_enforced() -> None:
    data = _encode(_gradient(100, 100), "PNG")
    with pytest.raises(ImageRejected, match="file too large"):
        decode_image(data, max_bytes=len(data) - 1)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_files_are_refused(fmt: str) -> None:
    noisy = Image.fromarray(np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8))
    data = _encode(noisy, fmt)
    with pytest.raises(ImageRejected, match=r"truncated|corrupt") as caught:
        decode_image(data[: len(data) // 2])
    _assert_one_line_without_path(caught.value)


def test_exif_orientation_is_applied() -> None:
    pixels = np.zeros((20, 40, 3), dtype=np.uint8)
    pixels[:, :20] = (255, 0, 0)  # left half red
    pixels[:, 20:] = (0, 0, 255)  # right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90 degrees clockwise
    decoded = decode_image(_encode(Image.fromarray(pixels), "JPEG", exif=exif, quality=95))
    assert (decoded.width, decoded.height) == (20, 40)
    top, bottom = decoded.array[5, 10], decoded.array[35, 10]
    assert top[0] > 200 and top[2] < 60  # the red half is now on top
    assert bottom[2] > 200 and bottom[0] < 60


def test_alpha_is_flattened_on_white() -> None:
    rgba = np.zeros((10, 10, 4), dtype=np.uint8)
    rgba[:, :5] = (0, 128, 0, 255)
    decoded = decode_image(_encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert tuple(decoded.array[0, 0]) == (0, 128, 0)
    assert tuple(decoded.array[0, 9]) == (255, 255, 255)


def test_grey_and_palette_images_become_rgb() -> None:
    grey = decode_image(_encode(_gradient().convert("L"), "PNG"))
    palette = decode_image(_encode(_gradient().convert("P"), "PNG"))
    assert grey.array.shape == palette.array.shape == (48, 64, 3)
    assert np.array_equal(grey.array[..., 0], grey.array[..., 2])


@pytest.mark.parametrize(
    ("size", "expected"), [((3000, 1000), (2048, 683)), ((1000, 3000), (683, 2048)), ((800, 600), (800, 600))]
)
def test_long_side_is_capped_keeping_aspect(size: tuple[int, int], expected: tuple[int, int]) -> None:
    decoded = decode_image(_encode(Image.new("RGB", size, (10, 20, 30)), "PNG"))
    assert (decoded.width, decoded.height) == expected
    assert decoded.array.shape == (expected[1], expected[0], 3)


def test_max_side_is_configurable() -> None:
    decoded = decode_image(_encode(_gradient(64, 48), "PNG"), max_side=32)
    assert (decoded.width, decoded.height) == (32, 24)


def test_encode_png_writes_no_metadata_chunks() -> None:
    pixels = np.asarray(_gradient())
    data = encode_png(pixels)
    assert _png_chunk_types(data) == [b"IHDR", b"IDAT", b"IEND"]
    assert np.array_equal(decode_image(data).array, pixels)


def test_encode_jpeg_writes_no_exif_icc_or_comment() -> None:
    data = encode_jpeg(np.asarray(_gradient()))
    markers = _jpeg_markers(data)
    assert 0xDA in markers  # parsed up to the scan
    assert not markers & {0xE1, 0xE2, 0xED, 0xFE}  # APP1 EXIF/XMP, APP2 ICC, APP13 IPTC, COM
    assert decode_image(data).array.shape == (48, 64, 3)


def test_metadata_of_an_upload_does_not_survive_reencoding() -> None:
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # camera make
    upload = _encode(_gradient(), "JPEG", exif=exif, comment=b"private note")
    assert b"SecretCam" in upload
    for encoded in (encode_png(decode_image(upload).array), encode_jpeg(decode_image(upload).array)):
        assert b"SecretCam" not in encoded and b"private note" not in encoded


def test_read_image_file(tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    path.write_bytes(_encode(_gradient(), "PNG"))
    assert read_image_file(path).width == 64


def test_read_image_file_refuses_oversized_files_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(_encode(_gradient(), "PNG"))
    with pytest.raises(ImageRejected, match="file too large") as caught:
        read_image_file(path, max_bytes=100)
    _assert_one_line_without_path(caught.value, path)


def test_read_image_file_missing_file_names_no_path(tmp_path: Path) -> None:
    path = tmp_path / "secret-dir" / "missing.jpg"
    with pytest.raises(ImageRejected, match="not found") as caught:
        read_image_file(path)
    _assert_one_line_without_path(caught.value, path)


def test_sha256_hex() -> None:
    assert sha256_hex(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
