"""Execution providers of the insightface sessions (the choice itself is pipeline/providers.py)."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.providers import CPU, CUDA, ExecutionProvider, choose_providers, provider_label

__all__ = ["CPU", "CUDA", "ExecutionProvider", "choose_providers", "ctx_id_for", "provider_label"]


def ctx_id_for(providers: Sequence[str]) -> int:
    """insightface's prepare() switches a session to CPU for a negative ctx_id."""
    return 0 if providers and providers[0] == CUDA else -1
