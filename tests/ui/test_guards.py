"""app/served.py and the two guards without a server: visitor folders, the sweep, the HTTP guard's
limits (through a real ASGI app), and the event guard's upload and text rules."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from app import served
from app.services.cleanup import cleanup_expired
from app.ui.event_guard import MAX_TEXT_CHARS, _check_text, _map_files
from app.ui.http_guard import HttpGuard, UploadLedger
from db.base import utcnow


def _write(path: Path, data: bytes = b"x", age: float = 0.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if age:
        stamp = time.time() - age
        os.utime(path, (stamp, stamp))
    return path


# ---------------------------------------------------------------- served folders


def test_a_visitors_folder_is_named_by_a_hash_and_deleted_whole(tmp_path: Path) -> None:
    owner = "a" * 64
    folder = served.visitor_folder(owner, tmp_path)
    assert owner not in str(folder) and folder.parent == tmp_path / served.VISITORS_DIR
    _write(folder / "h1" / "image.webp")
    _write(folder / "zips" / "z" / "results.zip")
    other = _write(served.visitor_folder("b" * 64, tmp_path) / "h2" / "image.webp")
    assert served.delete_visitor_files(owner, tmp_path) == 2
    assert not folder.exists() and other.exists()
    assert served.delete_visitor_files(owner, tmp_path) == 0


def test_the_sweep_removes_only_copies_past_their_age(tmp_path: Path) -> None:
    folder = served.visitor_folder("c" * 64, tmp_path)
    old = _write(folder / "h1" / "old.webp", age=3 * 3600)
    fresh = _write(folder / "h2" / "fresh.webp")
    assert served.sweep(max_age=2 * 3600, root=tmp_path) == 1
    assert not old.exists() and not old.parent.exists() and fresh.exists()


def test_cleanup_sweeps_served_copies_older_than_the_ttl(ui_ctx, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "cache"))
    stale = _write(served.visitor_folder("d" * 64) / "h" / "image.webp", age=3 * 3600)
    report = cleanup_expired(ui_ctx, utcnow())
    assert report.served_copies == 1 and not stale.exists()


def test_an_event_owner_is_noted_only_inside_an_event() -> None:
    served.note_visitor("outside")  # no event: nothing happens
    owner, token = served.begin_event()
    served.note_visitor("first")
    served.note_visitor("second")
    served.end_event(token)
    assert owner.visitor == "first"


# ---------------------------------------------------------------- the HTTP guard


def _guarded(root: Path, *, upload_bytes_per_hour: int = 10_000) -> TestClient:
    async def upload(request: Request) -> JSONResponse:
        form = await request.form()
        path = _write(root / "abc123" / "photo.jpg", await form["files"].read())  # type: ignore[union-attr]
        return JSONResponse([str(path)])

    async def echo(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(len(await request.body())))

    async def file(request: Request) -> PlainTextResponse:
        return PlainTextResponse("served")

    app = Starlette(routes=[
        Route("/gradio_api/upload", upload, methods=["POST"]),
        Route("/gradio_api/queue/join", echo, methods=["POST"]),
        Route("/gradio_api/deep_link", echo),
        Route("/gradio_api/file={path:path}", file),
    ])
    guard = HttpGuard(app, body_limit=1000, upload_limit=200_000, upload_bytes_per_hour=upload_bytes_per_hour,
                      cache_root=root, address_of=lambda peer, forwarded: forwarded or peer)
    return TestClient(guard, base_url="http://test")  # type: ignore[arg-type]


def test_bodies_are_bounded_and_deep_links_are_off(tmp_path: Path) -> None:
    with _guarded(tmp_path) as client:
        assert client.post("/gradio_api/queue/join", content=b"x" * 999).text == "999"
        too_big = client.post("/gradio_api/queue/join", content=b"x" * 1001)
        assert too_big.status_code == 413 and too_big.text.count("\n") == 1
        assert client.get("/gradio_api/deep_link").status_code == 404


def test_a_deleted_cached_file_answers_404(tmp_path: Path) -> None:
    kept = _write(tmp_path / "h" / "kept.webp")
    with _guarded(tmp_path) as client:
        assert client.get(f"/gradio_api/file={kept}").text == "served"
        assert client.get(f"/gradio_api/file={tmp_path}/h/gone.webp").status_code == 404


def test_uploads_are_stripped_and_budgeted_per_address(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    buffer = io.BytesIO()
    noise = np.random.default_rng(1).integers(0, 255, (96, 96, 3), dtype=np.uint8)
    Image.fromarray(noise).save(buffer, "JPEG", exif=exif)
    photo = buffer.getvalue()
    with _guarded(tmp_path, upload_bytes_per_hour=3 * len(photo) + 1000) as client:
        answer = client.post("/gradio_api/upload", files={"files": ("p.jpg", photo)}, headers={"x-forwarded-for": "a"})
        [path] = answer.json()
        assert b"SecretCam" in photo and b"SecretCam" not in Path(path).read_bytes()
        for _ in range(2):
            client.post("/gradio_api/upload", files={"files": ("p.jpg", photo)}, headers={"x-forwarded-for": "a"})
        refused = client.post("/gradio_api/upload", files={"files": ("p.jpg", photo)}, headers={"x-forwarded-for": "a"})
        assert refused.status_code == 429 and "budget" in refused.text
        other = client.post("/gradio_api/upload", files={"files": ("p.jpg", photo)}, headers={"x-forwarded-for": "b"})
        assert other.status_code == 200


def test_the_upload_ledger_forgets_after_an_hour() -> None:
    ledger = UploadLedger(bytes_per_hour=100, requests_per_hour=2)
    assert ledger.admit("x", 60, now=0.0) is None
    assert "budget" in (ledger.admit("x", 60, now=1.0) or "")
    assert ledger.admit("x", 30, now=2.0) is None
    assert "too many" in (ledger.admit("x", 1, now=3.0) or "")
    assert ledger.admit("x", 90, now=3700.0) is None


# ---------------------------------------------------------------- the event guard's rules


def test_text_inputs_are_capped() -> None:
    _check_text(["t" * MAX_TEXT_CHARS, None, {"path": "p"}])
    with pytest.raises(Exception, match="too long"):
        _check_text(["ok", ["t" * (MAX_TEXT_CHARS + 1)]])


def test_file_payloads_are_found_at_any_depth() -> None:
    value = [{"image": {"path": "/c/a.webp", "url": "u"}, "caption": "x"}, ({"path": "/c/b.zip", "meta": {}},), "s"]
    seen: list[str] = []
    _map_files(value, lambda payload: seen.append(payload["path"]) or payload)
    assert seen == ["/c/a.webp", "/c/b.zip"]


def test_an_image_two_visitors_get_at_once_reaches_both_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Gradio caches identical outputs at one path; when one event has moved it, the other links the copy."""
    import gradio as gr

    from app.ui.event_guard import EventGuard

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    with gr.Blocks() as demo:
        image = gr.Image()
    guard = EventGuard(demo, shared_outputs=[], served_age=60)
    source = _write(tmp_path / ("f" * 64) / "image.webp", b"same bytes")
    payload = {"path": str(source), "url": f"/gradio_api/file={source}", "meta": {"_type": "gradio.FileData"}}
    first = guard._move(dict(payload), served.visitor_folder("a" * 64, tmp_path), image)
    second = guard._move(dict(payload), served.visitor_folder("b" * 64, tmp_path), image)
    assert not source.exists()
    assert Path(first["path"]).read_bytes() == Path(second["path"]).read_bytes() == b"same bytes"
    assert first["path"] != second["path"] and second["url"].endswith(second["path"])
    served.delete_visitor_files("a" * 64, tmp_path)
    assert Path(second["path"]).read_bytes() == b"same bytes"  # a hard link: the other visitor keeps it


