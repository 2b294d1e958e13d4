"""The Gradio Blocks UI: `build_ui(ctx)` lays out one tab per module, then wires the events.

Per-user data lives in the database rows of the visitor (the hash of the token the browser keeps,
see app.ui.visitor) and in gr.State (one value per browser or API-client session); nothing
per-user is kept in module globals.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.config import Settings
from app.context import AppContext
from app import served
from app.ui import event_guard, http_guard
from app.ui import crawl_form, mapping_tab, photos_tab, swap_tab, templates_tab, visitor
from app.ui.actions import (
    CrawlStarter,
    Submit,
    UIActions,
    address_reader,
    example_photos,
    example_templates,
    run_limits,
    uploaded_path,
)
from app.ui.theme import CSS, FOOTER_NOTE, HEADER_HTML, make_theme

QUEUE_MAX_SIZE = 64  # waiting events beyond this get Gradio's "busy, please try again"
DEFAULT_CONCURRENCY = 4  # per event; the swap work itself runs on the job queue
DELETE_CACHE = (1800, 7200)  # every 30 min, delete Gradio's cached copies older than 2 h
DELETE_QUESTION = (
    "Delete **everything** this browser stored: every photo (also those you chose to *Keep*), every result "
    "and your own templates? This cannot be undone."
)
PUBLIC_DELETE_QUESTION = (  # public mode offers no "Keep"
    "Delete **everything** this browser stored: every photo, every result and your own templates, now "
    "instead of when they expire? This cannot be undone."
)


def build_ui(
    ctx: AppContext,
    *,
    submit: Submit | None = None,
    crawl_start: CrawlStarter | None = None,
    with_examples: bool = True,
) -> gr.Blocks:
    """The whole app. `submit` and `crawl_start` decide how batches and crawls run (default: the queue)."""
    if submit is None or crawl_start is None:
        from app.queue.submit import make_crawl_starter, make_submitter

        submit = submit or make_submitter(ctx)
        crawl_start = crawl_start or make_crawl_starter(ctx)
    actions = UIActions(ctx, submit, start_crawl=crawl_start, limits=run_limits(ctx))
    public = ctx.settings.is_public_demo
    photo_examples = None
    template_examples = None
    if with_examples:
        pair = example_photos(ctx)
        photo_examples = [pair] if pair else None
        # one example per sample; the input takes several files, so each example's value is a list
        template_examples = [[[path]] for path in example_templates()] or None

    with gr.Blocks(title="CoSwap · couple face swap", analytics_enabled=False, delete_cache=DELETE_CACHE) as demo:
        box = visitor.create()
        gr.HTML(HEADER_HTML, padding=False)
        banner = actions.banner()
        if banner:
            gr.Markdown(banner, elem_id="public-banner", elem_classes="cs-banner")
        engine_line = gr.HTML(elem_classes="cs-engine", elem_id="engine-status", padding=False)
        engine_timer = gr.Timer(2.0, active=True)
        selected = swap_tab.template_picker()
        with gr.Tabs(overflow_behavior="wrap"):
            upload_tab = photos_tab.create_tab(actions, box, photo_examples, public=public)
            tmpl_tab = templates_tab.create_tab(actions, template_examples, public=public)
            map_tab = mapping_tab.create_tab(actions, selected, box)
            results_tab = swap_tab.create_tab(selected)
        with gr.Row(equal_height=False, elem_classes="cs-footer"):
            with gr.Column(scale=4):
                gr.Markdown(FOOTER_NOTE)
                privacy_line = gr.Markdown(elem_id="privacy-summary")
            with gr.Column(scale=1, min_width=220):
                delete = gr.Button("Delete my photos and results now", variant="stop", size="sm", elem_id="delete")
                with gr.Column(visible=False, elem_id="delete-confirm") as delete_confirm:
                    gr.Markdown(PUBLIC_DELETE_QUESTION if public else DELETE_QUESTION)
                    with gr.Row():
                        delete_yes = gr.Button("Yes, delete all", variant="stop", size="sm", elem_id="delete-yes")
                        delete_no = gr.Button("Cancel", size="sm", elem_id="delete-no")
                delete_status = gr.Markdown(elem_id="delete-status")
        api = _api_components()

        # ------------------------------------------------------------ events (after the layout)
        def refresh_templates(session_token: str | None, visitor: str | None = None) -> Any:
            found = actions.template_gallery(actions.owner(session_token, visitor))
            own = gr.update(value=found.own, visible=public and bool(found.own))  # no empty "Yours" box
            return own, found.own_ids, found.shared, found.shared_ids, gr.update(choices=found.choices)

        def keep_offered(chosen: Any, session_token: str | None, visitor: str | None = None) -> Any:
            """After the lists change: drop picks no longer offered (removed, not ready)."""
            return gr.update(value=actions.offered(chosen, actions.owner(session_token, visitor)))

        def engine_status() -> Any:
            line, ready = actions.engine_line()
            return line, gr.Timer(active=not ready)

        def privacy(session_token: str | None, visitor: str | None = None) -> str:
            return actions.privacy_summary(actions.owner(session_token, visitor))

        def delete_everything(session_token: str | None, visitor: str | None = None) -> Any:
            message = actions.delete_my_data(actions.owner(session_token, visitor))
            cleared_photo = (None, "", None, gr.update(choices=[], value=None, visible=False))
            return (
                *cleared_photo,
                *cleared_photo,
                None,
                0,
                "",
                [],
                "",
                gr.update(value=None, visible=False),
                None,
                gr.Timer(active=False),
                gr.update(visible=False),
                gr.update(visible=True),
                message,
                message,
            )

        template_outputs = [tmpl_tab.own_gallery, tmpl_tab.own_ids, tmpl_tab.gallery, tmpl_tab.gallery_ids, selected]
        settled = demo.load(
            visitor.settle, box.inputs, box.inputs, api_visibility="private", show_progress="hidden"
        )
        settled.then(refresh_templates, box.inputs, template_outputs, api_name="templates_gallery").then(
            keep_offered, [selected, *box.inputs], [selected], api_visibility="private", show_progress="hidden",
            preprocess=False,
        )
        settled.then(privacy, box.inputs, [privacy_line], api_name="privacy_summary", show_progress="hidden")

        def resume(session_token: str | None, visitor: str | None = None) -> Any:
            """After a reload the Swap tab follows the visitor's newest batch again."""
            batch_id = actions.latest_batch(actions.owner(session_token, visitor))
            return batch_id, 0, gr.Timer(active=batch_id is not None)

        settled.then(
            resume,
            box.inputs,
            [results_tab.batch, results_tab.shown, results_tab.timer],
            api_visibility="private",
            show_progress="hidden",
        )
        demo.load(engine_status, None, [engine_line, engine_timer], api_name="engine_status", show_progress="hidden")
        engine_timer.tick(
            engine_status, None, [engine_line, engine_timer], api_visibility="private", show_progress="hidden"
        )

        changes = [*templates_tab.wire(tmpl_tab, actions, selected, box), crawl_form.wire(tmpl_tab.crawl, actions)]
        for changed in changes:
            refreshed = changed.then(refresh_templates, box.inputs, template_outputs, api_visibility="private")
            refreshed.then(
                keep_offered, [selected, *box.inputs], [selected], api_visibility="private", show_progress="hidden",
                preprocess=False,
            ).then(privacy, box.inputs, [privacy_line], api_visibility="private", show_progress="hidden")
        swap_tab.wire(results_tab, actions, box, upload_tab.husband, upload_tab.wife, map_tab.mappings)
        for event in upload_tab.events:
            event.then(privacy, box.inputs, [privacy_line], api_visibility="private", show_progress="hidden")
        results_tab.download.change(
            privacy, box.inputs, [privacy_line], api_visibility="private", show_progress="hidden"
        )
        asking = [delete, delete_confirm]
        delete.click(lambda: (gr.update(visible=False), gr.update(visible=True)), None, asking,
                     api_visibility="private", show_progress="hidden")
        delete_no.click(lambda: (gr.update(visible=True), gr.update(visible=False)), None, asking,
                        api_visibility="private", show_progress="hidden")
        delete_yes.click(
            delete_everything,
            box.inputs,
            [
                upload_tab.husband_image,
                upload_tab.husband_status,
                upload_tab.husband,
                upload_tab.husband_face,
                upload_tab.wife_image,
                upload_tab.wife_status,
                upload_tab.wife,
                upload_tab.wife_face,
                results_tab.batch,
                results_tab.shown,
                results_tab.progress,
                results_tab.gallery,
                results_tab.failures,
                results_tab.download,
                results_tab.slider,
                results_tab.timer,
                delete_confirm,
                delete,
                delete_status,  # the outcome stays here; the privacy line is refreshed by later events
                privacy_line,
            ],
            api_name="delete_my_data",
        )
        _wire_api(api, actions, box)
    _hide_internal_endpoints(demo)
    served_age = min(served.SERVED_MAX_AGE_SECONDS, ctx.settings.temporary_ttl_hours * 3600)
    event_guard.install(demo, shared_outputs=[tmpl_tab.gallery], served_age=served_age)
    return demo


