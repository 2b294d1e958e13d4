"""Who sees which template. Shared templates have a permanent original image; a private one's
original is temporary, with the session id of the visitor who added it.

A `Viewer` is None (the shared templates only), a session id (the shared ones plus that
session's own), or EVERYONE (the operator's CLI). Every service query that lists, reads or swaps
into templates filters with `visible_to`; another session's private template is "not found".
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import ColumnElement, or_, select

from db.models import Image, Template


class _Everyone:
    """The operator's view (CLI): every template, shared or private."""

    def __repr__(self) -> str:
        return "EVERYONE"


EVERYONE: Final = _Everyone()
Viewer = str | None | _Everyone  # None: shared only; "sid": shared + that session's own; EVERYONE: all


def visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """SQL condition on Image (the template's original): what `viewer` may list, read or swap into."""
    if isinstance(viewer, _Everyone):
        return Image.id.is_not(None)
    shared = Image.storage_type == "permanent"
    if viewer is None:
        return shared
    return or_(shared, (Image.storage_type == "temporary") & (Image.session_id == viewer))


def visible_templates() -> Any:
    """select(Template) joined to its original image; add `.where(visible_to(viewer))`."""
    return select(Template).join(Image, Template.original_image_id == Image.id)


def sees(viewer: Viewer, image: Image) -> bool:
    """Whether `viewer` may see a template whose original image is `image`."""
    if isinstance(viewer, _Everyone) or image.storage_type == "permanent":
        return True
    return viewer is not None and image.session_id == viewer