def test_a_served_copy_is_its_own_file_so_a_concurrent_rewrite_of_the_cache_never_cuts_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two events with the same image share Gradio's cache path, which Gradio writes in place: the
    other event's rewrite (truncate, then write) must not reach the copy a visitor is downloading."""
    import gradio as gr
    from gradio.processing_utils import hash_bytes

    from app.ui.event_guard import EventGuard

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    with gr.Blocks() as demo:
        image = gr.Image()
    guard = EventGuard(demo, shared_outputs=[], served_age=60)
    data = os.urandom(200_000)
    source = _write(tmp_path / hash_bytes(data) / "image.webp", data)
    with source.open("r+b") as other_event:  # opened by a concurrent event before this one moves the file
        payload = {"path": str(source), "url": f"/gradio_api/file={source}", "meta": {"_type": "gradio.FileData"}}
        moved = guard._move(payload, served.visitor_folder("c" * 64, tmp_path), image)
        other_event.truncate(0)  # ... which now rewrites it in place
        other_event.write(data[:1000])
    assert Path(moved["path"]).read_bytes() == data


def test_a_copy_waits_for_a_rewrite_under_way_and_never_serves_its_empty_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Gradio rewrites a cached file as truncate-then-write; a move that reads in between must wait for
    the bytes, not copy the empty file (which two empty reads in a row used to accept)."""
    import threading

    import gradio as gr
    from gradio.processing_utils import hash_bytes

    from app.ui.event_guard import EventGuard

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    with gr.Blocks() as demo:
        image = gr.Image()
    guard = EventGuard(demo, shared_outputs=[], served_age=60)
    data = os.urandom(50_000)
    source = _write(tmp_path / hash_bytes(data) / "image.webp", b"")  # truncated, not yet written
    writer = threading.Timer(0.05, source.write_bytes, args=(data,))
    writer.start()
    payload = {"path": str(source), "url": f"/gradio_api/file={source}", "meta": {"_type": "gradio.FileData"}}
    moved = guard._move(payload, served.visitor_folder("d" * 64, tmp_path), image)
    writer.join()
    assert Path(moved["path"]).read_bytes() == data
    assert source.parent.is_dir()  # left for the sweep: another event may be about to write into it


def test_an_empty_file_of_another_folder_is_not_copied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gradio as gr

    from app.ui.event_guard import EventGuard

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    with gr.Blocks() as demo:
        image = gr.Image()
    guard = EventGuard(demo, shared_outputs=[], served_age=60)
    source = _write(tmp_path / "not-a-hash" / "image.webp", b"")
    payload = {"path": str(source), "url": f"/gradio_api/file={source}", "meta": {"_type": "gradio.FileData"}}
    assert guard._move(dict(payload), served.visitor_folder("e" * 64, tmp_path), image) == payload
    assert not any(served.visitor_folder("e" * 64, tmp_path).rglob("*.webp"))


def test_empty_cache_folders_go_once_old_and_the_visitors_folder_stays(tmp_path: Path) -> None:
    old, young, full = tmp_path / ("a" * 64), tmp_path / ("b" * 64), tmp_path / ("c" * 64)
    for folder in (old, young, full):
        folder.mkdir()
    _write(full / "image.webp", b"kept")
    visitors = tmp_path / served.VISITORS_DIR
    visitors.mkdir()
    past = time.time() - 600
    for folder in (old, full, visitors):
        os.utime(folder, (past, past))
    assert served.remove_empty_cache_folders(tmp_path, time.time() - 300) == 1
    assert not old.exists() and young.is_dir() and full.is_dir() and visitors.is_dir()
