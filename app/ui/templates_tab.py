"""The Templates tab (2): your own templates and the shared gallery apart, one template up close,
adding templates (your own photo first), and importing from a web page (local mode only)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from app.ui import crawl_form
from app.ui.actions import UIActions
from app.ui.visitor import VisitorBox

PUBLIC_INTRO = (
    "**Yours** are the photos you added as templates: only this browser sees them, and they are "
    "deleted with your photos. **Shared** templates are curated by the operator. Click one to see its faces."
)
LOCAL_INTRO = "Templates are shared by everyone. Click one to see its faces; then use it for your swap."
REMOVE_LABEL = "Remove this template"
USE_LABEL = "Use this template"
PICKED_LABEL = "✓ Picked for your swap"  # the same answer puts the template in the picker
SCROLL_TO_DETAIL = """() => { const d = document.getElementById('template-detail');
  if (d && d.getBoundingClientRect().top > window.innerHeight * 0.6) d.scrollIntoView({block: 'start'}); }"""


@dataclass(frozen=True)
class TemplatesTab:
    own_gallery: gr.Gallery
    own_ids: gr.State
    gallery: gr.Gallery  # the shared templates
    gallery_ids: gr.State
    current: gr.State
    detail_image: gr.Image
    detail_info: gr.Markdown
    use_button: gr.Button
    remove_button: gr.Button
    confirm_row: gr.Row
    confirm_button: gr.Button
    cancel_button: gr.Button
    add_files: gr.File
    add_name: gr.Textbox
    add_button: gr.Button
    add_status: gr.Markdown
    crawl: crawl_form.CrawlForm


def create_tab(actions: UIActions, template_examples: list[Any] | None = None, *, public: bool = False) -> TemplatesTab:
    with gr.Tab("2 · Templates", id="templates"):
        own_ids, gallery_ids, current = gr.State([]), gr.State([]), gr.State(None)
        gr.Markdown(PUBLIC_INTRO if public else LOCAL_INTRO)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=300):
                own_gallery = gr.Gallery(
                    label="Yours",
                    columns=2,
                    fit_columns=False,  # one template stays one cell, not a full-width strip
                    height="auto",
                    object_fit="contain",
                    allow_preview=False,
                    buttons=[],
                    visible=False,  # shown once the visitor has templates of their own (public mode)
                    elem_id="own-gallery",
                )
                gallery = gr.Gallery(
                    label="Shared" if public else "Template gallery",
                    columns=2,
                    fit_columns=False,
                    height="auto",  # every template and its caption in view, no inner scroll (theme.CSS)
                    object_fit="contain",
                    allow_preview=False,
                    buttons=[],
                    elem_id="template-gallery",
                )
            with gr.Column(scale=2, min_width=280):
                detail_image = gr.Image(
                    label="Faces, numbered from 0, left to right",
                    interactive=False,
                    height=340,
                    buttons=["fullscreen"],
                    elem_id="template-detail",
                )
                detail_info = gr.Markdown("Click a template in the gallery.")
                use_button = gr.Button(USE_LABEL, variant="primary", interactive=False, elem_id="use-template")
                remove_button = gr.Button(REMOVE_LABEL, size="sm", visible=False, elem_id="remove-template")
                with gr.Row(visible=False, elem_id="confirm-remove") as confirm_row:
                    confirm_button = gr.Button("Yes, remove it", variant="stop", size="sm", elem_id="confirm-remove-yes")
                    cancel_button = gr.Button("Cancel", size="sm", elem_id="confirm-remove-no")
        title = "Add your own photo as a template" if public else "Add templates"
        with gr.Accordion(title, open=public):
            gr.Markdown(
                "Each image is checked, stored and preprocessed at once (faces, genders, masks)."
                + (" It stays private to this browser." if public else " It joins the shared gallery.")
            )
            add_files = gr.File(
                label="Template images (JPEG, PNG or WEBP)",
                file_count="multiple",
                file_types=[".jpg", ".jpeg", ".png", ".webp"],
                height=140,
                elem_id="add-files",
            )
            add_name = gr.Textbox(label="Name (optional)", placeholder="e.g. Beach wedding", max_length=200)
            add_button = gr.Button("Add and preprocess", elem_id="add-button")
            add_status = gr.Markdown(elem_id="add-status")
            if template_examples:
                gr.Examples(
                    examples=template_examples, inputs=[add_files], label="Sample template", api_visibility="private",
                    example_labels=[_example_label(example[0][0]) for example in template_examples],
                )
        crawl = crawl_form.create_form(visible=not public)

    return TemplatesTab(
        own_gallery,
        own_ids,
        gallery,
        gallery_ids,
        current,
        detail_image,
        detail_info,
        use_button,
        remove_button,
        confirm_row,
        confirm_button,
        cancel_button,
        add_files,
        add_name,
        add_button,
        add_status,
        crawl,
    )


def wire(
    tab: TemplatesTab, actions: UIActions, selected: gr.CheckboxGroup, visitor: VisitorBox
) -> list[gr.events.Dependency]:
    """Events of this tab; `selected` is the swap tab's template picker. Returns the events after
    which the galleries must be refreshed (add, remove)."""

    def show(
        ids: list[int], session_token: str | None, visitor: str | None = None,
        evt: gr.SelectData = None,  # type: ignore[assignment]  # None: called without a click
    ) -> Any:
        if evt is None or not isinstance(evt.index, int) or not 0 <= evt.index < len(ids or []):
            raise gr.Error("click one of the templates first", print_exception=False)
        template_id = ids[evt.index]
        image, info, removable, ready = actions.template_detail(template_id, actions.owner(session_token, visitor))
        use_label = USE_LABEL if ready else "Not ready: cannot be used"
        return (
            image, info, template_id, gr.update(value=use_label, interactive=ready), gr.update(visible=removable),
            gr.update(visible=False),
        )

    def use(
        template_id: int | None, chosen: list[str] | None, session_token: str | None, visitor: str | None = None
    ) -> Any:
        try:
            values, message = actions.use_template(template_id, chosen, actions.owner(session_token, visitor))
        except gr.Error as refused:  # a toast, and the picker keeps its value (no error badge on it)
            gr.Warning(refused.message)
            return gr.skip(), gr.skip()
        gr.Info(message)
        return gr.update(value=values), gr.update(value=PICKED_LABEL)

    def remove(
        template_id: int | None, chosen: list[str] | None, session_token: str | None, visitor: str | None = None
    ) -> Any:
        message = actions.remove_template(template_id, actions.owner(session_token, visitor))
        left = [value for value in chosen or [] if value != str(template_id)]
        return (
            message, None, None, gr.update(value=USE_LABEL, interactive=False), gr.update(visible=False),
            gr.update(value=left), gr.update(visible=False),
        )

    def add(
        files: list[str] | None,
        name: str,
        session_token: str | None,
        visitor: str | None = None,
        request: gr.Request | None = None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> str:
        owner = actions.owner(session_token, visitor)
        return actions.add_templates(files, name, progress, owner, actions.address(request))

    detail = [tab.detail_image, tab.detail_info, tab.current, tab.use_button, tab.remove_button, tab.confirm_row]
    shown = [
        tab.gallery.select(show, [tab.gallery_ids, *visitor.inputs], detail, api_name="show_template"),
        tab.own_gallery.select(show, [tab.own_ids, *visitor.inputs], detail, api_visibility="private"),
    ]
    for event in shown:  # on a phone the detail sits below the gallery: bring it into view
        event.success(None, None, None, js=SCROLL_TO_DETAIL)
    tab.use_button.click(
        use, [tab.current, selected, *visitor.inputs], [selected, tab.use_button], api_name="use_template",
        preprocess=False,  # the picker's raw value: a stale pick is dropped by the service, not refused by Gradio
    )
    asking = [tab.remove_button, tab.confirm_row]
    tab.remove_button.click(lambda: (gr.update(visible=False), gr.update(visible=True)), None, asking,
                            api_visibility="private", show_progress="hidden")
    tab.cancel_button.click(lambda: (gr.update(visible=True), gr.update(visible=False)), None, asking,
                            api_visibility="private", show_progress="hidden")
    removed = tab.confirm_button.click(
        remove,
        [tab.current, selected, *visitor.inputs],
        [tab.detail_info, tab.detail_image, tab.current, tab.use_button, tab.remove_button, selected, tab.confirm_row],
        api_visibility="private",
        preprocess=False,
    )
    added = tab.add_button.click(
        add, [tab.add_files, tab.add_name, *visitor.inputs], [tab.add_status], api_name="add_templates"
    )
    added.then(lambda: (None, ""), None, [tab.add_files, tab.add_name], api_visibility="private")
    return [added, removed]


def _example_label(path: str) -> str:
    """A sample's file name in words: grace_hopper.jpg → "Grace Hopper (sample portrait)"."""
    return Path(path).stem.replace("_", " ").title() + " (sample portrait)"
