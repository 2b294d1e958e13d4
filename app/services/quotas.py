"""Per-session quotas of the public demo, each refused with a clear message (QuotaExceeded).

- private templates a session keeps: `max_private_templates` (public mode);
- swaps pending or running for a session: `max_pending_tasks` (always; checked by runs.check_capacity
  through RunLimits.max_session_backlog, which the UI builds from this setting);
- photo uploads (couple photos and template images) an hour: `max_uploads_per_hour` (public mode).
"""

from __future__ import annotations

import math

from app.context import AppContext
from app.errors import ServiceError
from app.services.template_admin import private_template_count


class QuotaExceeded(ServiceError):
    """A per-session limit of the public demo was reached."""


def check_private_templates(ctx: AppContext, session_id: str, adding: int) -> None:
    limit = ctx.settings.max_private_templates
    have = private_template_count(ctx, session_id)
    if have + adding > limit:
        room = max(0, limit - have)
        raise QuotaExceeded(
            f"you have {have} private templates and may keep at most {limit} "
            f"({'none' if room == 0 else room} more); remove one of yours or delete your data first"
        )


def record_uploads(ctx: AppContext, session_id: str, count: int) -> None:
    """Count `count` uploads against this session's hourly quota, or refuse them all."""
    if not ctx.settings.is_public_demo:
        return
    limit = ctx.settings.max_uploads_per_hour
    if not ctx.upload_log.try_add(session_id, count, limit):
        minutes = max(1, math.ceil(ctx.upload_log.seconds_until_free(session_id) / 60))
        raise QuotaExceeded(
            f"you have uploaded {ctx.upload_log.count(session_id)} photos in the last hour; a visitor may upload "
            f"{limit} an hour. Try again in {minutes} minute{'s' if minutes != 1 else ''}"
        )
