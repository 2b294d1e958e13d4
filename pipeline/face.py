"""The engine-neutral face record and the engine protocol both engines implement."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

EngineName = Literal["classic", "insightface"]
ENGINE_NAMES: tuple[EngineName, ...] = ("classic", "insightface")

RGBImage = NDArray[np.uint8]  # H x W x 3, RGB order


class Gender(str, enum.Enum):
    MALE = "male"
    FEMALE = "female"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Face:
    """One detected face. Coordinates are in pixels of the image it was found in."""

    bbox: tuple[float, float, float, float]  # x1, y1, x2, y2
    kps: tuple[tuple[float, float], ...]  # 5 points: eyes, nose, mouth corners
    det_score: float
    gender: Gender = Gender.UNKNOWN
    gender_score: float = 0.0
    age: float | None = None
    landmarks: tuple[tuple[float, float], ...] | None = None  # dense (e.g. 68) points
    embedding: tuple[float, ...] | None = field(default=None, repr=False)
    mesh: tuple[tuple[float, float, float], ...] | None = field(default=None, repr=False)  # 478 x, y, z

    @property
    def area(self) -> float:
        x1, y1, x2, y2 = self.bbox
        return max(0.0, x2 - x1) * max(0.0, y2 - y1)

    @property
    def prominence(self) -> float:
        """Box area times detection score, the design's ranking for default mapping."""
        return self.area * self.det_score

    def kps_array(self) -> NDArray[np.float32]:
        return np.asarray(self.kps, dtype=np.float32)

    def landmarks_array(self) -> NDArray[np.float32] | None:
        return None if self.landmarks is None else np.asarray(self.landmarks, dtype=np.float32)

    def mesh_array(self) -> NDArray[np.float32] | None:
        return None if self.mesh is None else np.asarray(self.mesh, dtype=np.float32)

    def to_dict(self, *, with_embedding: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "bbox": [round(v, 2) for v in self.bbox],
            "kps": [[round(x, 2), round(y, 2)] for x, y in self.kps],
            "det_score": round(self.det_score, 4),
            "gender": self.gender.value,
            "gender_score": round(self.gender_score, 4),
            "age": None if self.age is None else round(self.age, 1),
            "landmarks": None
            if self.landmarks is None
            else [[round(x, 2), round(y, 2)] for x, y in self.landmarks],
        }
        if self.mesh is not None:
            data["mesh"] = [[round(x, 2), round(y, 2), round(z, 2)] for x, y, z in self.mesh]
        if with_embedding and self.embedding is not None:
            data["embedding"] = [round(v, 6) for v in self.embedding]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Face:
        landmarks = data.get("landmarks")
        embedding = data.get("embedding")
        mesh = data.get("mesh")
        return cls(
            bbox=tuple(float(v) for v in data["bbox"]),  # type: ignore[arg-type]
            kps=tuple((float(x), float(y)) for x, y in data["kps"]),
            det_score=float(data["det_score"]),
            gender=Gender(data.get("gender", "unknown")),
            gender_score=float(data.get("gender_score", 0.0)),
            age=None if data.get("age") is None else float(data["age"]),
            landmarks=None if landmarks is None else tuple((float(x), float(y)) for x, y in landmarks),
            embedding=None if embedding is None else tuple(float(v) for v in embedding),
            mesh=None if mesh is None else tuple((float(x), float(y), float(z)) for x, y, z in mesh),
        )


def order_left_to_right(faces: list[Face]) -> list[Face]:
    """The documented face order: by bbox x1, then y1. Never the detector's order."""
    return sorted(faces, key=lambda f: (f.bbox[0], f.bbox[1]))


@dataclass(frozen=True)
class SourceFace:
    """A couple member's face together with the photo it came from."""

    face: Face
    image: RGBImage = field(repr=False)


@dataclass(frozen=True)
class Assignment:
    """Put `source` onto `target`, a face of the template image."""

    target: Face
    source: SourceFace


class FaceEngine(Protocol):
    """What both engines provide. Images are RGB uint8 arrays."""

    name: EngineName
    face_data_version: str  # stored with a template's face data; another value means re-preprocess

    @property
    def provider(self) -> str:
        """Execution provider in words, e.g. 'CPU' or 'CUDAExecutionProvider'."""
        ...

    def warmup(self) -> None:
        """Load models and run one tiny inference so the first real call is warm."""
        ...

    def detect(self, image: RGBImage) -> list[Face]:
        """All faces with gender, ordered left to right."""
        ...

    def prepare_source(self, source: SourceFace) -> Face:
        """The source face with whatever the swap needs precomputed (e.g. an embedding), done once per couple."""
        ...

    def swap(self, image: RGBImage, assignments: list[Assignment]) -> RGBImage:
        """A new image with every assignment applied; pixels outside the face masks stay identical."""
        ...

    def forget_sources(self) -> None:
        """Drop whatever the engine kept in memory from earlier source photos (they were deleted)."""
        ...

    def wears_glasses(self, source: SourceFace) -> bool:
        """Whether this engine's swap treats the source face as wearing glasses (for the upload note)."""
        ...
