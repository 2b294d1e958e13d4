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
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import gradio as gr

from app import served
from app.context import AppContext
from app.errors import NotFound, ServiceError, one_line
from app.polling import poll
from app.services import crawl, enhancing, photos, public_demo, runs, samples, sessions, template_admin, uploads, visitors
from app.services import templates as template_service
from app.services.engine_status import engine_status
from app.services.photos import CouplePhoto
from app.ui import presenters as show
from app.ui.presenters import FaceChoice, Galleries, GalleryItems, MappingView, PollView
from app.ui.mapping_state import mappings_for
from app.ui import rendering
from pipeline.errors import PipelineError
from pipeline.face import RGBImage

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

KEEP_TEMPORARY = "Delete after 24 h"  # the value; the label names the configured lifetime
KEEP_PERMANENT = "Keep"
ROLE_CHOICES = ("husband", "wife", "keep")
THUMB_CACHE_SIZE = 512
CRAWL_POLL_SECONDS = 0.5
CRAWL_WAIT_LIMIT_SECONDS = 180.0
ENHANCE_STRENGTH = enhancing.DEFAULT_STRENGTH  # the strength the Swap tab offers first


CrawlStarter = Callable[[int], None]
Submit = runs.Submit


def run_limits(ctx: AppContext) -> runs.RunLimits:
    """The UI's limits: the pending-swaps quotas (per visitor; per address in public mode) and the server's cap."""
    settings = ctx.settings
    per_address = settings.max_pending_tasks_per_address if settings.is_public_demo else None
    return runs.RunLimits(
        max_session_backlog=settings.max_pending_tasks,
        max_backlog=settings.max_queued_tasks,
        max_address_backlog=per_address,
    )


new_session_id = sessions.new_session_id
new_visitor_token = visitors.new_token  # gr.State's per-session default (app.ui.visitor)
is_visitor_token = visitors.is_token
client_address = visitors.client_address  # for UI modules that need the address without a request handler
example_templates = samples.example_templates


def address_reader(settings: Any) -> Callable[[str | None, str | None], str | None]:
    """(peer, X-Forwarded-For) → the client address, for the HTTP guard (trusted proxies only)."""
    trusted = settings.trusted_proxy_networks
    return lambda peer, forwarded: visitors.client_address(peer, forwarded, trusted)


def example_photos(ctx: AppContext) -> list[str] | None:
    return samples.example_photos(ctx)


def first_line(exc: BaseException) -> str:
    """The first line of an error's message, as a sentence (capital first letter)."""
    return as_sentence(one_line(exc))


def as_sentence(line: str) -> str:
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


