"""UI handlers (app.ui.actions): what each action shows, and that errors become one-line gr.Error."""

from __future__ import annotations

import gradio as gr
import numpy as np
import pytest

from app.context import AppContext
from app.services import sessions
from app.services.runs import Submit
from app.ui import build_ui
from app.ui.actions import KEEP_PERMANENT, KEEP_TEMPORARY, UIActions, user_errors
from tests.conftest import make_settings, open_context
from tests.fixtures_data import SamplePhotos


@pytest.fixture
def actions(ui_ctx: AppContext, run_now: Submit) -> UIActions:
    return UIActions(ui_ctx, run_now)


def test_upload_shows_the_boxed_face_and_its_gender(actions: UIActions, photos: SamplePhotos) -> None:
    sid = sessions.new_session_id()
    image, status, ref = actions.upload_photo("wife", str(photos.wife), KEEP_TEMPORARY, sid)
    assert isinstance(image, np.ndarray) and image.ndim == 3
    assert ref is not None and ref.role == "wife" and not ref.keep
    assert "Face found" in status and "woman" in status and "24 h" in status
    _image, status, ref = actions.upload_photo("husband", str(photos.husband), KEEP_PERMANENT, sid)
    assert ref is not None and ref.keep and "until you delete it" in status


def test_the_photo_status_names_the_configured_lifetime(tmp_path, classic, photos: SamplePhotos) -> None:  # type: ignore[no-untyped-def]
    ctx = open_context(make_settings(tmp_path / "data", FACESWAP_TEMP_TTL_HOURS=6), classic)
    try:
        actions = UIActions(ctx, lambda batch_id: None)
        _image, status, _ref = actions.upload_photo("wife", str(photos.wife), KEEP_TEMPORARY, sessions.new_session_id())
        assert "Deleted automatically after 6 h." in status and actions.ttl_words() == "6 h"
    finally:
        ctx.dispose()


def test_upload_refusals_are_shown_in_place(actions: UIActions, photos: SamplePhotos, tmp_path) -> None:  # type: ignore[no-untyped-def]
    sid = sessions.new_session_id()
    image, status, ref = actions.upload_photo("husband", str(photos.landscape), KEEP_TEMPORARY, sid)
    assert image is None and ref is None and "No face found in the husband photo" in status
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    _image, status, ref = actions.upload_photo("wife", str(broken), KEEP_TEMPORARY, sid)
    assert ref is None and "cs-refused" in status and "Traceback" not in status
    _image, status, ref = actions.upload_photo("wife", str(photos.pair), KEEP_TEMPORARY, sid)
    assert ref is not None and "3 faces in the wife photo" in status
    assert actions.upload_photo("wife", None, KEEP_TEMPORARY, sid) == (None, "", None)


def test_run_poll_and_before_after(actions: UIActions, photos: SamplePhotos, pair_template: int) -> None:
    sid = sessions.new_session_id()
    _, _, husband = actions.upload_photo("husband", str(photos.husband), KEEP_TEMPORARY, sid)
    _, _, wife = actions.upload_photo("wife", str(photos.wife), KEEP_TEMPORARY, sid)
    mapping = {str(pair_template): {"0": "husband", "1": "keep", "2": "wife"}}
    batch_id = actions.run(sid, husband, wife, [str(pair_template)], mapping, True)

    view = actions.poll(sid, batch_id, 0)
    assert view.finished and view.shown == 1 and view.gallery is not None
    assert "All 1 done" in view.progress and view.failures == ""
    assert view.zip_path is not None and view.zip_path.endswith(".zip")
    assert view.first is not None and view.first[0].shape == view.first[1].shape
    again = actions.poll(sid, batch_id, view.shown)
    assert again.gallery is None and again.first is None  # nothing new: the gallery is not resent
    before, after = actions.before_after(sid, batch_id, 0)
    assert before.shape == after.shape and not np.array_equal(before, after)
    stranger = actions.poll(sessions.new_session_id(), batch_id, 0)  # another session sees nothing
    assert stranger.finished and stranger.gallery == [] and stranger.zip_path is None and stranger.progress == ""
    with pytest.raises(gr.Error, match="does not exist"):
        actions.before_after(sessions.new_session_id(), batch_id, 0)


