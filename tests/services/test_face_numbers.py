"""Every user-facing text numbers faces as the JSON `index` and `--mapping` do: 0-based, left to right."""

from __future__ import annotations

import re
from pathlib import Path

from PIL import Image as PILImage

from app.context import AppContext
from app.services import batches, runs, templates
from app.services.photos import choose_face
from app.ui import presenters, rendering
from pipeline.samples import T1_FACE_CENTRES
from tests.fixtures_data import SamplePhotos

TURNED = 4  # t1.jpg's man in three-quarter view (yaw about -50 deg), the fifth face from the left


def test_a_swap_note_names_the_face_the_json_and_the_mapping_call_by_that_number(
    ctx: AppContext, photos: SamplePhotos, tmp_path: Path
) -> None:
    [t1] = templates.add_template_files(ctx, [str(photos.t1)])
    x, y = T1_FACE_CENTRES[0]  # a frontal face of t1.jpg, alone, as the husband photo
    frontal = tmp_path / "frontal.png"
    PILImage.open(photos.t1).crop((int(x) - 120, int(y) - 140, int(x) + 120, int(y) + 140)).save(frontal)
    mapping = {str(index): "keep" for index in range(len(t1.faces))} | {str(TURNED): "husband"}
    batch_id = runs.start_from_files(ctx, str(frontal), str(photos.wife), [t1.id], {t1.id: mapping})
    runs.run_inline(ctx, batch_id)
    [result] = batches.batch_report(ctx, batch_id).to_json()["results"]
    assert result["status"] == "completed", result["error"]
    swapped = [face["index"] for face in result["faces"] if face["role"] == "husband"]
    assert swapped == [TURNED]  # --mapping's key is the JSON index
    named = [int(match.group(1)) for note in result["notes"] if (match := re.match(r"face (\d+): ", note))]
    assert named == [TURNED], result["notes"]  # the note names the same face by the same number


def test_the_ui_numbers_template_faces_by_their_json_index(ctx: AppContext, photos: SamplePhotos) -> None:
    [t1] = templates.add_template_files(ctx, [str(photos.t1)])
    indexes = [face["index"] for face in t1.faces]
    assert indexes == list(range(6))
    listed = [int(number) for number in re.findall(r"^- \*\*(\d+)\*\* · ", presenters.template_markdown(t1), re.M)]
    assert listed == indexes
    boxed = [int(box.label.split(" · ")[0]) for box in rendering.template_boxes(t1.faces)]
    assert boxed == indexes


def test_the_couple_photo_note_counts_faces_from_0_on_the_left(ctx: AppContext, photos: SamplePhotos) -> None:
    from pipeline.intake import read_image_file

    faces = ctx.face_engine().detect(read_image_file(photos.t1).array)
    chosen, note = choose_face(faces, "husband")
    assert note is not None
    match = re.search(r"\(face (\d+), counting from 0 on the left\)", note)
    assert match and int(match.group(1)) == faces.index(chosen)
