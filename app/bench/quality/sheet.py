"""The contact sheet: one row per case with source, template and result crops, labelled with the figures."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Final

from PIL import Image, ImageDraw, ImageFont

from app.bench.quality.harness import TILE, CaseResult, FaceQuality
from app.bench.quality.pool_run import PoolFaceResult

LABEL_WIDTH: Final = 150
TEXT_HEIGHT: Final = 30
GAP: Final = 4
SHEET_JPEG_QUALITY: Final = 92
HEADER: Final = 36
COLUMNS: Final = ("husband src", "wife src", "husband tpl", "husband result", "wife tpl", "wife result")
CROP_KEYS: Final = (
    "husband_source",
    "wife_source",
    "husband_template",
    "husband_result",
    "wife_template",
    "wife_result",
)
RED: Final = (200, 0, 0)
INK: Final = (20, 20, 20)
GREEN: Final = (0, 120, 0)


def render_sheet(results: Sequence[CaseResult], engine: str) -> Image.Image:
    """One image, a row per case; figures that break the gate are red."""
    font = _font(11)
    bold = _font(12)
    width = LABEL_WIDTH + len(CROP_KEYS) * (TILE + GAP)
    row_height = TILE + TEXT_HEIGHT + GAP
    sheet = Image.new("RGB", (width, HEADER + row_height * len(results)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    draw.text((4, 3), f"bench quality, engine {engine}: id = to source / to original; red = over the limit", fill=INK, font=bold)
    for column, title in enumerate(COLUMNS):
        draw.text((LABEL_WIDTH + column * (TILE + GAP) + 2, 20), title, fill=INK, font=font)
    for row, case in enumerate(results):
        top = HEADER + row * row_height
        verdict = "pass" if case.passed else "FAIL"
        draw.text((4, top + 4), case.name, fill=INK, font=bold)
        draw.text((4, top + 20), verdict, fill=GREEN if case.passed else RED, font=bold)
        draw.text((4, top + 36), f"swap {case.swap_seconds:.2f} s", fill=INK, font=font)
        draw.text((4, top + 50), case.template, fill=INK, font=font)
        if case.error:
            draw.text((4, top + 66), case.error[:40], fill=RED, font=font)
        for column, key in enumerate(CROP_KEYS):
            crop = case.crops.get(key)
            if crop is not None:
                sheet.paste(Image.fromarray(crop), (LABEL_WIDTH + column * (TILE + GAP), top))
        for face in case.faces:
            column = 3 if face.role == "husband" else 5
            _label(draw, face, LABEL_WIDTH + (column - 1) * (TILE + GAP), top + TILE + 1, font)
    return sheet


def save_sheet(sheet: Image.Image, path: Path) -> None:
    """The sheet in full colour: a JPEG (quality 92, no chroma subsampling; about 1 MB) for a `.jpg` or
    `.jpeg` path, else a lossless PNG. No palette: a 256-colour one bands a face's shading and colour casts
    into flat patches that look like the engine's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = sheet.convert("RGB")
    if path.suffix.lower() in (".jpg", ".jpeg"):
        rgb.save(path, format="JPEG", quality=SHEET_JPEG_QUALITY, subsampling=0, optimize=True)
    else:
        rgb.save(path, format="PNG", optimize=True)


def _label(draw: ImageDraw.ImageDraw, face: FaceQuality, left: int, top: int, font: ImageFont.ImageFont) -> None:
    failed = set(face.failures)
    parts_1 = [
        (f"id {face.identity_to_source:.2f}/{face.identity_to_original:.2f}", bool(failed & {"identity", "identity_vs_original"})),
        (f"chroma {face.chroma_p95:.1f}", "chroma" in failed),
    ]
    parts_2 = [
        (f"seam {face.seam:.1f}", "seam" in failed),
        (f"clip {100 * face.clipping:.1f}%", "clipping" in failed),
    ]
    for line, parts in enumerate((parts_1, parts_2)):
        x = left
        for text, bad in parts:
            draw.text((x, top + 14 * line), text, fill=RED if bad else INK, font=font)
            x += int(draw.textlength(text + "  ", font=font))


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)  # type: ignore[return-value]
    except (TypeError, OSError):
        return ImageFont.load_default()  # type: ignore[return-value]



POOL_CROPS: Final = ("source", "template", "result", "baseline", "cracks")
POOL_LABEL: Final = 200
POOL_PER_ROW: Final = 2


def render_pool_sheet(results: Sequence[PoolFaceResult], title: str) -> Image.Image:
    """The pool half's faces, two per row: source, template, engine result and plain-swap result crops, the
    engine result with its crack runs in magenta where the crack measure finds any, and the verdict and
    figures; failing figures are red."""
    font = _font(11)
    bold = _font(12)
    cell = POOL_LABEL + len(POOL_CROPS) * (TILE + GAP) + 2 * GAP
    row_height = TILE + GAP + 4
    rows = (len(results) + POOL_PER_ROW - 1) // POOL_PER_ROW
    sheet = Image.new("RGB", (POOL_PER_ROW * cell, HEADER + rows * row_height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    draw.text((4, 3), title, fill=INK, font=bold)
    for column in range(POOL_PER_ROW):
        for number, name in enumerate(("source", "template", "engine", "plain swap", "engine's cracks")):
            draw.text((column * cell + POOL_LABEL + number * (TILE + GAP) + 2, 20), name, fill=INK, font=font)
    for number, face in enumerate(results):
        left = (number % POOL_PER_ROW) * cell
        top = HEADER + (number // POOL_PER_ROW) * row_height
        failed = set(face.failures)
        draw.text((left + 4, top), face.source[:30], fill=INK, font=bold)
        draw.text((left + 4, top + 15), f"-> {face.template[:22]}:{face.target[:10]}", fill=INK, font=font)
        draw.text((left + 4, top + 30), "pass" if face.passed else "FAIL", fill=GREEN if face.passed else RED, font=bold)
        if face.error:
            draw.text((left + 4, top + 46), face.error[:34], fill=RED, font=font)
        else:
            figures = face.figures
            lines = [
                (f"id {figures['identity_to_source']:.2f}/{figures['identity_to_original']:.2f}", bool(failed & {"identity", "identity_vs_original"})),
                (f"plain id {face.baseline['identity_to_source']:.2f}/{face.baseline['identity_to_original']:.2f}", False),
                (f"eyes {_maybe(figures.get('eyes_kept'))}  cracks {figures['cracks']:.2f}", bool(failed & {"eyes", "cracks"})),
                (f"chroma {figures['chroma_p95']:.1f} seam {figures['seam']:.1f}", bool(failed & {"chroma", "seam", "clipping"})),
                (f"leak {_maybe(figures.get('leakage'))}", "leakage" in failed),
            ]
            for line, (text, bad) in enumerate(lines):
                draw.text((left + 4, top + 46 + 14 * line), text, fill=RED if bad else INK, font=font)
        for column, key in enumerate(POOL_CROPS):
            crop = face.crops.get(key)
            if crop is not None:
                sheet.paste(Image.fromarray(crop), (left + POOL_LABEL + column * (TILE + GAP), top))
    return sheet


def _maybe(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"
