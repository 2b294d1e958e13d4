"""A small, visible "AI-generated" mark in the bottom-right corner of a result."""

from __future__ import annotations

import cv2
import numpy as np

from pipeline.face import RGBImage

MARK_TEXT = "AI-generated"


def add_ai_mark(image: RGBImage) -> RGBImage:
    """Return a copy with a semi-transparent label; scales with the image size."""
    out = image.copy()
    height, width = out.shape[:2]
    scale = max(0.35, min(width, height) / 1400)
    thickness = max(1, round(scale * 1.6))
    (text_w, text_h), baseline = cv2.getTextSize(MARK_TEXT, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    pad = max(4, round(text_h * 0.45))
    x2, y2 = width - pad, height - pad
    x1, y1 = max(0, x2 - text_w - 2 * pad), max(0, y2 - text_h - baseline - 2 * pad)
    box = out[y1:y2, x1:x2].astype(np.float32)
    out[y1:y2, x1:x2] = (box * 0.55).astype(np.uint8)
    cv2.putText(
        out,
        MARK_TEXT,
        (x1 + pad, y2 - pad - baseline // 2),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (255, 255, 255),
        thickness,
        cv2.LINE_AA,
    )
    return out
