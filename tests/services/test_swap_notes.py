"""The user is told what the engine cannot fix: glasses on a couple photo, a head turned too far."""

from __future__ import annotations

from pathlib import Path

import matplotlib

from app.context import AppContext
from app.services.photos import prepare_photo
from app.services.swapping import render_swap
from pipeline.advice import glasses_advice
from pipeline.face import SourceFace
from pipeline.intake import read_image_file
from pipeline.samples import sample_paths


def _read(path: Path, ctx: AppContext):  # type: ignore[no-untyped-def]
    return read_image_file(str(path), max_side=ctx.settings.max_image_side).array


def test_a_couple_photo_with_glasses_says_so_at_upload(ctx: AppContext) -> None:
    grace = _read(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg", ctx)
    photo = prepare_photo(ctx, grace, "wife")
    assert photo.note is not None and glasses_advice("wife") in photo.note
    hanks = prepare_photo(ctx, _read(sample_paths().tom_hanks, ctx), "husband")
    assert hanks.note is None or glasses_advice("husband") not in hanks.note


def test_a_head_turned_far_from_its_source_gets_a_note(ctx: AppContext) -> None:
    engine = ctx.face_engine()
    t1 = _read(sample_paths().t1, ctx)
    faces = engine.detect(t1)
    frontal = SourceFace(faces[0], t1)
    turned_only = {"1": "keep", "2": "keep", "3": "keep", "4": "husband", "5": "keep", "0": "keep"}
    render = render_swap(engine, t1, faces, frontal, frontal, turned_only, steps=[])
    assert [note for note in render.notes if note.startswith("face 4: head turned")], render.notes
    level_only = {"1": "keep", "2": "husband", "3": "keep", "4": "keep", "5": "keep", "0": "keep"}
    assert not [n for n in render_swap(engine, t1, faces, frontal, frontal, level_only, steps=[]).notes if "turned" in n]
