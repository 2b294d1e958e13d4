"""A hostile visitor against a real public-mode server (`python app.py serve`, FACESWAP_PUBLIC_DEMO=true).

Issue 18's failures 4-7: deleting leaves no URL that answers and no copy on disk, served images carry
no metadata; small hostile files stay small in memory; Gradio's own routes are bounded; every named
endpoint answers bad arguments with one line and the log holds no traceback. Every loop is bounded.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from pipeline.metadata import has_metadata
from tests.fixtures_data import SamplePhotos, write_sample_photos
from tests.pipeline.test_intake_bounds import strip_png
from tests.ui.conftest import running_server

pytestmark = pytest.mark.slow

SEED_TIMEOUT = 120.0
CALL_TIMEOUT = 60.0
GPS_IFD, MAKE = 0x8825, 0x010F


@dataclass(frozen=True)
class Hostile:
    url: str
    cache_dir: Path
    data_dir: Path
    photos: SamplePhotos
    log: Path
    pid: int

    def rss(self) -> int:
        return int(psutil.Process(self.pid).memory_info().rss)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    base = tmp_path_factory.mktemp("hostile")
    overrides = {
        "FACESWAP_DATA_DIR": str(base / "data"),
        "FACESWAP_PUBLIC_DEMO": "true",
        "GRADIO_TEMP_DIR": str(base / "gradio-cache"),
        "COSWAP_LOG_LEVEL": "INFO",
    }
    photos = write_sample_photos(base / "photos")
    with running_server(base, overrides) as server:
        port = server.url.rstrip("/").rsplit(":", 1)[1]
        [pid] = [
            child.pid for child in psutil.Process().children(recursive=True)
            if "serve" in child.cmdline() and port in child.cmdline()
        ]
        yield Hostile(server.url, base / "gradio-cache", base / "data", photos, server.log, pid)
    text = server.log.read_text(errors="replace")
    assert "Traceback" not in text, text[-3000:]


def _client(app: Hostile) -> Client:
    return Client(app.url, verbose=False, download_files=False)


def _seeded(client: Client) -> list[dict[str, Any]]:
    deadline = time.monotonic() + SEED_TIMEOUT
    while time.monotonic() < deadline:
        ready = [t for t in client.predict(api_name="/templates") if t["status"] == "completed"]
        if ready:
            return ready
        time.sleep(0.5)
    raise AssertionError("no seeded template")


def _urls(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["url"]] if isinstance(value.get("url"), str) else []
        return found + [url for item in value.values() for url in _urls(item)]
    if isinstance(value, (list, tuple)):
        return [url for item in value for url in _urls(item)]
    return []


def _gps_photo(source: Path, target: Path) -> Path:
    exif = Image.Exif()
    exif[MAKE] = "SecretCam"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 7.0)})
    Image.open(source).convert("RGB").save(target, quality=92, exif=exif)
    return target


def _raw_upload(app: Hostile, path: Path) -> str:
    with path.open("rb") as handle:
        answer = httpx.post(f"{app.url}gradio_api/upload", files={"files": (path.name, handle)}, timeout=CALL_TIMEOUT)
    answer.raise_for_status()
    [uploaded] = answer.json()
    return str(uploaded)


def _files(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*") if path.is_file()}


# ---------------------------------------------------------------- 4. deleting leaves nothing


def test_after_delete_every_url_the_visitor_received_answers_404(hostile: Hostile, tmp_path: Path) -> None:
    client = _client(hostile)
    template = _seeded(client)[-1]["id"]
    before = _files(hostile.cache_dir)
    husband = _gps_photo(hostile.photos.husband, tmp_path / "husband-gps.jpg")
    raw = _raw_upload(hostile, husband)
    received = [f"{hostile.url}gradio_api/file={raw}"]
    received += _urls(client.predict(handle_file(str(husband)), handle_file(str(hostile.photos.wife)), str(template),
                                     "", True, api_name="/swap"))
    [batch] = client.predict(api_name="/my_batches")
    received += _urls(client.predict(batch["batch_id"], api_name="/batch_results"))
    received += _urls(client.predict(handle_file(str(hostile.photos.husband)), api_name="/upload_husband"))
    status = client.predict([handle_file(str(hostile.photos.pair))], "Ours", api_name="/add_templates")
    assert "Ours" in status, status
    assert len(received) >= 4, received
    for url in received[1:]:
        answer = httpx.get(url, timeout=CALL_TIMEOUT)
        assert answer.status_code == 200, url
        assert b"SecretCam" not in answer.content and b"GPSInfo" not in answer.content
    mine = _files(hostile.cache_dir) - before
    stored = [path for path in _files(hostile.data_dir / "images")]
    assert stored and not [path for path in stored if has_metadata(path.read_bytes())]

    message = client.predict(api_name="/delete_my_data")[-1]
    assert message.startswith("Deleted ") and "Nothing of yours is stored now" in message, message
    for url in received:
        assert httpx.get(url, timeout=CALL_TIMEOUT).status_code == 404, url
    left = {path for path in mine if path.exists() and path.stat().st_size}  # Gradio leaves empty temp files
    assert not left, left  # no copy of the visitor's uploads, previews or results on disk


def test_an_upload_is_served_without_its_gps_and_camera_tags(hostile: Hostile, tmp_path: Path) -> None:
    uploaded = _raw_upload(hostile, _gps_photo(hostile.photos.husband, tmp_path / "gps.jpg"))
    served = httpx.get(f"{hostile.url}gradio_api/file={uploaded}", timeout=CALL_TIMEOUT)
    assert served.status_code == 200
    with Image.open(io.BytesIO(served.content)) as image:
        assert MAKE not in image.getexif() and not image.getexif().get_ifd(GPS_IFD)
    assert b"SecretCam" not in served.content


# ---------------------------------------------------------------- 5. small files, bounded memory


def test_a_one_pixel_wide_png_is_refused_without_growing_the_server(hostile: Hostile, tmp_path: Path) -> None:
    strip = tmp_path / "strip.png"
    strip.write_bytes(strip_png(1, 39_000_000))
    client = _client(hostile)
    idle = hostile.rss()
    with pytest.raises(AppError, match="too narrow"):
        client.predict(handle_file(str(strip)), handle_file(str(hostile.photos.wife)), "1", "", True, api_name="/swap")
    assert hostile.rss() - idle < 200_000_000


# ---------------------------------------------------------------- 6. Gradio's own routes are bounded


def test_deep_links_are_switched_off(hostile: Hostile) -> None:
    answer = httpx.get(f"{hostile.url}gradio_api/deep_link", params={"session_hash": "x"}, timeout=CALL_TIMEOUT)
    assert answer.status_code == 404
    assert not (hostile.cache_dir / "deep_links").exists()


def test_request_bodies_are_bounded_on_every_route(hostile: Hostile) -> None:
    huge = "x" * 5_000_000  # the 5 MB batch_id
    for route in ("gradio_api/queue/join", "gradio_api/call/batch_status", "gradio_api/run/predict", "login"):
        answer = httpx.post(f"{hostile.url}{route}", json={"data": [huge]}, timeout=CALL_TIMEOUT)
        assert answer.status_code == 413, (route, answer.status_code)
        assert answer.text.count("\n") == 1
    upload = httpx.post(
        f"{hostile.url}gradio_api/upload", files={"files": ("big.bin", b"\0" * 17_000_000)}, timeout=CALL_TIMEOUT
    )
    assert upload.status_code == 413


def test_a_long_text_input_is_refused_with_one_line(hostile: Hostile) -> None:
    with pytest.raises(AppError, match="text input is too long"):
        _client(hostile).predict("b" * 20_000, api_name="/batch_status")


# ---------------------------------------------------------------- 7. no tracebacks, whatever the arguments


@pytest.mark.parametrize(("depth", "refusal"), [(100_000, "text input is too long"), (4_000, "nested too deeply")])
def test_a_deeply_nested_mapping_is_refused_with_one_line(hostile: Hostile, depth: int, refusal: str) -> None:
    client = _client(hostile)
    template = str(_seeded(client)[-1]["id"])
    photos = hostile.photos
    nested = "[" * depth + "]" * depth
    with pytest.raises(AppError, match=refusal):
        client.predict(handle_file(str(photos.husband)), handle_file(str(photos.wife)), template, nested, True,
                       api_name="/swap")



def _call(app: Hostile, name: str, data: list[Any], event_data: Any = None) -> tuple[str, str]:
    """(event kind, message) of one raw call of `name` through /gradio_api/call."""
    body: dict[str, Any] = {"data": data}
    if event_data is not None:
        body["event_data"] = event_data
    started = httpx.post(f"{app.url}gradio_api/call{name}", json=body, timeout=CALL_TIMEOUT)
    if started.status_code != 200:
        return f"http {started.status_code}", started.text
    event_id = started.json()["event_id"]
    kind, payload = "", ""
    with httpx.stream("GET", f"{app.url}gradio_api/call{name}/{event_id}", timeout=CALL_TIMEOUT) as stream:
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind in ("complete", "error"):
                payload = line[6:]
                break
    message = ""
    if kind == "error" and payload not in ("", "null"):
        decoded = json.loads(payload)
        message = decoded.get("error") or "" if isinstance(decoded, dict) else str(decoded)
    return kind, message


def _bad_arguments(parameters: list[dict[str, Any]], token: str) -> dict[str, list[Any]]:
    def keep_token(values: list[Any]) -> list[Any]:
        return [token if p["parameter_name"] == "visitor" else v for p, v in zip(parameters, values, strict=True)]

    def out_of_range(p: dict[str, Any]) -> Any:
        kind = p["python_type"]["type"]
        return -(10**12) if kind in ("int", "float") else "999999999" if kind == "str" else {"path": "/etc/passwd"}

    return {
        "missing": [],
        "wrong-typed": keep_token([{"not": "this"} for _ in parameters]),
        "out-of-range": keep_token([out_of_range(p) for p in parameters]),
        "oversized": keep_token(["o" * 12_000 for _ in parameters]),
        "deeply nested": keep_token(["[" * 4_900 + "]" * 4_900 for _ in parameters]),
    }


def test_every_named_endpoint_answers_bad_arguments_with_one_line(hostile: Hostile) -> None:
    client = _client(hostile)
    token = client.predict(api_name="/visitor")["visitor"]
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {"/show_template", "/before_after", "/swap", "/batch_status"} <= set(endpoints)
    seen = 0
    for name, info in endpoints.items():
        for variant, data in _bad_arguments(info["parameters"], token).items():
            for event_data in (None, {"index": 10**9, "value": None, "selected": True}):
                kind, message = _call(hostile, name, data, event_data)
                seen += 1
                assert kind in ("complete", "error", "http 413"), (name, variant, kind)
                assert "\n" not in message.strip() and "Traceback" not in message, (name, variant, message)
    assert seen >= 10 * len(endpoints)
    log = hostile.log.read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]
