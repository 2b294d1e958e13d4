"""Delete means gone, in a real browser (Debian's Chromium) on a public-mode server: every file URL the
page fetched for the visitor (uploads, annotated photos, template previews, results, before/after, the
ZIP) answers 404 after "Delete my photos and results now", and no copy is left on disk."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
from PIL import Image

from tests.fixtures_data import SamplePhotos, write_sample_photos
from tests.ui.conftest import pick_first_template, running_server, wait_for_seeded_gallery

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FILE_ROUTE = "/gradio_api/file="
VISITOR_FILES = "coswap-visitors"


@dataclass(frozen=True)
class Page:
    url: str
    cache_dir: Path
    photos: SamplePhotos


@pytest.fixture(scope="module")
def public_page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    base = tmp_path_factory.mktemp("browser-delete")
    overrides = {
        "FACESWAP_DATA_DIR": str(base / "data"),
        "FACESWAP_PUBLIC_DEMO": "true",
        "GRADIO_TEMP_DIR": str(base / "gradio-cache"),
        "COSWAP_LOG_LEVEL": "WARNING",
    }
    with running_server(base, overrides) as server:
        wait_for_seeded_gallery(base / "data")  # the page lists the gallery once, when it loads
        yield Page(server.url, base / "gradio-cache", write_sample_photos(base / "photos"))
        assert "Traceback" not in server.log_text()


def _gps_copy(source: Path, target: Path) -> Path:
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    exif.get_ifd(0x8825).update({1: "N", 2: (48.0, 51.0, 24.0)})
    Image.open(source).convert("RGB").save(target, quality=92, exif=exif)
    return target


def test_every_url_the_page_received_answers_404_after_delete(browser, public_page: Page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    fetched: set[str] = set()
    page.on("response", lambda r: fetched.add(r.url) if FILE_ROUTE in r.url else None)
    uploaded: list[str] = []
    page.on("response", lambda r: uploaded.extend(r.json()) if "/gradio_api/upload?" in r.url else None)
    page.goto(public_page.url)
    page.wait_for_selector("#husband-photo")
    before = {p for p in public_page.cache_dir.rglob("*") if p.is_file()}

    page.set_input_files("#husband-photo input[type=file]", str(_gps_copy(public_page.photos.husband, tmp_path / "h.jpg")))
    page.wait_for_selector("#husband-status .cs-ok")
    wife = tmp_path / "wife.png"  # not named like the sample photo, whose cached copy is the page's own
    wife.write_bytes(public_page.photos.wife.read_bytes())
    page.set_input_files("#wife-photo input[type=file]", str(wife))
    page.wait_for_selector("#wife-status .cs-ok")
    pick_first_template(page)
    page.get_by_role("tab", name="4 · Swap").click()
    page.locator("#consent input").check()
    page.locator("#run").click()
    page.wait_for_selector("#results-gallery img")
    page.wait_for_selector("#download-zip", state="visible")
    page.locator("#results-gallery button.thumbnail-item").first.click()
    page.wait_for_selector("#before-after img")
    with page.expect_download() as download:
        page.locator("#download-zip").click()
    zip_url = download.value.url
    page.wait_for_timeout(500)  # the last previews finish loading

    mine = {url for url in fetched if VISITOR_FILES in unquote(url)} | {zip_url}
    mine |= {f"{public_page.url}gradio_api/file={path}" for path in uploaded}
    assert len(uploaded) == 2 and len(mine) >= 8, sorted(mine)  # uploads, annotated photos, a preview, results, ZIP
    for url in mine:
        answer = httpx.get(url, timeout=30)
        if answer.status_code == 200 and answer.headers.get("content-type", "").startswith("image/jpeg"):
            assert b"SecretCam" not in answer.content
            with Image.open(io.BytesIO(answer.content)) as image:
                assert not image.getexif().get_ifd(0x8825)
    stored = {p for p in public_page.cache_dir.rglob("*") if p.is_file() and p.stat().st_size} - before
    stored = {p for p in stored if VISITOR_FILES in p.parts or str(p) in uploaded}  # shared previews stay
    assert stored

    page.locator("#delete").click()
    page.locator("#delete-yes").click()  # it asks first
    page.wait_for_selector("#delete-status:has-text('Deleted ')")
    still = {url: httpx.get(url, timeout=30).status_code for url in mine}
    assert set(still.values()) == {404}, still
    left = {p for p in stored if p.exists()}
    assert not left, left
    context.close()
