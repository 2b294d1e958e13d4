"""The Gradio Blocks UI: `build_ui(ctx)` lays out one tab per module, then wires the events.

Per-user data lives only in gr.State (one value per browser or API-client session) and in the
database rows filtered by that session's id; nothing per-user is kept in module globals.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.config import Settings
from app.context import AppContext
from app.ui import crawl_form, mapping_tab, photos_tab, swap_tab, templates_tab
from app.ui.actions import (
    CrawlStarter,
    Submit,
    UIActions,
    example_photos,
    example_templates,
    new_session_id,
    run_limits,
    uploaded_path,
)
from app.ui.theme import CSS, FOOTER_NOTE, HEADER_HTML, make_theme

QUEUE_MAX_SIZE = 64  # waiting events beyond this get Gradio's "busy, please try again"
DEFAULT_CONCURRENCY = 4  # per event; the swap work itself runs on the job queue
SWAP_API_CONCURRENCY = 2
DELETE_CACHE = (1800, 7200)  # every 30 min, delete Gradio's cached copies older than 2 h


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
        session = gr.State(new_session_id)  # called once per browser or API session
        gr.HTML(HEADER_HTML, padding=False)
        banner = actions.banner()
        if banner:
            gr.Markdown(banner, elem_id="public-banner", elem_classes="cs-banner")
        engine_line = gr.HTML(elem_classes="cs-engine", elem_id="engine-status", padding=False)
        engine_timer = gr.Timer(2.0, active=True)
        selected = swap_tab.template_picker()
        with gr.Tabs(overflow_behavior="wrap"):
            upload_tab = photos_tab.create_tab(actions, session, photo_examples)
            tmpl_tab = templates_tab.create_tab(actions, template_examples, public=public)
            map_tab = mapping_tab.create_tab(actions, selected, session)
            results_tab = swap_tab.create_tab(selected)
        with gr.Row(equal_height=False, elem_classes="cs-footer"):
            with gr.Column(scale=4):
                gr.Markdown(FOOTER_NOTE)
                privacy = gr.Markdown(elem_id="privacy-summary")
            delete = gr.Button(
                "Delete my photos and results now", variant="stop", size="sm", scale=1, min_width=220, elem_id="delete"
            )
        api = _api_components()

        # ------------------------------------------------------------ events (after the layout)
        def refresh_templates(session_id: str | None) -> Any:
            found = actions.template_gallery(session_id)
            return found.own, found.own_ids, found.shared, found.shared_ids, gr.update(choices=found.choices)

        def engine_status() -> Any:
            line, ready = actions.engine_line()
            return line, gr.Timer(active=not ready)

        def delete_everything(session_id: str | None) -> Any:
            message = actions.delete_my_data(session_id)
            cleared_photo = (None, "", None)
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
                message,
            )

        template_outputs = [tmpl_tab.own_gallery, tmpl_tab.own_ids, tmpl_tab.gallery, tmpl_tab.gallery_ids, selected]
        demo.load(refresh_templates, [session], template_outputs, api_name="templates_gallery")
        demo.load(engine_status, None, [engine_line, engine_timer], api_name="engine_status", show_progress="hidden")
        engine_timer.tick(
            engine_status, None, [engine_line, engine_timer], api_visibility="private", show_progress="hidden"
        )
        demo.load(actions.privacy_summary, [session], [privacy], api_name="privacy_summary", show_progress="hidden")

        changes = [*templates_tab.wire(tmpl_tab, actions, selected, session), crawl_form.wire(tmpl_tab.crawl, actions)]
        for changed in changes:
            changed.then(refresh_templates, [session], template_outputs, api_visibility="private").then(
                actions.privacy_summary, [session], [privacy], api_visibility="private", show_progress="hidden"
            )
        swap_tab.wire(results_tab, actions, session, upload_tab.husband, upload_tab.wife, map_tab.mappings)
        for event in upload_tab.events:
            event.then(actions.privacy_summary, [session], [privacy], api_visibility="private", show_progress="hidden")
        results_tab.download.change(
            actions.privacy_summary, [session], [privacy], api_visibility="private", show_progress="hidden"
        )
        delete.click(
            delete_everything,
            [session],
            [
                upload_tab.husband_image,
                upload_tab.husband_status,
                upload_tab.husband,
                upload_tab.wife_image,
                upload_tab.wife_status,
                upload_tab.wife,
                results_tab.batch,
                results_tab.shown,
                results_tab.progress,
                results_tab.gallery,
                results_tab.failures,
                results_tab.download,
                results_tab.slider,
                results_tab.timer,
                privacy,
            ],
            api_name="delete_my_data",
        )
        _wire_api(api, actions, session)
    _hide_internal_endpoints(demo)
    return demo


def _hide_internal_endpoints(demo: gr.Blocks) -> None:
    """The session-id loader that gr.State attaches is not an action; keep it out of the API."""
    for dependency in demo.fns.values():
        if dependency.fn is new_session_id:
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
            "batch_id": gr.Textbox(label="batch_id"),
            "gallery": gr.Gallery(label="results", format="jpeg"),
            "json": gr.JSON(label="data"),
        }


def _wire_api(api: dict[str, Any], actions: UIActions, session: gr.State) -> None:
    click = api["trigger"].click

    def swap(husband_photo, wife_photo, template_ids, mapping_json, consent, session_id) -> Any:
        husband, wife = uploaded_path(husband_photo), uploaded_path(wife_photo)
        return actions.swap(husband, wife, template_ids, mapping_json, consent is True, session_id)

    click(
        swap,
        [api["husband_photo"], api["wife_photo"], api["template_ids"], api["mapping_json"], api["consent"], session],
        [api["gallery"]],
        api_name="swap",
        concurrency_limit=SWAP_API_CONCURRENCY,
        preprocess=False,  # photos reach pipeline.intake undecoded (see photos_tab.create_tab)
    )
    click(actions.my_photos, [session], [api["json"]], api_name="my_photos")
    click(actions.my_batches, [session], [api["json"]], api_name="my_batches")
    click(actions.batch_status, [session, api["batch_id"]], [api["json"]], api_name="batch_status")
    click(actions.batch_results, [session, api["batch_id"]], [api["gallery"]], api_name="batch_results")
    click(actions.templates_json, [session], [api["json"]], api_name="templates")
    click(actions.automatic_mapping, [api["template_ids"], session], [api["json"]], api_name="automatic_mapping")


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
        "run_history": False,
        "enable_monitoring": False,
        "mcp_server": False,
        "ssr_mode": False,
        "pwa": False,
        "show_error": False,
        "theme": make_theme(),
        "css": CSS,
    }
