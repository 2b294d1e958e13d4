"""Every Examples set on the page, clicked in a real browser (Debian's Chromium), then the action it
feeds is run; any server-side traceback fails the test."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from tests.ui.conftest import ARTIFACTS, RunningServer, running_server
from tests.ui.test_browser import DESKTOP

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EXAMPLE_ROWS = "table tr.tr-body, button.gallery-item"
EXAMPLE_BLOCKS = f"div.block:has(> div.label):has({EXAMPLE_ROWS})"
TAB_RENDER_SECONDS = 3.0  # a tab's content (and its accordions) may render a moment after the click


@pytest.fixture(scope="module", params=["local", "public"])
def examples_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A fresh server with its Examples (no seeding, so the sample template is new), in either mode."""
    base = tmp_path_factory.mktemp(f"examples-{request.param}")
    overrides = {
        "FACESWAP_DATA_DIR": str(base / "data"),
        "FACESWAP_SEED_TEMPLATES": "false",
        "FACESWAP_PUBLIC_DEMO": "true" if request.param == "public" else "false",
        "GRADIO_TEMP_DIR": str(base / "gradio-cache"),
        "COSWAP_LOG_LEVEL": "INFO",
    }
    with running_server(base, overrides) as server:
        yield server


def _run_photo_examples(page) -> None:  # type: ignore[no-untyped-def]
    """The sample couple feeds both uploads at once: both photos must come back with their face."""
    page.wait_for_selector("#husband-status .cs-ok", timeout=60_000)
    page.wait_for_selector("#wife-status .cs-ok", timeout=60_000)


def _run_template_example(page) -> None:  # type: ignore[no-untyped-def]
    """The sample template feeds the add form: adding it must make a preprocessed template."""
    page.locator("#add-button").click()
    page.wait_for_selector("#add-status:has-text('grace_hopper')", timeout=90_000)
    assert "✗" not in page.inner_text("#add-status"), page.inner_text("#add-status")
    assert "already in" not in page.inner_text("#add-status")  # not one of the seeded templates
    page.wait_for_selector("#add-status:has-text('1 face(s) found')", timeout=10_000)


ACTIONS: dict[str, Callable[..., None]] = {
    "Try with sample photos": _run_photo_examples,
    "Sample template": _run_template_example,
}


def _open_all_accordions(page) -> None:  # type: ignore[no-untyped-def]
    for toggle in page.locator("button.label-wrap:not(.open)").all():
        if toggle.is_visible():
            toggle.click()


def _visible_example_blocks(page) -> list:  # type: ignore[no-untyped-def]
    """The tab's visible Examples sets, waiting briefly for a lazily rendered tab or accordion; a tab
    without any gives an empty list after TAB_RENDER_SECONDS (one CI run skipped a set that was late)."""
    deadline = time.monotonic() + TAB_RENDER_SECONDS
    while True:
        _open_all_accordions(page)
        blocks = [block for block in page.locator(EXAMPLE_BLOCKS).all() if block.is_visible()]
        if blocks or time.monotonic() > deadline:
            return blocks
        page.wait_for_timeout(200)


def test_every_examples_set_runs_its_action(browser, examples_app: RunningServer) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport=DESKTOP)
    page.set_default_timeout(20_000)
    page.goto(examples_app.url)
    page.wait_for_selector("#husband-photo")
    seen: list[str] = []
    tabs = [tab.inner_text().strip() for tab in page.get_by_role("tab").all()]
    assert tabs, "the page has no tabs"
    for tab_name in tabs:
        page.get_by_role("tab", name=tab_name).click()
        for block in _visible_example_blocks(page):
            label = block.locator("> div.label").inner_text().strip()
            assert label in ACTIONS, f"Examples set {label!r} has no action in this test; add one"
            rows = block.locator(EXAMPLE_ROWS)
            for number in range(rows.count()):
                rows.nth(number).click()
                ACTIONS[label](page)
                seen.append(f"{label} #{number + 1}")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"ui-examples-{examples_app.url.split(':')[-1].strip('/')}.png"), full_page=True)
    page.close()
    assert sorted({s.split(" #")[0] for s in seen}) == sorted(ACTIONS), seen
    log = examples_app.log_text()
    assert "Traceback" not in log and "ValidationError" not in log, log[-4000:]