@dataclass
class UIActions:
    ctx: AppContext
    submit: runs.Submit
    start_crawl: CrawlStarter | None = None
    limits: runs.RunLimits = field(default_factory=runs.RunLimits)
    _thumbs: dict[int, RGBImage] = field(default_factory=dict, repr=False)  # shared templates only
    _thumbs_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # ------------------------------------------------------------ visitor

    @user_errors
    def owner(self, session_token: str | None, visitor: str | None = None) -> str:
        """The key a call acts for: the token it passed (the browser's), else its Gradio session's."""
        return visitors.key_of(visitors.chosen_token(visitor, session_token))

    def address(self, request: gr.Request | None) -> str | None:
        """The client's address (X-Forwarded-For only from a trusted proxy); None without a request."""
        if request is None:
            return None
        peer = request.client.host if request.client is not None else None
        forwarded = request.headers.get("x-forwarded-for") if request.headers is not None else None
        return visitors.client_address(peer, forwarded, self.ctx.settings.trusted_proxy_networks)

    @user_errors
    def visitor_token(self, session_token: str | None, visitor: str | None = None) -> tuple[str, dict[str, str]]:
        """`/visitor`: adopt the token given (refusing a malformed one), else tell the session's own."""
        token = visitors.chosen_token(visitor, session_token)
        return token, {"visitor": token}

    # ------------------------------------------------------------ status and privacy

    @user_errors
    def engine_line(self) -> tuple[str, bool]:
        status = engine_status(self.ctx)
        operator_only = self.ctx.settings.is_public_demo  # advice such as "run python app.py ..." is for operators
        hint = f" · <span class='cs-hint'>{html.escape(status.hint)}</span>" if status.hint and not operator_only else ""
        text = f"<span class='cs-dot'></span>Engine: <b>{html.escape(status.line)}</b>{hint}"
        return text.replace("`", ""), status.ready

    def ttl_words(self) -> str:
        """How long temporary photos, templates and results live ("24 h")."""
        return show.ttl_words(self.ctx.settings.temporary_ttl_hours)

    @user_errors
    def privacy_summary(self, session_id: str | None) -> str:
        summary = sessions.session_summary(self.ctx, session_id)
        if not (summary.photos or summary.results or summary.templates):
            return "Nothing of yours is stored right now."
        parts = [f"{summary.photos} photo(s)", f"{summary.results} result(s)", f"{summary.templates} template(s)"]
        when = ""
        if summary.expires_at is not None:
            when = f"; temporary ones are deleted at {summary.expires_at:%H:%M} UTC on {summary.expires_at:%d %b}"
        kept = f" ({summary.kept} kept until you delete them)" if summary.kept else ""
        return f"Stored for this browser: {', '.join(parts)}{kept}{when}."

    @user_errors
    def latest_batch(self, session_id: str | None) -> str | None:
        """The visitor's newest batch (shown again after a reload), or None."""
        found = sessions.my_batches(self.ctx, session_id)
        return str(found[0]["batch_id"]) if found else None

    @user_errors
    def delete_my_data(self, session_id: str | None) -> str:
        return sessions.delete_my_data(self.ctx, session_id)

    # ------------------------------------------------------------ photos

    def upload_photo(
        self, role: str, path: str | None, keep_choice: str, session_id: str | None, address: str | None = None
    ) -> tuple[RGBImage | None, str, CouplePhoto | None]:
        """(annotated photo, status line, remembered photo). Refusals are shown in the status line."""
        if not path:
            return None, "", None
        try:
            photo = uploads.upload_photo(
                self.ctx,
                path,
                role=role,
                session_id=session_id,
                keep=keep_choice == KEEP_PERMANENT,  # type: ignore[arg-type]
                address=address,
            )
        except (ServiceError, PipelineError) as exc:
            return None, f"<span class='cs-refused'>✗ {html.escape(first_line(exc))}</span>", None
        except Exception:
            log.exception("%s upload failed", role)
            return None, "<span class='cs-refused'>✗ Something went wrong; please try another photo.</span>", None
        return self._photo_view(photo), show.photo_status(photo, self.ttl_words()), photo

    @user_errors
    def choose_photo_face(self, photo: CouplePhoto | None, index: Any) -> tuple[RGBImage, str, CouplePhoto]:
        """Use another face of an uploaded photo (0-based, left to right); the photo stays stored as it is."""
        if photo is None:
            raise gr.Error("upload the photo first", print_exception=False)
        chosen = photos.with_face(self.ctx, photo, uploads.face_index(index, photo.role))  # type: ignore[arg-type]
        return self._photo_view(chosen), show.photo_status(chosen, self.ttl_words()), chosen

    def _photo_view(self, photo: CouplePhoto) -> RGBImage:
        """The photo with the face in use boxed and labelled; with several faces, the others numbered and dimmed."""
        gender = rendering.gender_word(photo.face.gender.value)
        several = photo.faces_found > 1
        boxes = [
            rendering.FaceBox(face.bbox, face.gender.value, str(index), highlight=False)
            for index, face in enumerate(photo.candidates)
            if several and index != photo.face_index
        ]
        label = f"{photo.face_index} · {photo.role} · {gender}" if several else f"{photo.role} · {gender}"
        boxes.append(rendering.FaceBox(photo.face.bbox, photo.face.gender.value, label))
        return rendering.draw_faces(photo.pixels, boxes)

    # ------------------------------------------------------------ templates

    @user_errors
    def template_gallery(self, session_id: str | None) -> Galleries:
        """This session's own templates and the shared ones, apart, and the swap tab's choices."""
        sid = sessions.require_session(session_id)
        summaries = template_service.list_templates(self.ctx, viewer=sid)
        return show.galleries(summaries, lambda t: self._thumbnail(t.id, sid if t.private else None))

    @user_errors
    def template_detail(self, template_id: int, session_id: str | None) -> tuple[RGBImage, str, bool, bool]:
        """The template with its faces numbered, in words, whether this session may remove it (local
        mode: any template, the user curates the gallery; public mode: its own private ones), and
        whether it is ready to swap into."""
        sid = sessions.require_session(session_id)
        summary = template_service.get_template(self.ctx, template_id, viewer=sid)
        pixels = template_service.template_pixels(self.ctx, template_id, viewer=sid)
        annotated = rendering.draw_faces(pixels, rendering.template_boxes(summary.faces), text_ratio=32)
        removable = summary.private or not self.ctx.settings.is_public_demo
        return annotated, show.template_markdown(summary), removable, summary.ready

    @user_errors
    def remove_template(self, template_id: int | None, session_id: str | None) -> str:
        if template_id is None:
            raise gr.Error("click one of your templates first", print_exception=False)
        viewer = sessions.require_session(session_id)
        if not self.ctx.settings.is_public_demo:  # local mode: the one user curates the shared gallery
            template_service.get_template(self.ctx, template_id, viewer=viewer)  # NotFound for others' private
            return show.removed_markdown(template_admin.remove_templates(self.ctx, [template_id]))
        return show.removed_markdown(template_admin.remove_templates(self.ctx, [template_id], viewer=viewer))

    @user_errors
    def use_template(self, template_id: int | None, chosen: Sequence[str] | None, session_id: str | None) -> tuple[list[str], str]:
        """The picker's value with this template added, and what to tell the user; refuses one not ready."""
        if template_id is None:
            raise gr.Error("click one of the templates first", print_exception=False)
        sid = sessions.require_session(session_id)
        template_service.require_ready(self.ctx, [template_id], viewer=sid)
        values = self.offered(chosen, sid)
        name = template_service.get_template(self.ctx, template_id, viewer=sid).name
        if str(template_id) in values:
            return values, f"“{name}” is already picked ({len(values)} template(s) in your swap)."
        values.append(str(template_id))
        return values, f"Added “{name}”: {len(values)} template(s) in your swap. Next: 3 · Face mapping."

    @user_errors
    def picked_summary(self, chosen: Sequence[str] | None, session_id: str | None) -> str:
        """The Swap tab's line naming the picked templates ("" when none)."""
        sid = sessions.require_session(session_id)
        names = {str(t.id): t.name for t in template_service.swappable_templates(self.ctx, viewer=sid)}
        picked = [html.escape(names[str(v)]) for v in chosen or [] if str(v) in names]
        if not picked:
            return ""
        return f"Swapping into **{len(picked)}** template(s): {', '.join(picked)} · change on **3 · Face mapping**."

    @user_errors
    def offered(self, chosen: Sequence[str] | None, session_id: str | None) -> list[str]:
        """The picked values still offered (visible and ready), in their order."""
        sid = sessions.require_session(session_id)
        ready = {str(t.id) for t in template_service.swappable_templates(self.ctx, viewer=sid)}
        return [str(v) for v in chosen or [] if str(v) in ready]

    def add_templates(
        self,
        paths: Sequence[str] | None,
        name: str | None,
        progress: Callable[..., Any],
        session_id: str | None,
        address: str | None = None,
    ) -> str:
        """Add and preprocess uploads (private to the session in public mode), reporting each file."""

        def report(done: int, total: int, label: str) -> None:
            progress((done, total), desc=f"preprocessing {label}" if done < total else "done", unit="images")

        outcomes = user_errors(public_demo.add_templates_for)(
            self.ctx,
            list(paths or []),
            session_id=session_id,
            name=name,
            read=self._read_upload,
            on_progress=report,
            address=address,
        )
        return "\n".join(show.add_outcome_line(o.label, o.summary, o.refusal) for o in outcomes)

    def banner(self) -> str | None:  # what the page says in public-demo mode; None in local mode
        return public_demo.banner(self.ctx)

    def _read_upload(self, path: str) -> bytes:
        return uploads.read_upload(self.ctx, path)

    def _thumbnail(self, template_id: int, private_to: str | None) -> RGBImage:
        if private_to is not None:  # only shared templates' previews are cached
            return rendering.preview(template_service.template_pixels(self.ctx, template_id, viewer=private_to))
        with self._thumbs_lock:
            thumb = self._thumbs.get(template_id)
        if thumb is None:
            thumb = rendering.preview(template_service.template_pixels(self.ctx, template_id))
            with self._thumbs_lock:
                if len(self._thumbs) >= THUMB_CACHE_SIZE:
                    self._thumbs.pop(next(iter(self._thumbs)))
                self._thumbs[template_id] = thumb
        return thumb

    @user_errors
    def begin_crawl(self, url: str) -> tuple[int, str]:
        """Record a crawl and hand it to the crawl starter (the queue)."""
        if self.start_crawl is None:
            raise gr.Error("importing from a web page is not available here", print_exception=False)
        return crawl.start_crawl(self.ctx, url, self.start_crawl), "Crawl queued…"

    def follow_crawl(self, crawl_id: int | None) -> Iterator[str]:
        """The crawl's state in words, every CRAWL_POLL_SECONDS until it ends (or the wait limit)."""
        if crawl_id is None:
            return
        readings = poll(
            lambda: crawl.crawl_report(self.ctx, crawl_id),
            lambda report: report.finished,
            timeout=CRAWL_WAIT_LIMIT_SECONDS,
            interval=CRAWL_POLL_SECONDS,
        )
        for report in readings:
            yield show.crawl_markdown(report)

    # ------------------------------------------------------------ mapping

    @user_errors
    def mapping_view(
        self, template_id: int, mappings: dict[str, dict[str, str]] | None, session_id: str | None
    ) -> MappingView:
        sid = sessions.require_session(session_id)
        summary = template_service.get_template(self.ctx, template_id, viewer=sid)
        faces, defaults, note = template_service.default_roles(self.ctx, template_id, viewer=sid)
        chosen = (mappings or {}).get(str(template_id))
        pixels = template_service.template_pixels(self.ctx, template_id, viewer=sid) if faces else None
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
        husband: CouplePhoto | None,
        wife: CouplePhoto | None,
        selected: Sequence[str] | None,
        mappings: dict[str, dict[str, str]] | None,
        consent: bool,
        address: str | None = None,
        enhance: bool = False,
        enhance_strength: Any = None,
    ) -> str:
        checked = self.check_run(
            session_id, husband, wife, selected, mappings, consent, address, enhance, enhance_strength
        )
        return runs.start_batch(self.ctx, checked, husband, wife, submit=self.submit)

    @user_errors
    def check_run(
        self,
        session_id: str | None,
        husband: CouplePhoto | None,
        wife: CouplePhoto | None,
        selected: Sequence[str] | None,
        mappings: dict[str, dict[str, str]] | None,
        consent: bool,
        address: str | None = None,
        enhance: bool = False,
        enhance_strength: Any = None,
    ) -> runs.CheckedRequest:
        """Every refusal of `run` (consent, photos, templates not ready, limits, enhancing unavailable),
        with nothing stored."""
        sid = sessions.require_session(session_id)
        runs.require_consent(bool(consent))
        runs.require_couple(husband, wife)
        template_ids = runs.parse_template_ids(list(selected or []))
        chosen = mappings_for(mappings, template_ids)
        return runs.check_request(
            self.ctx, template_ids, chosen, session_id=sid, limits=self.limits, consent=True, address=address,
            ready_only=True, enhance=enhancing.asked(enhance, enhance_strength),
        )

    @user_errors
    def enhance_availability(self) -> tuple[bool, str, bool]:
        """Whether "Enhance faces" can be ticked; a one-line note (what enhances, or why it cannot); and
        whether that may change soon (its model file is being fetched)."""
        note = enhancing.page_note(self.ctx)
        if note is None:
            return True, f"Faces are enhanced with {enhancing.describe(self.ctx)}.", False
        return False, note, enhancing.downloading(self.ctx)

    @user_errors
    def poll(self, session_id: str | None, batch_id: str | None, shown: int) -> PollView:
        if not batch_id:
            return PollView("", True, None, shown, "", None, None)
        try:
            report = sessions.my_batch_report(self.ctx, session_id, batch_id)
        except NotFound:  # deleted meanwhile ("delete my photos and results now")
            return PollView("", True, [], 0, "", None, None)
        done = [r for r in report.results if r.status == "completed"]
        finished = report.finished
        gallery = None
        first = None
        if len(done) != shown:
            results = sessions.completed_results(self.ctx, session_id, batch_id)
            gallery = [(r.pixels, show.result_caption(r)) for r in results]
            if shown == 0 and results:
                before = template_service.template_pixels(self.ctx, results[0].template_id, viewer=session_id)
                first = (before, results[0].pixels)
        zip_path = None
        if finished and done:
            zip_path = str(sessions.results_zip(self.ctx, session_id, batch_id, self._zip_folder(session_id)))
        return PollView(
            progress=show.progress_html(report),
            finished=finished,
            gallery=gallery,
            shown=len(done),
            failures=show.failures_markdown(report),
            zip_path=zip_path,
            first=first,
        )

    @user_errors
    def before_after(self, session_id: str | None, batch_id: str | None, index: int) -> tuple[RGBImage, RGBImage]:
        if not batch_id:
            raise gr.Error("run a swap first", print_exception=False)
        before, after, _result = sessions.before_after(self.ctx, session_id, batch_id, index)
        return before, after

    def _zip_folder(self, owner: str | None) -> Path:
        """A fresh folder for one ZIP, in the visitor's served folder (Gradio serves it in place, and
        "delete my data" and the served-copy sweep remove it)."""
        return served.visitor_folder(sessions.require_session(owner)) / "zips" / uuid.uuid4().hex

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
        address: str | None = None,
        husband_face: Any = None,
        wife_face: Any = None,
        enhance: Any = False,
        enhance_strength: Any = None,
    ) -> GalleryItems:
        report = uploads.swap_files(
            self.ctx,
            self.submit,
            limits=self.limits,
            session_id=session_id,
            husband_path=husband_photo,
            wife_path=wife_photo,
            template_ids=template_ids,
            mapping_json=mapping_json,
            consent=bool(consent),
            address=address,
            husband_face=uploads.face_index(husband_face, "husband"),
            wife_face=uploads.face_index(wife_face, "wife"),
            enhance=enhancing.asked(enhance is True, enhance_strength),
        )
        if report.couple_refused:  # a photo without the face asked for: its reason once, not per template
            raise gr.Error(as_sentence(report.couple_refused), title="Not possible", print_exception=False)
        failed = report.failed_results()
        if failed and len(failed) == len(report.results):
            raise gr.Error("; ".join(show.failure_line(r) for r in failed), print_exception=False)
        if not report.finished:
            gr.Warning(f"still running; ask /batch_status for batch {report.batch_id}")
        elif failed:
            gr.Warning("; ".join(show.failure_line(r) for r in failed))
        return self.batch_results(session_id, report.batch_id)

    @user_errors
    def my_photos(self, session_id: str | None) -> list[dict[str, Any]]:
        return [image.to_json() for image in sessions.my_photos(self.ctx, session_id)]

    @user_errors
    def my_batches(self, session_id: str | None) -> list[dict[str, Any]]:
        return sessions.my_batches(self.ctx, session_id)

    @user_errors
    def batch_status(self, session_id: str | None, batch_id: str | None) -> dict[str, Any]:
        return sessions.my_batch_report(self.ctx, session_id, batch_id or "").to_json(with_outputs=False)

    @user_errors
    def batch_results(self, session_id: str | None, batch_id: str | None) -> GalleryItems:
        results = sessions.completed_results(self.ctx, session_id, batch_id or "")
        return [(r.pixels, show.result_caption(r)) for r in results]

    @user_errors
    def templates_json(self, session_id: str | None) -> list[dict[str, Any]]:
        """The shared templates plus this session's own."""
        viewer = sessions.require_session(session_id)
        return [t.to_json() for t in template_service.list_templates(self.ctx, viewer=viewer)]

    @user_errors
    def automatic_mapping(self, template_ids: str | None, session_id: str | None) -> dict[str, dict[str, str]]:
        sid = sessions.require_session(session_id)
        mapping = {}
        for template_id in runs.parse_template_ids(template_ids):
            template_service.get_template(self.ctx, template_id, viewer=sid)  # NotFound for unknown ids
            _faces, roles, _note = template_service.default_roles(self.ctx, template_id, viewer=sid)
            mapping[str(template_id)] = {str(index): role for index, role in roles.items()}
        return mapping
