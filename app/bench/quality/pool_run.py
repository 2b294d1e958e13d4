"""Run the pool through one engine and the plain landmark swap, measure every face, and sum up each half.

A face passes when it passes the stress-set gate (identity, chroma, seam, clipping) and the pool's own
measures: eyes kept (and dlib still finds the face), no cracks, no occluder leakage where measurable.
A variant's identity is measured against the photo it was made from (the person without the drawn hand,
glasses or light), for the engine and the plain swap alike.
Beside it, glasses precision/recall of the engine's detector (`pipeline.classic.glasses.has_glasses`
on the engine's own landmarks) and the engine's detection recall on every labelled face.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from app.bench.quality.baseline import plain_swap
from app.bench.quality.harness import IDENTITY_MAX, TILE, _crop, gate_failures
from app.bench.quality.measures import (
    CRACKS_MAX,
    EYES_KEPT_MIN,
    LEAKAGE_MAX,
    crack_map,
    eyes_kept,
    leakage,
    mark_cracks,
    precision_recall,
    warp_source,
)
from app.bench.quality.metrics import colour_figures
from app.bench.quality.pool import FACES, HALVES, Half, half_of, load_photo
from app.bench.quality.pool_cases import PoolCase, PoolSource, PoolTemplate, cases
from app.bench.quality.probe import IdentityProbe, ProbedFace, distance
from pipeline.classic.glasses import has_glasses
from pipeline.classic.hands import HandFinder
from pipeline.face import Assignment, Face, FaceEngine, RGBImage, SourceFace

# A face this close to the identity limit is at the gate. Settings changes that move a half's mean distance
# by 0.004 move single faces by up to 0.04, so a pass count that changes only there is noise.
IDENTITY_GATE_BAND: Final = 0.03
POOL_FAILURES: Final = ("identity", "identity_vs_original", "chroma", "seam", "clipping", "eyes", "cracks", "leakage")
# The labels a half's pass rate is broken down by (pool.Labels fields; a variant changes some of them).
BREAKDOWN_LABELS: Final = ("yaw", "glasses", "occluder", "light", "beard", "open_mouth", "age", "skin")
SIZE_BUCKETS: Final = ((0, 60, "<60"), (60, 120, "60-120"), (120, 100000, "120+"))


@dataclass(frozen=True)
class PoolFaceResult:
    half: Half
    case: str
    source: str
    template: str
    target: str
    labels: dict[str, Any]
    jaw_px: float = 0.0
    figures: dict[str, float | None] = field(default_factory=dict)
    baseline: dict[str, float] = field(default_factory=dict)
    failures: tuple[str, ...] = ()
    error: str | None = None
    crops: dict[str, RGBImage] = field(default_factory=dict, repr=False)

    @property
    def passed(self) -> bool:
        return self.error is None and not self.failures

    @property
    def moved(self) -> bool:
        return _moved(self.figures)

    @property
    def baseline_moved(self) -> bool:
        return _moved(self.baseline)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("crops")
        data["failures"] = list(self.failures)
        data["figures"] = {k: (None if v is None else round(float(v), 4)) for k, v in self.figures.items()}
        data["baseline"] = {k: round(float(v), 4) for k, v in self.baseline.items()}
        data["passed"] = self.passed
        return data


@dataclass(frozen=True)
class SwappedCase:
    """One case's engine result and what the crack measure compares it with, full size."""

    result: RGBImage
    template: RGBImage
    warped_source: RGBImage  # the source warped onto the target's 68 points, the template around it
    points: NDArray[np.float32]  # the target's 68 points (the judge's)


def _moved(figures: dict[str, Any]) -> bool:
    to_source, to_original = figures.get("identity_to_source"), figures.get("identity_to_original")
    return to_source is not None and to_original is not None and to_source < IDENTITY_MAX and to_source < to_original


def pool_failures(figures: dict[str, float | None]) -> tuple[str, ...]:
    failures = list(gate_failures({k: float(v) for k, v in figures.items() if v is not None and k in _GATE_KEYS}))
    eyes = figures.get("eyes_kept")
    if eyes is not None and (eyes < EYES_KEPT_MIN or not figures.get("face_found", 1.0)):
        failures.append("eyes")
    if (figures.get("cracks") or 0.0) > CRACKS_MAX:
        failures.append("cracks")
    leaked = figures.get("leakage")
    if leaked is not None and leaked > LEAKAGE_MAX:
        failures.append("leakage")
    return tuple(failures)


