"""A first-time walk in Chromium: a template that is not ready, refusals without error badges, the
couple-photo face picker, and never a raw Gradio validation message."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.ui.conftest import ARTIFACTS, ServedApp

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
# visible "Error" badges that Gradio's status tracker leaves on an event's outputs (toasts excluded)
BADGES = """() => [...document.querySelectorAll('span.error')]
    .filter(e => !e.closest('[class*=toast]') && e.offsetParent !== null).length"""
RAW_VALIDATION = ("Value: '", "is not in the list of choices", "(type:")


def _open(browser, served_app: ServedApp, viewport: dict[str, int]):  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport=viewport)
    page.set_default_timeout(20_000)
    page.goto(served_app.url)
    page.wait_for_selector("#husband-photo")
    return page


def _no_raw_errors(page) -> None:  # type: ignore[no-untyped-def]
    text = page.inner_text("body")
    assert not any(raw in text for raw in RAW_VALIDATION), text[:400]
    assert "Traceback" not in text
    assert page.evaluate(BADGES) == 0


def _toast(page, words: str) -> None:  # type: ignore[no-untyped-def]
    """A toast with these words; a refusal's is headed "Not possible", never Gradio's bare "Error"."""
    toast = page.locator("[data-testid=toast-body]", has_text=words).first
    toast.wait_for(state="attached")
    if "error" in (toast.get_attribute("class") or ""):
        header = toast.locator(".toast-title").evaluate("e => getComputedStyle(e, '::before').content")
        assert header == '"Not possible"', header


# a single result fills its cell (no blank band above a landscape photo), its caption shows, and the
# gallery has no scroll inside
RESULT_FITS = """() => { const g = document.getElementById('results-gallery');
  const cell = g.querySelector('.thumbnail-item'), img = cell.querySelector('img'), wrap = g.querySelector('.grid-wrap');
  const c = cell.getBoundingClientRect(), i = img.getBoundingClientRect(), cap = cell.querySelector('.caption-label');
  return Math.abs(c.height - i.height) <= 4 && cap !== null && cap.getBoundingClientRect().bottom <= c.bottom + 1
    && wrap.scrollHeight <= wrap.clientHeight + 1; }"""


def _faceless(folder: Path) -> Path:
    """A faceless image that is not yet in the gallery (another gradient than the seeded one)."""
    path = folder / "empty_hall.png"
    ramp = np.linspace(255, 0, 200 * 300 * 3).reshape(200, 300, 3).astype(np.uint8)
    Image.fromarray(ramp).save(path)
    return path


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_template_that_is_not_ready_is_shown_as_such_and_never_offered(
    browser, served_app: ServedApp, viewport: dict[str, int]  # type: ignore[no-untyped-def]
) -> None:
    page = _open(browser, served_app, viewport)
    page.get_by_role("tab", name="2 · Templates").click()
    items = page.locator("#template-gallery button.thumbnail-item")
    items.nth(1).click()  # "Empty room": preprocessed, no face
    page.wait_for_selector("#template-detail img")
    page.locator("text=Not ready to swap into").wait_for()
    use = page.locator("#use-template")
    assert use.is_disabled() and "Not ready" in use.inner_text()
    assert page.locator("#remove-template").is_visible()  # local mode: the user curates the gallery
    items.nth(0).click()  # the ready pair
    page.locator("#use-template:has-text('Use this template')").wait_for()
    use.click()
    _toast(page, "Added")
    page.locator("#use-template:has-text('Picked')").wait_for()
    page.get_by_role("tab", name="3 · Face mapping").click()
    picker = page.locator("#template-picker")
    picker.locator("input:checked").first.wait_for(state="attached")
    assert "Empty room" not in picker.inner_text() and "Friends pair" in picker.inner_text()
    page.wait_for_selector(".cs-mapping-card")
    _no_raw_errors(page)
    page.close()


def test_removing_a_faceless_template_asks_first(browser, served_app: ServedApp, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page = _open(browser, served_app, DESKTOP)
    page.get_by_role("tab", name="2 · Templates").click()
    items = page.locator("#template-gallery button.thumbnail-item")
    items.first.wait_for()
    before = items.count()
    page.get_by_text("Add templates", exact=True).click()  # the accordion (closed in local mode)
    page.locator("#add-files input[type=file]").set_input_files(str(_faceless(tmp_path)))
    page.locator("#add-button").click()
    page.locator("#add-status:has-text('no face found')").wait_for()
    page.wait_for_function(f"document.querySelectorAll('#template-gallery button.thumbnail-item').length > {before}")
    items.nth(before).click()
    page.locator("text=Not ready to swap into").wait_for()
    page.locator("#remove-template").click()
    page.locator("#confirm-remove-no").click()  # cancel: nothing removed
    page.locator("#remove-template").wait_for()
    page.locator("#remove-template").click()
    page.locator("#confirm-remove-yes").click()
    page.locator("text=Removed").wait_for()
    page.wait_for_function(f"document.querySelectorAll('#template-gallery button.thumbnail-item').length == {before}")
    page.wait_for_timeout(1500)
    assert "Removed" in page.inner_text("body")  # the outcome stays
    _no_raw_errors(page)
    page.close()


def test_refusals_leave_no_error_badges(browser, served_app: ServedApp) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    page = _open(browser, served_app, DESKTOP)
    page.get_by_role("tab", name="4 · Swap").click()
    _refused_without_consent_and_photos(page)
    page.screenshot(path=str(ARTIFACTS / "ui-refusal-empty.png"), full_page=True)

    page.get_by_role("tab", name="1 · Photos").click()
    page.set_input_files("#husband-photo input[type=file]", str(served_app.photos.husband))
    page.wait_for_selector("#husband-status .cs-ok")
    page.set_input_files("#wife-photo input[type=file]", str(served_app.photos.wife))
    page.wait_for_selector("#wife-status .cs-ok")
    page.get_by_role("tab", name="3 · Face mapping").click()
    page.locator("#template-picker label", has_text="Friends pair").click()
    page.get_by_role("tab", name="4 · Swap").click()
    page.locator("#picked-summary:has-text('Friends pair')").wait_for()
    page.locator("#run").click()
    page.wait_for_selector("#progress [data-done='1']")
    page.wait_for_selector("#before-after img")
    page.locator("#consent input").uncheck()
    page.locator("#run").click()  # refused again, over earlier results
    _toast(page, "consent")
    page.wait_for_timeout(800)
    _no_raw_errors(page)
    assert page.locator("#results-gallery img").count() >= 1 and page.locator("#before-after img").count() >= 1
    assert "All 1 done" in page.inner_text("#progress")
    assert page.evaluate(RESULT_FITS)
    page.screenshot(path=str(ARTIFACTS / "ui-refusal-over-results.png"), full_page=True)
    page.close()


def test_on_a_phone_refusals_leave_no_error_badges(browser, served_app: ServedApp) -> None:  # type: ignore[no-untyped-def]
    page = _open(browser, served_app, PHONE)
    page.get_by_role("tab", name="3 · Face mapping").click()
    page.locator("#template-picker label", has_text="Friends pair").click()
    page.get_by_role("tab", name="4 · Swap").click()
    _refused_without_consent_and_photos(page)
    assert "Friends pair" in page.inner_text("#picked-summary")  # the pick is kept
    page.close()


def _refused_without_consent_and_photos(page) -> None:  # type: ignore[no-untyped-def]
    """On the Swap tab: no consent, then no photos; each one toast and no badge."""
    page.locator("#run").click()  # no consent
    _toast(page, "consent")
    page.locator("#consent input").check()
    page.locator("#run").click()  # no photos
    _toast(page, "husband photo first")
    page.wait_for_timeout(800)
    _no_raw_errors(page)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_face_picker_of_a_couple_photo(browser, served_app: ServedApp, viewport: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    page = _open(browser, served_app, viewport)
    assert not page.locator("#wife-face").is_visible()
    page.set_input_files("#wife-photo input[type=file]", str(served_app.photos.pair))  # three faces
    page.wait_for_selector("#wife-status .cs-ok")
    picker = page.locator("#wife-face")
    picker.wait_for(state="visible")
    labels = picker.locator("label")
    assert labels.count() == 3
    texts = [labels.nth(i).inner_text() for i in range(3)]
    assert [t.split(" ·")[0] for t in texts] == ["Face 0", "Face 1", "Face 2"]
    prominent = next(i for i, t in enumerate(texts) if "most prominent" in t)
    assert picker.locator("input").nth(prominent).is_checked()
    other = (prominent + 1) % 3
    labels.nth(other).click()
    page.locator(f"#wife-status:has-text('using face {other}')").wait_for()
    assert picker.locator("input").nth(other).is_checked()
    page.set_input_files("#husband-photo input[type=file]", str(served_app.photos.husband))  # one face
    page.wait_for_selector("#husband-status .cs-ok")
    assert not page.locator("#husband-face").is_visible()
    _no_raw_errors(page)
    if viewport == DESKTOP:
        page.screenshot(path=str(ARTIFACTS / "ui-face-picker.png"), full_page=True)
    page.close()


def test_phone_the_template_detail_comes_into_view(browser, served_app: ServedApp) -> None:  # type: ignore[no-untyped-def]
    page = _open(browser, served_app, PHONE)
    page.get_by_role("tab", name="2 · Templates").click()
    page.locator("#template-gallery button.thumbnail-item").first.click()
    page.wait_for_selector("#template-detail img")
    page.wait_for_timeout(600)
    top = page.evaluate("document.getElementById('template-detail').getBoundingClientRect().top")
    assert -2 <= top < PHONE["height"] / 2, f"the template detail is at {top:.0f} px, off-screen"
    page.get_by_role("tab", name="3 · Face mapping").click()
    page.locator("#reset-mapping").wait_for()
    intro = page.evaluate("document.getElementById('mapping-intro').getBoundingClientRect().width")
    assert intro > PHONE["width"] * 0.7  # the intro is not squeezed into a column beside the button
    page.close()


def test_delete_asks_first_and_its_outcome_stays(browser, served_app: ServedApp) -> None:  # type: ignore[no-untyped-def]
    page = _open(browser, served_app, DESKTOP)
    page.set_input_files("#wife-photo input[type=file]", str(served_app.photos.wife))
    page.wait_for_selector("#wife-status .cs-ok")
    page.locator("#delete").click()
    page.locator("#delete-confirm:has-text('also those you chose to')").wait_for()
    page.locator("#delete-no").click()
    page.locator("#delete").wait_for()
    assert page.locator("#wife-status .cs-ok").count() == 1  # cancelled: nothing deleted
    page.locator("#delete").click()
    page.locator("#delete-yes").click()
    page.locator("#delete-status:has-text('Deleted 1 picture')").wait_for()
    page.wait_for_timeout(2000)
    assert "Deleted 1 picture " in page.inner_text("#delete-status")  # still there after the refreshes
    _no_raw_errors(page)
    page.close()


def test_a_fresh_face_mapping_tab_says_what_to_do(browser, served_app: ServedApp) -> None:  # type: ignore[no-untyped-def]
    page = _open(browser, served_app, PHONE)
    page.get_by_role("tab", name="3 · Face mapping").click()
    page.locator("#mapping-hint:has-text('Nothing picked yet')").wait_for()
    page.locator("#template-picker label", has_text="Friends pair").click()
    page.wait_for_selector(".cs-mapping-card")
    page.locator("#mapping-hint").wait_for(state="hidden")
    _no_raw_errors(page)
    page.close()
