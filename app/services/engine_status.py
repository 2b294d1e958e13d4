"""Which face engine serves swaps, in words, and the background model download behind it.

With FACESWAP_AUTO_DOWNLOAD=true, `start_model_download` fetches and verifies the insightface
files on a daemon thread; once they verify, the context switches to insightface without a
restart. Offline, the download fails within seconds and the status line says why the app
stays on the classic engine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from app.context import AppContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineStatus:
    name: str  # the engine that serves (or will serve) swaps now
    line: str  # "classic (offline)" or "insightface on CUDA"
    hint: str | None  # download progress, why the better engine is not used, or how to get it
    ready: bool  # nothing left to change: the engine is loaded and no download is under way


def start_model_download(ctx: AppContext) -> bool:
    """Start the background download when the settings ask for it; True when one was started."""
    from pipeline.background_download import BackgroundDownload
    from pipeline.insight.model_files import INSIGHTFACE_MANIFEST
    from pipeline.model_download import all_verified

    settings = ctx.settings
    if not settings.auto_download or settings.engine == "classic" or ctx.model_download is not None:
        return False
    manifest = ctx.model_manifest or INSIGHTFACE_MANIFEST
    if all_verified(settings.models_dir, manifest):
        return False
    download = BackgroundDownload(
        settings.models_dir,
        base_url_override=settings.models_base_url,
        manifest=manifest,
        on_verified=_switch_engine(ctx),
    )
    ctx.model_download = download
    download.start()
    log.info("fetching the insightface model files in the background into %s", settings.models_dir)
    return True


def _switch_engine(ctx: AppContext) -> Callable[[], None]:
    def switch() -> None:
        engine = ctx.reload_face_engine()
        log.info("model files verified: swaps now run on %s", engine.name)

    return switch


def engine_status(ctx: AppContext) -> EngineStatus:
    """The engine in words without loading it on this call, with the download's progress if any."""
    from pipeline.engines import describe_engine

    engine = ctx.loaded_face_engine()
    decision = ctx.engine_decision()
    if engine is not None:
        name, line = engine.name, describe_engine(engine)
    else:
        name = decision.name
        line = "classic (offline)" if decision.name == "classic" else f"{decision.name} (loading)"
    download = ctx.model_download.progress() if ctx.model_download is not None else None
    settled = download is None or download.finished
    switch_pending = download is not None and download.state == "verified" and name != "insightface"
    hint: str | None = None
    if download is not None and not download.finished:
        hint = f"insightface: {download.describe()}"
    elif download is not None and download.state == "failed":
        hint = f"insightface unavailable, staying on classic: {download.describe()}"
    elif switch_pending:
        hint = "insightface model files verified; loading it"
    elif name == "classic":
        hint = "for better quality run `python app.py models download` and restart"
    return EngineStatus(name, line, hint, ready=engine is not None and settled and not switch_pending)
