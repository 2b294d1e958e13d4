"""The offline "classic" engine: dlib detection and landmarks, CC0 gender model, blend swap."""

from pipeline.classic.engine import ClassicEngine, create_classic_engine

__all__ = ["ClassicEngine", "create_classic_engine"]
