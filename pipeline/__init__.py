"""Image work only: decode, detect, classify gender, mask, map and swap faces.

This package imports no gradio, db, huey or app code.
"""
