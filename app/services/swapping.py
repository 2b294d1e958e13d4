"""One template, one couple: choose the mapping and render the swapped image."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.services.post_swap import PostSwapStep, apply_steps, default_steps
from pipeline.errors import NoFaceFound
from pipeline.face import Assignment, Face, FaceEngine, RGBImage, SourceFace
from pipeline.mapping import Role, apply_overrides, default_mapping
from pipeline.pose import pose_note


@dataclass(frozen=True)
class SwapRender:
    image: RGBImage
    roles: dict[int, Role]
    faces: list[dict[str, Any]]
    notes: list[str]  # the mapping's note, then one per face whose pose the swap cannot match


def resolve_roles(faces: list[Face], overrides: Mapping[str, str] | None) -> tuple[dict[int, Role], str | None]:
    decision = default_mapping(faces)
    roles = dict(decision.roles)
    if overrides:
        roles = apply_overrides(roles, overrides, len(faces))
    return roles, decision.note


def assignments_for(
    faces: list[Face], roles: Mapping[int, Role], husband: SourceFace, wife: SourceFace
) -> list[Assignment]:
    """Roles → engine assignments, left to right; kept faces get none."""
    sources = {"husband": husband, "wife": wife}
    return [Assignment(target=faces[i], source=sources[role]) for i, role in sorted(roles.items()) if role != "keep"]


def render_swap(
    engine: FaceEngine,
    template: RGBImage,
    faces: list[Face],
    husband: SourceFace,
    wife: SourceFace,
    overrides: Mapping[str, str] | None = None,
    *,
    steps: Sequence[PostSwapStep] | None = None,
) -> SwapRender:
    """Resolve the roles, swap, then apply the post-swap steps in order (default: the AI mark; the enhancer
    first when a FaceEnhance step is passed)."""
    if not faces:
        raise NoFaceFound("no face found in the template")
    roles, note = resolve_roles(faces, overrides)
    assignments = assignments_for(faces, roles, husband, wife)
    swapped = engine.swap(template, assignments)
    result = apply_steps(swapped, assignments, default_steps() if steps is None else steps)
    enhanced = {faces.index(assignments[i].target) for i in result.enhanced}
    return SwapRender(
        image=result.image,
        roles=roles,
        faces=face_report(faces, roles, enhanced),
        notes=([note] if note else []) + pose_notes(faces, assignments),
    )


def pose_notes(faces: list[Face], assignments: list[Assignment]) -> list[str]:
    """'face N: …' for each swapped face turned too differently from its source; N is the face's JSON
    `index` (and `--mapping` key): 0-based, left to right."""
    notes = []
    for assignment in assignments:
        note = pose_note(assignment.source.face, assignment.target)
        if note:
            notes.append(f"{face_name(faces.index(assignment.target))}: {note}")
    return notes


def face_name(index: int) -> str:
    """How every user-facing text names a template face: by its JSON `index` and `--mapping` key
    (0-based, left to right), so 'face 4' in a note is "4" in the mapping."""
    return f"face {index}"


def face_report(
    faces: list[Face], roles: Mapping[int, Role] | None = None, enhanced: Collection[int] = ()
) -> list[dict[str, Any]]:
    """The design's per-face JSON: index, bbox, gender, gender_score, role, and whether the face enhancer
    ran on it (`enhanced`: the indexes it enhanced)."""
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
                "enhanced": index in enhanced,
            }
        )
    return report
