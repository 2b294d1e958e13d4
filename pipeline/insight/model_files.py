"""The insightface engine's model files: where they come from and their pinned sizes and sha256 sums.

Pinned values (public sources, cross-checked in several independent manifests):
- buffalo_l.zip from the deepinsight/insightface GitHub release v0.7, 288,621,354 bytes,
  sha256 80ffe37d…0ca2f; its members det_10g.onnx, genderage.onnx and w600k_r50.onnx with
  the sizes and sums below (the same sums ReActor's README publishes for these files).
- inswapper_128.onnx, 554,253,681 bytes, sha256 e4a3f08c…16af (Hugging Face mirror
  ezioruan/inswapper_128.onnx and facefusion-assets carry the same file).
Checking and downloading are engine-neutral: pipeline/model_download.py.
"""

from __future__ import annotations

from typing import Literal

from pipeline.model_download import Download, ModelFile, ModelManifest

InsightRole = Literal["detector", "genderage", "recognizer", "swapper"]
INSIGHT_ROLES: tuple[InsightRole, ...] = ("detector", "genderage", "recognizer", "swapper")
INSIGHTFACE_LABEL = "insightface"

BUFFALO_L_ZIP = Download(
    file_name="buffalo_l.zip",
    urls=("https://github.com/deepinsight/insightface/releases/download/v0.7/buffalo_l.zip",),
    sha256="80ffe37d8a5940d59a7384c201a2a38d4741f2f3c51eef46ebb28218a7b0ca2f",
    size=288_621_354,
)
INSWAPPER_128 = Download(
    file_name="inswapper_128.onnx",
    urls=(
        "https://huggingface.co/ezioruan/inswapper_128.onnx/resolve/main/inswapper_128.onnx",
        "https://github.com/facefusion/facefusion-assets/releases/download/models/inswapper_128.onnx",
    ),
    sha256="e4a3f08c753cb72d04e10aa0f7dbe3deebbf39567d4ead6dce08e98aa49e16af",
    size=554_253_681,
)

INSIGHTFACE_MANIFEST = ModelManifest(
    label=INSIGHTFACE_LABEL,
    files=(
        ModelFile(
            role="detector",
            name="det_10g.onnx",
            sha256="5838f7fe053675b1c7a08b633df49e7af5495cee0493c7dcf6697200b85b5b91",
            size=16_923_827,
            source=BUFFALO_L_ZIP,
            member="det_10g.onnx",
        ),
        ModelFile(
            role="genderage",
            name="genderage.onnx",
            sha256="4fde69b1c810857b88c64a335084f1c3fe8f01246c9a191b48c7bb756d6652fb",
            size=1_322_532,
            source=BUFFALO_L_ZIP,
            member="genderage.onnx",
        ),
        ModelFile(
            role="recognizer",
            name="w600k_r50.onnx",
            sha256="4c06341c33c2ca1f86781dab0e829f88ad5b64be9fba56e56bc9ebdefc619e43",
            size=174_383_860,
            source=BUFFALO_L_ZIP,
            member="w600k_r50.onnx",
        ),
        ModelFile(
            role="swapper",
            name="inswapper_128.onnx",
            sha256=INSWAPPER_128.sha256,
            size=INSWAPPER_128.size,
            source=INSWAPPER_128,
        ),
    ),
)
