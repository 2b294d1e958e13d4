"""The insightface quality engine: buffalo_l detection, gender/age and ArcFace, inswapper_128 swap."""

from pipeline.insight.engine import InsightFaceEngine

__all__ = ["InsightFaceEngine"]