def test_templates_not_ready_are_never_offered_or_swapped(
    actions: UIActions, photos: SamplePhotos, ui_ctx: AppContext, run_now: Submit
) -> None:
    from app.services import runs, templates

    blank = templates.add_template_image(
        ui_ctx, templates.decode_upload(ui_ctx, photos.landscape.read_bytes()), name="Empty room"
    )
    pair = templates.add_template_files(ui_ctx, [str(photos.pair)], name="Pair")[0]
    sid = sessions.new_session_id()
    found = actions.template_gallery(sid)
    assert [value for _, value in found.choices] == [str(pair.id)]  # offered: the ready one only
    assert found.shared[0][1] == "Empty room · ✗ not ready: no face found in the template"
    _image, info, removable, ready = actions.template_detail(blank.id, sid)
    assert not ready and removable and "Not ready to swap into: no face found" in info
    with pytest.raises(gr.Error, match="Not ready to swap into .#%d Empty room: no face" % blank.id):
        actions.use_template(blank.id, [str(pair.id)], sid)
    assert actions.use_template(pair.id, ["999", str(blank.id)], sid)[0] == [str(pair.id)]  # stale picks dropped
    for ids in (str(blank.id), f"{pair.id},{blank.id}"):  # a batch never silently includes it
        with pytest.raises(gr.Error, match="Not ready to swap into"):
            actions.swap(str(photos.husband), str(photos.wife), ids, "", True, sid)
    _, _, husband = actions.upload_photo("husband", str(photos.husband), KEEP_TEMPORARY, sid)
    _, _, wife = actions.upload_photo("wife", str(photos.wife), KEEP_TEMPORARY, sid)
    with pytest.raises(gr.Error, match="Not ready to swap into"):
        actions.run(sid, husband, wife, [str(pair.id), str(blank.id)], {}, True)
    assert actions.my_batches(sid) == []
    # the CLI still records such a template as a failed task, and the Swap tab says why
    checked = runs.check_request(ui_ctx, [pair.id, blank.id], {}, session_id=sid)
    batch_id = runs.start_batch(ui_ctx, checked, husband, wife, submit=run_now)
    view = actions.poll(sid, batch_id, 0)
    assert "1 template(s) failed" in view.failures and "Empty room" in view.failures and "no face" in view.failures
    assert "Removed **Empty room**" in actions.remove_template(blank.id, sid)  # local mode: the user curates


def test_service_errors_become_one_line_gr_errors(actions: UIActions, photos: SamplePhotos, pair_template: int) -> None:
    sid = sessions.new_session_id()
    with pytest.raises(gr.Error, match="consent"):
        actions.run(sid, None, None, [str(pair_template)], {}, False)
    with pytest.raises(gr.Error, match="Upload a husband photo first"):
        actions.run(sid, None, None, [str(pair_template)], {}, True)
    with pytest.raises(gr.Error, match="Pick at least one template"):
        actions.swap(str(photos.husband), str(photos.wife), "", "", True, sid)
    with pytest.raises(gr.Error, match="does not exist"):
        actions.batch_status(sid, "no-such-batch")
    with pytest.raises(gr.Error, match="no session"):
        actions.my_photos(None)


def test_unexpected_errors_are_not_shown_in_detail() -> None:
    @user_errors
    def broken() -> None:
        raise RuntimeError("/secret/path/faceswap.db is locked")

    with pytest.raises(gr.Error) as caught:
        broken()
    assert "secret" not in caught.value.message and "try again" in caught.value.message


def test_template_views(actions: UIActions, ui_ctx: AppContext, pair_template: int, photos: SamplePhotos) -> None:
    sid = sessions.new_session_id()
    found = actions.template_gallery(sid)
    items, ids, choices = found.shared, found.shared_ids, found.choices
    assert found.own == [] and found.own_ids == []
    assert ids == [pair_template] and items[0][1] == "Friends pair · 3 faces · 1♂ 2♀"
    assert choices == [(f"#{pair_template} Friends pair (3 faces)", str(pair_template))]
    image, info, removable, ready = actions.template_detail(pair_template, sid)
    assert image.ndim == 3 and "3 face(s): 1 male, 2 female" in info and "preprocessed" in info
    assert removable and ready  # local mode: the one user curates the shared gallery
    view = actions.mapping_view(pair_template, {}, sid)
    assert [f.role for f in view.faces] == ["wife", "keep", "husband"] and not view.touched
    assert all(f.thumb.shape == (128, 128, 3) for f in view.faces)
    touched = actions.mapping_view(pair_template, {str(pair_template): {"0": "husband", "1": "keep", "2": "keep"}}, sid)
    assert [f.role for f in touched.faces] == ["husband", "keep", "keep"] and touched.touched
    assert actions.automatic_mapping(str(pair_template), sid) == {
        str(pair_template): {"0": "wife", "1": "keep", "2": "husband"}
    }


def test_add_templates_reports_each_file(actions: UIActions, photos: SamplePhotos, tmp_path) -> None:  # type: ignore[no-untyped-def]
    calls: list[tuple[object, ...]] = []
    text = tmp_path / "readme.png"
    text.write_text("hello")
    progress = lambda *a, **k: calls.append(a)  # noqa: E731
    report = actions.add_templates([str(photos.pair), str(text), str(photos.pair)], "", progress, sessions.new_session_id())
    lines = report.splitlines()
    assert lines[0].startswith("- ✓ **pair.png**: added as #") and "3 face(s)" in lines[0]
    assert lines[1].startswith("- ✗ **readme.png**")
    assert "already in the gallery" in lines[2]
    assert calls[-1] == ((3, 3),)


def test_privacy_summary_and_delete(actions: UIActions, photos: SamplePhotos) -> None:
    sid = sessions.new_session_id()
    assert actions.privacy_summary(sid) == "Nothing of yours is stored right now."
    actions.upload_photo("wife", str(photos.wife), KEEP_TEMPORARY, sid)
    assert "1 photo(s), 0 result(s)" in actions.privacy_summary(sid)
    assert actions.delete_my_data(sid).startswith("Deleted 1 picture ")
    assert actions.delete_my_data(sid) == "There was nothing of yours to delete."
    assert actions.privacy_summary(sid) == "Nothing of yours is stored right now."


