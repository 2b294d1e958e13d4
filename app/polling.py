"""The one polling helper: read something until it says done, or until a deadline passes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")


def poll(
    read: Callable[[], T],
    done: Callable[[T], bool],
    *,
    timeout: float | None,
    interval: float,
    max_interval: float | None = None,
) -> Iterator[T]:
    """Yield `read()` every `interval` seconds; stop after a reading that is `done`, or once
    `timeout` seconds have passed (None: no limit). The last reading is always yielded.
    With `max_interval`, each wait is 1.5 times the last, up to that bound (many waiters, few reads)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    wait = interval
    while True:
        value = read()
        yield value
        if done(value) or (deadline is not None and time.monotonic() >= deadline):
            return
        time.sleep(wait if deadline is None else max(0.0, min(wait, deadline - time.monotonic())))
        if max_interval is not None:
            wait = min(wait * 1.5, max_interval)


def wait_for(
    read: Callable[[], T],
    done: Callable[[T], bool],
    *,
    timeout: float | None,
    interval: float,
    max_interval: float | None = None,
) -> T:
    """The last reading of `poll`: done, or the one at the deadline."""
    last: T | None = None
    for last in poll(read, done, timeout=timeout, interval=interval, max_interval=max_interval):
        pass
    return last  # type: ignore[return-value]  # poll always yields at least once
