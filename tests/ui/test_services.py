"""Services behind the UI: per-session queries, consent, parsing, capacity and deletion."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from app.context import AppContext
from app.errors import ConsentRequired, InvalidRequest, NotFound, QueueBusy
from app.services import runs, samples, sessions, uploads
from app.services.engine_status import engine_status
from app.services.photos import CouplePhoto
from app.services.runs import RunLimits, Submit
from app.ui import mapping_state
from pipeline.mapping import parse_batch_mapping
from pipeline.errors import ImageRejected, MappingError, NoFaceFound
from pipeline.samples import FACE_RECOGNITION_DIR
from tests.fixtures_data import SamplePhotos


def _upload_couple(ctx: AppContext, photos: SamplePhotos, session_id: str) -> tuple[CouplePhoto, CouplePhoto]:
    husband = uploads.upload_photo(ctx, str(photos.husband), role="husband", session_id=session_id, keep=False)
    wife = uploads.upload_photo(ctx, str(photos.wife), role="wife", session_id=session_id, keep=True)
    return husband, wife


def _run(
    ctx: AppContext,
    submit: Submit,
    session_id: str,
    refs: tuple[CouplePhoto, CouplePhoto],
    template_id: int,
    *,
    consent: bool = True,
    limits: RunLimits | None = None,
) -> str:
    checked = runs.check_request(
        ctx, [template_id], {}, session_id=session_id, limits=limits or RunLimits(), consent=consent
    )
    return runs.start_batch(ctx, checked, refs[0], refs[1], submit=submit)


def test_sessions_see_only_their_own_photos_and_batches(
    ui_ctx: AppContext, photos: SamplePhotos, pair_template: int, run_now: Submit
) -> None:
    alice, bob = sessions.new_session_id(), sessions.new_session_id()
    batch_id = _run(ui_ctx, run_now, alice, _upload_couple(ui_ctx, photos, alice), pair_template)

    assert len(sessions.my_photos(ui_ctx, alice)) == 2
    assert [b["batch_id"] for b in sessions.my_batches(ui_ctx, alice)] == [batch_id]
    assert sessions.my_photos(ui_ctx, bob) == [] and sessions.my_batches(ui_ctx, bob) == []
    for peek in (sessions.my_batch_report, sessions.completed_results):
        with pytest.raises(NotFound):
            peek(ui_ctx, bob, batch_id)
    with pytest.raises(NotFound):
        sessions.results_zip(ui_ctx, bob, batch_id, Path("/nonexistent"))
    [result] = sessions.completed_results(ui_ctx, alice, batch_id)
    assert result.template_name == "Friends pair" and result.pixels.ndim == 3


@pytest.mark.parametrize("session_id", [None, "", "x" * 65])
def test_a_missing_session_id_is_refused_not_read_as_everyone(ui_ctx: AppContext, session_id: str | None) -> None:
    with pytest.raises(InvalidRequest):
        sessions.my_photos(ui_ctx, session_id)
    with pytest.raises(InvalidRequest):
        sessions.my_batches(ui_ctx, session_id)


def test_consent_is_required_before_anything_is_stored(
    ui_ctx: AppContext, photos: SamplePhotos, pair_template: int, run_now: Submit
) -> None:
    sid = sessions.new_session_id()
    with pytest.raises(ConsentRequired, match="consent"):
        uploads.swap_files(
            ui_ctx,
            run_now,
            limits=RunLimits(),
            session_id=sid,
            husband_path=str(photos.husband),
            wife_path=str(photos.wife),
            template_ids=str(pair_template),
            mapping_json="",
            consent=False,
        )
    assert sessions.my_images(ui_ctx, sid) == []
    refs = _upload_couple(ui_ctx, photos, sid)
    with pytest.raises(ConsentRequired):
        _run(ui_ctx, run_now, sid, refs, pair_template, consent=False)
    assert sessions.my_batches(ui_ctx, sid) == []


def test_swap_files_runs_with_a_mapping_keyed_by_template(
    ui_ctx: AppContext, photos: SamplePhotos, pair_template: int, run_now: Submit
) -> None:
    sid = sessions.new_session_id()
    mapping = f'{{"{pair_template}": {{"0": "husband", "2": "wife", "1": "keep"}}}}'
    report = uploads.swap_files(
        ui_ctx,
        run_now,
        limits=RunLimits(),
        session_id=sid,
        husband_path=str(photos.husband),
        wife_path=str(photos.wife),
        template_ids=f" {pair_template} ,",
        mapping_json=mapping,
        consent=True,
    )
    [result] = report.results
    assert result.status == "completed"
    assert {f["index"]: f["role"] for f in result.faces} == {0: "husband", 1: None, 2: "wife"}
    assert "output" not in report.to_json(with_outputs=False)["results"][0]


def test_refusals_have_one_line_reasons(ui_ctx: AppContext, photos: SamplePhotos, tmp_path: Path) -> None:
    sid = sessions.new_session_id()
    with pytest.raises(NoFaceFound, match="no face"):
        uploads.upload_photo(ui_ctx, str(photos.landscape), role="husband", session_id=sid, keep=False)
    text = tmp_path / "notes.jpg"
    text.write_text("not an image at all")
    with pytest.raises(ImageRejected):
        uploads.upload_photo(ui_ctx, str(text), role="wife", session_id=sid, keep=False)
    several = uploads.upload_photo(ui_ctx, str(photos.pair), role="wife", session_id=sid, keep=False)
    assert several.faces_found == 3 and "most prominent" in (several.note or "")
    assert len(sessions.my_photos(ui_ctx, sid)) == 1  # refused uploads stored nothing


def test_upload_size_limit(ui_ctx: AppContext, tmp_path: Path) -> None:
    big = tmp_path / "big.jpg"
    big.write_bytes(b"\xff\xd8" + b"0" * (ui_ctx.settings.max_upload_mb * 1024 * 1024 + 10))
    with pytest.raises(ImageRejected, match="too large"):
        uploads.read_upload(ui_ctx, big)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("3", [3]), ("1, 2,2 ; 5", [1, 2, 5]), (["4", 4, "7"], [4, 7])],
)
def test_parse_template_ids(text: str | list[object], expected: list[int]) -> None:
    assert runs.parse_template_ids(text) == expected


@pytest.mark.parametrize("text", ["", " , ", "1,x", "-1", "1.5", "99999999999"])
def test_parse_template_ids_refuses(text: str) -> None:
    with pytest.raises(InvalidRequest):
        runs.parse_template_ids(text)


@pytest.mark.parametrize(
    "text", ["{", "[]", '{"1": "husband"}', '{"9": {"0": "husband"}}', '{"1": {"0": "king"}}', '{"1": {"a": "wife"}}']
)
def test_parse_mapping_json_refuses(text: str) -> None:
    with pytest.raises(MappingError):
        parse_batch_mapping(text, [1], label="mapping_json", per_face_allowed=False)


def test_mapping_state_helpers() -> None:
    state = mapping_state.with_role({}, 7, {0: "husband", 1: "wife", 2: "keep"}, 2, "husband")
    assert state == {"7": {"0": "husband", "1": "wife", "2": "husband"}}
    state = mapping_state.with_role(state, 7, {0: "husband"}, 0, "keep")
    assert state["7"]["0"] == "keep" and state["7"]["2"] == "husband"
    assert mapping_state.mappings_for(state, [7, 8]) == {7: {"0": "keep", "1": "wife", "2": "husband"}}
    assert mapping_state.mappings_for(state, [8]) == {}
    assert mapping_state.without_templates(state, [7]) == {}


def test_capacity_refuses_with_busy(
    ui_ctx: AppContext, photos: SamplePhotos, pair_template: int
) -> None:
    sid = sessions.new_session_id()
    refs = _upload_couple(ui_ctx, photos, sid)
    queued: list[str] = []
    _run(ui_ctx, queued.append, sid, refs, pair_template)  # submitted, never run: one task waits
    with pytest.raises(QueueBusy, match="waiting"):
        _run(ui_ctx, queued.append, sid, refs, pair_template, limits=RunLimits(max_session_backlog=1))
    with pytest.raises(QueueBusy, match="busy"):
        limits = RunLimits(max_session_backlog=1, max_backlog=1)
        _run(ui_ctx, queued.append, sessions.new_session_id(), refs, pair_template, limits=limits)
    assert len(queued) == 1


def test_delete_my_data_removes_rows_and_files_of_this_session_only(
    ui_ctx: AppContext, photos: SamplePhotos, pair_template: int, run_now: Submit, tmp_path: Path
) -> None:
    alice, bob = sessions.new_session_id(), sessions.new_session_id()
    alice_batch = _run(ui_ctx, run_now, alice, _upload_couple(ui_ctx, photos, alice), pair_template)
    bob_batch = _run(ui_ctx, run_now, bob, _upload_couple(ui_ctx, photos, bob), pair_template)
    alice_zip = sessions.results_zip(ui_ctx, alice, alice_batch, tmp_path / "zips")
    with zipfile.ZipFile(alice_zip) as archive:
        assert archive.namelist() == ["01-friends-pair.jpg"]
    alice_files = [Path(str(r.output)) for r in sessions.my_batch_report(ui_ctx, alice, alice_batch).results]
    assert all(path.is_file() for path in alice_files)

    summary = sessions.delete_my_data(ui_ctx, alice)

    assert summary.startswith("Deleted 3 pictures and 1 swap ") and "Nothing of yours is stored now" in summary
    assert sessions.my_images(ui_ctx, alice) == [] and sessions.my_batches(ui_ctx, alice) == []
    assert not any(path.exists() for path in alice_files)
    assert len(sessions.my_images(ui_ctx, bob)) == 3
    assert sessions.my_batch_report(ui_ctx, bob, bob_batch).completed == 1


def test_engine_status_names_the_engine_and_the_better_one(ui_ctx: AppContext) -> None:
    status = engine_status(ui_ctx)
    assert status.line == "classic (offline)" and status.ready
    assert status.hint is not None and "models download" in status.hint


def test_example_photos_are_written_once_into_the_data_dir(ui_ctx: AppContext) -> None:
    pair = samples.example_photos(ui_ctx)
    assert pair is not None
    husband, wife = map(Path, pair)
    fetched = (FACE_RECOGNITION_DIR / "obama.jpg").is_file()  # `make` fetches the colour portrait
    assert husband.name == ("obama.jpg" if fetched else "Tom_Hanks_54745.png")
    assert wife.parent == ui_ctx.settings.resolved_data_dir / "examples"
    stamp = wife.stat().st_mtime_ns
    assert samples.example_photos(ui_ctx) == pair and wife.stat().st_mtime_ns == stamp


def test_a_photo_with_several_faces_uses_the_most_prominent_face_of_the_roles_gender(
    ui_ctx: AppContext, photos: SamplePhotos
) -> None:
    sid = sessions.new_session_id()
    for role, gender, word in (("wife", "female", "woman"), ("husband", "male", "man")):
        photo = uploads.upload_photo(ui_ctx, str(photos.pair), role=role, session_id=sid, keep=False)
        assert photo.faces_found == 3 and photo.face.gender.value == gender, (role, photo.face.gender)
        assert f"using the most prominent {word} (face {photo.face_index}," in (photo.note or "")
