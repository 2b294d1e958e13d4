"""One wrapper around every Gradio event: visitor files, consumed uploads, input caps, one-line errors.

`install(demo, ...)` replaces `demo.process_api`, the one method every route (queue, /call, /run)
goes through. Around each event it:
- refuses text inputs longer than MAX_TEXT_CHARS, with one line;
- moves the files Gradio cached for the event's outputs into the visitor's folder (app/served.py),
  so "delete my data" removes every copy and every URL the visitor received; the shared gallery's
  previews stay where Gradio put them;
- deletes the uploads the event consumed (the stored copy is metadata-free; the upload is not);
- turns any exception into a gr.Error of one line, logged as one line: no traceback reaches the log
  or the caller.
A background sweep removes served copies past their age and uploads that no event consumed.
"""

from __future__ import annotations

import errno
import inspect
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import gradio as gr

from app import served
from app.errors import one_line

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 10_000
UNCONSUMED_UPLOAD_SECONDS = 15 * 60
SWEEP_SECONDS = 60.0
REFUSED = "This request could not be handled; check its arguments."
COPY_TRIES = 20  # reads of a cached file another event may still be writing
EMPTY_FOLDER_SECONDS = 300.0  # cache folders left empty by moves are removed once this old
COPY_RETRY_SECONDS = 0.01


