"""A fresh public-demo server (`python app.py serve`, FACESWAP_PUBLIC_DEMO=true) over gradio_client:
the seeded gallery, private templates between two API sessions, crawling refused, the banner."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from tests.fixtures_data import SamplePhotos, write_sample_photos
from tests.ui.conftest import running_server

pytestmark = pytest.mark.slow

SEED_TIMEOUT = 120.0


@dataclass(frozen=True)
class PublicApp:
    url: str
    data_dir: Path
    photos: SamplePhotos
    log: Path


@pytest.fixture(scope="module")
def public_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PublicApp]:
    base = tmp_path_factory.mktemp("public")
    data_dir = base / "data"
    overrides = {
        "FACESWAP_DATA_DIR": str(data_dir),
        "FACESWAP_PUBLIC_DEMO": "true",
        "GRADIO_TEMP_DIR": str(base / "gradio-cache"),
        "COSWAP_LOG_LEVEL": "INFO",
    }
    with running_server(base, overrides) as server:
        yield PublicApp(server.url, data_dir, write_sample_photos(base / "photos"), server.log)
    log = server.log
    assert "Traceback" not in log.read_text(errors="replace"), log.read_text(errors="replace")[-3000:]


SEEDED = 2  # "Six friends" and "Astronaut" (app.services.seeding)


def _seeded(client: Client) -> list[dict]:
    deadline = time.monotonic() + SEED_TIMEOUT
    while time.monotonic() < deadline:
        listed = client.predict(api_name="/templates")
        ready = [t for t in listed if t["status"] == "completed"]
        if len(ready) >= SEEDED and len(ready) == len(listed):  # the whole seeding, not its first template
            return ready
        time.sleep(0.5)
    raise AssertionError("the fresh public server did not finish seeding its templates")


def test_a_fresh_public_server_offers_a_seeded_template(public_app: PublicApp) -> None:
    templates = _seeded(Client(public_app.url, verbose=False))
    assert {t["name"] for t in templates} <= {"Six friends", "Astronaut"}
    assert all(not t["private"] for t in templates)
    assert any(len(t["faces"]) == 6 for t in _seeded(Client(public_app.url, verbose=False)))


def test_a_private_template_is_invisible_and_unusable_for_another_session(public_app: PublicApp) -> None:
    alice, bob = Client(public_app.url, verbose=False), Client(public_app.url, verbose=False)
    shared = {t["id"] for t in _seeded(alice)}
    photos = public_app.photos
    status = alice.predict([handle_file(str(photos.pair))], "Our wedding", api_name="/add_templates")
    assert "Our wedding" in status and "private" in status.lower(), status
    [mine] = [t for t in alice.predict(api_name="/templates") if t["id"] not in shared]
    assert mine["private"] and mine["name"] == "Our wedding" and mine["status"] == "completed"

    assert mine["id"] not in {t["id"] for t in bob.predict(api_name="/templates")}
    with pytest.raises(AppError, match=rf"Template\(s\) \[{mine['id']}\] do not exist"):
        bob.predict(
            handle_file(str(photos.husband)), handle_file(str(photos.wife)), str(mine["id"]), "", True,
            api_name="/swap",
        )
    with pytest.raises(AppError, match="does not exist"):
        bob.predict(str(mine["id"]), api_name="/automatic_mapping")

    gallery = alice.predict(
        handle_file(str(photos.husband)), handle_file(str(photos.wife)), str(mine["id"]), "", True, api_name="/swap"
    )
    assert [item["caption"] for item in gallery] == ["Our wedding"]
    assert Path(gallery[0]["image"]).stat().st_size > 10_000


def test_crawling_is_refused_to_a_visitor(public_app: PublicApp) -> None:
    visitor = Client(public_app.url, verbose=False)
    with pytest.raises(AppError, match="switched off in this public demo") as caught:
        visitor.predict("https://example.com/wedding-gallery", api_name="/crawl_templates")
    assert "Traceback" not in str(caught.value)


def test_the_page_says_it_is_a_public_demo(public_app: PublicApp) -> None:
    config = httpx.get(f"{public_app.url}config", timeout=10).text
    assert "Public demo" in config and "deleted after 24 hours" in config


@pytest.mark.browser
def test_on_a_phone_the_banner_leaves_the_first_upload_in_view(public_app: PublicApp, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.set_default_timeout(20_000)
    page.goto(public_app.url)
    page.wait_for_selector("#public-banner")
    page.wait_for_selector("#engine-status:has-text('Engine')")
    upload = page.locator("#husband-photo").bounding_box()
    assert upload is not None and upload["y"] + upload["height"] <= 844, f"the first upload box is at {upload}"
    assert "app.py" not in page.inner_text("#engine-status")  # operator advice is for operators
    page.close()


@pytest.mark.browser
def test_on_a_phone_an_own_faceless_template_is_not_offered_and_can_be_removed(  # type: ignore[no-untyped-def]
    public_app: PublicApp, browser
) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.set_default_timeout(30_000)
    page.goto(public_app.url)
    page.get_by_role("tab", name="2 · Templates").click()
    page.locator("#template-gallery button.thumbnail-item").first.wait_for()  # the lists have loaded
    assert not page.locator("#own-gallery").is_visible()  # nothing of mine yet: no empty "Yours" box
    page.locator("#add-files input[type=file]").set_input_files(str(public_app.photos.landscape))
    page.locator("#add-button").click()
    page.locator("#add-status:has-text('no face found')").wait_for()
    item = page.locator("#own-gallery button.thumbnail-item")
    item.first.wait_for()
    assert item.count() == 1 and "not ready" in item.first.inner_text()
    cell, gallery = item.first.bounding_box(), page.locator("#own-gallery").bounding_box()
    assert cell is not None and gallery is not None and cell["width"] < 0.6 * gallery["width"]  # one cell, no strip
    item.first.click()
    page.locator("text=Not ready to swap into").wait_for()
    top = page.evaluate("document.getElementById('template-detail').getBoundingClientRect().top")
    assert -2 <= top < 844 / 2, f"the template detail is at {top:.0f} px, off-screen"
    assert page.locator("#use-template").is_disabled()
    page.get_by_role("tab", name="3 · Face mapping").click()
    assert "not ready" not in page.inner_text("#template-picker").lower()
    assert "Six friends" in page.inner_text("#template-picker")
    page.get_by_role("tab", name="2 · Templates").click()
    page.locator("#remove-template").click()
    page.locator("#confirm-remove-yes").click()
    page.locator("text=Removed").wait_for()
    page.locator("#own-gallery").wait_for(state="hidden")
    text = page.inner_text("body")
    assert "Value: '" not in text and "(type:" not in text and "Traceback" not in text
    page.close()
