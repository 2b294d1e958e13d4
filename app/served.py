"""Files served to visitors: one folder per visitor inside Gradio's cache, and their deletion.

Every image, preview and ZIP the web UI hands to a visitor is moved into
`<Gradio cache>/coswap-visitors/<folder key>/` (app/ui/served_files.py does that after each event),
so "delete my data" removes one folder and every URL the visitor received stops answering.
The folder key is derived from the visitor's owner key, never equal to it. Files older than the
served-copy age are swept (expiry, `cleanup`).

`note_visitor` tells the web layer whom the current event acts for: services call it when they
resolve a visitor, and the UI's event wrapper reads it. Outside an event it does nothing.
"""

from __future__ import annotations

import contextvars
import hashlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

VISITORS_DIR = "coswap-visitors"
SERVED_MAX_AGE_SECONDS = 2 * 3600  # a served copy lives at most this long (or the TTL, if shorter)


@dataclass
class EventOwner:
    """The visitor the current UI event acts for (set by services, read by the event wrapper)."""

    visitor: str | None = None


_owner: contextvars.ContextVar[EventOwner | None] = contextvars.ContextVar("coswap_event_owner", default=None)


def begin_event() -> tuple[EventOwner, contextvars.Token[EventOwner | None]]:
    owner = EventOwner()
    return owner, _owner.set(owner)


def end_event(token: contextvars.Token[EventOwner | None]) -> None:
    _owner.reset(token)


def note_visitor(owner_key: str) -> None:
    """Record that the running event acts for this owner key (a no-op outside a UI event)."""
    owner = _owner.get()
    if owner is not None and owner.visitor is None:
        owner.visitor = owner_key


def gradio_cache_root() -> Path:
    """Gradio's upload and cache folder, as Gradio itself computes it."""
    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio").resolve()


def folder_key(owner_key: str) -> str:
    return hashlib.sha256(b"coswap-served\x00" + owner_key.encode("utf-8", "replace")).hexdigest()[:32]


def visitor_folder(owner_key: str, root: Path | None = None) -> Path:
    return (root or gradio_cache_root()) / VISITORS_DIR / folder_key(owner_key)


def delete_visitor_files(owner_key: str, root: Path | None = None) -> int:
    """Remove every file served to this visitor; the number of files removed."""
    folder = visitor_folder(owner_key, root)
    count = sum(1 for path in folder.rglob("*") if path.is_file()) if folder.is_dir() else 0
    shutil.rmtree(folder, ignore_errors=True)
    return count


def sweep(*, max_age: float = SERVED_MAX_AGE_SECONDS, root: Path | None = None, now: float | None = None) -> int:
    """Remove served copies older than `max_age` seconds (and emptied folders); the number removed.

    Uploads no event consumed are the web process's to sweep: only it knows which files are uploads.
    """
    root = root or gradio_cache_root()
    return _remove_older(root / VISITORS_DIR, (time.time() if now is None else now) - max_age, depth=3)


def remove_empty_cache_folders(root: Path, cutoff: float) -> int:
    """Empty folders directly under the cache root (left by moved outputs) last changed before `cutoff`."""
    removed = 0
    for folder in root.iterdir() if root.is_dir() else ():
        try:
            if folder.name != VISITORS_DIR and folder.is_dir() and folder.stat().st_mtime < cutoff:
                folder.rmdir()  # refused when not empty
                removed += 1
        except OSError:
            continue
    return removed


def _remove_older(folder: Path, cutoff: float, depth: int) -> int:
    """Files under `folder` last changed before `cutoff`; empty folders go too."""
    if not folder.is_dir():
        return 0
    removed = 0
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
            elif path.is_dir() and not any(path.iterdir()) and len(path.relative_to(folder).parts) <= depth:
                path.rmdir()
        except OSError:
            continue
    return removed
