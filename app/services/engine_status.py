"""Which face engine serves swaps, in words, without loading it."""

from __future__ import annotations

from dataclasses import dataclass

from app.context import AppContext


@dataclass(frozen=True)
class EngineStatus:
    name: str
    line: str  # "classic (offline)" or "insightface on CUDA"
    hint: str | None  # how to get the better engine, when there is one
    ready: bool


def engine_status(ctx: AppContext) -> EngineStatus:
    """Which engine serves swaps, in words, without loading it on this call."""
    from pipeline.engines import describe_engine

    decision = ctx.engine_decision()
    engine = ctx.loaded_face_engine()
    if engine is not None:
        line = describe_engine(engine)
    else:
        line = "classic (offline)" if decision.name == "classic" else f"{decision.name} (loading)"
    hint = None
    if decision.name == "classic":
        hint = "for better quality run `python app.py models download` and restart"
    return EngineStatus(decision.name, line, hint, engine is not None)
