"""Safe image intake for every entry point, and metadata-free encoders.

Only JPEG, PNG and WEBP are opened. Sizes are checked from the header before any pixel is decoded,
truncated files are refused, EXIF orientation is applied, alpha is flattened on white and the long
side is capped. Every refusal is an ImageRejected with a one-line reason that names no path.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps

from pipeline.errors import ImageRejected

ALLOWED_FORMATS: Final = ("JPEG", "PNG", "WEBP")
DEFAULT_MAX_SIDE: Final = 2048
DEFAULT_MAX_PIXELS: Final = 40_000_000
DEFAULT_MAX_BYTES: Final = 25_000_000
MAX_ASPECT_RATIO: Final = 12.0  # long side / short side; a 1 x 39,000,000 strip is refused unread
DECODE_BUDGET_PIXELS: Final = 48_000_000  # pixels being decoded at once in one process (at most about 9 bytes each)
_FORMAT_HINT: Final = "use JPEG, PNG or WEBP"

# Magic numbers of formats we refuse, only to name them in the message.
_KNOWN_SIGNATURES: Final[tuple[tuple[bytes, str], ...]] = (
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"%PDF", "PDF"),
    (b"8BPS", "PSD"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"\xff\x0a", "JPEG XL"),
    (b"qoif", "QOI"),
)
_FTYP_BRANDS: Final[dict[bytes, str]] = {
    b"heic": "HEIC",
    b"heix": "HEIC",
    b"mif1": "HEIF",
    b"avif": "AVIF",
    b"jxl ": "JPEG XL",
}


@dataclass(frozen=True)
class DecodedImage:
    """An accepted image: RGB uint8 pixels, EXIF orientation applied, long side capped."""

    array: NDArray[np.uint8] = field(repr=False)  # H x W x 3, RGB
    width: int
    height: int
    source_format: str  # "JPEG", "PNG" or "WEBP"


def decode_image(
    data: bytes,
    *,
    max_side: int = DEFAULT_MAX_SIDE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> DecodedImage:
    """Decode untrusted image bytes into RGB pixels, or raise ImageRejected."""
    if not data:
        raise ImageRejected("empty file; expected an image")
    if len(data) > max_bytes:
        raise ImageRejected(f"file too large ({_megabytes(len(data))}); the limit is {_megabytes(max_bytes)}")
    try:
        with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as image:
            source_format = "JPEG" if image.format == "MPO" else str(image.format)  # MPO: camera JPEG
            _check_pixel_count(image.size, max_pixels)
            _check_aspect_ratio(image.size)
            with DECODE_BUDGET.hold(image.size[0] * image.size[1]):
                image.load()
                rgb = _to_rgb(_upright(image))
                capped = _cap_long_side(rgb, max_side)
                array = np.ascontiguousarray(np.asarray(capped, dtype=np.uint8))
                del rgb, capped
    except ImageRejected:
        raise
    except Image.UnidentifiedImageError as error:
        raise ImageRejected(_unsupported_reason(data)) from error
    except Image.DecompressionBombError as error:
        raise ImageRejected("image too large (decompression bomb refused)") from error
    except (OSError, SyntaxError, EOFError) as error:
        raise ImageRejected(_broken_reason(error)) from error
    except Exception as error:  # hostile input can trip any decoder path; refuse it the same way
        raise ImageRejected("corrupt or unreadable image data") from error
    height, width = array.shape[:2]
    return DecodedImage(array=array, width=width, height=height, source_format=source_format)


def read_image_file(
    path: str | os.PathLike[str],
    *,
    max_side: int = DEFAULT_MAX_SIDE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> DecodedImage:
    """Read and decode an image file with the same checks as decode_image."""
    try:
        size = os.stat(path).st_size
        if size > max_bytes:
            raise ImageRejected(f"file too large ({_megabytes(size)}); the limit is {_megabytes(max_bytes)}")
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except FileNotFoundError as error:
        raise ImageRejected("image file not found") from error
    except IsADirectoryError as error:
        raise ImageRejected("expected an image file, got a directory") from error
    except PermissionError as error:
        raise ImageRejected("image file is not readable (permission denied)") from error
    except OSError as error:
        raise ImageRejected("image file could not be read") from error
    return decode_image(data, max_side=max_side, max_pixels=max_pixels, max_bytes=max_bytes)


def encode_png(array: NDArray[np.uint8]) -> bytes:
    """PNG bytes without any metadata chunk (no text, EXIF or ICC)."""
    buffer = io.BytesIO()
    _to_pillow(array).save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def encode_jpeg(array: NDArray[np.uint8], quality: int = 92) -> bytes:
    """Baseline JPEG bytes without EXIF, XMP, ICC or comments."""
    buffer = io.BytesIO()
    _to_pillow(array).save(buffer, format="JPEG", quality=int(quality), optimize=False)
    return buffer.getvalue()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_pixel_count(size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise ImageRejected("image has no pixels")
    if width * height > max_pixels:
        raise ImageRejected(
            f"image too large ({width}x{height} pixels); the limit is {max_pixels / 1e6:g} megapixels"
        )


def _check_aspect_ratio(size: tuple[int, int]) -> None:
    width, height = size
    if max(width, height) > MAX_ASPECT_RATIO * min(width, height):
        raise ImageRejected(
            f"image too narrow ({width}x{height} pixels); the sides may differ by a factor of {MAX_ASPECT_RATIO:g} at most"
        )


class DecodeBudget:
    """At most `pixels` pixels are decoded at once; a decode that does not fit waits for others to end.

    The header's size is checked first, so the wait is for what the decode will really need. One image
    larger than the budget takes the whole budget. This bounds the decoders' peak memory whatever the
    number of concurrent uploads.
    """

    def __init__(self, pixels: int) -> None:
        self._total = pixels
        self._free = pixels
        self._changed = threading.Condition()

    @contextmanager
    def hold(self, pixels: int) -> Iterator[None]:
        need = max(1, min(pixels, self._total))
        with self._changed:
            self._changed.wait_for(lambda: self._free >= need)
            self._free -= need
        try:
            yield
        finally:
            with self._changed:
                self._free += need
                self._changed.notify_all()


DECODE_BUDGET: Final = DecodeBudget(DECODE_BUDGET_PIXELS)  # one per process: memory is per process


def _upright(image: Image.Image) -> Image.Image:
    """Apply EXIF orientation; an unreadable EXIF block leaves the pixels as stored."""
    try:
        return ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, TypeError, KeyError, struct.error):
        return image


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        wide = np.asarray(image, dtype=np.int64)
        shift = 8 if wide.max(initial=0) > 255 else 0
        image = Image.fromarray(np.clip(wide >> shift, 0, 255).astype(np.uint8))
    has_alpha = image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        image.mode == "P" and "transparency" in image.info
    )
    if has_alpha:  # pasted through its alpha onto white: one RGB copy, not three RGBA ones
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def _cap_long_side(image: Image.Image, max_side: int) -> Image.Image:
    width, height = image.size
    long_side = max(width, height)
    if long_side <= max_side:
        return image
    scale = max_side / long_side
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _to_pillow(array: NDArray[np.uint8]) -> Image.Image:
    pixels = np.ascontiguousarray(array)
    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] != 3):
        raise ImageRejected("cannot encode: expected an RGB uint8 image")
    return Image.fromarray(pixels)


def _unsupported_reason(data: bytes) -> str:
    name = _sniff_format(data)
    if name is None:
        return f"not a recognised image; {_FORMAT_HINT}"
    return f"unsupported image format ({name}); {_FORMAT_HINT}"


def _sniff_format(data: bytes) -> str | None:
    head = data[:32]
    for signature, name in _KNOWN_SIGNATURES:
        if head.startswith(signature):
            return name
    if head[4:8] == b"ftyp":
        return _FTYP_BRANDS.get(head[8:12], "ISO media")
    text = head.lstrip().lower()
    if text.startswith((b"<svg", b"<?xml")):
        return "SVG"
    return None


def _broken_reason(error: BaseException) -> str:
    message = str(error).lower()
    if "truncated" in message or isinstance(error, EOFError):
        return "image file is truncated"
    return "corrupt or unreadable image data"


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"
