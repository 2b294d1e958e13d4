"""The polling helper: stops when done or at the deadline, and spaces its reads out when asked."""

from __future__ import annotations

import time

from app.polling import wait_for


def test_waits_grow_to_the_bound_and_the_deadline_is_kept() -> None:
    reads: list[float] = []

    def read() -> int:
        reads.append(time.monotonic())
        return len(reads)

    started = time.monotonic()
    last = wait_for(read, lambda n: False, timeout=1.0, interval=0.02, max_interval=0.2)
    elapsed = time.monotonic() - started
    gaps = [b - a for a, b in zip(reads, reads[1:])]
    assert 1.0 <= elapsed < 1.3 and last == len(reads)
    assert gaps[1] > gaps[0] * 1.3  # growing
    assert max(gaps) < 0.28  # bounded by max_interval (plus scheduling slack)
    assert len(reads) < 15  # a fixed 0.02 s interval would have read about 50 times


def test_fixed_interval_without_a_bound_and_done_stops_at_once() -> None:
    readings = iter(range(100))
    assert wait_for(lambda: next(readings), lambda n: n == 3, timeout=5.0, interval=0.001) == 3
