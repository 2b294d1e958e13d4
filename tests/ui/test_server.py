"""The served app over HTTP: API sessions are isolated, and /gradio_api/file= serves only Gradio's cache."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from tests.ui.conftest import ServedApp, record_figure

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clients(served_app: ServedApp) -> tuple[Client, Client]:
    return Client(served_app.url, verbose=False), Client(served_app.url, verbose=False)


@pytest.fixture(scope="module")
def alice_batch(served_app: ServedApp, clients: tuple[Client, Client]) -> tuple[str, list[dict]]:
    alice, _ = clients
    photos = served_app.photos
    pair = served_app.template_ids[0]
    gallery = alice.predict(
        handle_file(str(photos.husband)),
        handle_file(str(photos.wife)),
        str(pair),
        f'{{"{pair}": {{"0": "husband", "2": "wife"}}}}',
        True,
        api_name="/swap",
    )
    [batch] = alice.predict(api_name="/my_batches")
    return batch["batch_id"], gallery


def test_swap_endpoint_returns_the_results_as_a_gallery(alice_batch: tuple[str, list[dict]]) -> None:
    _, gallery = alice_batch
    [item] = gallery
    assert item["caption"] == "Friends pair" and Path(item["image"]).stat().st_size > 10_000


def test_api_sessions_cannot_list_or_fetch_each_other(
    served_app: ServedApp, clients: tuple[Client, Client], alice_batch: tuple[str, list[dict]]
) -> None:
    alice, bob = clients
    batch_id, _ = alice_batch
    assert len(alice.predict(api_name="/my_photos")) == 2
    assert alice.predict(batch_id, api_name="/batch_status")["completed"] == 1
    assert len(alice.predict(batch_id, api_name="/batch_results")) == 1

    assert bob.predict(api_name="/my_photos") == []
    assert bob.predict(api_name="/my_batches") == []
    for endpoint in ("/batch_status", "/batch_results"):
        with pytest.raises(AppError, match="does not exist"):
            bob.predict(batch_id, api_name=endpoint)
    # A fresh client is a fresh session too.
    assert Client(served_app.url, verbose=False).predict(api_name="/my_batches") == []


def test_api_refusals_are_one_line(served_app: ServedApp, clients: tuple[Client, Client]) -> None:
    _, bob = clients
    photos, pair = served_app.photos, served_app.template_ids[0]
    with pytest.raises(AppError, match="consent") as caught:
        bob.predict(
            handle_file(str(photos.husband)), handle_file(str(photos.wife)), str(pair), "", False, api_name="/swap"
        )
    assert "Traceback" not in str(caught.value)
    with pytest.raises(AppError, match="Face 7 does not exist"):
        bob.predict(
            handle_file(str(photos.husband)),
            handle_file(str(photos.wife)),
            str(pair),
            f'{{"{pair}": {{"7": "wife"}}}}',
            True,
            api_name="/swap",
        )
    image, status = bob.predict(handle_file(str(photos.landscape)), "Delete after 24 h", api_name="/upload_husband")
    assert image is None and "No face found in the husband photo" in status
    assert bob.predict(api_name="/my_photos") == []  # nothing was stored by any refusal


def test_delete_my_data_over_the_api(served_app: ServedApp) -> None:
    carol = Client(served_app.url, verbose=False)
    _image, status = carol.predict(handle_file(str(served_app.photos.wife)), "Keep", api_name="/upload_wife")
    assert "Face found" in status and len(carol.predict(api_name="/my_photos")) == 1
    carol.predict(api_name="/delete_my_data")
    assert carol.predict(api_name="/my_photos") == []


def _file_url(served_app: ServedApp, path: str) -> str:
    return f"{served_app.url}gradio_api/file={path}"


def test_cached_results_are_served(served_app: ServedApp, alice_batch: tuple[str, list[dict]]) -> None:
    cached = sorted(served_app.cache_dir.rglob("*.jpeg"))
    assert cached, "the swap should have left a cached copy of its result"
    response = httpx.get(_file_url(served_app, str(cached[0])))
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"


def test_file_route_refuses_the_data_dir_and_anything_outside_the_cache(
    served_app: ServedApp, alice_batch: tuple[str, list[dict]]
) -> None:
    data = served_app.data_dir.resolve()
    stored = sorted((data / "images").rglob("*.*"))
    assert stored, "the data dir should hold the stored photos and results"
    cache = served_app.cache_dir.resolve()
    targets = [
        str(data / "faceswap.db"),
        str(data / "queue.db"),
        *[str(p) for p in stored[:4]],
        str(data / "examples" / "astronaut.png"),
        "/etc/passwd",
        "app.py",  # relative to the server's working directory
        "data/faceswap.db",
        "../../../../etc/passwd",
        f"{cache}/../data/faceswap.db",
        f"{cache}/../../../../etc/passwd",
        f"{cache}/%2e%2e/data/faceswap.db",
        str(Path(__file__).resolve()),
    ]
    refused = {}
    for target in targets:
        for url in (_file_url(served_app, target), _file_url(served_app, quote(target))):
            refused[url] = httpx.get(url).status_code
    assert all(code in (403, 404) for code in refused.values()), refused
    record_figure("file_route_refusals_checked", len(refused))


def test_unreadable_uploads_are_refused_in_place(served_app: ServedApp, tmp_path: Path) -> None:
    dave = Client(served_app.url, verbose=False)
    fake = tmp_path / "holiday.jpg"
    fake.write_text("this is not a picture")
    image, status = dave.predict(handle_file(str(fake)), "Delete after 24 h", api_name="/upload_wife")
    assert image is None and "✗" in status and "Traceback" not in status
    assert dave.predict(api_name="/my_photos") == []


def test_a_client_cannot_point_an_upload_at_a_server_file(served_app: ServedApp) -> None:
    """Photo events skip Gradio's decoding, but Gradio still refuses paths outside its upload folder."""
    secret = served_app.data_dir.resolve() / "faceswap.db"
    payload = {"data": [{"path": str(secret), "meta": {"_type": "gradio.FileData"}}, "Keep"]}
    start = httpx.post(f"{served_app.url}gradio_api/call/upload_husband", json=payload)
    assert start.status_code == 200
    event_id = start.json()["event_id"]
    stream = httpx.get(f"{served_app.url}gradio_api/call/upload_husband/{event_id}", timeout=30)
    assert "event: error" in stream.text and "Face found" not in stream.text


