"""Detection recall by face size, yaw and sunglasses: dlib HOG against MediaPipe's full-range detector.

    python tools/detection_recall.py [--json docs/detection_recall.json]

The faces: the labelled faces of app/bench/gender_labels.json in their photos (packages: insightface,
matplotlib, scikit-image, opencv-doc, face_recognition), and variants made in code from every face the
reference finds in them and in t1.jpg and the bench portraits:
- sunglasses: dark lenses, a bridge and temples drawn on the 68 landmarks;
- turned: the head turned 30, 45 and 60 degrees in depth (tests/pipeline/face_variants.turn_head: the
  mesh rotated, the photo's texture rendered onto it);
- small: the face scaled to 60, 80 and 110 px (box width) on a 1280x960 canvas of blurred background;
- a group: five faces on one canvas, the largest one in sunglasses.
The reference for a variant's box is the face's own dlib-style box (from its 68 landmarks), moved with
the variant. A face counts as found when a detection's centre lies inside its box and the two sizes are
within 2x; every other detection on a canvas made in code is a false positive.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.bench.gender_eval import load_labels, load_photo  # noqa: E402
from pipeline.classic.detector import Detection, HogDetector, five_points, hog_box_from_keypoints  # noqa: E402
from pipeline.classic.engine import ClassicEngine  # noqa: E402
from pipeline.classic.full_range import FullRangeDetector, FullRangeSettings, HogThenFullRange  # noqa: E402
from pipeline.pose import estimate_yaw  # noqa: E402
from tests.pipeline.detection_cases import background, on_canvas, sunglasses  # noqa: E402

RGB = NDArray[np.uint8]
Box = tuple[float, float, float, float]
SIZES = (60, 80, 110)
TURNS = (-60.0, -45.0, -30.0, 30.0, 45.0, 60.0)


@dataclass(frozen=True)
class Case:
    name: str
    image: RGB
    faces: list[tuple[Box, dict[str, str]]]  # reference box, labels (size, yaw, sunglasses)
    made: bool  # made in code: unmatched detections are false positives


def size_bucket(box: Box) -> str:
    width = box[2] - box[0]
    return "<60" if width < 60 else "60-110" if width <= 110 else "110-200" if width <= 200 else ">200"


def yaw_bucket(degrees: float) -> str:
    value = abs(degrees)
    return "0-15" if value < 15 else "15-35" if value < 35 else "35-60" if value <= 62 else ">60"


def reference_box(landmarks: NDArray[np.float32]) -> Box:
    return hog_box_from_keypoints(five_points(landmarks))


def face_crop(image: RGB, box: Box, margin: float = 0.9) -> tuple[RGB, tuple[int, int]]:
    size = box[2] - box[0]
    left, top = int(max(0, box[0] - margin * size)), int(max(0, box[1] - margin * size))
    right = int(min(image.shape[1], box[2] + margin * size))
    bottom = int(min(image.shape[0], box[3] + margin * size))
    return np.ascontiguousarray(image[top:bottom, left:right]), (left, top)


def base_faces(engine: ClassicEngine) -> list[tuple[str, RGB, Box, NDArray[np.float32], NDArray[np.float32]]]:
    """(name, crop, box, 68 landmarks, mesh) of every face the HOG engine finds in the base photos."""
    from pipeline.intake import read_image_file
    from app.bench.sample_portraits import PORTRAITS, load_portrait
    from pipeline.samples import sample_paths

    photos: list[tuple[str, RGB]] = [("t1", read_image_file(sample_paths().t1).array)]
    for key in PORTRAITS:
        try:
            photos.append((key, load_portrait(key)))
        except Exception:  # noqa: BLE001 - a package that is not installed
            continue
    folder = Path(sys.prefix) / "share" / "coswap" / "face_recognition_test_images"
    photos += [(path.stem, read_image_file(path).array) for path in sorted(folder.glob("*.jpg"))[:6]]
    bases = []
    for name, image in photos:
        for number, face in enumerate(engine.detect(image)):
            if face.landmarks is None or face.mesh is None:
                continue
            landmarks = face.landmarks_array()
            box = reference_box(landmarks)  # type: ignore[arg-type]
            crop, (left, top) = face_crop(image, box)
            shift = np.array([left, top], dtype=np.float32)
            local_box = (box[0] - left, box[1] - top, box[2] - left, box[3] - top)
            mesh = face.mesh_array().copy()  # type: ignore[union-attr]
            mesh[:, :2] -= shift
            bases.append((f"{name}#{number}", crop, local_box, landmarks - shift, mesh))
    return bases


def build_cases(engine: ClassicEngine) -> list[Case]:
    from tests.pipeline.face_variants import turn_head

    triangles = engine._loaded().mesher.canonical.triangles
    rng = np.random.default_rng(22)
    cases: list[Case] = []
    for face in load_labels():
        photo = load_photo(face)
        if photo is not None:
            cases.append(Case(f"labelled {face.file}", photo, [(face.box, {"sunglasses": "no"})], made=False))
    bases = base_faces(engine)
    for name, crop, box, landmarks, mesh in bases:
        yaw = estimate_yaw_from(engine, crop)
        labels = {"sunglasses": "no", "yaw": yaw_bucket(yaw)}
        dark = sunglasses(crop, landmarks)
        cases.append(Case(f"{name} sunglasses", dark, [(box, {**labels, "sunglasses": "yes"})], made=True))
        for width in SIZES:
            canvas, moved = on_canvas(crop, box, width, rng)
            cases.append(Case(f"{name} {width}px", canvas, [(moved, labels)], made=True))
            canvas, moved = on_canvas(dark, box, width, rng)
            cases.append(Case(f"{name} {width}px sunglasses", canvas, [(moved, {**labels, "sunglasses": "yes"})], made=True))
        if box[2] - box[0] >= 90:
            for degrees in TURNS:
                turned, _ = turn_head(crop, mesh, triangles, degrees)
                total = yaw + degrees
                cases.append(Case(f"{name} turned {degrees:+.0f}", turned, [(box, {"sunglasses": "no", "yaw": yaw_bucket(total)})], made=True))
    cases += group_cases(bases, rng)
    return cases


def group_cases(bases: list, rng: np.random.Generator) -> list[Case]:  # type: ignore[type-arg]
    """Five people side by side on one 1600x1000 canvas, the largest face (240 px) in sunglasses, the
    others 150 to 90 px: a group photo whose main face is hidden behind sunglasses."""
    large = [base for base in bases if base[2][2] - base[2][0] >= 90]
    cases = []
    for start in range(0, max(0, len(large) - 4), 3):
        chosen = large[start : start + 5]
        canvas = background(1600, 1000, rng)
        faces = []
        x = 10
        for slot, ((_, crop, box, landmarks, _), width) in enumerate(zip(chosen, (240, 150, 130, 110, 90))):
            image = sunglasses(crop, landmarks) if slot == 0 else crop
            size = box[2] - box[0]
            left, top = int(max(0, box[0] - 0.4 * size)), int(max(0, box[1] - 0.5 * size))
            right, bottom = int(min(image.shape[1], box[2] + 0.4 * size)), int(min(image.shape[0], box[3] + 0.9 * size))
            scale = width / size
            part = image[top:bottom, left:right]
            small = cv2.resize(part, (round(part.shape[1] * scale), round(part.shape[0] * scale)), interpolation=cv2.INTER_AREA)
            y = 120 + int(slot > 0) * 200 + int(rng.integers(0, 80))
            h, w = min(small.shape[0], 1000 - y), min(small.shape[1], 1600 - x)
            canvas[y : y + h, x : x + w] = small[:h, :w]
            faces.append((
                ((box[0] - left) * scale + x, (box[1] - top) * scale + y, (box[2] - left) * scale + x, (box[3] - top) * scale + y),
                {"sunglasses": "yes" if slot == 0 else "no"},
            ))
            x += w + 15
        cases.append(Case(f"group of 5 from {chosen[0][0]}", canvas, faces, made=True))
    return cases


def estimate_yaw_from(engine: ClassicEngine, image: RGB) -> float:
    faces = engine.detect(image)
    return estimate_yaw(faces[0]) if faces else 0.0


def matched(box: Box, detection: Box) -> bool:
    cx, cy = (detection[0] + detection[2]) / 2, (detection[1] + detection[3]) / 2
    inside = box[0] <= cx <= box[2] and box[1] <= cy <= box[3]
    ratio = (detection[2] - detection[0]) / max(1.0, box[2] - box[0])
    return inside and 0.5 <= ratio <= 2.0


def evaluate(cases: list[Case], detect: Callable[[RGB], list[Detection]]) -> dict[str, object]:
    found_by: dict[str, dict[str, list[int]]] = {}
    false_positives = 0
    seconds = []
    missed = []
    for case in cases:
        started = time.perf_counter()
        boxes = [d.box for d in detect(case.image)]
        seconds.append(time.perf_counter() - started)
        used = set()
        for box, labels in case.faces:
            hit = next((i for i, d in enumerate(boxes) if i not in used and matched(box, d)), None)
            if hit is not None:
                used.add(hit)
            else:
                missed.append(case.name)
            keys = {"all": "all", "size": size_bucket(box), **labels}
            for axis, value in keys.items():
                tally = found_by.setdefault(f"{axis}={value}", [0, 0])
                tally[0] += hit is not None
                tally[1] += 1
        if case.made:
            false_positives += len(boxes) - len(used)
    return {
        "recall": {key: f"{found}/{total}" for key, (found, total) in sorted(found_by.items())},
        "false_positives_on_made_images": false_positives,
        "seconds_median": round(statistics.median(seconds), 4),
        "missed": missed,
    }


def t1_seconds(detect: Callable[[RGB], list[Detection]], runs: int = 7) -> float:
    from pipeline.intake import read_image_file
    from pipeline.samples import sample_paths

    t1 = read_image_file(sample_paths().t1).array
    detect(t1)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        detect(t1)
        samples.append(time.perf_counter() - started)
    return round(statistics.median(samples), 4)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    hog = HogDetector()
    engine = ClassicEngine(detector=hog)
    cases = build_cases(engine)
    faces = sum(len(case.faces) for case in cases)
    print(f"{len(cases)} images, {faces} faces")
    detectors: dict[str, Callable[[RGB], list[Detection]]] = {"dlib HOG": hog.detect}
    for tile in (640, 768, 10_000):
        full_range = FullRangeDetector(settings=FullRangeSettings(tile_side=tile))
        label = "whole image" if tile == 10_000 else f"tiles {tile}"
        detectors[f"full range, {label}"] = full_range.detect
        detectors[f"HOG then full range, {label}"] = HogThenFullRange(hog, full_range).detect
    report = {}
    for name, detect in detectors.items():
        result = evaluate(cases, detect)
        result["t1_seconds"] = t1_seconds(detect)
        report[name] = result
        recall = result["recall"]
        print(f"{name}: all {recall['all=all']}, t1 {result['t1_seconds']} s, FP {result['false_positives_on_made_images']}")  # type: ignore[index]
        print("   ", {k: v for k, v in recall.items() if k != "all=all"})  # type: ignore[union-attr]
    if args.json:
        args.json.write_text(json.dumps({"images": len(cases), "faces": faces, "detectors": report}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
