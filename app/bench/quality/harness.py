"""Run the stress set through one engine and measure every swapped face."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Final

import cv2
import numpy as np
from numpy.typing import NDArray

from app.bench.quality.metrics import colour_figures
from app.bench.quality.probe import IdentityProbe, ProbedFace, distance
from app.bench.quality.stress import Case, Source, StressSet, Template
from pipeline.face import Assignment, Face, FaceEngine, RGBImage, SourceFace

IDENTITY_MAX: Final = 0.6  # result to source, and below result to original
CHROMA_P95_MAX: Final = 12.0
CLIPPING_MAX: Final = 0.005
SEAM_MAX: Final = 5.0  # change of the inner-to-ring jump against the original's, ΔE76
TILE: Final = 128  # side of a contact-sheet crop


@dataclass(frozen=True)
class FaceQuality:
    role: str  # "husband" | "wife"
    index: int  # the template face, left to right
    source: str
    jaw_px: float  # the original face's jaw width
    identity_to_source: float
    identity_to_original: float
    original_to_source: float
    chroma_p95: float
    seam: float
    seam_result: float
    seam_original: float
    clipping: float
    failures: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, float):
                data[key] = round(value, 5 if key == "clipping" else 3)
        data["failures"] = list(self.failures)
        return data


@dataclass(frozen=True)
class CaseResult:
    name: str
    what: str
    template: str
    template_size: tuple[int, int]  # width, height
    sources: tuple[str, str]
    swap_seconds: float
    faces: tuple[FaceQuality, ...]
    error: str | None = None
    crops: dict[str, RGBImage] = field(default_factory=dict, repr=False)  # for the sheet

    @property
    def passed(self) -> bool:
        return self.error is None and len(self.faces) == 2 and not any(face.failures for face in self.faces)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "what": self.what,
            "template": self.template,
            "template_size": list(self.template_size),
            "sources": list(self.sources),
            "swap_seconds": round(self.swap_seconds, 4),
            "passed": self.passed,
            "error": self.error,
            "faces": [face.to_dict() for face in self.faces],
        }


def gate_failures(face: dict[str, float]) -> tuple[str, ...]:
    """The gate's verdict on one face's figures: the names of the limits it breaks."""
    failures = []
    if not face["identity_to_source"] < IDENTITY_MAX:
        failures.append("identity")
    if not face["identity_to_source"] < face["identity_to_original"]:
        failures.append("identity_vs_original")
    if not face["chroma_p95"] <= CHROMA_P95_MAX:
        failures.append("chroma")
    if not face["clipping"] < CLIPPING_MAX:
        failures.append("clipping")
    if not face["seam"] <= SEAM_MAX:
        failures.append("seam")
    return tuple(failures)


class QualityRunner:
    """Caches template detections and source descriptors across cases; one per run."""

    def __init__(self, engine: FaceEngine, probe: IdentityProbe) -> None:
        self._engine = engine
        self._probe = probe
        self._templates: dict[str, list[Face]] = {}
        self._sources: dict[str, tuple[SourceFace, ProbedFace, NDArray[np.float64]]] = {}
        self._originals: dict[tuple[str, int], tuple[ProbedFace, NDArray[np.float64]]] = {}

    def run(self, stress: StressSet) -> list[CaseResult]:
        self._engine.warmup()
        return [self.run_case(case) for case in stress.cases]

    def run_case(self, case: Case) -> CaseResult:
        template = case.template
        height, width = template.image.shape[:2]
        base = dict(
            name=case.name,
            what=case.what,
            template=template.key,
            template_size=(width, height),
            sources=(case.husband.key, case.wife.key),
        )
        try:
            husband, wife = self._source(case.husband), self._source(case.wife)
            faces = self._template_faces(template)
            targets = {"husband": _face_at(faces, template.husband_at), "wife": _face_at(faces, template.wife_at)}
        except LookupError as error:
            return CaseResult(**base, swap_seconds=0.0, faces=(), error=str(error))  # type: ignore[arg-type]
        sources = {"husband": husband, "wife": wife}
        assignments = [Assignment(targets[role], sources[role][0]) for role in ("husband", "wife")]
        started = time.perf_counter()
        result = self._engine.swap(template.image, assignments)
        seconds = time.perf_counter() - started
        measured = []
        crops: dict[str, RGBImage] = {}
        for role in ("husband", "wife"):
            target = targets[role]
            source_face, source_probe, source_descriptor = sources[role]
            index = faces.index(target)
            found, original_descriptor = self._original(template, target, index)
            quality, original_crop, result_crop = self._measure(
                template.image, result, found, original_descriptor, index, role, source_descriptor
            )
            quality = replace(quality, source=case.husband.key if role == "husband" else case.wife.key)
            measured.append(quality)
            crops[f"{role}_source"] = _crop(source_face.image, source_probe.points)
            crops[f"{role}_template"] = original_crop
            crops[f"{role}_result"] = result_crop
        return CaseResult(**base, swap_seconds=seconds, faces=tuple(measured), crops=crops)  # type: ignore[arg-type]

    def _measure(
        self,
        original: RGBImage,
        result: RGBImage,
        found: ProbedFace,
        original_descriptor: NDArray[np.float64],
        index: int,
        role: str,
        source_descriptor: NDArray[np.float64],
    ) -> tuple[FaceQuality, RGBImage, RGBImage]:
        result_descriptor = self._probe.descriptor(result, found.box)
        colour = colour_figures(result, original, found.points)
        figures = {
            "identity_to_source": distance(result_descriptor, source_descriptor),
            "identity_to_original": distance(result_descriptor, original_descriptor),
            "original_to_source": distance(original_descriptor, source_descriptor),
            "chroma_p95": colour.chroma_p95,
            "seam": colour.seam,
            "seam_result": colour.seam_result,
            "seam_original": colour.seam_original,
            "clipping": colour.clipping,
        }
        quality = FaceQuality(
            role=role,
            index=index,
            source="",
            jaw_px=found.jaw_width,
            failures=gate_failures(figures),
            **figures,
        )
        return quality, _crop(original, found.points), _crop(result, found.points)

    def _source(self, source: Source) -> tuple[SourceFace, ProbedFace, NDArray[np.float64]]:
        if source.key not in self._sources:
            faces = self._engine.detect(source.image)
            if not faces:
                raise LookupError(f"the engine finds no face in source {source.key}")
            face = max(faces, key=lambda f: f.prominence)
            prepared = SourceFace(face=face, image=source.image)
            prepared = SourceFace(face=self._engine.prepare_source(prepared), image=source.image)
            found = self._probe.find(source.image, face)
            descriptor = self._probe.descriptor(source.image, found.box, found.points)
            self._sources[source.key] = (prepared, found, descriptor)
        return self._sources[source.key]

    def _original(self, template: Template, target: Face, index: int) -> tuple[ProbedFace, NDArray[np.float64]]:
        key = (template.key, index)
        if key not in self._originals:
            found = self._probe.find(template.image, target)
            self._originals[key] = (found, self._probe.descriptor(template.image, found.box, found.points))
        return self._originals[key]

    def _template_faces(self, template: Template) -> list[Face]:
        if template.key not in self._templates:
            stored = self._engine.detect(template.image)
            self._templates[template.key] = [Face.from_dict(face.to_dict()) for face in stored]
        return self._templates[template.key]


def _face_at(faces: list[Face], point: tuple[float, float]) -> Face:
    x, y = point
    inside = [f for f in faces if f.bbox[0] <= x <= f.bbox[2] and f.bbox[1] <= y <= f.bbox[3]]
    if not inside:
        raise LookupError(f"the engine finds no template face at ({x:.0f}, {y:.0f})")
    return min(
        inside,
        key=lambda f: float(np.hypot((f.bbox[0] + f.bbox[2]) / 2 - x, (f.bbox[1] + f.bbox[3]) / 2 - y)),
    )


def _crop(image: RGBImage, points: NDArray[np.float32], tile: int = TILE) -> RGBImage:
    """A square crop around the face (1.5x its jaw width), resized to `tile` px."""
    centre = points.mean(axis=0)
    jaw = float(points[:17, 0].max() - points[:17, 0].min())
    half = max(4.0, 0.75 * jaw * 1.0 + 0.1 * jaw)
    x1, y1 = int(round(centre[0] - half)), int(round(centre[1] - half))
    side = int(round(2 * half))
    padded = cv2.copyMakeBorder(image, side, side, side, side, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    crop = padded[y1 + side : y1 + 2 * side, x1 + side : x1 + 2 * side]
    interpolation = cv2.INTER_AREA if side > tile else cv2.INTER_CUBIC
    return np.ascontiguousarray(cv2.resize(crop, (tile, tile), interpolation=interpolation))