_GATE_KEYS: Final = ("identity_to_source", "identity_to_original", "chroma_p95", "clipping", "seam")


class PoolRunner:
    """Caches detections and probe results across the cases of one run."""

    def __init__(self, engine: FaceEngine, probe: IdentityProbe, *, tile: int = TILE) -> None:
        self._engine = engine
        self._probe = probe
        self._tile = tile  # side of each face crop in a result's `crops`
        self._detected: dict[str, list[Face]] = {}
        self._sources: dict[str, tuple[Face, SourceFace, ProbedFace, NDArray[np.float64]]] = {}
        self._originals: dict[tuple[str, str], tuple[Face, ProbedFace, NDArray[np.float64]]] = {}

    def detect(self, key: str, image: RGBImage) -> list[Face]:
        if key not in self._detected:
            self._detected[key] = self._engine.detect(image)
        return self._detected[key]

    def run_case(self, case: PoolCase) -> PoolFaceResult:
        base = dict(
            half=case.half,
            case=case.name,
            source=case.source.key,
            template=case.template.key,
            target=case.target.face.person,
            labels=asdict(case.source.labels),
        )
        try:
            swapped = self.swapped(case)
        except LookupError as error:
            return PoolFaceResult(**base, error=str(error))  # type: ignore[arg-type]
        _, _, source_probe, source_descriptor = self._source(case.source)
        _, found, original_descriptor = self._original(case.template, case.target.face.person, case.target.at)
        template, result = swapped.template, swapped.result
        figures, crack_runs = self._measure(case, swapped, found, original_descriptor, source_probe, source_descriptor)
        reference = plain_swap(case.source.image, source_probe.points, template, found.points)
        reference_descriptor = self._probe.descriptor(reference, found.box, found.points)
        baseline = {
            "identity_to_source": distance(reference_descriptor, source_descriptor),
            "identity_to_original": distance(reference_descriptor, original_descriptor),
        }
        tile = self._tile
        crops = {
            "source": _crop(case.source.image, source_probe.points, tile),
            "template": _crop(template, found.points, tile),
            "result": _crop(result, found.points, tile),
            "baseline": _crop(reference, found.points, tile),
        }
        if crack_runs.any():
            crops["cracks"] = _crop(mark_cracks(result, crack_runs, found.points), found.points, tile)
        return PoolFaceResult(
            **base,  # type: ignore[arg-type]
            jaw_px=found.jaw_width,
            figures=figures,
            baseline=baseline,
            failures=pool_failures(figures),
            crops=crops,
        )

    def swapped(self, case: PoolCase) -> SwappedCase:
        """The engine's result for `case` beside the template and the warped source (LookupError when the
        source or the target face is not found)."""
        _, prepared, source_probe, _ = self._source(case.source)
        target, found, _ = self._original(case.template, case.target.face.person, case.target.at)
        template = case.template.image
        return SwappedCase(
            result=self._engine.swap(template, [Assignment(target, prepared)]),
            template=template,
            warped_source=warp_source(case.source.image, source_probe.points, template, found.points),
            points=found.points,
        )

    def _measure(
        self,
        case: PoolCase,
        swapped: SwappedCase,
        found: ProbedFace,
        original_descriptor: NDArray[np.float64],
        source_probe: ProbedFace,
        source_descriptor: NDArray[np.float64],
    ) -> tuple[dict[str, float | None], NDArray[np.bool_]]:
        """The face's figures, and its crack runs (on the measures' canonical crop)."""
        template, source, result = swapped.template, case.source, swapped.result
        descriptor = self._probe.descriptor(result, found.box)
        colour = colour_figures(result, template, found.points)
        result_points = self._probe.points(result, found.box)
        references = [(template, found.points)]
        if source.labels.glasses != "sunglasses":
            references.append((source.image, source_probe.points))
        eyes = eyes_kept(result, found.points, references)
        runs, cracks = crack_map(result, template, swapped.warped_source, found.points)
        leaked = None
        if source.occluder is not None and source.base is not None:
            leaked = leakage(
                result, template, source.base.image, source.image, source.occluder, source_probe.points, found.points
            )
        figures: dict[str, float | None] = {
            "identity_to_source": distance(descriptor, source_descriptor),
            "identity_to_original": distance(descriptor, original_descriptor),
            "chroma_p95": colour.chroma_p95,
            "seam": colour.seam,
            "clipping": colour.clipping,
            "eyes_kept": eyes,
            "face_found": float(self._probe.detected_near(result, result_points)),
            "cracks": cracks,
            "leakage": leaked,
        }
        return figures, runs

    def _source(self, source: PoolSource) -> tuple[Face, SourceFace, ProbedFace, NDArray[np.float64]]:
        if source.key not in self._sources:
            face = _face_at(self.detect(f"source:{source.key}", source.image), source.at, f"source {source.key}")
            prepared = SourceFace(face=self._engine.prepare_source(SourceFace(face=face, image=source.image)), image=source.image)
            found = self._probe.find(source.image, face)
            if source.base is None:
                descriptor = self._probe.descriptor(source.image, found.box, found.points)
            else:  # who the person is comes from the photo the variant was made from, not from what was drawn on it
                descriptor = self.identity_of(source.base)
            self._sources[source.key] = (face, prepared, found, descriptor)
        return self._sources[source.key]

    def identity_of(self, source: PoolSource) -> NDArray[np.float64]:
        """The recogniser's descriptor that results from `source` are compared with."""
        return self._source(source)[3]

    def _original(
        self, template: PoolTemplate, person: str, at: tuple[float, float]
    ) -> tuple[Face, ProbedFace, NDArray[np.float64]]:
        key = (template.key, person)
        if key not in self._originals:
            faces = self.detect(f"template:{template.key}", template.image)
            target = Face.from_dict(_face_at(faces, at, f"template {template.key}").to_dict())
            found = self._probe.find(template.image, target)
            self._originals[key] = (target, found, self._probe.descriptor(template.image, found.box, found.points))
        return self._originals[key]

    # -- the detector measures -------------------------------------------------------------------

    def _found_sources(self, sources: Sequence[PoolSource]) -> Iterator[tuple[PoolSource, Face]]:
        """Each source with the face the engine finds at its labelled place (sources it misses are skipped)."""
        for source in sources:
            try:
                yield source, _face_at(self.detect(f"source:{source.key}", source.image), source.at, source.key)
            except LookupError:
                continue

    def glasses_calls(self, sources: Sequence[PoolSource]) -> list[dict[str, Any]]:
        """has_glasses on every source the engine finds, against its label."""
        calls = []
        for source, face in self._found_sources(sources):
            points = face.landmarks_array()
            found = has_glasses(source.image, points if points is not None else face.kps_array())
            calls.append({"source": source.key, "half": half_of(source.face), "label": source.labels.glasses, "found": bool(found)})
        return calls

    def hand_calls(self, sources: Sequence[PoolSource]) -> list[dict[str, Any]]:
        """Is a hand found over each source face (its landmarks reaching into the face's box), against
        its label? Drawn fingers (the variants) are counted apart: no hand model sees them as a hand."""
        finder = HandFinder()
        calls = []
        for source, face in self._found_sources(sources):
            x1, y1, x2, y2 = face.bbox
            found = any(
                ((hand.points[:, 0] > x1) & (hand.points[:, 0] < x2) & (hand.points[:, 1] > y1) & (hand.points[:, 1] < y2)).any()
                for hand in finder.near_face(source.image, face.bbox)
            )
            calls.append(
                {"source": source.key, "half": half_of(source.face), "label": source.labels.occluder == "hand",
                 "drawn": "/" in source.key, "found": bool(found)}
            )
        return calls

    def detection_calls(self, sources: Sequence[PoolSource]) -> list[dict[str, Any]]:
        """For every labelled face of every pool photo, and every variant source: is it detected?"""
        calls = []
        for face in FACES:
            detected = self.detect(f"photo:{face.photo}", load_photo(face.photo))
            calls.append(_detection_call(face.person, face.width, face.labels.yaw, face.labels.glasses, detected, face.centre))
        for source in sources:
            if "/" not in source.key:
                continue
            scale = source.image.shape[1] / max(1, _source_width(source))
            detected = self.detect(f"source:{source.key}", source.image)
            call = _detection_call(source.key, source.face.width * scale, source.labels.yaw, source.labels.glasses, detected, source.at)
            calls.append(call)
        return calls


