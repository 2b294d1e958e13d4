"""The engine choices, one Literal for the settings, the CLI and engine selection (imports nothing heavy)."""

from __future__ import annotations

from typing import Literal

EngineChoice = Literal["auto", "classic", "insightface"]
ENGINE_CHOICES: tuple[EngineChoice, ...] = ("auto", "classic", "insightface")