def test_uploads_over_the_size_limit_are_refused_by_the_server(served_app: ServedApp, tmp_path: Path) -> None:
    big = tmp_path / "big.jpg"
    big.write_bytes(b"\xff\xd8\xff" + b"\0" * (16 * 1024 * 1024))
    with big.open("rb") as handle:
        response = httpx.post(f"{served_app.url}gradio_api/upload", files={"files": ("big.jpg", handle, "image/jpeg")})
    assert response.status_code == 413


def test_the_ui_flow_works_over_the_api_too(served_app: ServedApp) -> None:
    erin = Client(served_app.url, verbose=False)
    photos, pair = served_app.photos, served_app.template_ids[0]
    erin.predict(handle_file(str(photos.husband)), "Delete after 24 h", api_name="/upload_husband")
    erin.predict(handle_file(str(photos.wife)), "Delete after 24 h", api_name="/upload_wife")
    with pytest.raises(AppError, match="consent"):
        erin.predict([str(pair)], False, api_name="/run")
    erin.predict([str(pair)], True, api_name="/run")
    for _ in range(100):
        [batch] = erin.predict(api_name="/my_batches")
        if batch["completed"] + batch["failed"] == batch["total"]:
            break
        time.sleep(0.1)
    assert batch["completed"] == 1