def _source_width(source: PoolSource) -> int:
    """The width of the unchanged crop the variant was made from (the small variant is scaled)."""
    from app.bench.quality.pool_cases import source_crop

    return source_crop(source.face)[0].shape[1]


def _detection_call(
    key: str, width: float, yaw: str, glasses: str, detected: list[Face], at: tuple[float, float]
) -> dict[str, Any]:
    x, y = at
    hit = any(f.bbox[0] <= x <= f.bbox[2] and f.bbox[1] <= y <= f.bbox[3] for f in detected)
    size = next(name for low, high, name in SIZE_BUCKETS if low <= width < high)
    return {"face": key, "width": round(float(width), 1), "size": size, "yaw": yaw, "sunglasses": glasses == "sunglasses", "found": hit}


def _face_at(faces: list[Face], at: tuple[float, float], what: str) -> Face:
    x, y = at
    inside = [f for f in faces if f.bbox[0] <= x <= f.bbox[2] and f.bbox[1] <= y <= f.bbox[3]]
    if not inside:
        raise LookupError(f"the engine finds no face in {what} at ({x:.0f}, {y:.0f})")
    return min(inside, key=lambda f: float(np.hypot((f.bbox[0] + f.bbox[2]) / 2 - x, (f.bbox[1] + f.bbox[3]) / 2 - y)))


