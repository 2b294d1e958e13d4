"""The Face mapping tab's state: {"<template id>": {"<face index>": role}}, only templates set by hand."""

from __future__ import annotations

from collections.abc import Mapping

MappingState = dict[str, dict[str, str]]


def with_role(
    mappings: Mapping[str, Mapping[str, str]] | None,
    template_id: int,
    defaults: Mapping[int, str],
    index: int,
    role: str,
) -> MappingState:
    """A new mapping state with one face set by hand; a template once touched is named in full."""
    current = {str(k): dict(v) for k, v in (mappings or {}).items()}
    faces = current.get(str(template_id)) or {str(i): str(r) for i, r in defaults.items()}
    faces[str(index)] = role
    current[str(template_id)] = faces
    return current


def without_templates(mappings: Mapping[str, Mapping[str, str]] | None, template_ids: list[int]) -> MappingState:
    """The mapping state with these templates back to automatic."""
    drop = {str(t) for t in template_ids}
    return {str(k): dict(v) for k, v in (mappings or {}).items() if str(k) not in drop}


def mappings_for(
    mappings: Mapping[str, Mapping[str, str]] | None, template_ids: list[int]
) -> dict[int, dict[str, str]]:
    """The hand-set mappings of the templates in this run, in the shape services.runs expects."""
    chosen = set(template_ids)
    return {int(k): dict(v) for k, v in (mappings or {}).items() if int(k) in chosen}
