"""The face enhancer's model file: GFPGAN 1.4 as ONNX, pinned by URL, size and sha256.

Where the pins come from (public sources, the same file under three URLs):
- sha256 6548e54c…2b73: the model lists of VisoMaster and Rope (`GFPGANv1.4.onnx`, the file their
  GitHub asset releases carry) and of crappy-face-swap's README; size 340,256,690 bytes: model
  manifests that fetch it from netrunner-exe/Face-Upscalers-onnx (Hugging Face) and from
  harisreedhar/Face-Upscalers-ONNX (GitHub release "Models").
- Licence: TencentARC/GFPGAN's code and GFPGANv1.4 weights are Apache-2.0; the ONNX conversion's
  Hugging Face card asks for non-commercial, academic or educational use. README names both.
Checking and downloading are pipeline/model_download.py's, shared with the insightface files.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pipeline.model_download import Download, ModelFile, ModelManifest

ENHANCER_ROLE = "enhancer"
ENHANCER_LABEL = "face enhancer"

GFPGAN_1_4_ONNX = Download(
    file_name="GFPGANv1.4.onnx",
    urls=(
        "https://huggingface.co/netrunner-exe/Face-Upscalers-onnx/resolve/main/GFPGANv1.4.onnx",
        "https://github.com/harisreedhar/Face-Upscalers-ONNX/releases/download/Models/GFPGANv1.4.onnx",
        "https://github.com/Alucard24/rope-assets/releases/download/v1.0.8/GFPGANv1.4.onnx",
    ),
    sha256="6548e54cbcf248af385248f0c1193b359c37a0f98b836282b09cf48af4fd2b73",
    size=340_256_690,
)

ENHANCER_MANIFEST = ModelManifest(
    label=ENHANCER_LABEL,
    files=(
        ModelFile(
            role=ENHANCER_ROLE,
            name=GFPGAN_1_4_ONNX.file_name,
            sha256=GFPGAN_1_4_ONNX.sha256,
            size=GFPGAN_1_4_ONNX.size,
            source=GFPGAN_1_4_ONNX,
        ),
    ),
)


@dataclass(frozen=True)
class EnhancerModel:
    """How the model is fed: a square RGB crop aligned on five points, values in [-1, 1], NCHW."""

    title: str
    size: int  # crop side in pixels (input and output are 1 x 3 x size x size)
    template: NDArray[np.float64]  # the five points (eyes, nose, mouth corners) in crop pixels


# GFPGAN's own 512-px FFHQ alignment template (facexlib's face_template, used by GFPGANer).
GFPGAN_1_4 = EnhancerModel(
    title="GFPGAN 1.4",
    size=512,
    template=np.array(
        [
            [192.98138, 239.94708],
            [318.90277, 240.19360],
            [256.63416, 314.01935],
            [201.26117, 371.41043],
            [313.08905, 371.15118],
        ],
        dtype=np.float64,
    ),
)
