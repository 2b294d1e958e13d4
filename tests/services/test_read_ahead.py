"""ReadAhead: the next stored image decoded on a thread, handed over exactly as a direct read."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.storage import ReadAhead, read_stored
from pipeline.face import RGBImage


def _write(path: Path, value: int) -> Path:
    pixels = np.full((40, 60, 3), value, dtype=np.uint8)
    pixels[:, :20, 0] = 255 - value  # not grey: a channel swap would show
    cv2.imwrite(str(path), pixels)
    return path


def test_a_requested_image_is_decoded_on_another_thread_and_equals_a_direct_read(tmp_path: Path) -> None:
    first, second = _write(tmp_path / "a.png", 10), _write(tmp_path / "b.png", 200)
    threads: list[str] = []

    def reader(path: Path) -> RGBImage:
        threads.append(threading.current_thread().name)
        return read_stored(path)

    with ReadAhead(reader) as ahead:
        ahead.request(second)
        np.testing.assert_array_equal(ahead.read(second), read_stored(second))
        np.testing.assert_array_equal(ahead.read(first), read_stored(first))  # never requested: read here
    assert threads[0].startswith("read-ahead")
    assert threads[1] == threading.current_thread().name


def test_only_depth_images_wait_and_a_decode_error_reaches_the_reader(tmp_path: Path) -> None:
    paths = [_write(tmp_path / f"{n}.png", n * 20) for n in range(3)]
    calls: list[Path] = []

    def reader(path: Path) -> RGBImage:
        calls.append(path)
        return read_stored(path)

    with ReadAhead(reader, depth=1) as ahead:
        for path in paths:
            ahead.request(path)
        assert ahead.read(paths[2]).shape == (40, 60, 3)
        ahead.request(tmp_path / "missing.png")
        with pytest.raises(FileNotFoundError):
            ahead.read(tmp_path / "missing.png")
    assert paths[2] in calls


def test_in_run_inline_order_every_image_but_the_first_comes_decoded_ahead(tmp_path: Path) -> None:
    """run_inline requests task i+1's template before task i reads its own: both must survive."""
    paths = [_write(tmp_path / f"{n}.png", n * 30) for n in range(4)]
    threads: dict[Path, str] = {}

    def reader(path: Path) -> RGBImage:
        threads[path] = threading.current_thread().name
        return read_stored(path)

    with ReadAhead(reader) as ahead:
        for index, path in enumerate(paths):
            if index + 1 < len(paths):
                ahead.request(paths[index + 1])
            np.testing.assert_array_equal(ahead.read(path), read_stored(path))
    assert threads[paths[0]] == threading.current_thread().name
    assert all(threads[path].startswith("read-ahead") for path in paths[1:])
