"""The UI's adapter to app.services: one method per thing a person can do.

Each method calls a service and turns its answer into values the components show (arrays,
Markdown, gallery items). Service and pipeline refusals become gr.Error with their one-line
message; anything unexpected is logged and shown as a short apology, never as a traceback.
Images always reach the browser as arrays (Gradio caches a copy), never by a data-dir path.
"""

from __future__ import annotations

import functools
import html
import logging
import shutil
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import gradio as gr

from app.context import AppContext
from app.errors import NotFound, ServiceError
from app.services import sessions, ui_runs
from app.services import templates as template_service
from app.ui import rendering
from pipeline.errors import PipelineError
from pipeline.face import RGBImage

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

KEEP_TEMPORARY = "Delete after 24 h"
KEEP_PERMANENT = "Keep"
KEEP_CHOICES = (KEEP_TEMPORARY, KEEP_PERMANENT)
ROLE_CHOICES = ("husband", "wife", "keep")
GalleryItems = list[tuple[RGBImage, str]]
ZIP_MAX_AGE_SECONDS = 3600
THUMB_CACHE_SIZE = 512


def first_line(exc: BaseException) -> str:
    """The first line of an error's message, as a sentence (capital first letter)."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line[:1].upper() + line[1:]


def uploaded_path(payload: Any) -> str | None:
    """The path of an uploaded file from an event with preprocess=False (Gradio's FileData dict).

    Gradio has already checked that the path lies in its upload folder before the handler runs.
    """
    if isinstance(payload, dict):
        path = payload.get("path")
        return str(path) if isinstance(path, str) and path else None
    return payload if isinstance(payload, str) and payload else None


def user_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Refusals become gr.Error(one line); other errors are logged and shown without details."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except (ServiceError, PipelineError) as exc:
            raise gr.Error(first_line(exc), title="Not possible", print_exception=False) from None
        except Exception:
            log.exception("UI action %s failed", fn.__name__)
            raise gr.Error("Something went wrong on our side; please try again.", print_exception=False) from None

    return wrapper


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
class PollView:
    progress: str
    finished: bool
    gallery: GalleryItems | None  # None: unchanged since the last poll
    shown: int
    failures: str
    zip_path: str | None
    first: tuple[RGBImage, RGBImage] | None  # before/after of the first result, when it just arrived


@dataclass
class UIActions:
    ctx: AppContext
    submit: ui_runs.Submit
    work_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="coswap-ui-")))
    _thumbs: dict[int, RGBImage] = field(default_factory=dict, repr=False)  # shared templates only
    _thumbs_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        weakref.finalize(self, shutil.rmtree, self.work_dir, True)  # ZIPs go when the UI goes

    # ------------------------------------------------------------ status and privacy

    @user_errors
    def engine_line(self) -> tuple[str, bool]:
        status = ui_runs.engine_status(self.ctx)
        hint = f" · <span class='cs-hint'>{html.escape(status.hint)}</span>" if status.hint else ""
        text = f"<span class='cs-dot'></span>Engine: <b>{html.escape(status.line)}</b>{hint}"
        return text.replace("`", ""), status.ready

    @user_errors
    def privacy_summary(self, session_id: str | None) -> str:
        summary = sessions.session_summary(self.ctx, session_id)
        if not (summary.photos or summary.results):
            return "Nothing of yours is stored right now."
        parts = [f"{summary.photos} photo(s)", f"{summary.results} result(s)"]
        when = ""
        if summary.expires_at is not None:
            when = f"; temporary ones are deleted at {summary.expires_at:%H:%M} UTC on {summary.expires_at:%d %b}"
        kept = f" ({summary.kept} kept until you delete them)" if summary.kept else ""
        return f"Stored for this browser session: {', '.join(parts)}{kept}{when}."

    @user_errors
    def delete_my_data(self, session_id: str | None) -> str:
        summary = sessions.delete_my_data(self.ctx, session_id)
        return f"Done: {summary}."

    # ------------------------------------------------------------ photos

    def upload_photo(
        self, role: str, path: str | None, keep_choice: str, session_id: str | None
    ) -> tuple[RGBImage | None, str, ui_runs.PhotoRef | None]:
        """(annotated photo, status line, remembered photo). Refusals are shown in the status line."""
        if not path:
            return None, "", None
        try:
            uploaded = ui_runs.upload_photo(
                self.ctx,
                path,
                role=role,
                session_id=session_id,
                keep=keep_choice == KEEP_PERMANENT,  # type: ignore[arg-type]
            )
        except (ServiceError, PipelineError) as exc:
            return None, f"<span class='cs-refused'>✗ {html.escape(first_line(exc))}</span>", None
        except Exception:
            log.exception("%s upload failed", role)
            return None, "<span class='cs-refused'>✗ Something went wrong; please try another photo.</span>", None
        ref = uploaded.ref
        face = ref.couple_face()
        gender = rendering.gender_word(face.gender.value)
        box = rendering.FaceBox(face.bbox, face.gender.value, f"{role} · {gender}")
        annotated = rendering.draw_faces(uploaded.pixels, [box])
        return annotated, photo_status(ref), ref

    # ------------------------------------------------------------ templates

    @user_errors
    def template_gallery(self) -> tuple[GalleryItems, list[int], list[tuple[str, str]]]:
        """Gallery items, the template ids in gallery order, and checkbox choices."""
        summaries = template_service.list_templates(self.ctx)
        items = [(self._thumbnail(t.id), template_caption(t)) for t in summaries]
        choices = [(choice_label(t), str(t.id)) for t in summaries if t.status == "completed"]
        return items, [t.id for t in summaries], choices

    @user_errors
    def template_detail(self, template_id: int) -> tuple[RGBImage, str]:
        summary = template_service.get_template(self.ctx, template_id)
        pixels = template_service.template_pixels(self.ctx, template_id)
        annotated = rendering.draw_faces(pixels, rendering.template_boxes(summary.faces), text_ratio=32)
        return annotated, template_markdown(summary)

    def add_templates(self, paths: Sequence[str] | None, name: str | None, progress: Callable[..., Any]) -> str:
        """Add and preprocess uploaded templates, reporting each file (refusals do not stop the rest)."""

        def report(done: int, total: int, label: str) -> None:
            progress((done, total), desc=f"preprocessing {label}" if done < total else "done", unit="images")

        outcomes = user_errors(ui_runs.add_templates)(self.ctx, list(paths or []), name=name, on_progress=report)
        return "\n".join(add_outcome_line(label, summary, error) for label, summary, error in outcomes)

    def _thumbnail(self, template_id: int) -> RGBImage:
        with self._thumbs_lock:
            thumb = self._thumbs.get(template_id)
        if thumb is None:
            thumb = rendering.preview(template_service.template_pixels(self.ctx, template_id))
            with self._thumbs_lock:
                if len(self._thumbs) >= THUMB_CACHE_SIZE:
                    self._thumbs.pop(next(iter(self._thumbs)))
                self._thumbs[template_id] = thumb
        return thumb

    # ------------------------------------------------------------ mapping

    @user_errors
    def mapping_view(self, template_id: int, mappings: dict[str, dict[str, str]] | None) -> MappingView:
        summary = template_service.get_template(self.ctx, template_id)
        faces, defaults, note = ui_runs.default_roles(self.ctx, template_id)
        chosen = (mappings or {}).get(str(template_id))
        pixels = template_service.template_pixels(self.ctx, template_id) if faces else None
        choices = [
            FaceChoice(
                index=index,
                thumb=rendering.face_thumbnail(pixels, face.bbox),  # type: ignore[arg-type]
                gender=face.gender.value,
                role=(chosen or {}).get(str(index), defaults.get(index, "keep")),
            )
            for index, face in enumerate(faces)
        ]
        return MappingView(template_id, summary.name, choices, dict(defaults), note, chosen is not None)

    # ------------------------------------------------------------ runs and results

    @user_errors
    def run(
        self,
        session_id: str | None,
        husband: ui_runs.PhotoRef | None,
        wife: ui_runs.PhotoRef | None,
        selected: Sequence[str] | None,
        mappings: dict[str, dict[str, str]] | None,
        consent: bool,
    ) -> str:
        template_ids = ui_runs.parse_template_ids(list(selected or []))
        return ui_runs.start_batch(
            self.ctx,
            self.submit,
            session_id=session_id,
            husband=husband,
            wife=wife,
            template_ids=template_ids,
            mappings=ui_runs.mappings_for(mappings, template_ids),
            consent=bool(consent),
        )

    @user_errors
    def poll(self, session_id: str | None, batch_id: str | None, shown: int) -> PollView:
        if not batch_id:
            return PollView("", True, None, shown, "", None, None)
        try:
            report = sessions.batch_report(self.ctx, session_id, batch_id)
        except NotFound:  # deleted meanwhile ("delete my photos and results now")
            return PollView("", True, [], 0, "", None, None)
        done = [r for r in report["results"] if r["status"] == "completed"]
        finished = ui_runs.is_finished(report)
        gallery = None
        first = None
        if len(done) != shown:
            results = sessions.completed_results(self.ctx, session_id, batch_id)
            gallery = [(r.pixels, result_caption(r)) for r in results]
            if shown == 0 and results:
                first = (template_service.template_pixels(self.ctx, results[0].template_id), results[0].pixels)
        zip_path = None
        if finished and done:
            zip_path = str(sessions.results_zip(self.ctx, session_id, batch_id, self._zip_folder()))
        return PollView(
            progress=progress_html(report),
            finished=finished,
            gallery=gallery,
            shown=len(done),
            failures=failures_markdown(report),
            zip_path=zip_path,
            first=first,
        )

    @user_errors
    def before_after(self, session_id: str | None, batch_id: str | None, index: int) -> tuple[RGBImage, RGBImage]:
        if not batch_id:
            raise gr.Error("run a swap first", print_exception=False)
        before, after, _result = sessions.before_after(self.ctx, session_id, batch_id, index)
        return before, after

    def _zip_folder(self) -> Path:
        """A fresh folder for one ZIP; ZIPs older than an hour are removed (Gradio serves its own copy)."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        cutoff = time.time() - ZIP_MAX_AGE_SECONDS
        for old in self.work_dir.iterdir():
            if old.is_dir() and old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        return self.work_dir / uuid.uuid4().hex

    # ------------------------------------------------------------ API-only endpoints

    @user_errors
    def swap(
        self,
        husband_photo: str | None,
        wife_photo: str | None,
        template_ids: str | None,
        mapping_json: str | None,
        consent: bool,
        session_id: str | None,
    ) -> GalleryItems:
        report = ui_runs.swap_files(
            self.ctx,
            self.submit,
            session_id=session_id,
            husband_path=husband_photo,
            wife_path=wife_photo,
            template_ids=template_ids,
            mapping_json=mapping_json,
            consent=bool(consent),
        )
        failed = [r for r in report["results"] if r["status"] == "failed"]
        if failed and len(failed) == len(report["results"]):
            raise gr.Error("; ".join(failure_line(r) for r in failed), print_exception=False)
        if not ui_runs.is_finished(report):
            gr.Warning(f"still running; ask /batch_status for batch {report['batch_id']}")
        elif failed:
            gr.Warning("; ".join(failure_line(r) for r in failed))
        return [
            (r.pixels, result_caption(r)) for r in sessions.completed_results(self.ctx, session_id, report["batch_id"])
        ]

    @user_errors
    def my_photos(self, session_id: str | None) -> list[dict[str, Any]]:
        return [image.to_json() for image in sessions.my_photos(self.ctx, session_id)]

    @user_errors
    def my_batches(self, session_id: str | None) -> list[dict[str, Any]]:
        return sessions.my_batches(self.ctx, session_id)

    @user_errors
    def batch_status(self, session_id: str | None, batch_id: str | None) -> dict[str, Any]:
        return sessions.public_report(sessions.batch_report(self.ctx, session_id, batch_id or ""))

    @user_errors
    def batch_results(self, session_id: str | None, batch_id: str | None) -> GalleryItems:
        return [(r.pixels, result_caption(r)) for r in sessions.completed_results(self.ctx, session_id, batch_id or "")]

    @user_errors
    def templates_json(self) -> list[dict[str, Any]]:
        return [summary.to_json() for summary in template_service.list_templates(self.ctx)]

    @user_errors
    def automatic_mapping(self, template_ids: str | None) -> dict[str, dict[str, str]]:
        mapping = {}
        for template_id in ui_runs.parse_template_ids(template_ids):
            template_service.get_template(self.ctx, template_id)  # NotFound for unknown ids
            _faces, roles, _note = ui_runs.default_roles(self.ctx, template_id)
            mapping[str(template_id)] = {str(index): role for index, role in roles.items()}
        return mapping


# ---------------------------------------------------------------- text helpers


def photo_status(ref: ui_runs.PhotoRef) -> str:
    face = ref.couple_face()
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
    lines.append("Kept until you delete it." if ref.keep else "Deleted automatically after 24 h.")
    return "<br>".join(lines)


def template_caption(summary: template_service.TemplateSummary) -> str:
    if summary.status != "completed":
        return f"{summary.name} · {summary.status}"
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
    lines = [
        f"### {html.escape(summary.name)}",
        (
            f"Template #{summary.id} · {len(summary.faces)} face(s): {summary.male_face_count} male, "
            f"{summary.female_face_count} female · {status}"
        ),
    ]
    for number, face in enumerate(summary.faces, start=1):
        lines.append(f"- **{number}** · {rendering.gender_word(face['gender'])} ({face['gender_score']:.0%} sure)")
    return "\n".join(lines)


def add_outcome_line(label: str, summary: template_service.TemplateSummary | None, error: str | None) -> str:
    name = html.escape(label)
    if summary is None:
        return f"- ✗ **{name}**: {html.escape(error or 'refused')}"
    if summary.duplicate:
        return f"- ＝ **{name}**: already in the gallery as #{summary.id} {html.escape(summary.name)}"
    if summary.status != "completed":
        return f"- ✗ **{name}**: added as #{summary.id}, but {html.escape(summary.error or summary.status)}"
    return f"- ✓ **{name}**: added as #{summary.id}, {len(summary.faces)} face(s) found"


def result_caption(result: sessions.ResultImage) -> str:
    return result.template_name + (f" · {result.note}" if result.note else "")


def failure_line(result: dict[str, Any]) -> str:
    return f"{result.get('template_name', result['template_id'])}: {result['error'] or 'failed'}"


def failures_markdown(report: dict[str, Any]) -> str:
    failed = [r for r in report["results"] if r["status"] == "failed"]
    if not failed:
        return ""
    lines = [f"**{len(failed)} template(s) failed**"]
    lines += [f"- {html.escape(str(r['template_name']))}: {html.escape(r['error'] or 'failed')}" for r in failed]
    return "\n".join(lines)


def progress_html(report: dict[str, Any]) -> str:
    total = max(1, int(report["total"]))
    completed, failed = int(report["completed"]), int(report["failed"])
    waiting = max(0, int(report["total"]) - completed - failed)
    done_pct, failed_pct = 100 * completed / total, 100 * failed / total
    if waiting:
        headline = f"Swapping… {completed + failed} of {report['total']} done"
    elif failed == 0:
        headline = f"All {report['total']} done"
    else:
        headline = f"Finished: {completed} done, {failed} failed"
    detail = f"{completed} done · {failed} failed · {waiting} to go · engine {html.escape(str(report['engine']))}"
    notes = "".join(f"<div class='cs-note'>{html.escape(n)}</div>" for n in report.get("notes") or [])
    return (
        f"<div class='cs-progress' role='progressbar' aria-valuemin='0' aria-valuemax='{total}' "
        f"aria-valuenow='{completed + failed}' data-done='{completed}' data-failed='{failed}' "
        f"data-total='{report['total']}'>"
        f"<div class='cs-progress-head'><b>{headline}</b><span>{detail}</span></div>"
        f"<div class='cs-bar'><span class='cs-bar-done' style='width:{done_pct:.1f}%'></span>"
        f"<span class='cs-bar-failed' style='width:{failed_pct:.1f}%'></span></div>{notes}</div>"
    )
