"""Component variants that keep untrusted uploads away from any decoder but the pipeline's intake."""

from __future__ import annotations

from typing import Any

import gradio as gr


class PhotoInput(gr.Image):
    """gr.Image whose upload reaches the handler as the uploaded file's path, undecoded.

    Plain gr.Image opens every upload with PIL before the handler runs; this one leaves all
    decoding to pipeline.intake (formats, sizes, truncation and bombs are checked there).
    It renders with the frontend's Image component (`is_template`).
    """

    is_template = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["type"] = "filepath"
        super().__init__(*args, **kwargs)

    def preprocess(self, payload: Any) -> str | None:
        if payload is None:
            return None
        if getattr(payload, "url", None) and str(payload.url).startswith("data:"):
            raise gr.Error("send the photo as a file upload", print_exception=False)
        if payload.path is None:
            return None
        return str(payload.path)
