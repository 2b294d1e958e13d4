"""The Photos tab (1): the husband and wife photos, each shown with its detected face boxed and its gender.
A photo with several faces shows them as numbered choices (0 from the left), the most prominent picked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from app.ui.actions import KEEP_PERMANENT, KEEP_TEMPORARY, UIActions, uploaded_path
from app.ui.presenters import face_options
from app.ui.visitor import VisitorBox

PHOTO_SOURCES = ["upload", "clipboard", "webcam"]


@dataclass(frozen=True)
class UploadTab:
    husband_image: gr.Image
    wife_image: gr.Image
    husband_status: gr.HTML
    wife_status: gr.HTML
    husband_face: gr.Radio
    wife_face: gr.Radio
    keep: gr.Radio
    husband: gr.State
    wife: gr.State
    events: list[gr.events.Dependency]


def create_tab(
    actions: UIActions, visitor: VisitorBox, examples: list[list[str]] | None = None, *, public: bool = False
) -> UploadTab:
    """Photo events use preprocess=False: the handler gets the uploaded file's path undecoded, so
    pipeline.intake is the only decoder an upload meets (Gradio still checks the file was uploaded).
    In public mode the storage choice is not offered: everything is temporary."""
    with gr.Tab("1 · Photos", id="photos"):
        husband, wife = gr.State(None), gr.State(None)
        gr.Markdown("Upload one clear photo of each of you. The face we will use is boxed, with its gender.")
        with gr.Row(equal_height=False):
            with gr.Column(min_width=260):
                husband_image = gr.Image(
                    label="Husband", type="filepath", sources=PHOTO_SOURCES, height=340, elem_id="husband-photo"
                )
                husband_status = gr.HTML(elem_classes="cs-status", elem_id="husband-status")
                husband_face = _face_picker("husband")
            with gr.Column(min_width=260):
                wife_image = gr.Image(
                    label="Wife", type="filepath", sources=PHOTO_SOURCES, height=340, elem_id="wife-photo"
                )
                wife_status = gr.HTML(elem_classes="cs-status", elem_id="wife-status")
                wife_face = _face_picker("wife")
        ttl = actions.ttl_words()
        keep = gr.Radio(
            [(f"Delete after {ttl}", KEEP_TEMPORARY), (KEEP_PERMANENT, KEEP_PERMANENT)],
            value=KEEP_TEMPORARY,
            label="Storage of the photos you upload next",
            info=f"Temporary photos and their results are deleted after {ttl}; 'Keep' stores them until you delete them.",
            visible=not public,
        )
        example_set = (
            gr.Examples(
                examples=examples,
                inputs=[husband_image, wife_image],
                label="Try with sample photos",
                api_visibility="private",
            )
            if examples
            else None
        )

    def upload(role: str, photo: Any, keep_choice: str, session_token: str | None, visitor: str | None,
               request: gr.Request | None) -> Any:
        owner = actions.owner(session_token, visitor)
        return actions.upload_photo(role, uploaded_path(photo), keep_choice, owner, actions.address(request))

    def choose(photo_ref: Any, index: Any) -> Any:
        try:
            return actions.choose_photo_face(photo_ref, index)
        except gr.Error as refused:  # a toast; the photo keeps its face and no badge is left on it
            gr.Warning(refused.message)
            return gr.skip(), gr.skip(), gr.skip()

    def upload_husband(
        photo: Any, keep_choice: str, session_token: str | None, visitor: str | None = None,
        request: gr.Request | None = None,
    ) -> Any:
        return upload("husband", photo, keep_choice, session_token, visitor, request)

    def upload_wife(
        photo: Any, keep_choice: str, session_token: str | None, visitor: str | None = None,
        request: gr.Request | None = None,
    ) -> Any:
        return upload("wife", photo, keep_choice, session_token, visitor, request)

    def upload_both(
        husband_photo: Any, wife_photo: Any, keep_choice: str, session_token: str | None, visitor: str | None = None,
        request: gr.Request | None = None,
    ) -> Any:
        return (
            *upload("husband", husband_photo, keep_choice, session_token, visitor, request),
            *upload("wife", wife_photo, keep_choice, session_token, visitor, request),
        )

    husband_outputs = [husband_image, husband_status, husband]
    wife_outputs = [wife_image, wife_status, wife]
    for radio, state, image, status in ((husband_face, husband, husband_image, husband_status),
                                        (wife_face, wife, wife_image, wife_status)):
        radio.input(lambda index, ref: choose(ref, index), [radio, state], [image, status, state],
                    api_visibility="private", show_progress="minimal")
    events = [
        husband_image.input(
            upload_husband,
            [husband_image, keep, *visitor.inputs],
            husband_outputs,
            api_name="upload_husband",
            trigger_mode="always_last",
            preprocess=False,
        ),
        wife_image.input(
            upload_wife,
            [wife_image, keep, *visitor.inputs],
            wife_outputs,
            api_name="upload_wife",
            trigger_mode="always_last",
            preprocess=False,
        ),
    ]
    if example_set is not None:
        events.append(
            example_set.load_input_event.then(
                upload_both,
                [husband_image, wife_image, keep, *visitor.inputs],
                [*husband_outputs, *wife_outputs],
                api_visibility="private",
                preprocess=False,
            )
        )
    for event, radios, states in (
        (events[0], [husband_face], [husband]),
        (events[1], [wife_face], [wife]),
        *([(events[2], [husband_face, wife_face], [husband, wife])] if len(events) > 2 else []),
    ):  # the face pickers follow each upload (kept out of the upload endpoints' outputs)
        event.then(
            lambda *refs: tuple(face_choices(r) for r in refs) if len(refs) > 1 else face_choices(refs[0]),
            states, radios, api_visibility="private", show_progress="hidden",
        )
    return UploadTab(
        husband_image, wife_image, husband_status, wife_status, husband_face, wife_face, keep, husband, wife, events
    )


def _face_picker(role: str) -> gr.Radio:
    return gr.Radio(
        [], label="Several faces: which one is the " + role + "?", info="Numbered from 0 on the left, as in the photo.",
        visible=False, elem_id=f"{role}-face",
    )


def face_choices(photo: Any) -> Any:
    """The face picker for an uploaded photo: shown only when it has several faces, the one in use picked."""
    options = face_options(photo)
    return gr.update(choices=options, value=photo.face_index if photo else None, visible=len(options) > 1)
