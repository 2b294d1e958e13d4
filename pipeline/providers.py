"""Which onnxruntime execution providers a model session asks for: CUDA first when there, CPU always."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

ExecutionProvider = Literal["CUDAExecutionProvider", "CPUExecutionProvider"]
CUDA: ExecutionProvider = "CUDAExecutionProvider"
CPU: ExecutionProvider = "CPUExecutionProvider"


def choose_providers(available: Sequence[str]) -> list[ExecutionProvider]:
    """CUDA first when onnxruntime offers it (onnxruntime-gpu on a GPU host), CPU always as fallback."""
    return [CUDA, CPU] if CUDA in available else [CPU]


def provider_label(provider: str) -> str:
    """'CUDAExecutionProvider' -> 'CUDA'."""
    return provider.removesuffix("ExecutionProvider") or provider
