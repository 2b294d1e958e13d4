"""The "Enhance faces" choice and its strength on the Swap tab (also the `/run` arguments after consent).

While the face enhancer cannot run (its model file is not there, or still arriving) the choice is off
and cannot be ticked, and the note under it says why; it follows a background download until the file
verifies. The swap itself checks again, so a stale page can never enhance without the model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from app.ui.actions import ENHANCE_STRENGTH, UIActions

FOLLOW_SECONDS = 2.0


@dataclass(frozen=True)
class EnhanceControls:
    choice: gr.Checkbox
    strength: gr.Slider
    note: gr.Markdown
    timer: gr.Timer

    @property
    def inputs(self) -> list[Any]:
        """What a run takes from here: the choice, then the strength."""
        return [self.choice, self.strength]


def create_controls() -> EnhanceControls:
    with gr.Row(elem_classes="cs-enhance-row", equal_height=True):
        choice = gr.Checkbox(
            label="Enhance faces",
            value=False,
            interactive=False,
            info="Sharpens the swapped faces (GFPGAN 1.4). Slower.",
            elem_id="enhance",
            scale=2,
        )
        strength = gr.Slider(
            0.0, 1.0, value=ENHANCE_STRENGTH, step=0.05, label="Enhance strength", elem_id="enhance-strength", scale=3
        )
    note = gr.Markdown(elem_id="enhance-note", elem_classes="cs-hint")
    return EnhanceControls(choice, strength, note, gr.Timer(FOLLOW_SECONDS, active=False))


def wire(controls: EnhanceControls, actions: UIActions) -> None:
    """On page load (and while the model file downloads): tickable or not, with the note."""

    def availability() -> Any:
        available, note, changing = actions.enhance_availability()
        choice = gr.update(interactive=True) if available else gr.update(interactive=False, value=False)
        return choice, note, gr.Timer(active=changing)

    outputs = [controls.choice, controls.note, controls.timer]
    gr.on(None, availability, None, outputs, api_visibility="private", show_progress="hidden")
    controls.timer.tick(availability, None, outputs, api_visibility="private", show_progress="hidden")
