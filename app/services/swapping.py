"""One template, one couple: choose the mapping and render the swapped image."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.errors import NoFaceFound
from pipeline.face import Assignment, Face, FaceEngine, RGBImage, SourceFace
from pipeline.mapping import Role, apply_overrides, default_mapping
from pipeline.watermark import add_ai_mark


@dataclass(frozen=True)
class SwapRender:
    image: RGBImage
    roles: dict[int, Role]
    faces: list[dict[str, Any]]
    note: str | None


def resolve_roles(faces: list[Face], overrides: Mapping[str, str] | None) -> tuple[dict[int, Role], str | None]:
    decision = default_mapping(faces)
    roles = dict(decision.roles)
    if overrides:
        roles = apply_overrides(roles, overrides, len(faces))
    return roles, decision.note


def render_swap(
    engine: FaceEngine,
    template: RGBImage,
    faces: list[Face],
    husband: SourceFace,
    wife: SourceFace,
    overrides: Mapping[str, str] | None = None,
    *,
    mark: bool = True,
) -> SwapRender:
    if not faces:
        raise NoFaceFound("no face found in the template")
    roles, note = resolve_roles(faces, overrides)
    sources = {"husband": husband, "wife": wife}
    assignments = [
        Assignment(target=faces[index], source=sources[role])
        for index, role in sorted(roles.items())
        if role != "keep"
    ]
    swapped = engine.swap(template, assignments)
    return SwapRender(
        image=add_ai_mark(swapped) if mark else swapped,
        roles=roles,
        faces=face_report(faces, roles),
        note=note,
    )


def face_report(faces: list[Face], roles: Mapping[int, Role] | None = None) -> list[dict[str, Any]]:
    """The design's per-face JSON: index, bbox, gender, gender_score, role."""
    report = []
    for index, face in enumerate(faces):
        role = (roles or {}).get(index, "keep")
        report.append(
            {
                "index": index,
                "bbox": [round(v, 1) for v in face.bbox],
                "gender": face.gender.value,
                "gender_score": round(face.gender_score, 4),
                "role": None if role == "keep" else role,
            }
        )
    return report