# -- the run and its summary -----------------------------------------------------------------------


def run_pool(
    engine: FaceEngine, probe: IdentityProbe, *, per_half: int | None = None
) -> tuple[dict[str, Any], dict[Half, list[PoolFaceResult]]]:
    """Every case of both halves (the first `per_half` of each when given), and the detector measures."""
    started = time.perf_counter()
    engine.warmup()
    runner = PoolRunner(engine, probe)
    results: dict[Half, list[PoolFaceResult]] = {}
    all_sources: list[PoolSource] = []
    for half in HALVES:
        half_cases = cases(half, probe)
        all_sources += [case.source for case in half_cases]
        if per_half is not None:
            half_cases = _subset(half_cases, per_half)
        results[half] = [runner.run_case(case) for case in half_cases]
    glasses = runner.glasses_calls(all_sources)
    detection = runner.detection_calls(all_sources)
    hands = runner.hand_calls(all_sources)
    report = {
        "halves": {half: summarize_half(results[half]) for half in HALVES},
        "faces": {half: [r.to_dict() for r in results[half]] for half in HALVES},
        "glasses": summarize_glasses(glasses),
        "detection": summarize_detection(detection),
        "hands": summarize_hands(hands),
        "limits": {"eyes_kept_at_least": EYES_KEPT_MIN, "cracks_at_most": CRACKS_MAX, "leakage_at_most": LEAKAGE_MAX},
        "seconds": round(time.perf_counter() - started, 1),
    }
    tuning, validation = report["halves"]["tuning"], report["halves"]["validation"]
    report["gap_points"] = round(100 * (tuning["pass_rate"] - validation["pass_rate"]), 1)
    return report, results


def _subset(half_cases: list[PoolCase], count: int) -> list[PoolCase]:
    """`count` cases spread over the list: the clean ones and the variants alike."""
    if count >= len(half_cases):
        return half_cases
    step = len(half_cases) / count
    return [half_cases[int(i * step)] for i in range(count)]


