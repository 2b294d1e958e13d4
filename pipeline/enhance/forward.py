"""The one call into onnxruntime for the face enhancer: an aligned RGB crop in, the enhanced crop out."""

from __future__ import annotations

import numpy as np
import onnxruntime
from numpy.typing import NDArray


def forward_enhance(session: onnxruntime.InferenceSession, crop: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """`crop` is size x size x 3 RGB uint8; the model takes and gives 1 x 3 x size x size floats in [-1, 1]."""
    blob = (crop.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None]
    feed = {session.get_inputs()[0].name: np.ascontiguousarray(blob)}
    output = session.run([session.get_outputs()[0].name], feed)[0]
    pixels = (np.clip(output[0], -1.0, 1.0) + 1.0) * 127.5
    return np.ascontiguousarray(np.rint(pixels.transpose(1, 2, 0))).astype(np.uint8)
