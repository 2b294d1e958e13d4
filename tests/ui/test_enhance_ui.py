"""'Enhance faces' in the UI and the API, on the GFPGAN stand-in: off with a short reason (no paths)
without its file; tickable with it, and a run from the browser (Debian's Chromium) enhances the swapped
faces. On a phone the choice and its strength each take the full width."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pytest
from sqlalchemy import select

from app.context import AppContext
from app.services import batches, sessions
from app.services.runs import Submit
from app.ui import build_ui, configure_queue, launch_options
from app.ui.actions import UIActions
from db.models import Batch
from tests.fixtures_data import SamplePhotos
from tests.pipeline.insight_fixtures import tiny_enhancer  # noqa: F401  (fixture)
from tests.pipeline.tiny_enhancer import TinyEnhancer
from tests.ui.conftest import ARTIFACTS, ServedApp, free_port, pick_first_template
from tests.ui.test_browser import _upload_couple

NOT_DOWNLOADED = "Enhancing is off: the GFPGAN 1.4 model is not downloaded. Run `python app.py models download`."
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def _install(ctx: AppContext, tiny: TinyEnhancer) -> Path:
    """The stand-in in the models dir, pinned by the context (only the weights are stood in for)."""
    ctx.settings.models_dir.mkdir(parents=True, exist_ok=True)
    path = ctx.settings.models_dir / "GFPGANv1.4.onnx"
    path.write_bytes(tiny.data)
    ctx.enhancer_manifest = tiny.manifest
    return path


def _latest_faces(ctx: AppContext) -> list[dict]:
    with ctx.sessions() as session:
        batch_id = session.execute(select(Batch.batch_id).order_by(Batch.id.desc())).scalars().first()
    [result] = batches.batch_report(ctx, batch_id).results
    assert result.status == "completed", result.error
    return result.faces


def test_without_the_model_the_choice_is_off_and_a_run_asking_for_it_is_refused(
    ui_ctx: AppContext, run_now: Submit, photos: SamplePhotos, pair_template: int
) -> None:
    actions = UIActions(ui_ctx, run_now)
    available, note, changing = actions.enhance_availability()
    assert not available and not changing
    assert note == NOT_DOWNLOADED
    sid = sessions.new_session_id()
    with pytest.raises(gr.Error, match="(?i)enhancing is unavailable"):
        actions.swap(str(photos.husband), str(photos.wife), str(pair_template), "", True, sid, None, None, None, True, 0.5)
    assert sessions.my_photos(ui_ctx, sid) == []  # refused before anything was stored


def test_the_local_note_is_one_short_line_without_paths(
    ui_ctx: AppContext, run_now: Submit, tiny_enhancer: TinyEnhancer  # noqa: F811
) -> None:
    """Missing, then a damaged file: what is wrong and the command, never the data dir."""
    actions = UIActions(ui_ctx, run_now)
    notes = [actions.enhance_availability()[1]]
    model = _install(ui_ctx, tiny_enhancer)
    model.write_bytes(model.read_bytes()[:100])  # truncated
    notes.append(actions.enhance_availability()[1])
    assert notes == [
        NOT_DOWNLOADED,
        "Enhancing is off: the GFPGAN 1.4 model file is incomplete or not the expected one. "
        "Run `python app.py models download`.",
    ]
    for note in notes:
        assert "\n" not in note and str(ui_ctx.settings.data_dir) not in note
        assert not any(word.startswith(("/", "~")) or ":\\" in word for word in note.split()), note


def test_the_swap_api_enhances_with_a_strength(
    ui_ctx: AppContext, run_now: Submit, photos: SamplePhotos, pair_template: int, tiny_enhancer: TinyEnhancer  # noqa: F811
) -> None:
    _install(ui_ctx, tiny_enhancer)
    actions = UIActions(ui_ctx, run_now)
    available, note, _ = actions.enhance_availability()
    assert available and note == "Faces are enhanced with GFPGAN 1.4 on CPU."
    sid = sessions.new_session_id()
    with pytest.raises(gr.Error, match="from 0 to 1"):
        actions.swap(str(photos.husband), str(photos.wife), str(pair_template), "", True, sid, None, None, None, True, 3)
    gallery = actions.swap(str(photos.husband), str(photos.wife), str(pair_template), "", True, sid, None, None, None, True, 0.5)
    assert len(gallery) == 1
    faces = _latest_faces(ui_ctx)
    assert [f["enhanced"] for f in faces] == [f["role"] is not None for f in faces]


def test_public_visitors_see_no_paths_or_operator_advice(
    ui_ctx: AppContext, run_now: Submit, photos: SamplePhotos, pair_template: int
) -> None:
    ui_ctx.settings = ui_ctx.settings.model_copy(update={"public_demo": True})
    actions = UIActions(ui_ctx, run_now)
    _, note, _ = actions.enhance_availability()
    assert note == "Enhancing faces is unavailable on this server: its model file is not installed."
    with pytest.raises(gr.Error) as refused:
        actions.swap(
            str(photos.husband), str(photos.wife), str(pair_template), "", True, sessions.new_session_id(), None,
            None, None, True, 0.5,
        )
    assert "its model file is not installed" in str(refused.value)
    assert str(ui_ctx.settings.models_dir) not in str(refused.value)


def test_the_api_names_the_enhance_arguments(ui_ctx: AppContext, run_now: Submit) -> None:
    demo = build_ui(ui_ctx, submit=run_now, with_examples=False)
    by_name = {d.api_name: d for d in demo.fns.values()}
    swap_labels = [getattr(c, "label", None) for c in by_name["swap"].inputs if c.stateful is False]
    assert swap_labels[5:9] == ["husband_face", "wife_face", "enhance", "enhance_strength"]
    run_labels = [getattr(c, "label", None) for c in by_name["run"].inputs if c.stateful is False]
    assert run_labels[:4] == ["Templates to swap into", "I have the consent of the people in these photos", "Enhance faces", "Enhance strength"]


@pytest.fixture
def live_app(
    ui_ctx: AppContext, run_now: Submit, pair_template: int, tiny_enhancer: TinyEnhancer  # noqa: F811
) -> Iterator[tuple[str, AppContext, Path]]:
    """The app served in this process (so the stand-in's pin holds), on a free port."""
    model = _install(ui_ctx, tiny_enhancer)
    demo = configure_queue(build_ui(ui_ctx, submit=run_now, with_examples=False))
    options = launch_options(ui_ctx.settings)
    demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True, **options)
    try:
        yield demo.local_url, ui_ctx, model
    finally:
        demo.close()


