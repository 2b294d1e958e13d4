"""A phone photo as a template keeps its resolution (up to FACESWAP_MAX_TEMPLATE_SIDE); couple photos stay capped."""

from __future__ import annotations

from pathlib import Path

from PIL import Image as PILImage
from sqlalchemy import select

from app.context import AppContext
from app.services import batches, runs, templates
from app.storage import read_stored
from db.models import Image, SwapTask
from pipeline.face import FaceEngine
from tests.conftest import make_settings, open_context
from tests.fixtures_data import SamplePhotos


def _phone_photo(photos: SamplePhotos, folder: Path) -> Path:
    """The 2-face sample pair (640x886) scaled up to 2890x4000 (11.6 MP, portrait), saved as a JPEG."""
    path = folder / "phone.jpg"
    PILImage.open(photos.pair).convert("RGB").resize((2890, 4000), PILImage.Resampling.LANCZOS).save(path, quality=90)
    return path


def test_a_phone_photo_template_comes_back_at_its_size(ctx: AppContext, photos: SamplePhotos, tmp_path: Path) -> None:
    assert ctx.settings.max_template_side == 4096 and ctx.settings.max_image_side == 2048
    [summary] = templates.add_template_files(ctx, [str(_phone_photo(photos, tmp_path))])
    assert summary.status == "completed" and len(summary.faces) >= 2
    assert max(face["bbox"][2] for face in summary.faces) > 2048  # boxes in the full-size pixels
    batch_id = runs.start_from_files(ctx, str(photos.husband), str(photos.wife), [summary.id], {})
    runs.run_inline(ctx, batch_id)
    [result] = batches.batch_report(ctx, batch_id).results
    assert result.status == "completed", result.error
    assert read_stored(Path(str(result.output))).shape == (4000, 2890, 3)
    with ctx.sessions() as session:
        task = session.execute(select(SwapTask)).scalar_one()
        image = session.get_one(Image, task.result_image_id)
        assert (image.width, image.height) == (2890, 4000)


def test_the_template_cap_is_configurable(tmp_path: Path, photos: SamplePhotos, classic: FaceEngine) -> None:
    context = open_context(make_settings(tmp_path / "data", FACESWAP_MAX_TEMPLATE_SIDE=3000), classic)
    try:
        decoded = templates.decode_upload(context, _phone_photo(photos, tmp_path).read_bytes())
    finally:
        context.dispose()
    assert (decoded.width, decoded.height) == (2168, 3000)