def _hide_internal_endpoints(demo: gr.Blocks) -> None:
    """The token loader that gr.State attaches is not an action; keep it out of the API."""
    for dependency in demo.fns.values():
        if visitor.is_settler(dependency.fn):
            dependency.api_visibility = "private"


def _api_components() -> dict[str, Any]:
    """Hidden components that give API-only endpoints their typed, named parameters."""
    with gr.Column(visible=False):
        return {
            "trigger": gr.Button("api"),
            "husband_photo": gr.Image(label="husband_photo", type="filepath"),
            "wife_photo": gr.Image(label="wife_photo", type="filepath"),
            "template_ids": gr.Textbox(label="template_ids"),
            "mapping_json": gr.Textbox(label="mapping_json"),
            "consent": gr.Checkbox(label="consent"),
            "husband_face": gr.Number(label="husband_face", value=None, precision=0),
            "wife_face": gr.Number(label="wife_face", value=None, precision=0),
            "enhance": gr.Checkbox(label="enhance", value=False),
            "enhance_strength": gr.Number(label="enhance_strength", value=None),
            "batch_id": gr.Textbox(label="batch_id"),
            "gallery": gr.Gallery(label="results", format="jpeg"),
            "json": gr.JSON(label="data"),
        }


def _wire_api(api: dict[str, Any], actions: UIActions, box: visitor.VisitorBox) -> None:
    """API-only endpoints. Each takes an optional `visitor` token last (see docs/api.md)."""
    click = api["trigger"].click

    def swap(
        husband_photo, wife_photo, template_ids, mapping_json, consent, husband_face=None, wife_face=None,
        enhance=False, enhance_strength=None, session_token=None, visitor=None, request: gr.Request | None = None,
    ) -> Any:
        husband, wife = uploaded_path(husband_photo), uploaded_path(wife_photo)
        owner = actions.owner(session_token, visitor)
        return actions.swap(
            husband, wife, template_ids, mapping_json, consent is True, owner, actions.address(request),
            husband_face, wife_face, enhance, enhance_strength,
        )

    def my_photos(session_token, visitor=None) -> Any:
        return actions.my_photos(actions.owner(session_token, visitor))

    def my_batches(session_token, visitor=None) -> Any:
        return actions.my_batches(actions.owner(session_token, visitor))

    def batch_status(batch_id, session_token, visitor=None) -> Any:
        return actions.batch_status(actions.owner(session_token, visitor), batch_id)

    def batch_results(batch_id, session_token, visitor=None) -> Any:
        return actions.batch_results(actions.owner(session_token, visitor), batch_id)

    def templates(session_token, visitor=None) -> Any:
        return actions.templates_json(actions.owner(session_token, visitor))

    def automatic_mapping(template_ids, session_token, visitor=None) -> Any:
        return actions.automatic_mapping(template_ids, actions.owner(session_token, visitor))

    click(actions.visitor_token, box.inputs, [box.session, api["json"]], api_name="visitor")
    click(
        swap,
        [
            api["husband_photo"], api["wife_photo"], api["template_ids"], api["mapping_json"], api["consent"],
            api["husband_face"], api["wife_face"], api["enhance"], api["enhance_strength"], *box.inputs,
        ],
        [api["gallery"]],
        api_name="swap",
        concurrency_limit=actions.ctx.settings.swap_api_concurrency,
        preprocess=False,  # photos reach pipeline.intake undecoded (see photos_tab.create_tab)
    )
    click(my_photos, box.inputs, [api["json"]], api_name="my_photos")
    click(my_batches, box.inputs, [api["json"]], api_name="my_batches")
    click(batch_status, [api["batch_id"], *box.inputs], [api["json"]], api_name="batch_status")
    click(batch_results, [api["batch_id"], *box.inputs], [api["gallery"]], api_name="batch_results")
    click(templates, box.inputs, [api["json"]], api_name="templates")
    click(automatic_mapping, [api["template_ids"], *box.inputs], [api["json"]], api_name="automatic_mapping")


def configure_queue(demo: gr.Blocks) -> gr.Blocks:
    """A bounded queue: a few events at once per handler, and a clear 'busy' when it is full."""
    return demo.queue(max_size=QUEUE_MAX_SIZE, default_concurrency_limit=DEFAULT_CONCURRENCY)


def launch_options(settings: Settings) -> dict[str, Any]:
    """launch() settings: upload limit, no data dir or models through /gradio_api/file=, no extras."""
    return {
        "max_file_size": f"{settings.max_upload_mb}mb",
        "allowed_paths": [],
        "blocked_paths": [str(settings.resolved_data_dir), str(settings.models_dir)],
        "footer_links": ["api"],
        "state_session_capacity": settings.session_capacity,
        "app_kwargs": {"middleware": [http_guard.middleware(settings, address_reader(settings))]},
        "run_history": False,
        "enable_monitoring": False,
        "mcp_server": False,
        "ssr_mode": False,
        "pwa": False,
        "show_error": False,
        "theme": make_theme(),
        "css": CSS,
    }
