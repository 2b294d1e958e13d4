"""Helpers shared by CLI commands: context building, JSON output, progress bars."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from app.config import Settings
from app.context import AppContext, build_context


@contextmanager
def app_context(settings: Settings, *, migrate_embedded: bool = True) -> Iterator[AppContext]:
    """Build the context; on the embedded default, bring the schema up to date first."""
    ctx = build_context(settings)
    try:
        if migrate_embedded and settings.is_embedded:
            from db import migrate

            migrate.upgrade(ctx.db_engine)
        yield ctx
    finally:
        ctx.dispose()


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")


def progress(total: int, description: str) -> Any:
    """A tqdm bar on stderr when it is a terminal; silent otherwise."""
    from tqdm import tqdm

    return tqdm(total=total, desc=description, file=sys.stderr, disable=not sys.stderr.isatty(), unit="template")
