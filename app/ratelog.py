"""Per-process counters: events per key in a sliding window, and the visitor keys seen per address.

Held by the AppContext, never in a module global. It counts what this process saw; a deletion
of the session's data does not reset it, which is the point of a rate limit.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
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

    def try_add_all(self, limits: dict[str, int], n: int) -> str | None:
        """Record `n` events under every key, or under none when one key would exceed its limit;
        returns the first key that refused (None when recorded)."""
        with self._lock:
            for key, limit in limits.items():
                if len(self._prune(key)) + n > limit:
                    return key
            for key in limits:
                events = self._prune(key)
                events.extend([self._clock()] * n)
                self._events[key] = events
            return None

    def _prune(self, key: str) -> deque[float]:
        """The key's events still in the window; a key with none is forgotten."""
        events = self._events.pop(key, deque())
        horizon = self._clock() - self._window
        while events and events[0] <= horizon:
            events.popleft()
        if events:
            self._events[key] = events
        return events


class AddressBook:
    """Which visitor keys each client address stored something with (this process), so quotas kept in
    rows per key (private templates, pending swaps) can also be summed per address.

    Keys are noted only when something is stored, which the hourly upload quota per address bounds.
    Bounded in memory: at most `max_keys_per_address` keys per address (the oldest go first; a day of
    uploads at the default per-address quota is 3,600) and `max_keys` in all (the least recently seen
    addresses go first).
    """

    def __init__(self, max_keys: int = 200_000, max_keys_per_address: int = 4096) -> None:
        self._max_keys = max_keys
        self._max_per_address = max_keys_per_address
        self._keys: OrderedDict[str, OrderedDict[str, None]] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    def note(self, address: str, key: str) -> None:
        with self._lock:
            keys = self._keys.pop(address, OrderedDict())
            self._total -= len(keys)
            keys.pop(key, None)
            keys[key] = None
            while len(keys) > self._max_per_address:
                keys.popitem(last=False)
            self._keys[address] = keys
            self._total += len(keys)
            while self._total > self._max_keys and len(self._keys) > 1:
                _, dropped = self._keys.popitem(last=False)
                self._total -= len(dropped)

    def keys(self, address: str) -> list[str]:
        with self._lock:
            return list(self._keys.get(address, ()))
