"""The face enhancer as a choice: whether it can run (and why not), the strength asked for, the post-swap
steps it adds, and its model file's background download (FACESWAP_AUTO_DOWNLOAD).

Enhancing needs GFPGANv1.4.onnx in the models dir, verified. Without it every way in refuses with the
same one line (UI: the choice is off with the reason; CLI: exit 2; API: the error). Once the file
verifies (`models download`, or the background download) the next request can enhance: no restart.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

from app.context import AppContext
from app.errors import InvalidRequest
from app.services.post_swap import FaceEnhance, PostSwapStep, default_steps

if TYPE_CHECKING:
    from pipeline.model_download import ModelFileStatus, ModelManifest

log = logging.getLogger(__name__)

DEFAULT_STRENGTH = 0.8


def unavailable_reason(ctx: AppContext) -> str | None:
    """Why faces cannot be enhanced now (with the download's progress while it runs), or None."""
    reason = ctx.face_enhancer().unavailable_reason()
    download = ctx.enhancer_download.progress() if ctx.enhancer_download is not None else None
    if reason is not None and download is not None and not download.finished:
        return f"enhancing is unavailable until its model file arrives: {download.describe()}"
    if reason is not None and download is not None and download.state == "failed":
        return f"enhancing is unavailable: {download.describe()}"
    return reason


def unavailable_note(ctx: AppContext, *, operator: bool) -> str | None:
    """`unavailable_reason` for a refusal (CLI, API): in full for the operator; for visitors of a public
    server without paths or operator advice (what is missing, and the download's progress while it runs)."""
    reason = unavailable_reason(ctx)
    if reason is None or operator:
        return None if reason is None else reason.replace("`", "")
    return _visitor_note(ctx)


def page_note(ctx: AppContext) -> str | None:
    """Why "Enhance faces" is off, as one short Markdown line for the page, never with a path: for the
    local user what is wrong with the model and the command that fetches it (`models status` has the
    details); for visitors of a public server no operator advice. None when enhancing can run."""
    if unavailable_reason(ctx) is None:
        return None
    if ctx.settings.is_public_demo:
        return _visitor_note(ctx)
    title = ctx.face_enhancer().model.title
    download = ctx.enhancer_download.progress() if ctx.enhancer_download is not None else None
    if download is not None and not download.finished:
        return f"Enhancing is off until the {title} model arrives ({download.describe()})."
    if download is not None and download.state == "failed":
        problem = "could not be downloaded"
    elif all(status.state == "missing" for status in _file_statuses(ctx)):
        problem = "is not downloaded"
    else:
        problem = "file is incomplete or not the expected one"
    return f"Enhancing is off: the {title} model {problem}. Run `python app.py models download`."


def _visitor_note(ctx: AppContext) -> str:
    download = ctx.enhancer_download.progress() if ctx.enhancer_download is not None else None
    if download is not None and not download.finished:
        return f"Enhancing faces is unavailable until its model file arrives ({download.describe()})."
    return "Enhancing faces is unavailable on this server: its model file is not installed."


def _manifest(ctx: AppContext) -> ModelManifest:
    """The enhancer's pinned files: the context's (tests' stand-in) or GFPGAN 1.4's."""
    from pipeline.enhance.model_files import ENHANCER_MANIFEST

    return ctx.enhancer_manifest or ENHANCER_MANIFEST


def _file_statuses(ctx: AppContext) -> list[ModelFileStatus]:
    from pipeline.model_download import check_model_files

    return check_model_files(ctx.settings.models_dir, _manifest(ctx))


def downloading(ctx: AppContext) -> bool:
    """Whether the enhancer's file is being fetched in the background now."""
    return ctx.enhancer_download is not None and not ctx.enhancer_download.progress().finished


def parse_strength(value: Any, *, label: str = "enhance strength") -> float:
    """A strength from 0 to 1 (a number or its text); anything else is refused with one line."""
    try:
        strength = float(value)
    except (TypeError, ValueError):
        raise InvalidRequest(f"{label} must be a number from 0 to 1, got {str(value)[:20]!r}") from None
    if not math.isfinite(strength) or not 0.0 <= strength <= 1.0:
        raise InvalidRequest(f"{label} must be from 0 to 1, got {strength:g}")
    return strength


def requested_strength(ctx: AppContext, enhance: bool, strength: Any = DEFAULT_STRENGTH) -> float | None:
    """None when enhancing is not asked for; else the checked strength, or InvalidRequest naming why
    enhancing cannot run."""
    if not enhance:
        return None
    value = parse_strength(asked(True, strength))
    note = unavailable_note(ctx, operator=not ctx.settings.is_public_demo)  # visitors see no server paths
    if note is not None:
        raise InvalidRequest(note)
    return value


def asked(enhance: bool, strength: Any) -> Any:
    """The strength to check when enhancing is asked for (the default when none is given), else None."""
    if not enhance:
        return None
    return DEFAULT_STRENGTH if strength is None else strength


def post_swap_steps(ctx: AppContext, strength: float | None) -> tuple[PostSwapStep, ...]:
    """The steps after a swap: the enhancer at `strength` when one was asked for, then the AI mark."""
    if strength is None:
        return default_steps()
    return default_steps(FaceEnhance(ctx.face_enhancer(), strength))


def describe(ctx: AppContext) -> str:
    """'GFPGAN 1.4 on CPU' (what enhances faces, and where it runs)."""
    from pipeline.providers import provider_label

    enhancer = ctx.face_enhancer()
    return f"{enhancer.model.title} on {provider_label(enhancer.provider)}"


def start_enhancer_download(ctx: AppContext) -> bool:
    """With FACESWAP_AUTO_DOWNLOAD, fetch and verify the enhancer's file in the background; True when
    a download was started (not when the file is already there or the setting is off)."""
    from pipeline.background_download import BackgroundDownload
    from pipeline.model_download import all_verified

    settings = ctx.settings
    if not settings.auto_download or ctx.enhancer_download is not None:
        return False
    manifest = _manifest(ctx)
    if all_verified(settings.models_dir, manifest):
        return False
    download = BackgroundDownload(settings.models_dir, manifest=manifest, base_url_override=settings.models_base_url)
    ctx.enhancer_download = download
    download.start()
    log.info("fetching the face enhancer's model file in the background into %s", settings.models_dir)
    return True
