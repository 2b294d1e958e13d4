"""The Templates tab's "Import from a web page" form: the crawl runs on the job queue."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from app.ui.actions import UIActions


@dataclass(frozen=True)
class CrawlForm:
    url: gr.Textbox
    button: gr.Button
    status: gr.Markdown
    crawl_id: gr.State


def create_form(*, visible: bool = True) -> CrawlForm:
    """Hidden in public-demo mode, where the service refuses visitors' crawls anyway (operators use the CLI)."""
    with gr.Accordion("Import from a web page", open=False, visible=visible):
        gr.Markdown(
            "Paste the address of a public page or image. Its photos are checked, deduplicated and "
            "preprocessed as templates. Private and internal addresses are refused."
        )
        with gr.Row(equal_height=True):
            url = gr.Textbox(label="Page or image URL", placeholder="https://example.com/wedding-photos", scale=4)
            button = gr.Button("Import", scale=1, min_width=120)
        status = gr.Markdown(elem_id="crawl-status")
    return CrawlForm(url, button, status, gr.State(None))


def wire(form: CrawlForm, actions: UIActions) -> gr.events.Dependency:
    """Start the crawl, then follow it until it ends. Returns the last event (to refresh the gallery)."""
    started = form.button.click(actions.begin_crawl, [form.url], [form.crawl_id, form.status], api_name="crawl_templates")
    return started.success(actions.follow_crawl, [form.crawl_id], [form.status], api_visibility="private")
