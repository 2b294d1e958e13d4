"""The Face mapping tab (3): the templates to swap into, then who goes where: each picked template's
faces, left to right, with husband / wife / keep. Picking and mapping sit together so the flow runs
forward: photos (1) → browse templates (2) → pick and map (3) → consent and swap (4)."""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import partial
from typing import Any

import gradio as gr

from app.ui import rendering
from app.ui.actions import ROLE_CHOICES, UIActions
from app.ui.mapping_state import with_role, without_templates
from app.ui.visitor import VisitorBox


EMPTY_HINT = (
    "**Nothing picked yet.** Tick templates above (or press *Use this template* on **2 · Templates**). "
    "Each one's faces then appear here, numbered from 0 on the left, each set to husband, wife or keep. "
    "When it looks right, go on to **4 · Swap**."
)


@dataclass(frozen=True)
class MappingTab:
    mappings: gr.State
    version: gr.State
    reset: gr.Button


def create_tab(actions: UIActions, selected: gr.CheckboxGroup, visitor: VisitorBox) -> MappingTab:
    with gr.Tab("3 · Face mapping", id="mapping"):
        mappings, version = gr.State({}), gr.State(0)
        selected.render()
        gr.Markdown(
            "By default the husband goes onto the most prominent man and the wife onto the most prominent "
            "woman; every other face is kept. Change any face below; your choices go with the swap.",
            elem_id="mapping-intro",
        )
        reset = gr.Button("Reset to automatic", size="sm", min_width=180, elem_id="reset-mapping")
        hint = gr.Markdown(EMPTY_HINT, elem_id="mapping-hint", elem_classes="cs-hint-box")  # also before any event

        @gr.render(inputs=[selected, mappings, *visitor.inputs], triggers=[selected.change, version.change])
        def faces(
            chosen: list[str] | None,
            current: dict[str, dict[str, str]] | None,
            session_token: str | None,
            browser_token: str | None,
        ) -> None:
            if not chosen:
                return
            session_id = actions.owner(session_token, browser_token)
            for value in chosen:
                view = actions.mapping_view(int(value), current, session_id)
                with gr.Column(elem_classes="cs-mapping-card"):
                    gr.Markdown(f"**{html.escape(view.name)}** · template #{view.template_id}")
                    if view.note:
                        gr.Markdown(f"<span class='cs-note'>{html.escape(view.note)}</span>")
                    if not view.faces:
                        gr.Markdown("No preprocessed faces: this template cannot be swapped.")
                        continue
                    with gr.Row():
                        for face in view.faces:
                            with gr.Column(min_width=112, elem_classes="cs-face-card"):
                                gr.Image(
                                    face.thumb,
                                    show_label=False,
                                    interactive=False,
                                    height=112,
                                    buttons=[],
                                    container=False,
                                    key=f"thumb-{view.template_id}-{face.index}",
                                )
                                radio = gr.Radio(
                                    list(ROLE_CHOICES),
                                    value=face.role,
                                    label=f"Face {face.index} · {rendering.gender_word(face.gender)}",  # the JSON index
                                    interactive=True,
                                    key=f"role-{view.template_id}-{face.index}",
                                    elem_id=f"role-{view.template_id}-{face.index}",
                                )
                                radio.input(
                                    partial(set_role, view.template_id, view.defaults, face.index),
                                    [radio, mappings],
                                    [mappings],
                                    api_visibility="private",
                                    show_progress="hidden",
                                )

        def reset_selected(chosen: list[str] | None, current: dict[str, dict[str, str]] | None, count: int) -> Any:
            return without_templates(current, [int(v) for v in chosen or []]), count + 1

        selected.change(
            lambda chosen: gr.update(visible=not chosen), [selected], [hint], api_visibility="private",
            show_progress="hidden", preprocess=False,
        )
        reset.click(reset_selected, [selected, mappings, version], [mappings, version], api_name="reset_mapping")
    return MappingTab(mappings, version, reset)


def set_role(
    template_id: int, defaults: dict[int, str], index: int, role: str, current: dict[str, dict[str, str]] | None
) -> dict[str, dict[str, str]]:
    return with_role(current, template_id, defaults, index, role)
