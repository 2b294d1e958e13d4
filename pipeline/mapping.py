"""Which template face gets the husband, the wife, or is kept.

Face indexes are positions in the left-to-right face list (pipeline.face.order_left_to_right).

Default rule (design): the husband goes to the most prominent male face and the wife to the most
prominent female face (prominence = box area x detection score); every other face is kept. When
the genders do not allow it (no male or no female face, e.g. two men or unknown genders) the two
leftmost faces are used, husband left and wife right, and the decision says so. A template with a
single face gives it the role that matches its gender (wife for a female face, husband otherwise).

Overrides name faces explicitly. A role named in the overrides moves: the face that held it by
default goes back to "keep" unless the overrides name that face too. So `{"2": "husband"}` puts
the husband on face 2 instead of his default face, while the wife stays where she was.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal, cast, get_args

from pipeline.errors import MappingError
from pipeline.face import Face, Gender

Role = Literal["husband", "wife", "keep"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)
SWAP_ROLES: Final[tuple[Role, ...]] = ("husband", "wife")
MAX_TEMPLATE_ID_DIGITS: Final = 9
MAX_FACE_INDEX_DIGITS: Final = 6


@dataclass(frozen=True)
class MappingDecision:
    roles: dict[int, Role] = field(default_factory=dict)  # face index -> role, every face listed
    fallback: bool = False  # True when the gender rule could not be applied
    note: str | None = None  # one line saying why, when fallback is True

    def index_of(self, role: Role) -> int | None:
        """The first face index holding `role`, or None."""
        return next((index for index, held in sorted(self.roles.items()) if held == role), None)


def default_mapping(faces: list[Face]) -> MappingDecision:
    """The design's default mapping for faces given in left-to-right order."""
    roles: dict[int, Role] = {index: "keep" for index in range(len(faces))}
    if not faces:
        return MappingDecision(roles=roles, fallback=True, note="no face found; nothing to swap")
    males = [index for index, face in enumerate(faces) if face.gender is Gender.MALE]
    females = [index for index, face in enumerate(faces) if face.gender is Gender.FEMALE]
    if males and females:
        roles[_most_prominent(faces, males)] = "husband"
        roles[_most_prominent(faces, females)] = "wife"
        return MappingDecision(roles=roles)
    if len(faces) == 1:
        only: Role = "wife" if faces[0].gender is Gender.FEMALE else "husband"
        roles[0] = only
        return MappingDecision(roles=roles, fallback=True, note=f"only one face; it gets the {only}")
    roles[0], roles[1] = "husband", "wife"
    return MappingDecision(
        roles=roles,
        fallback=True,
        note=(
            f"genders do not allow the default ({len(males)} male, {len(females)} female, "
            f"{len(faces) - len(males) - len(females)} unknown); used the two leftmost faces"
        ),
    )


def apply_overrides(
    default: dict[int, Role], overrides: Mapping[str | int, str], face_count: int
) -> dict[int, Role]:
    """The default roles with `overrides` applied; raises MappingError for bad indexes or roles."""
    if not isinstance(overrides, Mapping):
        raise MappingError("a face mapping must be an object of face index to role")
    explicit: dict[int, Role] = {}
    for key, value in overrides.items():
        index = _parse_index(key)
        if index >= face_count:
            raise MappingError(f"face {index} does not exist; the template has {face_count} face(s)")
        if index in explicit:
            raise MappingError(f"face {index} is named twice")
        explicit[index] = _parse_role(value, index)
    roles: dict[int, Role] = {index: default.get(index, "keep") for index in range(face_count)}
    moved = {role for role in explicit.values() if role in SWAP_ROLES}
    for index, role in roles.items():
        if role in moved and index not in explicit:
            roles[index] = "keep"
    roles.update(explicit)
    return roles


def parse_mapping_json(text: str) -> dict[int, Role]:
    """Parse `{"<face index>": "husband"|"wife"|"keep"}`; raises MappingError with a one-line reason."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, TypeError) as error:
        raise MappingError(f"mapping is not valid JSON ({_first_line(error)})") from error
    except RecursionError:
        raise MappingError("mapping is nested too deeply") from None
    return parse_face_roles(data)


def parse_face_roles(data: object) -> dict[int, Role]:
    """An already decoded `{"<face index>": role}` object → {index: role}; MappingError otherwise."""
    if not isinstance(data, dict):
        raise MappingError('mapping must be a JSON object like {"0": "husband", "1": "wife"}')
    parsed: dict[int, Role] = {}
    for key, value in data.items():
        index = _parse_index(key)
        if index in parsed:
            raise MappingError(f"face {index} is named twice")
        parsed[index] = _parse_role(value, index)
    return parsed




def parse_batch_mapping(
    text: str | None, template_ids: list[int], *, label: str = "--mapping", per_face_allowed: bool = True
) -> dict[int, dict[str, str]]:
    """The one mapping parser for a batch: `{"<template id>": {"<face index>": role}}`, or (when
    `per_face_allowed`, the CLI) one `{"<face index>": role}` for every template. Empty → {}.
    Raises MappingError with a one-line reason."""
    if text is None or not str(text).strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise MappingError(f"{label} is not valid JSON ({error.msg})") from error
    except RecursionError:
        raise MappingError(f"{label} is nested too deeply") from None
    if isinstance(data, dict) and data and all(isinstance(v, dict) for v in data.values()):
        return {_template_key(key, template_ids, label): _face_role_strings(faces) for key, faces in data.items()}
    if not per_face_allowed:
        raise MappingError(f'{label} must look like {{"<template id>": {{"<face index>": "husband"}}}}')
    per_face = _face_role_strings(data)
    return {template_id: dict(per_face) for template_id in template_ids}


def parse_id(value: object, max_digits: int = MAX_TEMPLATE_ID_DIGITS) -> int | None:
    """A whole number of at most `max_digits` ASCII digits (surrounding spaces allowed), else None."""
    text = str(value).strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= max_digits else None


def _template_key(key: object, template_ids: list[int], label: str) -> int:
    template_id = parse_id(key)
    if template_id is None or template_id not in template_ids:
        raise MappingError(f"{label} names template {key!r}, which is not in the batch")
    return template_id


def _face_role_strings(faces: object) -> dict[str, str]:
    return {str(index): role for index, role in parse_face_roles(faces).items()}


def _most_prominent(faces: list[Face], indexes: list[int]) -> int:
    return max(indexes, key=lambda index: (faces[index].prominence, -index))


def _parse_index(key: object) -> int:
    if isinstance(key, bool):
        raise MappingError(f"face index must be a whole number, got {key!r}")
    if isinstance(key, int):
        index = key
    elif isinstance(key, str) and parse_id(key, MAX_FACE_INDEX_DIGITS) is not None:
        index = int(key.strip())
    else:
        raise MappingError(f"face index must be a whole number, got {str(key)[:20]!r}")
    if index < 0:
        raise MappingError(f"face index must not be negative, got {index}")
    return index


def _parse_role(value: object, index: int) -> Role:
    role = value.strip().lower() if isinstance(value, str) else value
    if role not in ROLES:
        raise MappingError(f"face {index}: role must be husband, wife or keep, got {str(value)[:20]!r}")
    return cast(Role, role)


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__