class EventGuard:
    def __init__(self, demo: gr.Blocks, *, shared_outputs: Iterable[gr.components.Component], served_age: float) -> None:
        self.demo = demo
        self.root = served.gradio_cache_root()
        self.shared_ids = {component._id for component in shared_outputs}
        self.served_age = served_age
        self._original = demo.process_api
        self._signature = inspect.signature(self._original)
        self._lock = threading.Lock()

    # ------------------------------------------------------------ the wrapper

    async def process_api(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        bound = self._signature.bind(*args, **kwargs)
        block_fn = bound.arguments["block_fn"]
        fn = self.demo.fns[block_fn] if isinstance(block_fn, int) else block_fn
        inputs = bound.arguments.get("inputs") or []
        name = fn.api_name or fn.name or "event"
        uploads = self._uploads_in(inputs)
        owner, token = served.begin_event()
        try:
            _check_text(inputs)
            result = await self._original(*args, **kwargs)
        except gr.Error as error:
            error.print_exception = False
            raise
        except Exception as exc:  # noqa: BLE001  (any bad argument: one line, no traceback)
            log.warning("event /%s refused: %s: %s", name, type(exc).__name__, _reason(exc))
            raise gr.Error(_refusal(exc), print_exception=False) from None
        finally:
            served.end_event(token)
            self._discard_uploads(uploads)
        if owner.visitor and isinstance(result, dict) and isinstance(result.get("data"), list):
            result["data"] = self._relocate(fn, result["data"], owner.visitor)
        return result

    # ------------------------------------------------------------ outputs into the visitor's folder

    def _relocate(self, fn: Any, data: list[Any], visitor: str) -> list[Any]:
        folder = served.visitor_folder(visitor, self.root)
        outputs = list(getattr(fn, "outputs", []) or [])
        moved: list[Any] = []
        for index, value in enumerate(data):
            block = outputs[index] if index < len(outputs) else None
            if block is not None and getattr(block, "_id", None) in self.shared_ids:
                moved.append(value)
            else:
                moved.append(_map_files(value, lambda payload, b=block: self._move(payload, folder, b)))
        return moved

    def _move(self, payload: dict[str, Any], folder: Path, block: Any) -> dict[str, Any]:
        source = Path(str(payload["path"]))
        try:
            source = source.resolve()
            if not source.is_relative_to(self.root) or source.is_relative_to(folder):
                return payload
            target = folder / source.parent.name / source.name
            target.parent.mkdir(parents=True, exist_ok=True)
            if not source.exists():  # moved by a concurrent event: the same bytes are in some visitor's folder
                if not target.exists():
                    os.link(self._twin(source), target)
            elif self._protected(str(source)):
                if not target.exists():
                    os.link(source, target)
            else:
                _private_copy(source, target)
                source.unlink(missing_ok=True)  # its folder stays: a concurrent event may be writing into it
                if block is not None:
                    getattr(block, "temp_files", set()).discard(str(source))
        except OSError as exc:  # gone meanwhile (another visitor's identical image moved it): leave as is
            log.info("served copy not moved: %s", exc.strerror or type(exc).__name__)  # no path in the log
            return payload
        url = payload.get("url")
        old, new = quote(str(source), safe="/"), quote(str(target), safe="/")
        payload = {**payload, "path": str(target)}
        if isinstance(url, str) and old in url:
            payload["url"] = url.replace(old, new)
        return payload

    def _twin(self, source: Path) -> Path:
        """The copy of `source` another event moved into a visitor's folder (the same content hash)."""
        for twin in (self.root / served.VISITORS_DIR).glob(f"*/{source.parent.name}/{source.name}"):
            return twin
        raise FileNotFoundError(f"no copy of {source.parent.name[:12]}")

    def _protected(self, path: str) -> bool:
        """Files Gradio must keep: examples and other cached values that belong to no visitor."""
        for block in self.demo.blocks.values():
            if path in getattr(block, "keep_in_cache", ()):
                return True
        return False

    # ------------------------------------------------------------ uploads

    def _uploads_in(self, inputs: Any) -> list[str]:
        found: list[str] = []
        _map_files(inputs, lambda payload: found.append(str(payload["path"])) or payload)
        uploaded = self.demo.upload_file_set
        return [path for path in found if path in uploaded]

    def _discard_uploads(self, paths: list[str]) -> None:
        for path in paths:
            if self._protected(path):
                continue
            self.demo.upload_file_set.discard(path)
            for block in self.demo.blocks.values():
                getattr(block, "temp_files", set()).discard(path)
            try:
                Path(path).unlink(missing_ok=True)
                _remove_empty(Path(path).parent)
            except OSError:
                continue

    # ------------------------------------------------------------ the sweep

    def sweep(self, now: float | None = None) -> tuple[int, int]:
        """(served copies removed, stray uploads removed)."""
        now = time.time() if now is None else now
        removed_served = served.sweep(max_age=self.served_age, root=self.root, now=now)
        served.remove_empty_cache_folders(self.root, now - EMPTY_FOLDER_SECONDS)
        stray = 0
        for path in list(self.demo.upload_file_set):
            try:
                if os.stat(path).st_mtime < now - UNCONSUMED_UPLOAD_SECONDS:
                    os.unlink(path)
                    _remove_empty(Path(path).parent)
                    stray += 1
            except OSError:
                pass
            if not os.path.exists(path):
                self.demo.upload_file_set.discard(path)
        return removed_served, stray


def install(
    demo: gr.Blocks, *, shared_outputs: Iterable[gr.components.Component], served_age: float
) -> EventGuard:
    """Wrap `demo.process_api` and start the sweep (a daemon thread that ends with the demo)."""
    guard = EventGuard(demo, shared_outputs=shared_outputs, served_age=served_age)
    demo.process_api = guard.process_api  # type: ignore[method-assign]
    reference = weakref.ref(guard)
    threading.Thread(target=_sweep_loop, args=(reference,), name="coswap-served-sweep", daemon=True).start()
    return guard


def _sweep_loop(reference: Callable[[], EventGuard | None]) -> None:
    while True:
        time.sleep(SWEEP_SECONDS)
        guard = reference()
        if guard is None:
            return
        try:
            guard.sweep()
        except Exception as exc:  # noqa: BLE001  (a background thread: log it and go on)
            log.warning("served-file sweep failed: %s", _reason(exc))
        del guard


def _check_text(inputs: Any) -> None:
    values = inputs if isinstance(inputs, list) else [inputs]
    for value in values:
        texts = value if isinstance(value, list) else [value]
        for text in texts:
            if isinstance(text, str) and len(text) > MAX_TEXT_CHARS:
                raise gr.Error(f"a text input is too long ({len(text)} characters; at most {MAX_TEXT_CHARS})", print_exception=False)


def _reason(exc: BaseException) -> str:
    """A log line's reason: an OSError's message without its path, else the first line, shortened."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return one_line(exc)[:200]


def _refusal(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "An input is nested too deeply."
    if isinstance(exc, (TypeError, KeyError, IndexError, ValueError, AttributeError)):
        return REFUSED
    return "Something went wrong on our side; please try again."


def _map_files(value: Any, change: Callable[[dict[str, Any]], Any]) -> Any:
    """`value` with every file payload (a dict with a string 'path') passed through `change`."""
    if isinstance(value, dict):
        if isinstance(value.get("path"), str) and ("url" in value or "meta" in value or "orig_name" in value):
            return change(value)
        return {key: _map_files(item, change) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_map_files(item, change) for item in value)
    return value


def _private_copy(source: Path, target: Path) -> None:
    """A served copy that no one else writes to: Gradio writes content-addressed cache files in place
    (truncate, then write), so an event with the same image rewrites the very file another visitor may
    be downloading (the download then ends short of its Content-Length). The copy is a new file, written
    whole under a temporary name and renamed, from bytes that match the folder's content hash (or, for
    other folders, two non-empty reads that agree); never from the empty file of a rewrite under way."""
    from gradio.processing_utils import hash_bytes

    previous = None
    for _ in range(COPY_TRIES):
        data = source.read_bytes()
        if hash_bytes(data) == source.parent.name or (data and data == previous):
            break
        previous = data
        time.sleep(COPY_RETRY_SECONDS)
    else:
        raise OSError(errno.EAGAIN, "the cached file kept changing")
    temporary = target.with_name(f".tmp-{os.getpid()}-{threading.get_ident()}-{target.name}")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _remove_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass
