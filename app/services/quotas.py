"""Quotas of the public demo, per visitor (token key) and per client address; each refusal is one line.

A new Gradio session or a new token does not reset the per-address counts:
- uploads an hour (couple photos and template images): `max_uploads_per_hour` per visitor and
  `max_uploads_per_hour_per_address` (this process's sliding window; public mode);
- private templates: `max_private_templates` per visitor and `max_private_templates_per_address`
  (counted in the rows; public mode);
- swaps pending or running: `max_pending_tasks` per visitor, always, and
  `max_pending_tasks_per_address` in public mode (checked by app.services.runs);
- the bytes all visitors store together: `visitor_storage_mb` (public mode). Past it new uploads are
  refused; nothing stored is removed for it.

Per-address counts of rows sum over the visitor keys that the address stored something with
(ctx.address_book, this process).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable

from sqlalchemy import func, select

from app.context import AppContext
from app.objects import total_size
from app.errors import ServiceError
from db.models import Image, Template

OPERATOR_SESSIONS = ("cli",)  # rows the CLI stores: the operator's, not a visitor's


class QuotaExceeded(ServiceError):
    """A limit of the public demo was reached."""


class StorageFull(QuotaExceeded):
    """The server-wide budget for visitor data is used up."""


def note_address(ctx: AppContext, key: str, address: str | None) -> None:
    """Remember that `address` stores things as `key` (for the per-address sums)."""
    if address:
        ctx.address_book.note(address, key)


def keys_of_address(ctx: AppContext, key: str, address: str | None) -> list[str]:
    """Every visitor key this address stored something with, `key` included."""
    keys = ctx.address_book.keys(address) if address else []
    return list(dict.fromkeys([key, *keys]))


def private_templates_of(ctx: AppContext, keys: Iterable[str]) -> int:
    owners = list(keys)
    if not owners:
        return 0
    with ctx.sessions() as session:
        return int(
            session.execute(
                select(func.count())
                .select_from(Template)
                .join(Image, Template.original_image_id == Image.id)
                .where(Image.storage_type == "temporary", Image.session_id.in_(owners))
            ).scalar_one()
        )


def check_private_templates(ctx: AppContext, key: str, adding: int, address: str | None = None) -> None:
    limit = ctx.settings.max_private_templates
    have = private_templates_of(ctx, [key])
    if have + adding > limit:
        room = max(0, limit - have)
        raise QuotaExceeded(
            f"you have {have} private templates and may keep at most {limit} "
            f"({'none' if room == 0 else room} more); remove one of yours or delete your data first"
        )
    if address:
        per_address = ctx.settings.max_private_templates_per_address
        total = private_templates_of(ctx, keys_of_address(ctx, key, address))
        if total + adding > per_address:
            raise QuotaExceeded(
                f"visitors from your network keep {total} private templates; at most {per_address} are allowed "
                "from one address. Remove some or wait until they expire"
            )


def record_uploads(ctx: AppContext, key: str, count: int, address: str | None = None) -> None:
    """Count `count` uploads against this visitor's and this address's hourly quotas, or refuse them all."""
    if not ctx.settings.is_public_demo:
        return
    settings = ctx.settings
    limits = {f"visitor:{key}": settings.max_uploads_per_hour}
    if address:
        limits[f"address:{address}"] = settings.max_uploads_per_hour_per_address
    refused = ctx.upload_log.try_add_all(limits, count)
    if refused is None:
        note_address(ctx, key, address)
        return
    minutes = max(1, math.ceil(ctx.upload_log.seconds_until_free(refused) / 60))
    wait = f"Try again in {minutes} minute{'s' if minutes != 1 else ''}"
    if refused.startswith("address:"):
        raise QuotaExceeded(
            f"{ctx.upload_log.count(refused)} photos were uploaded from your address in the last hour; one address "
            f"may upload {limits[refused]} an hour. {wait}"
        )
    raise QuotaExceeded(
        f"you have uploaded {ctx.upload_log.count(refused)} photos in the last hour; a visitor may upload "
        f"{limits[refused]} an hour. {wait}"
    )


def visitor_bytes(ctx: AppContext) -> int:
    """Bytes of every stored file that belongs to a visitor (photos, private templates, results)."""
    with ctx.sessions() as session:
        paths = session.execute(
            select(Image.path).where(Image.session_id.is_not(None), Image.session_id.not_in(OPERATOR_SESSIONS))
        ).scalars().all()
    return total_size(ctx.image_store.objects, paths)


def check_storage(ctx: AppContext, incoming: int) -> None:
    """Public mode: refuse new uploads once visitors' data would pass the server-wide budget."""
    if not ctx.settings.is_public_demo:
        return
    budget = ctx.settings.visitor_storage_bytes
    used = visitor_bytes(ctx)
    if used + max(0, incoming) > budget:
        raise StorageFull(
            f"this demo's storage for visitors is full ({used / 1e6:.0f} of {budget / 1e6:.0f} MB); "
            "no new photos are accepted until older ones expire. Try again later"
        )


def file_sizes(paths: Iterable[str | os.PathLike[str] | None]) -> int:
    total = 0
    for path in paths:
        if path:
            try:
                total += os.stat(path).st_size
            except OSError:
                continue
    return total
