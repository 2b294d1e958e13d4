"""Engine selection: which FaceEngine runs, why, and how to build it. Engines are imported lazily."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.engine_choice import ENGINE_CHOICES, EngineChoice
from pipeline.face import EngineName, FaceEngine
from pipeline.insight.model_files import INSIGHTFACE_MANIFEST
from pipeline.model_download import DOWNLOAD_HINT, ModelManifest, check_model_files, problems_summary



@dataclass(frozen=True)
class EngineDecision:
    name: EngineName
    reason: str


def resolve_engine(
    choice: EngineChoice, models_dir: Path, manifest: ModelManifest = INSIGHTFACE_MANIFEST
) -> EngineDecision:
    """`auto` is insightface when all its model files are present and verified, else classic."""
    if choice == "classic":
        return EngineDecision("classic", "classic engine requested")
    statuses = check_model_files(models_dir, manifest)
    ready = all(status.ok for status in statuses)
    if choice == "insightface":
        if ready:
            return EngineDecision("insightface", f"insightface requested; model files verified in {models_dir}")
        return EngineDecision(
            "insightface",
            f"insightface requested but its model files in {models_dir} are not usable "
            f"({problems_summary(statuses)}); {DOWNLOAD_HINT}",
        )
    if choice != "auto":
        raise ValueError(f"unknown engine choice {choice!r}; expected one of {', '.join(ENGINE_CHOICES)}")
    if ready:
        return EngineDecision("insightface", f"insightface model files verified in {models_dir}")
    missing = all(status.state == "missing" for status in statuses)
    problem = "missing" if missing else f"not usable ({problems_summary(statuses)})"
    return EngineDecision("classic", f"insightface model files {problem} in {models_dir}; {DOWNLOAD_HINT}")


def create_engine(name: EngineName, models_dir: Path, manifest: ModelManifest = INSIGHTFACE_MANIFEST) -> FaceEngine:
    """Build (not load) the named engine; call warmup() to load its models."""
    if name == "classic":
        from pipeline.classic.engine import create_classic_engine

        return create_classic_engine()
    if name == "insightface":
        from pipeline.insight.engine import InsightFaceEngine

        return InsightFaceEngine(models_dir, manifest=manifest)
    raise ValueError(f"unknown engine {name!r}; expected classic or insightface")


def describe_engine(engine: FaceEngine) -> str:
    """'classic (offline)' or 'insightface on CUDA' / 'insightface on CPU'."""
    if engine.name == "classic":
        return "classic (offline)"
    provider = engine.provider
    return f"{engine.name} on {provider.removesuffix('ExecutionProvider') or provider}"
