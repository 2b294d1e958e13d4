"""A per-process sliding-window counter of events per key (e.g. photo uploads per session an hour).

Held by the AppContext, never in a module global. It counts what this process saw; a deletion
of the session's data does not reset it, which is the point of a rate limit.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RateLog:
    def __init__(self, window_seconds: float = 3600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._window = window_seconds
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def count(self, key: str) -> int:
        with self._lock:
            return len(self._prune(key))

    def seconds_until_free(self, key: str) -> float:
        """How long until the oldest event in the window leaves it (0 when there is none)."""
        with self._lock:
            events = self._prune(key)
            return max(0.0, events[0] + self._window - self._clock()) if events else 0.0

    def try_add(self, key: str, n: int, limit: int) -> bool:
        """Record `n` events unless that would exceed `limit` in the window; True when recorded."""
        with self._lock:
            events = self._prune(key)
            if len(events) + n > limit:
                return False
            events.extend([self._clock()] * n)
            self._events[key] = events
            return True

    def _prune(self, key: str) -> deque[float]:
        """The key's events still in the window; a key with none is forgotten."""
        events = self._events.pop(key, deque())
        horizon = self._clock() - self._window
        while events and events[0] <= horizon:
            events.popleft()
        if events:
            self._events[key] = events
        return events
