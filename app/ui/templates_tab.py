"""The Templates tab (2): the shared template gallery, one template up close, and adding templates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from app.ui import crawl_form
from app.ui.actions import UIActions


@dataclass(frozen=True)
class TemplatesTab:
    gallery: gr.Gallery
    gallery_ids: gr.State
    current: gr.State
    detail_image: gr.Image
    detail_info: gr.Markdown
    use_button: gr.Button
    add_files: gr.File
    add_name: gr.Textbox
    add_button: gr.Button
    add_status: gr.Markdown
    crawl: crawl_form.CrawlForm


def create_tab(actions: UIActions, template_examples: list[list[str]] | None = None) -> TemplatesTab:
    with gr.Tab("2 · Templates", id="templates"):
        gallery_ids, current = gr.State([]), gr.State(None)
        gr.Markdown("Templates are shared by everyone. Click one to see its faces; then use it for your swap.")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=300):
                gallery = gr.Gallery(
                    label="Template gallery",
                    columns=2,
                    height=520,
                    object_fit="cover",
                    allow_preview=False,
                    buttons=[],
                    elem_id="template-gallery",
                )
            with gr.Column(scale=2, min_width=280):
                detail_image = gr.Image(
                    label="Faces, numbered left to right",
                    interactive=False,
                    height=340,
                    buttons=["fullscreen"],
                    elem_id="template-detail",
                )
                detail_info = gr.Markdown("Click a template in the gallery.")
                use_button = gr.Button("Use this template", variant="primary", interactive=False)
        with gr.Accordion("Add templates", open=False):
            gr.Markdown("Each image is checked, stored and preprocessed at once (faces, genders, masks).")
            add_files = gr.File(
                label="Template images (JPEG, PNG or WEBP)",
                file_count="multiple",
                file_types=[".jpg", ".jpeg", ".png", ".webp"],
                height=140,
                elem_id="add-files",
            )
            add_name = gr.Textbox(label="Name (optional)", placeholder="e.g. Beach wedding", max_length=200)
            add_button = gr.Button("Add and preprocess")
            add_status = gr.Markdown()
            if template_examples:
                gr.Examples(
                    examples=template_examples, inputs=[add_files], label="Sample template", api_visibility="private"
                )
        crawl = crawl_form.create_form()

    return TemplatesTab(
        gallery,
        gallery_ids,
        current,
        detail_image,
        detail_info,
        use_button,
        add_files,
        add_name,
        add_button,
        add_status,
        crawl,
    )


def wire(tab: TemplatesTab, actions: UIActions, selected: gr.CheckboxGroup) -> gr.events.Dependency:
    """Events of this tab; `selected` is the template picker of the swap tab. Returns the add event."""

    def show(ids: list[int], evt: gr.SelectData) -> Any:
        template_id = ids[evt.index]
        image, info = actions.template_detail(template_id)
        return image, info, template_id, gr.update(interactive=True)

    def use(template_id: int | None, chosen: list[str] | None) -> Any:
        values = list(chosen or [])
        if template_id is not None and str(template_id) not in values:
            values.append(str(template_id))
        return gr.update(value=values)

    def add(files: list[str] | None, name: str, progress: gr.Progress = gr.Progress()) -> str:  # noqa: B008
        return actions.add_templates(files, name, progress)

    tab.gallery.select(
        show,
        [tab.gallery_ids],
        [tab.detail_image, tab.detail_info, tab.current, tab.use_button],
        api_name="show_template",
    )
    tab.use_button.click(use, [tab.current, selected], [selected], api_name="use_template")
    added = tab.add_button.click(add, [tab.add_files, tab.add_name], [tab.add_status], api_name="add_templates")
    added.then(lambda: (None, ""), None, [tab.add_files, tab.add_name], api_visibility="private")
    return added