def test_build_ui_names_every_action(ui_ctx: AppContext, run_now: Submit) -> None:
    demo = build_ui(ui_ctx, submit=run_now)
    public = {d.api_name for d in demo.fns.values() if d.api_visibility == "public"}
    assert public == {
        "upload_husband",
        "upload_wife",
        "templates_gallery",
        "show_template",
        "use_template",
        "add_templates",
        "reset_mapping",
        "run",
        "poll",
        "before_after",
        "delete_my_data",
        "engine_status",
        "privacy_summary",
        "visitor",
        "swap",
        "my_photos",
        "my_batches",
        "batch_status",
        "batch_results",
        "templates",
        "automatic_mapping",
        "crawl_templates",
    }
    swap = next(d for d in demo.fns.values() if d.api_name == "swap")
    named = [c for c in swap.inputs if c.stateful is False]
    assert [getattr(c, "label", None) for c in named[:-1]] == [
        "husband_photo",
        "wife_photo",
        "template_ids",
        "mapping_json",
        "consent",
        "husband_face",
        "wife_face",
        "enhance",
        "enhance_strength",
    ]
    assert isinstance(named[-1], gr.BrowserState)  # the optional visitor token, last


def test_queue_and_launch_settings(ui_ctx: AppContext, run_now: Submit) -> None:
    from app.ui import QUEUE_MAX_SIZE, configure_queue, launch_options

    demo = configure_queue(build_ui(ui_ctx, submit=run_now, with_examples=False))
    assert demo._queue.max_size == QUEUE_MAX_SIZE and demo._queue.default_concurrency_limit == 4
    options = launch_options(ui_ctx.settings)
    assert options["max_file_size"] == f"{ui_ctx.settings.max_upload_mb}mb"
    assert options["allowed_paths"] == []
    assert str(ui_ctx.settings.resolved_data_dir) in options["blocked_paths"]
    assert options["run_history"] is False and options["enable_monitoring"] is False
    assert not any("flag" in (d.api_name or "") for d in demo.fns.values())


def test_a_photo_with_several_faces_offers_them_as_choices(actions: UIActions, photos: SamplePhotos) -> None:
    from app.ui.presenters import face_options

    sid = sessions.new_session_id()
    _image, status, wife = actions.upload_photo("wife", str(photos.pair), KEEP_TEMPORARY, sid)
    assert wife is not None and wife.faces_found == 3 and "using the most prominent" in status
    options = face_options(wife)
    assert [value for _, value in options] == [0, 1, 2]  # the JSON's numbering: 0-based, left to right
    assert sum("(most prominent)" in label for label, _ in options) == 1
    assert f"Face {wife.face_index}" in next(label for label, _ in options if "prominent" in label)
    other = next(i for i in range(3) if i != wife.face_index)
    image, status, chosen = actions.choose_photo_face(wife, other)
    assert chosen.face_index == other and chosen.image_id == wife.image_id and image.ndim == 3
    assert f"using face {other}" in status and chosen.face.bbox != wife.face.bbox
    assert actions.choose_photo_face(chosen, str(wife.face_index))[2].face.bbox == wife.face.bbox
    for bad in (3, -1, 1.5, "left"):
        with pytest.raises(gr.Error, match="face"):
            actions.choose_photo_face(wife, bad)
    single = actions.upload_photo("husband", str(photos.husband), KEEP_TEMPORARY, sid)[2]
    assert face_options(single) == [(face_options(single)[0][0], 0)] and single.face_index == 0
    with pytest.raises(gr.Error, match="has 1 face"):
        actions.choose_photo_face(single, 1)


def test_swap_takes_a_face_index(actions: UIActions, photos: SamplePhotos, pair_template: int) -> None:
    sid = sessions.new_session_id()
    with pytest.raises(gr.Error, match="The wife photo has 3 faces .0 to 2"):
        actions.swap(str(photos.husband), str(photos.pair), str(pair_template), "", True, sid, None, None, 7)
    with pytest.raises(gr.Error, match="face index"):
        actions.swap(str(photos.husband), str(photos.pair), str(pair_template), "", True, sid, None, None, "x")
    items = actions.swap(str(photos.husband), str(photos.pair), str(pair_template), "", True, sid, None, 0, 1.0)
    assert len(items) == 1
    # The request does no face work: the missing face 7 was found out on the queue, and that batch failed with it.
    statuses = sorted(actions.batch_status(sid, b["batch_id"])["status"] for b in actions.my_batches(sid))
    assert statuses == ["completed", "failed"]


def test_a_template_named_by_a_number_gets_a_plain_name() -> None:
    from app.services.templates import _template_name

    assert _template_name("/x/230501201_1.jpg", None, 1, 1) == "Untitled"
    assert _template_name("/x/230501201_1.jpg", None, 2, 3) == "Untitled 2"
    assert _template_name("/x/beach_wedding-2.jpg", None, 1, 1) == "beach wedding 2"
