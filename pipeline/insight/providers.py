"""Which onnxruntime execution providers the insightface sessions use."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

ExecutionProvider = Literal["CUDAExecutionProvider", "CPUExecutionProvider"]
CUDA: ExecutionProvider = "CUDAExecutionProvider"
CPU: ExecutionProvider = "CPUExecutionProvider"


def choose_providers(available: Sequence[str]) -> list[ExecutionProvider]:
    """CUDA first when onnxruntime offers it (onnxruntime-gpu on a GPU host), CPU always as fallback."""
    return [CUDA, CPU] if CUDA in available else [CPU]


def ctx_id_for(providers: Sequence[str]) -> int:
    """insightface's prepare() switches a session to CPU for a negative ctx_id."""
    return 0 if providers and providers[0] == CUDA else -1


def provider_label(provider: str) -> str:
    """'CUDAExecutionProvider' -> 'CUDA'."""
    return provider.removesuffix("ExecutionProvider") or provider
