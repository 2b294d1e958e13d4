"""The Swap tab (4): what is picked, consent, run; live progress, results as they finish, before/after, ZIP.

A refusal (no consent, no photos, nothing picked, a template not ready) is checked by an event
without outputs, so it is one toast and no component loses its content or shows an error badge."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from app.ui import enhance_controls
from app.ui.actions import UIActions
from app.ui.enhance_controls import EnhanceControls
from app.ui.visitor import VisitorBox

POLL_SECONDS = 0.4
NOTHING_PICKED = "No template picked yet: pick them on **3 · Face mapping**."


@dataclass(frozen=True)
class ResultsTab:
    selected: gr.CheckboxGroup
    picked: gr.Markdown
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
    enhance: EnhanceControls


def template_picker() -> gr.CheckboxGroup:
    """The template picker, made before the tabs and rendered on the Face mapping tab."""
    return gr.CheckboxGroup(
        [],
        label="Templates to swap into",
        info="Pick one or many. Only templates ready to swap into (faces found) are listed.",
        elem_id="template-picker",
        render=False,
    )


def create_tab(selected: gr.CheckboxGroup) -> ResultsTab:
    with gr.Tab("4 · Swap", id="swap"):
        batch, shown = gr.State(None), gr.State(0)
        timer = gr.Timer(POLL_SECONDS, active=False)
        picked = gr.Markdown(NOTHING_PICKED, elem_id="picked-summary")
        with gr.Row(elem_classes="cs-run-row"):
            consent = gr.Checkbox(
                label="I have the consent of the people in these photos", value=False, elem_id="consent", scale=3
            )
            run = gr.Button("Swap faces", variant="primary", size="lg", scale=2, min_width=200, elem_id="run")
        enhance = enhance_controls.create_controls()
        progress = gr.HTML(elem_id="progress")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=300):
                gallery = gr.Gallery(
                    label="Results",
                    columns=2,
                    height="auto",  # every result and its note in view, no inner scroll
                    object_fit="contain",
                    format="jpeg",
                    buttons=["download", "fullscreen"],  # no "share": it needs a Hugging Face Space
                    elem_id="results-gallery",
                )
                failures = gr.Markdown(elem_id="failures")
                download = gr.DownloadButton(
                    "Download all results (ZIP)", visible=False, variant="secondary", elem_id="download-zip"
                )
            with gr.Column(scale=2, min_width=280):
                gr.Markdown("**Before ◀ ▶ After** · click a result to compare it", elem_classes="cs-slider-title")
                slider = gr.ImageSlider(
                    label="Before / after",
                    show_label=False,  # the label chip would cover the image; the title above says it
                    interactive=False,
                    format="jpeg",
                    max_height=460,
                    elem_id="before-after",
                )
    return ResultsTab(
        selected, picked, consent, run, progress, gallery, slider, failures, download, timer, batch, shown, enhance
    )


def wire(
    tab: ResultsTab,
    actions: UIActions,
    visitor: VisitorBox,
    husband: gr.State,
    wife: gr.State,
    mappings: gr.State,
) -> gr.events.Dependency:
    """Run, poll and pick events of this tab; returns the poll event (for chaining)."""

    def check(
        husband_ref, wife_ref, chosen, current, consent, enhance=False, strength=None, session_token=None,
        visitor=None, request: gr.Request | None = None,
    ) -> None:
        owner = actions.owner(session_token, visitor)
        actions.check_run(
            owner, husband_ref, wife_ref, chosen, current, consent is True, actions.address(request), enhance is True,
            strength,
        )

    def summary(chosen, session_token, visitor=None) -> str:
        return actions.picked_summary(chosen, actions.owner(session_token, visitor)) or NOTHING_PICKED

    def start(
        husband_ref, wife_ref, chosen, current, consent, enhance=False, strength=None, session_token=None,
        visitor=None, request: gr.Request | None = None,
    ) -> Any:
        owner = actions.owner(session_token, visitor)
        batch_id = actions.run(
            owner, husband_ref, wife_ref, chosen, current, consent is True, actions.address(request), enhance is True,
            strength,
        )
        waiting = "<div class='cs-progress'><b>Queued…</b> the first result appears here in a moment.</div>"
        return batch_id, 0, waiting, [], "", gr.update(value=None, visible=False), None, gr.Timer(active=True)

    def poll(batch_id, shown, session_token, visitor=None) -> Any:
        view = actions.poll(actions.owner(session_token, visitor), batch_id, shown)
        return (
            view.shown,
            view.progress,
            view.gallery if view.gallery is not None else gr.skip(),
            view.failures,
            gr.update(value=view.zip_path, visible=True) if view.zip_path else gr.skip(),
            view.first if view.first is not None else gr.skip(),
            gr.Timer(active=not view.finished),
        )

    def pick(batch_id, session_token, visitor=None, evt: gr.SelectData = None) -> Any:  # type: ignore[assignment]
        if evt is None or not isinstance(evt.index, int):
            raise gr.Error("click one of the results first", print_exception=False)
        return actions.before_after(actions.owner(session_token, visitor), batch_id, evt.index)

    run_inputs = [husband, wife, tab.selected, mappings, tab.consent, *tab.enhance.inputs, *visitor.inputs]
    enhance_controls.wire(tab.enhance, actions)
    checked = tab.run.click(
        check, run_inputs, None, api_visibility="private", show_progress="hidden", preprocess=False
    )
    checked.success(
        start,
        run_inputs,
        [tab.batch, tab.shown, tab.progress, tab.gallery, tab.failures, tab.download, tab.slider, tab.timer],
        api_name="run",
        show_progress="minimal",
        preprocess=False,  # raw ids: API clients have no picker choices; the service validates them
    )
    poll_event = tab.timer.tick(
        poll,
        [tab.batch, tab.shown, *visitor.inputs],
        [tab.shown, tab.progress, tab.gallery, tab.failures, tab.download, tab.slider, tab.timer],
        api_name="poll",
        show_progress="hidden",
        trigger_mode="once",
        concurrency_limit=None,
    )
    tab.selected.change(
        summary, [tab.selected, *visitor.inputs], [tab.picked], api_visibility="private", show_progress="hidden",
        preprocess=False,
    )
    tab.gallery.select(
        pick, [tab.batch, *visitor.inputs], [tab.slider], api_name="before_after", show_progress="minimal"
    )
    return poll_event
