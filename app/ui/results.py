"""Tab 4: pick templates, give consent, run; live progress, results as they finish, before/after, ZIP."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from app.ui.actions import UIActions

POLL_SECONDS = 0.4


@dataclass(frozen=True)
class ResultsTab:
    selected: gr.CheckboxGroup
    consent: gr.Checkbox
    run: gr.Button
    progress: gr.HTML
    gallery: gr.Gallery
    slider: gr.ImageSlider
    failures: gr.Markdown
    download: gr.DownloadButton
    timer: gr.Timer
    batch: gr.State
    shown: gr.State


def create_tab(actions: UIActions) -> ResultsTab:
    batch, shown = gr.State(None), gr.State(0)
    timer = gr.Timer(POLL_SECONDS, active=False)
    with gr.Tab("4 · Swap", id="swap"):
        selected = gr.CheckboxGroup(
            [], label="Templates to swap into", info="Pick one or many.", elem_id="template-picker"
        )
        with gr.Row(elem_classes="cs-run-row"):
            consent = gr.Checkbox(
                label="I have the consent of the people in these photos", value=False, elem_id="consent", scale=3
            )
            run = gr.Button("Swap faces", variant="primary", size="lg", scale=2, min_width=200, elem_id="run")
        progress = gr.HTML(elem_id="progress")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=300):
                gallery = gr.Gallery(
                    label="Results",
                    columns=2,
                    height=460,
                    object_fit="contain",
                    format="jpeg",
                    elem_id="results-gallery",
                )
                failures = gr.Markdown(elem_id="failures")
                download = gr.DownloadButton(
                    "Download all results (ZIP)", visible=False, variant="secondary", elem_id="download-zip"
                )
            with gr.Column(scale=2, min_width=280):
                slider = gr.ImageSlider(
                    label="Before / after (click a result)",
                    interactive=False,
                    format="jpeg",
                    max_height=460,
                    elem_id="before-after",
                )
    return ResultsTab(selected, consent, run, progress, gallery, slider, failures, download, timer, batch, shown)