def summarize_half(results: Sequence[PoolFaceResult]) -> dict[str, Any]:
    faces = len(results)
    passed = sum(r.passed for r in results)
    summary: dict[str, Any] = {
        "faces": faces,
        "passed": passed,
        "pass_rate": round(passed / faces, 4) if faces else 0.0,
        "errors": sum(r.error is not None for r in results),
        "failures": {kind: sum(kind in r.failures for r in results) for kind in POOL_FAILURES},
        "identity_moved": {"engine": sum(r.moved for r in results), "baseline": sum(r.baseline_moved for r in results)},
    }
    distances = [float(v) for r in results if (v := r.figures.get("identity_to_source")) is not None]
    if distances:
        summary["identity_mean"] = round(statistics.fmean(distances), 4)
        summary["identity_at_gate"] = sum(abs(d - IDENTITY_MAX) <= IDENTITY_GATE_BAND for d in distances)
    for measure in ("identity_to_source", "eyes_kept", "cracks", "chroma_p95", "seam"):
        values = [float(v) for r in results if (v := r.figures.get(measure)) is not None]
        if values:
            summary[measure] = {"median": round(statistics.median(values), 3), "worst": round(max(values) if measure != "eyes_kept" else min(values), 3)}
    summary["by_label"] = pass_counts_by_label(results)
    return summary


def pass_counts_by_label(results: Sequence[PoolFaceResult]) -> dict[str, dict[str, dict[str, int]]]:
    """{label: {value: {"faces", "passed"}}} for each of BREAKDOWN_LABELS, values as the labels spell
    them (booleans as "yes" / "no"); faces without the label are left out."""
    counts: dict[str, dict[str, dict[str, int]]] = {}
    for label in BREAKDOWN_LABELS:
        for result in results:
            if label not in result.labels:
                continue
            raw = result.labels[label]
            value = ("yes" if raw else "no") if isinstance(raw, bool) else str(raw)
            cell = counts.setdefault(label, {}).setdefault(value, {"faces": 0, "passed": 0})
            cell["faces"] += 1
            cell["passed"] += int(result.passed)
    return counts


def summarize_glasses(calls: list[dict[str, Any]]) -> dict[str, Any]:
    def figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
        truth = [row["label"] != "none" for row in rows]
        found = [row["found"] for row in rows]
        precision, recall = precision_recall(truth, found)
        return {"faces": len(rows), "with_glasses": sum(truth), "reported": sum(found), "precision": round(precision, 3), "recall": round(recall, 3)}

    summary = figures(calls)
    summary["by_half"] = {half: figures([c for c in calls if c["half"] == half]) for half in HALVES}
    summary["false_positives"] = [c["source"] for c in calls if c["found"] and c["label"] == "none"]
    summary["missed"] = [c["source"] for c in calls if not c["found"] and c["label"] != "none"]
    return summary


def summarize_hands(calls: list[dict[str, Any]]) -> dict[str, Any]:
    """Precision and recall on photographed sources; the drawn-finger variants' finds apart."""
    photographed = [c for c in calls if not c["drawn"]]
    precision, recall = precision_recall([c["label"] for c in photographed], [c["found"] for c in photographed])
    drawn = [c for c in calls if c["drawn"] and c["label"]]
    return {
        "sources": len(photographed),
        "with_hands": sum(c["label"] for c in photographed),
        "found": sum(c["found"] for c in photographed),
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "false_positives": [c["source"] for c in photographed if c["found"] and not c["label"]],
        "missed": [c["source"] for c in photographed if c["label"] and not c["found"]],
        "drawn_fingers_found": f"{sum(c['found'] for c in drawn)}/{len(drawn)}",
    }


def summarize_detection(calls: list[dict[str, Any]]) -> dict[str, Any]:
    def recall(rows: list[dict[str, Any]]) -> dict[str, Any]:
        return {"faces": len(rows), "found": sum(r["found"] for r in rows), "recall": round(sum(r["found"] for r in rows) / len(rows), 3) if rows else None}

    target = [c for c in calls if c["width"] >= 60 and c["yaw"] != "60+"]
    return {
        "target_60px_yaw60": recall(target),
        "by_size": {name: recall([c for c in calls if c["size"] == name]) for _, _, name in SIZE_BUCKETS},
        "by_yaw": {yaw: recall([c for c in calls if c["yaw"] == yaw]) for yaw in ("0-15", "15-35", "35-60", "60+")},
        "sunglasses": recall([c for c in calls if c["sunglasses"]]),
        "missed": [c["face"] for c in calls if not c["found"]],
    }
