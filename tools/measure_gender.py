"""Gender accuracy of every candidate on the labelled set; writes the JSON that BENCHMARKS.md quotes.

    python tools/measure_gender.py [--faceres FACERES.onnx] [--json docs/gender_eval.json]

Candidates: the CC0 network alone (the engine before issue 10), the mini-Xception network alone, the
two combined (the engine before the face-api network), face-api.js's gender network alone, the three
combined (the engine now), and, when given, HSE `faceres` converted by tools/convert_tfjs_gender.py
(measured only: its upstream repository has no licence, so it is not shipped).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.bench.gender_eval import Box, build_samples, evaluate, measure_classic  # noqa: E402
from pipeline.classic.detector import LandmarkPredictor, Points  # noqa: E402
from pipeline.classic.gender import FACEAPI_INPUT_NAME, UNSURE_BELOW, _faceapi_crop, _xception_crop  # noqa: E402
from pipeline.classic.models import classic_model_files  # noqa: E402
from pipeline.face import Gender  # noqa: E402

HSE_BGR_MEANS = np.array([103.939, 116.779, 123.68], np.float32)


def _decide(male: float) -> tuple[Gender, float]:
    """The engine's rule: the likelier gender, or unknown below UNSURE_BELOW."""
    gender, score = (Gender.MALE, male) if male >= 0.5 else (Gender.FEMALE, 1.0 - male)
    return (gender if score >= UNSURE_BELOW else Gender.UNKNOWN), score


def xception_alone(path: Path):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def classify(image: np.ndarray, box: Box, landmarks: Points) -> tuple[Gender, float]:
        crop = _xception_crop(image, box)[None]
        both = np.concatenate([crop, crop[:, :, ::-1]])
        return _decide(float(session.run(None, {"input": both})[0][:, 1].mean()))

    return classify


def faceapi_alone(path: Path):
    """face-api.js's gender network on the engine's crop (the dlib box padded to a square), run once."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def classify(image: np.ndarray, box: Box, landmarks: Points) -> tuple[Gender, float]:
        batch = _faceapi_crop(image, box)[None]
        return _decide(float(session.run(None, {FACEAPI_INPUT_NAME: batch})[0][0, 1]))

    return classify


def faceres(path: Path):
    """HSE's own preprocessing: the box grown by 10 %, 224x224, BGR minus the ImageNet means."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def classify(image: np.ndarray, box: Box, landmarks: Points) -> tuple[Gender, float]:
        left, top, right, bottom = box
        grow = 0.1 * (right - left)
        source = np.float32([[left - grow, top - grow], [right + grow, top - grow], [left - grow, bottom + grow]])
        matrix = cv2.getAffineTransform(source, np.float32([[0, 0], [224, 0], [0, 224]]))
        crop = cv2.warpAffine(image, matrix, (224, 224), borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        batch = (crop[..., ::-1] - HSE_BGR_MEANS)[None]
        return _decide(float(session.run(None, {"input": batch})[0][0, 0]))

    return classify


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--faceres", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    files = classic_model_files()
    cc0, before, now = measure_classic(files)
    samples, missing = build_samples(LandmarkPredictor(files.landmarks_68))
    reports = [
        cc0,
        evaluate("mini-Xception alone", xception_alone(files.gender_xception_onnx), samples, missing),
        before,
        evaluate("face-api alone", faceapi_alone(files.gender_faceapi_onnx), samples, missing),
        now,
    ]
    if args.faceres:
        reports.append(evaluate("HSE faceres (not shipped: no licence)", faceres(args.faceres), samples, missing))
    text = json.dumps([report.as_dict() for report in reports], indent=1)
    if args.json:
        args.json.write_text(text + "\n")
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
