"""Remove metadata from encoded JPEG, PNG and WEBP bytes without decoding a pixel.

EXIF (camera, GPS, dates), XMP, IPTC, comments, text chunks and data after the image's end are
dropped; what the picture needs to look right is kept (JPEG tables and Adobe marker, ICC profile,
PNG colour and transparency chunks). A JPEG's EXIF orientation survives as a one-tag EXIF block,
so a stripped photo still shows upright. Bytes that are none of the three formats are returned
unchanged: intake refuses them anyway. A damaged container raises MetadataError.
"""

from __future__ import annotations

import struct
from typing import Final

from pipeline.errors import PipelineError


class MetadataError(PipelineError):
    """The container is damaged where metadata would be removed."""


_JPEG_SOI: Final = b"\xff\xd8"
_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
# JPEG segments a picture needs: tables, frame and scan headers, restart interval, JFIF, ICC, Adobe.
_JPEG_KEEP_APP: Final = frozenset({0xE0, 0xE2, 0xEE})
_STANDALONE: Final = frozenset({0x01, *range(0xD0, 0xD8)})
# PNG chunks kept: the critical ones and those that change how the pixels look.
_PNG_KEEP: Final = frozenset(
    {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"cICP"}
)
_WEBP_DROP: Final = frozenset({b"EXIF", b"XMP "})
_VP8X_EXIF_XMP: Final = 0x08 | 0x04
_EXIF_ORIENTATION: Final = 0x0112


def strip_metadata(data: bytes) -> bytes:
    """The same image without metadata (see the module docstring)."""
    if data.startswith(_JPEG_SOI):
        return _strip_jpeg(data)
    if data.startswith(_PNG_SIGNATURE):
        return _strip_png(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _strip_webp(data)
    return data


def has_metadata(data: bytes) -> bool:
    """True when stripping would remove something (the tests' and the bench's check)."""
    return strip_metadata(data) != data


# ---------------------------------------------------------------- JPEG


def _strip_jpeg(data: bytes) -> bytes:
    out = bytearray(_JPEG_SOI)
    orientation = 1
    pos = 2
    size = len(data)
    while pos < size:
        marker, pos = _next_marker(data, pos)
        if marker == 0xD9:  # EOI: anything after it (MPO frames, trailers) is dropped
            out += b"\xff\xd9"
            return _with_orientation(bytes(out), orientation)
        if marker in _STANDALONE:
            out += bytes((0xFF, marker))
            continue
        if pos + 2 > size:
            raise MetadataError("truncated JPEG segment")
        length = struct.unpack(">H", data[pos : pos + 2])[0]
        end = pos + length
        if length < 2 or end > size:
            raise MetadataError("truncated JPEG segment")
        body = data[pos + 2 : end]
        if marker == 0xE1 and body.startswith(b"Exif\x00\x00"):
            orientation = _exif_orientation(body[6:]) or orientation
        keep = not (0xE0 <= marker <= 0xEF or marker == 0xFE) or marker in _JPEG_KEEP_APP
        if keep:
            out += bytes((0xFF, marker)) + data[pos:end]
        pos = end
        if marker == 0xDA:  # start of scan: copy the entropy-coded data up to the next real marker
            scan_end = _scan_end(data, pos)
            out += data[pos:scan_end]
            pos = scan_end
    raise MetadataError("JPEG without an end marker")


def _next_marker(data: bytes, pos: int) -> tuple[int, int]:
    if data[pos] != 0xFF:
        raise MetadataError("corrupt JPEG marker")
    while pos < len(data) and data[pos] == 0xFF:  # fill bytes
        pos += 1
    if pos >= len(data):
        raise MetadataError("JPEG without an end marker")
    return data[pos], pos + 1


def _scan_end(data: bytes, pos: int) -> int:
    """The offset of the first marker after entropy-coded data (0xFF00 and restarts are data)."""
    while True:
        found = data.find(b"\xff", pos)
        if found < 0 or found + 1 >= len(data):
            return len(data)
        following = data[found + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            pos = found + 1 if following == 0xFF else found + 2
            continue
        return found


def _exif_orientation(tiff: bytes) -> int | None:
    """The Orientation tag of IFD0, or None when absent or unreadable."""
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return None
    order = "<" if tiff[:2] == b"II" else ">"
    try:
        (offset,) = struct.unpack(order + "I", tiff[4:8])
        (count,) = struct.unpack(order + "H", tiff[offset : offset + 2])
        for index in range(min(count, 512)):
            entry = tiff[offset + 2 + 12 * index : offset + 14 + 12 * index]
            tag, kind, _n = struct.unpack(order + "HHI", entry[:8])
            if tag == _EXIF_ORIENTATION and kind == 3:
                (value,) = struct.unpack(order + "H", entry[8:10])
                return value if 1 <= value <= 8 else None
    except struct.error:
        return None
    return None


def _with_orientation(jpeg: bytes, orientation: int) -> bytes:
    """Insert a one-tag EXIF block (Orientation) after SOI and JFIF when the photo is turned."""
    if orientation == 1:
        return jpeg
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">HHHIHH", 1, _EXIF_ORIENTATION, 3, 1, orientation, 0)
    tiff += struct.pack(">I", 0)
    body = b"Exif\x00\x00" + tiff
    segment = b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body
    insert_at = 2
    if jpeg[2:4] == b"\xff\xe0":  # after JFIF, which must come first
        insert_at = 4 + struct.unpack(">H", jpeg[4:6])[0]
    return jpeg[:insert_at] + segment + jpeg[insert_at:]


# ---------------------------------------------------------------- PNG


def _strip_png(data: bytes) -> bytes:
    out = bytearray(_PNG_SIGNATURE)
    pos = len(_PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 12 + length
        if end > len(data):
            raise MetadataError("truncated PNG chunk")
        if kind in _PNG_KEEP:
            out += data[pos:end]
        pos = end
        if kind == b"IEND":  # data after IEND is dropped
            return bytes(out)
    raise MetadataError("PNG without an end chunk")


# ---------------------------------------------------------------- WEBP


def _strip_webp(data: bytes) -> bytes:
    (declared,) = struct.unpack("<I", data[4:8])
    end = min(len(data), 8 + declared)
    chunks = bytearray()
    pos = 12
    while pos + 8 <= end:
        kind = data[pos : pos + 4]
        (length,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        stop = pos + 8 + length + (length & 1)
        if pos + 8 + length > end:
            raise MetadataError("truncated WEBP chunk")
        chunk = bytearray(data[pos : min(stop, end)])
        if kind == b"VP8X" and length >= 1:
            chunk[8] &= ~_VP8X_EXIF_XMP & 0xFF
        if kind not in _WEBP_DROP:
            chunks += chunk
        pos = stop
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WEBP" + bytes(chunks)