@pytest.mark.browser
@pytest.mark.slow
def test_enhance_faces_in_the_browser(browser, live_app, photos: SamplePhotos) -> None:  # type: ignore[no-untyped-def]
    url, ctx, model = live_app
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(20_000)
    page.goto(url)
    page.wait_for_selector("#husband-photo")
    _upload_couple(page, SimpleNamespace(photos=photos))  # the upload steps of the main browser test
    pick_first_template(page)

    page.get_by_role("tab", name="4 · Swap").click()
    page.wait_for_selector("#enhance-note:has-text('Faces are enhanced with GFPGAN 1.4 on CPU')")
    assert page.locator("#enhance input").is_enabled()
    page.locator("#enhance input").check()
    page.locator("#enhance-strength input[type=number]").fill("0.6")
    page.locator("#enhance-strength input[type=number]").press("Enter")
    page.locator("#consent input").check()
    page.locator("#run").click()
    page.wait_for_selector("#results-gallery img")
    page.wait_for_selector("#progress [data-done='1']")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-enhance-results.png"), full_page=True)
    faces = _latest_faces(ctx)
    assert sum(f["enhanced"] for f in faces) == 2
    assert [f["enhanced"] for f in faces] == [f["role"] is not None for f in faces]
    with ctx.sessions() as session:
        stored = session.execute(select(Batch.source_faces).order_by(Batch.id.desc())).scalars().first()
    assert stored["enhance"] == pytest.approx(0.6)

    model.unlink()  # without the file: after a reload the choice is off, with the reason
    page.reload()
    page.get_by_role("tab", name="4 · Swap").click()
    page.wait_for_selector("#enhance-note:has-text('Enhancing is off')")
    assert not page.locator("#enhance input").is_enabled()
    assert not page.locator("#enhance input").is_checked()
    assert "Traceback" not in page.content()
    page.close()


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_choice_and_its_strength_fit_the_width(browser, served_app: ServedApp, viewport: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    """On a phone each takes the full width, one above the other; on a desktop they sit side by side.
    The served app has no enhancer file: its note says so in one line, without the data dir."""
    page = browser.new_page(viewport=viewport)
    page.set_default_timeout(20_000)
    page.goto(served_app.url)
    page.get_by_role("tab", name="4 · Swap").click()
    page.wait_for_selector("#enhance-note:has-text('Enhancing is off')")
    choice, strength = page.locator("#enhance").bounding_box(), page.locator("#enhance-strength").bounding_box()
    assert choice is not None and strength is not None
    note = page.locator("#enhance-note").inner_text()
    assert note.strip() == NOT_DOWNLOADED.replace("`", "") and str(served_app.data_dir) not in note
    if viewport == PHONE:
        assert choice["width"] >= 0.8 * PHONE["width"] and strength["width"] >= 0.8 * PHONE["width"], (choice, strength)
        assert strength["y"] >= choice["y"] + choice["height"] - 1  # below, not beside
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # nothing sticks out
    else:
        assert abs(choice["y"] - strength["y"]) < 1 and strength["x"] >= choice["x"] + choice["width"] - 1
    page.close()
