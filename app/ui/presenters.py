"""What the UI shows: view values, and HTML/Markdown built from service values (no service calls)."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

from app.services import sessions, template_admin
from app.services import templates as template_service
from app.services.photos import CouplePhoto
from app.services.reports import BatchReport, CrawlReport, TaskResult
from app.ui import rendering
from pipeline.face import RGBImage

GalleryItems = list[tuple[RGBImage, str]]


@dataclass(frozen=True)
class FaceChoice:
    index: int  # 0-based face index (the API's "<face index>")
    thumb: RGBImage
    gender: str
    role: str


@dataclass(frozen=True)
class MappingView:
    template_id: int
    name: str
    faces: list[FaceChoice]
    defaults: dict[int, str]
    note: str | None
    touched: bool


@dataclass(frozen=True)
class Galleries:
    """The Templates tab: this session's own templates and the shared ones, apart."""

    own: GalleryItems
    own_ids: list[int]
    shared: GalleryItems
    shared_ids: list[int]
    choices: list[tuple[str, str]]  # the picker: every template ready to swap into, own ones first


@dataclass(frozen=True)
class PollView:
    progress: str
    finished: bool
    gallery: GalleryItems | None  # None: unchanged since the last poll
    shown: int
    failures: str
    zip_path: str | None
    first: tuple[RGBImage, RGBImage] | None  # before/after of the first result, when it just arrived


def ttl_words(hours: float) -> str:
    return f"{hours:g} h"


def photo_status(ref: CouplePhoto, ttl: str = "24 h") -> str:
    face = ref.face
    gender = rendering.gender_word(face.gender.value)
    lines = [f"<span class='cs-ok'>✓ Face found</span> · {gender} ({face.gender_score:.0%} sure)"]
    if ref.note:
        lines.append(f"<span class='cs-note'>{html.escape(ref.note)}</span>")
    expected = "male" if ref.role == "husband" else "female"
    if face.gender.value not in (expected, "unknown"):
        lines.append(
            f"<span class='cs-note'>This face looks like a {gender}; that is fine, the {ref.role} "
            "still goes where the mapping says.</span>"
        )
    lines.append("Kept until you delete it." if ref.keep else f"Deleted automatically after {ttl}.")
    return "<br>".join(lines)


def face_options(photo: CouplePhoto | None) -> list[tuple[str, int]]:
    """The faces of a couple photo as choices, numbered like the JSON (0-based, left to right)."""
    if photo is None:
        return []
    return [
        (
            f"Face {index} · {rendering.gender_word(face.gender.value)}"
            + (" (most prominent)" if index == photo.prominent_index else ""),
            index,
        )
        for index, face in enumerate(photo.candidates)
    ]


def galleries(
    summaries: list[template_service.TemplateSummary],
    thumbnail: Callable[[template_service.TemplateSummary], RGBImage],
) -> Galleries:
    """Own (private) and shared templates apart; the picker's choices (ready ones only) list own ones first."""
    own, shared = [t for t in summaries if t.private], [t for t in summaries if not t.private]
    return Galleries(
        own=[(thumbnail(t), template_caption(t)) for t in own],
        own_ids=[t.id for t in own],
        shared=[(thumbnail(t), template_caption(t)) for t in shared],
        shared_ids=[t.id for t in shared],
        choices=[(choice_label(t), str(t.id)) for t in own + shared if t.ready],
    )


def removed_markdown(removed: list[template_admin.Removed]) -> str:
    names = ", ".join(f"**{html.escape(r.name)}**" for r in removed)
    return f"Removed {names}; results already made from it stay."


def template_caption(summary: template_service.TemplateSummary) -> str:
    if not summary.ready:
        return f"{summary.name} · ✗ not ready: {summary.not_ready_reason}"
    count = len(summary.faces)
    return f"{summary.name} · {count} face{'s' if count != 1 else ''} · {summary.male_face_count}♂ {summary.female_face_count}♀"


def choice_label(summary: template_service.TemplateSummary) -> str:
    count = len(summary.faces)
    return f"#{summary.id} {summary.name} ({count} face{'s' if count != 1 else ''})"


