"""The insightface quality engine: buffalo_l detection, gender/age and ArcFace, inswapper_128 swap.

Nothing is imported here: `pipeline.insight.model_files` is read without loading insightface;
the engine is `pipeline.insight.engine.InsightFaceEngine`.
"""
