"""RateLog (uploads an hour, all keys or none) and AddressBook (visitor keys per address, bounded)."""

from __future__ import annotations

from app.ratelog import AddressBook, RateLog


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_try_add_all_records_under_every_key_or_none() -> None:
    clock = Clock()
    log = RateLog(window_seconds=3600, clock=clock)
    assert log.try_add_all({"visitor:a": 5, "address:x": 3}, 2) is None
    assert log.try_add_all({"visitor:b": 5, "address:x": 3}, 2) == "address:x"  # refused as a whole
    assert log.count("visitor:b") == 0 and log.count("address:x") == 2
    clock.now += 3601
    assert log.try_add_all({"visitor:b": 5, "address:x": 3}, 2) is None  # the window moved on
    assert log.count("address:x") == 2


def test_the_address_book_is_bounded_per_address_and_in_all() -> None:
    book = AddressBook(max_keys=6, max_keys_per_address=3)
    for n in range(5):
        book.note("198.51.100.7", f"key{n}")
    assert book.keys("198.51.100.7") == ["key2", "key3", "key4"]  # the newest three
    book.note("198.51.100.7", "key2")  # seen again: newest now
    assert book.keys("198.51.100.7") == ["key3", "key4", "key2"]
    for n in range(4):
        book.note(f"203.0.113.{n}", "other")
    assert book.keys("198.51.100.7") == []  # the least recently seen address went first
    assert all(book.keys(f"203.0.113.{n}") == ["other"] for n in range(4))
