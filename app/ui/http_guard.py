"""ASGI middleware in front of every route of the Gradio app.

- Request bodies: at most `body_limit` bytes on every route, `upload_limit` on /gradio_api/upload;
  a body without a declared length is refused (411), a larger one gets 413 before it is read.
- /gradio_api/upload: at most `upload_bytes_per_hour` bytes and UPLOADS_PER_HOUR requests per
  client address (429 past them); every uploaded image is stripped of its metadata before the
  route answers, so not even the served original carries EXIF or GPS.
- /gradio_api/deep_link is switched off (404): the app offers no deep links, and the route wrote
  an unbounded file per call.
- A cached file that was deleted answers 404 (Gradio answers 403 for any missing file).
Each refusal is one plain-text line.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from pathlib import Path
from typing import Any

import anyio
from starlette.middleware import Middleware

from app import served
from app.config import Settings
from app.errors import one_line
from pipeline.metadata import strip_metadata

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
AddressOf = Callable[[str | None, str | None], str | None]

UPLOADS_PER_HOUR = 600
WINDOW_SECONDS = 3600.0
FILE_ROUTE = "/gradio_api/file="
UPLOAD_ROUTE = "/gradio_api/upload"
DEEP_LINK_ROUTE = "/gradio_api/deep_link"
BODY_METHODS = ("POST", "PUT", "PATCH")


class UploadLedger:
    """Bytes and requests per address in the last hour (in this process)."""

    def __init__(self, bytes_per_hour: int, requests_per_hour: int = UPLOADS_PER_HOUR) -> None:
        self.bytes_per_hour = bytes_per_hour
        self.requests_per_hour = requests_per_hour
        self._seen: dict[str, deque[tuple[float, int]]] = {}
        self._lock = threading.Lock()

    def admit(self, address: str, size: int, now: float | None = None) -> str | None:
        """None when admitted (and counted), else the one-line reason."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._seen) > 100_000:  # bounded: forget addresses idle for an hour
                self._seen = {a: q for a, q in self._seen.items() if q and q[-1][0] > now - WINDOW_SECONDS}
            window = self._seen.setdefault(address, deque())
            while window and window[0][0] <= now - WINDOW_SECONDS:
                window.popleft()
            if len(window) >= self.requests_per_hour:
                return f"too many uploads from this address (at most {self.requests_per_hour} an hour)"
            if sum(item[1] for item in window) + size > self.bytes_per_hour:
                return f"upload budget of this address spent ({self.bytes_per_hour // 1_000_000} MB an hour)"
            window.append((now, size))
            return None


class HttpGuard:
    def __init__(
        self,
        app: Callable[[Scope, Receive, Send], Awaitable[None]],
        *,
        body_limit: int,
        upload_limit: int,
        upload_bytes_per_hour: int,
        cache_root: Path,
        address_of: AddressOf,
    ) -> None:
        self.app = app
        self.body_limit = body_limit
        self.upload_limit = upload_limit
        self.uploads = UploadLedger(upload_bytes_per_hour)
        self.cache_root = cache_root
        self.address_of = address_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        method: str = scope.get("method", "GET")
        if path.endswith(DEEP_LINK_ROUTE):
            await _answer(send, 404, "deep links are switched off")
            return
        if method in ("GET", "HEAD") and FILE_ROUTE in path and self._deleted(path.split(FILE_ROUTE, 1)[1]):
            await _answer(send, 404, "not found")
            return
        is_upload = path.endswith(UPLOAD_ROUTE)
        limit = self.upload_limit if is_upload else self.body_limit
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope.get("headers", [])}
        declared = headers.get("content-length")
        if declared is None:
            if method in BODY_METHODS or "transfer-encoding" in headers:
                await _answer(send, 411, "a request body needs a Content-Length")
                return
            size = 0
        elif not declared.isdigit():
            await _answer(send, 400, "bad Content-Length")
            return
        else:
            size = int(declared)
        if size > limit:
            await _answer(send, 413, f"request body too large ({size} bytes; at most {limit})")
            return
        if not is_upload:
            await self.app(scope, _bounded(receive, limit), send)
            return
        client = scope.get("client")
        address = self.address_of(client[0] if client else None, headers.get("x-forwarded-for")) or "unknown"
        refusal = self.uploads.admit(address, size)
        if refusal is not None:
            await _answer(send, 429, refusal)
            return
        await self.app(scope, _bounded(receive, limit), _StripUploads(send, self.cache_root).send)

    def _deleted(self, raw: str) -> bool:
        try:
            target = Path(raw).resolve()
            return target.is_relative_to(self.cache_root) and not target.exists()
        except (OSError, ValueError):
            return False


class _StripUploads:
    """Holds the upload route's answer until each file it names is stripped of metadata."""

    def __init__(self, send: Send, cache_root: Path) -> None:
        self._send = send
        self._root = cache_root
        self._start: Message | None = None
        self._body = bytearray()

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._start = message
            return
        if message["type"] != "http.response.body" or self._start is None:
            await self._send(message)
            return
        self._body += message.get("body", b"")
        if message.get("more_body"):
            return
        if self._start.get("status") == 200:
            await anyio.to_thread.run_sync(self._strip_all, bytes(self._body))
        await self._send(self._start)
        await self._send({"type": "http.response.body", "body": bytes(self._body)})

    def _strip_all(self, body: bytes) -> None:
        try:
            paths = json.loads(body)
        except ValueError:
            return
        for item in paths if isinstance(paths, list) else []:
            if isinstance(item, str):
                _strip_file(Path(item), self._root)


def _strip_file(path: Path, root: Path) -> None:
    try:
        path = path.resolve()
        if not path.is_relative_to(root) or not path.is_file():
            return
        data = path.read_bytes()
        clean = strip_metadata(data)
        if clean != data:
            staging = path.with_name(f".{path.name}.strip")
            staging.write_bytes(clean)
            staging.replace(path)
    except Exception as exc:  # noqa: BLE001  (a damaged file stays as it is; intake refuses it)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else one_line(exc)[:120]
        log.info("upload not stripped: %s", reason)  # no path in the log


def _bounded(receive: Receive, limit: int) -> Receive:
    """A receive that never hands the app more than `limit` body bytes."""
    seen = 0

    async def bounded() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                return {"type": "http.disconnect"}
        return message

    return bounded


async def _answer(send: Send, status: int, line: str) -> None:
    body = (line + "\n").encode()
    headers: Sequence[tuple[bytes, bytes]] = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": list(headers)})
    await send({"type": "http.response.body", "body": body})


BODY_LIMIT = 256 * 1024  # every route but uploads: events carry ids and short texts, never files
UPLOAD_OVERHEAD = 64 * 1024  # multipart headers around one file
UPLOAD_BYTES_PER_HOUR = 300_000_000


def middleware(settings: Settings, address_of: AddressOf | None = None) -> Middleware:
    """The guard as Starlette middleware for `launch(app_kwargs={"middleware": [...]})`.

    `address_of(peer, x_forwarded_for)` names the client (default: the peer address).
    """
    return Middleware(
        HttpGuard,
        body_limit=BODY_LIMIT,
        upload_limit=settings.max_upload_mb * 1024 * 1024 + UPLOAD_OVERHEAD,
        upload_bytes_per_hour=UPLOAD_BYTES_PER_HOUR,
        cache_root=served.gradio_cache_root(),
        address_of=address_of or (lambda peer, _forwarded: peer),
    )
