"""The t1 check of `bench`: identity and gender on t1.jpg, for any FaceEngine.

The check swaps Tom Hanks (husband) and the astronaut (wife) into t1.jpg with the default mapping
and judges the result with dlib's face recognition ResNet (app.bench.quality.probe), a recogniser
neither engine swaps with.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from app.bench.quality.probe import IdentityProbe, distance
from pipeline.errors import NoFaceFound
from pipeline.face import Assignment, Face, FaceEngine, RGBImage, SourceFace
from pipeline.intake import read_image_file
from pipeline.mapping import MappingDecision, Role, default_mapping
from pipeline.masks import combined_swap_region
from pipeline.samples import T1_FACE_CENTRES, T1_GENDERS_LEFT_TO_RIGHT, astronaut_rgb, sample_paths

MIN_T1_GENDERS_CORRECT: Final = 5


@dataclass(frozen=True)
class SampleSwap:
    """t1.jpg with the sample couple swapped in by the default mapping."""

    template: RGBImage = field(repr=False)
    faces: list[Face]
    decision: MappingDecision
    mapped: list[tuple[int, Role]]  # (face index, role) of each assignment, same order
    assignments: list[Assignment] = field(repr=False)
    result: RGBImage = field(repr=False)
    detect_seconds: float
    swap_seconds: float


@dataclass(frozen=True)
class MappedFaceQuality:
    index: int
    role: Role
    distance_to_source: float  # swapped face vs the source face
    original_distance_to_source: float  # template face before the swap vs the source face
    distance_to_original: float  # swapped face vs the template face before the swap
    moved_towards_source: bool  # distance_to_source < original_distance_to_source


@dataclass(frozen=True)
class QualityReport:
    engine: str
    provider: str
    faces_detected: int
    genders: tuple[str, ...]  # as detected, left to right
    gender_correct: int  # against samples.T1_GENDERS_LEFT_TO_RIGHT
    gender_total: int
    roles: dict[int, Role]
    mapping_fallback: bool
    mapping_note: str | None
    mapped: tuple[MappedFaceQuality, ...]
    unmapped_untouched: bool  # every kept face identical outside the swapped regions
    outside_regions_untouched: bool  # no pixel outside the union of swap_region() changed
    detect_seconds: float
    swap_seconds: float

    @property
    def gender_accuracy(self) -> float:
        return self.gender_correct / self.gender_total if self.gender_total else 0.0

    @property
    def passed(self) -> bool:
        return (
            self.gender_correct >= MIN_T1_GENDERS_CORRECT
            and len(self.mapped) == 2
            and all(face.moved_towards_source for face in self.mapped)
            and self.unmapped_untouched
            and self.outside_regions_untouched
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["roles"] = {str(index): role for index, role in self.roles.items()}
        data["gender_accuracy"] = round(self.gender_accuracy, 4)
        data["passed"] = self.passed
        return data


def swap_sample_couple(engine: FaceEngine) -> SampleSwap:
    """Detect t1.jpg and both sample sources with `engine`, then swap by the default mapping."""
    paths = sample_paths()
    template = read_image_file(paths.t1).array
    husband = _source(engine, read_image_file(paths.tom_hanks).array, "husband")
    wife = _source(engine, astronaut_rgb(), "wife")
    started = time.perf_counter()
    faces = engine.detect(template)
    detect_seconds = time.perf_counter() - started
    decision = default_mapping(faces)
    by_role = {"husband": husband, "wife": wife}
    mapped = [(index, role) for index, role in sorted(decision.roles.items()) if role in by_role]
    assignments = [Assignment(target=faces[index], source=by_role[role]) for index, role in mapped]
    started = time.perf_counter()
    result = engine.swap(template, assignments)
    swap_seconds = time.perf_counter() - started
    return SampleSwap(
        template=template,
        faces=faces,
        decision=decision,
        mapped=mapped,
        assignments=assignments,
        result=result,
        detect_seconds=detect_seconds,
        swap_seconds=swap_seconds,
    )


def run_quality_check(engine: FaceEngine) -> QualityReport:
    """Swap the sample couple into t1.jpg and measure identity, untouched pixels and genders."""
    sample = swap_sample_couple(engine)
    probe = IdentityProbe()
    mapped = tuple(
        _mapped_quality(probe, sample, index, role, assignment)
        for (index, role), assignment in zip(sample.mapped, sample.assignments)
    )
    allowed = combined_swap_region(sample.template.shape[:2], [a.target for a in sample.assignments]) > 0
    changed = np.any(sample.result != sample.template, axis=2)
    kept = [sample.faces[index] for index, role in sample.decision.roles.items() if role == "keep"]
    correct, total = t1_gender_score(sample.faces)
    return QualityReport(
        engine=engine.name,
        provider=engine.provider,
        faces_detected=len(sample.faces),
        genders=tuple(face.gender.value for face in sample.faces),
        gender_correct=correct,
        gender_total=total,
        roles=dict(sample.decision.roles),
        mapping_fallback=sample.decision.fallback,
        mapping_note=sample.decision.note,
        mapped=mapped,
        unmapped_untouched=all(not _changed_in_box(changed & ~allowed, face) for face in kept),
        outside_regions_untouched=not bool((changed & ~allowed).any()),
        detect_seconds=round(sample.detect_seconds, 4),
        swap_seconds=round(sample.swap_seconds, 4),
    )


def t1_gender_score(faces: list[Face]) -> tuple[int, int]:
    """(correct, total) genders on t1.jpg: each true face is matched to the detected box around it."""
    correct = 0
    for centre, truth in zip(T1_FACE_CENTRES, T1_GENDERS_LEFT_TO_RIGHT):
        face = _face_at(faces, centre)
        if face is not None and face.gender is truth:
            correct += 1
    return correct, len(T1_GENDERS_LEFT_TO_RIGHT)




def _mapped_quality(
    probe: IdentityProbe, sample: SampleSwap, index: int, role: Role, assignment: Assignment
) -> MappedFaceQuality:
    target_box = probe.find(sample.template, assignment.target).box
    source = assignment.source
    source_descriptor = probe.descriptor(source.image, probe.find(source.image, source.face).box)
    original = probe.descriptor(sample.template, target_box)
    swapped = probe.descriptor(sample.result, target_box)
    to_source = distance(swapped, source_descriptor)
    original_to_source = distance(original, source_descriptor)
    return MappedFaceQuality(
        index=index,
        role=role,
        distance_to_source=round(to_source, 4),
        original_distance_to_source=round(original_to_source, 4),
        distance_to_original=round(distance(swapped, original), 4),
        moved_towards_source=to_source < original_to_source,
    )


def _source(engine: FaceEngine, image: RGBImage, role: str) -> SourceFace:
    faces = engine.detect(image)
    if not faces:
        raise NoFaceFound(f"no face found in the {role} sample photo")
    return SourceFace(face=max(faces, key=lambda face: face.prominence), image=image)


def _face_at(faces: list[Face], point: tuple[float, float]) -> Face | None:
    x, y = point
    inside = [
        face for face in faces if face.bbox[0] <= x <= face.bbox[2] and face.bbox[1] <= y <= face.bbox[3]
    ]
    if not inside:
        return None
    return min(
        inside,
        key=lambda face: float(
            np.hypot((face.bbox[0] + face.bbox[2]) / 2 - x, (face.bbox[1] + face.bbox[3]) / 2 - y)
        ),
    )


def _changed_in_box(changed: NDArray[np.bool_], face: Face) -> bool:
    height, width = changed.shape
    x1, y1, x2, y2 = (int(round(v)) for v in face.bbox)
    return bool(changed[max(0, y1) : min(height, y2), max(0, x1) : min(width, x2)].any())
