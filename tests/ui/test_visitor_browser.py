"""A real browser (Debian's Chromium through Playwright) on a public-mode server: the visitor's photo
survives a reload and a second tab, another browser profile sees nothing, and "Delete my data" still
works after the reload; after a reload the Swap tab shows the visitor's last results again; a server
restart keeps the browser's token. The storage choice is not offered."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.services import templates
from pipeline.face import FaceEngine
from tests.conftest import make_settings, open_context
from tests.fixtures_data import SamplePhotos, write_sample_photos
from tests.ui.conftest import pick_first_template, running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STORED_ONE = "1 photo(s)"
NOTHING = "Nothing of yours is stored"


@dataclass(frozen=True)
class PublicPage:
    url: str
    data_dir: Path
    photos: SamplePhotos


@pytest.fixture(scope="module")
def public_page(tmp_path_factory: pytest.TempPathFactory, classic: FaceEngine) -> Iterator[PublicPage]:
    base = tmp_path_factory.mktemp("browser-visitor")
    sample = write_sample_photos(base / "photos")
    context = open_context(make_settings(base / "data"), classic)
    try:
        templates.add_template_files(context, [str(sample.pair)], name="Friends pair")
    finally:
        context.dispose()
    overrides = {
        "FACESWAP_DATA_DIR": str(base / "data"),
        "FACESWAP_PUBLIC_DEMO": "true",
        "FACESWAP_SEED_TEMPLATES": "false",
        "GRADIO_TEMP_DIR": str(base / "gradio-cache"),
        "COSWAP_LOG_LEVEL": "WARNING",
    }
    with running_server(base, overrides) as server:
        yield PublicPage(server.url, base / "data", sample)


def _open(context, url: str):  # type: ignore[no-untyped-def]
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(url)
    page.wait_for_selector("#husband-photo")
    return page


def _privacy(page, text: str) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_selector(f"#privacy-summary:has-text('{text}')")


def test_a_reload_keeps_the_visitors_photo_and_delete_still_works(browser, public_page: PublicPage) -> None:  # type: ignore[no-untyped-def]
    mine = browser.new_context()
    page = _open(mine, public_page.url)
    _privacy(page, NOTHING)
    assert page.get_by_text("Storage of the photos you upload next").count() == 0  # no 'Keep' in public mode
    page.set_input_files("#husband-photo input[type=file]", str(public_page.photos.husband))
    page.wait_for_selector("#husband-status .cs-ok")
    _privacy(page, STORED_ONE)

    page.reload()
    page.wait_for_selector("#husband-photo")
    _privacy(page, STORED_ONE)
    second_tab = _open(mine, public_page.url)
    _privacy(second_tab, STORED_ONE)

    stranger = browser.new_context()  # another browser profile: its own token
    other = _open(stranger, public_page.url)
    _privacy(other, NOTHING)
    stranger.close()

    kept = page.evaluate("() => Object.entries(localStorage).map(([k, v]) => k + '=' + v).join(';')")
    with sqlite3.connect(public_page.data_dir / "faceswap.db") as db:
        [(owner,)] = db.execute("SELECT DISTINCT session_id FROM images WHERE session_id IS NOT NULL").fetchall()
    assert re.fullmatch(r"[0-9a-f]{64}", owner)  # the server holds the token's hash...
    assert "coswap-visitor" in kept and owner not in kept  # ...the browser holds the token, not the hash

    page.locator("#delete").click()
    page.locator("#delete-yes").click()  # it asks first
    page.wait_for_selector("#delete-status:has-text('Deleted 1 picture')")
    second_tab.reload()
    second_tab.wait_for_selector("#husband-photo")
    _privacy(second_tab, NOTHING)
    with sqlite3.connect(public_page.data_dir / "faceswap.db") as db:
        assert db.execute("SELECT COUNT(*) FROM images WHERE session_id IS NOT NULL").fetchone() == (0,)
    assert "Traceback" not in page.content()
    mine.close()


def test_a_reload_shows_the_last_results_again(browser, public_page: PublicPage) -> None:  # type: ignore[no-untyped-def]
    mine = browser.new_context()
    page = _open(mine, public_page.url)
    page.set_input_files("#husband-photo input[type=file]", str(public_page.photos.husband))
    page.wait_for_selector("#husband-status .cs-ok")
    page.set_input_files("#wife-photo input[type=file]", str(public_page.photos.wife))
    page.wait_for_selector("#wife-status .cs-ok")
    pick_first_template(page)
    page.get_by_role("tab", name="4 · Swap").click()
    page.locator("#consent input").check()
    page.locator("#run").click()
    page.wait_for_selector("#progress [data-done='1']")

    page.reload()
    page.wait_for_selector("#husband-photo")
    page.get_by_role("tab", name="4 · Swap").click()
    page.wait_for_selector("#results-gallery img")
    page.wait_for_selector("#progress [data-done='1']")
    page.locator("#delete").click()
    page.locator("#delete-yes").click()
    page.wait_for_selector("#delete-status:has-text('Deleted ')")
    mine.close()


def test_a_server_restart_keeps_the_browsers_token(
    browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    """localStorage belongs to the origin, so both servers listen on the same port; the token decrypts
    after the restart because the page's storage key and secret are fixed."""
    import tests.ui.conftest as ui_conftest

    port = ui_conftest.free_port()
    monkeypatch.setattr(ui_conftest, "free_port", lambda: port)
    photos = write_sample_photos(tmp_path / "photos")
    overrides = {
        "FACESWAP_DATA_DIR": str(tmp_path / "data"),
        "FACESWAP_PUBLIC_DEMO": "true",
        "FACESWAP_SEED_TEMPLATES": "false",
        "GRADIO_TEMP_DIR": str(tmp_path / "gradio-cache"),
        "COSWAP_LOG_LEVEL": "WARNING",
    }
    mine = browser.new_context()
    with running_server(tmp_path, overrides) as server:
        page = _open(mine, server.url)
        page.set_input_files("#husband-photo input[type=file]", str(photos.husband))
        page.wait_for_selector("#husband-status .cs-ok")
        _privacy(page, STORED_ONE)
        page.close()
    with running_server(tmp_path, overrides) as server:
        page = _open(mine, server.url)
        _privacy(page, STORED_ONE)
    mine.close()
