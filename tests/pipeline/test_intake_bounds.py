"""Decode bounds checked before any pixel is decoded: the aspect ratio, and the process's decode budget."""

from __future__ import annotations

import struct
import threading
import time
import zlib

import pytest

from pipeline.errors import ImageRejected
from pipeline.intake import DecodeBudget, decode_image


def strip_png(width: int, height: int) -> bytes:
    """A tiny grey PNG of width x height pixels (a few hundred KB for 39 million pixels)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = (b"\x00" + b"\x80" * width) * height
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def test_a_one_pixel_wide_strip_is_refused_before_decoding() -> None:
    data = strip_png(1, 39_000_000)
    assert len(data) < 400_000
    started = time.perf_counter()
    with pytest.raises(ImageRejected, match=r"too narrow \(1x39000000 pixels\)"):
        decode_image(data)
    assert time.perf_counter() - started < 0.5  # refused from the header: nothing was inflated


def test_a_panorama_within_the_ratio_decodes() -> None:
    assert decode_image(strip_png(1200, 120)).width == 1200


def test_the_budget_bounds_the_pixels_decoded_at_once() -> None:
    budget = DecodeBudget(10)
    busy, peak, lock = [0], [0], threading.Lock()

    def decode(pixels: int) -> None:
        with budget.hold(pixels):
            with lock:
                busy[0] += min(pixels, 10)
                peak[0] = max(peak[0], busy[0])
            time.sleep(0.02)
            with lock:
                busy[0] -= min(pixels, 10)

    threads = [threading.Thread(target=decode, args=(size,)) for size in (6, 6, 4, 4, 30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert not any(thread.is_alive() for thread in threads)
    assert peak[0] <= 10  # the oversized one holds the whole budget and runs alone
