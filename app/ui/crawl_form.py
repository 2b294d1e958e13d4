"""The Templates tab's "Import from a web page" form: the crawl runs on the job queue."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import gradio as gr

from app.context import AppContext
from app.services import ui_runs
from app.services.crawl import crawl_report
from app.ui.actions import user_errors

POLL_SECONDS = 0.5
WAIT_LIMIT_SECONDS = 180.0


@dataclass(frozen=True)
class CrawlForm:
    url: gr.Textbox
    button: gr.Button
    status: gr.Markdown
    crawl_id: gr.State


def create_form() -> CrawlForm:
    with gr.Accordion("Import from a web page", open=False):
        gr.Markdown(
            "Paste the address of a public page or image. Its photos are checked, deduplicated and "
            "preprocessed as templates. Private and internal addresses are refused."
        )
        with gr.Row(equal_height=True):
            url = gr.Textbox(label="Page or image URL", placeholder="https://example.com/wedding-photos", scale=4)
            button = gr.Button("Import", scale=1, min_width=120)
        status = gr.Markdown(elem_id="crawl-status")
    return CrawlForm(url, button, status, gr.State(None))


def wire(form: CrawlForm, ctx: AppContext, start: ui_runs.CrawlStarter) -> gr.events.Dependency:
    """Start the crawl, then follow it until it ends. Returns the last event (to refresh the gallery)."""

    @user_errors
    def begin(url: str) -> tuple[int, str]:
        crawl_id = ui_runs.start_crawl(ctx, url, start)
        return crawl_id, "Crawl queued…"

    def follow(crawl_id: int | None) -> Iterator[str]:
        if crawl_id is None:
            return
        deadline = time.monotonic() + WAIT_LIMIT_SECONDS
        while True:
            report = crawl_report(ctx, crawl_id)
            yield describe(report)
            if report["status"] not in ("pending", "running") or time.monotonic() > deadline:
                return
            time.sleep(POLL_SECONDS)

    started = form.button.click(begin, [form.url], [form.crawl_id, form.status], api_name="crawl_templates")
    return started.success(follow, [form.crawl_id], [form.status], api_visibility="private")


def describe(report: dict[str, object]) -> str:
    status = str(report["status"])
    if status in ("pending", "running"):
        return f"Crawl {status}…"
    counts = (
        f"found {report['found']} · imported {report['imported']} · "
        f"duplicates {report['duplicates']} · rejected {report['rejected']}"
    )
    error = f"\n\n{report['error']}" if report.get("error") else ""
    return f"**Crawl {status}**: {counts}{error}"