def template_markdown(summary: template_service.TemplateSummary) -> str:
    status = {
        "completed": "✓ preprocessed",
        "failed": f"✗ preprocessing failed: {summary.error or 'unknown reason'}",
        "pending": "… waiting to be preprocessed",
        "processing": "… preprocessing",
    }.get(summary.status, summary.status)
    faces = f"Template #{summary.id} · {len(summary.faces)} face(s): {summary.male_face_count} male, "
    faces += f"{summary.female_face_count} female"
    lines = [f"### {html.escape(summary.name)}", faces + (f" · {html.escape(status)}" if summary.ready else "")]
    if not summary.ready:  # said once, on its own line (the status would repeat the reason)
        lines += [
            "",
            f"<span class='cs-refused'>✗ Not ready to swap into: {html.escape(str(summary.not_ready_reason))}."
            "</span> It is not offered for swapping.",
        ]
    for face in summary.faces:  # numbered by the JSON index, as --mapping and the notes number them
        lines.append(f"- **{face['index']}** · {rendering.gender_word(face['gender'])} ({face['gender_score']:.0%} sure)")
    return "\n".join(lines)


def add_outcome_line(label: str, summary: template_service.TemplateSummary | None, error: str | None) -> str:
    name = html.escape(label)
    if summary is None:
        return f"- ✗ **{name}**: {html.escape(error or 'refused')}"
    where = "your private templates" if summary.private else "the gallery"
    if summary.duplicate:
        return f"- = **{name}**: already in {where} as #{summary.id} {html.escape(summary.name)}"
    if summary.status != "completed":
        return f"- ✗ **{name}**: added as #{summary.id}, but {html.escape(summary.error or summary.status)}"
    scope = " (private to you)" if summary.private else ""
    return f"- ✓ **{name}**: added as #{summary.id} {html.escape(summary.name)}{scope}, {len(summary.faces)} face(s) found"


def result_caption(result: sessions.ResultImage) -> str:
    return result.template_name + (f" · {result.note}" if result.note else "")


def failure_line(result: TaskResult) -> str:
    name = result.template_name if result.template_name is not None else result.template_id
    return f"{name}: {result.error or 'failed'}"


def failures_markdown(report: BatchReport) -> str:
    failed = report.failed_results()
    if not failed:
        return ""
    lines = [f"**{len(failed)} template(s) failed**"]
    lines += [f"- {html.escape(str(r.template_name))}: {html.escape(r.error or 'failed')}" for r in failed]
    return "\n".join(lines)


def progress_html(report: BatchReport) -> str:
    total = max(1, report.total)
    completed, failed, waiting = report.completed, report.failed, report.waiting
    done_pct, failed_pct = 100 * completed / total, 100 * failed / total
    if waiting:
        headline = f"Swapping… {completed + failed} of {report.total} done"
    elif failed == 0:
        headline = f"All {report.total} done"
    else:
        headline = f"Finished: {completed} done, {failed} failed"
    detail = f"{completed} done · {failed} failed · {waiting} to go · engine {html.escape(report.engine)}"
    notes = "".join(f"<div class='cs-note'>{html.escape(n)}</div>" for n in report.notes)
    return (
        f"<div class='cs-progress' role='progressbar' aria-valuemin='0' aria-valuemax='{total}' "
        f"aria-valuenow='{completed + failed}' data-done='{completed}' data-failed='{failed}' "
        f"data-total='{report.total}'>"
        f"<div class='cs-progress-head'><b>{headline}</b><span>{detail}</span></div>"
        f"<div class='cs-bar'><span class='cs-bar-done' style='width:{done_pct:.1f}%'></span>"
        f"<span class='cs-bar-failed' style='width:{failed_pct:.1f}%'></span></div>{notes}</div>"
    )


def crawl_markdown(report: CrawlReport) -> str:
    """One crawl's state in words (the Templates tab's import form)."""
    if not report.finished:
        return f"Crawl {report.status}…"
    counts = (
        f"found {report.found} · imported {report.imported} · "
        f"duplicates {report.duplicates} · rejected {report.rejected}"
    )
    error = f"\n\n{report.error}" if report.error else ""
    return f"**Crawl {report.status}**: {counts}{error}"
