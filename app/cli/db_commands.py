"""`db upgrade | verify | current | stamp`."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli import EXIT_FAILED, EXIT_OK
from app.config import Settings
from db import migrate
from db.session import make_engine
from db.verify import run_checklist


def register(sub: Any) -> None:
    parser = sub.add_parser("db", help="database migrations")
    actions = parser.add_subparsers(dest="db_command", required=True)
    for name, handler, text in (
        ("upgrade", upgrade, "apply migrations"),
        ("verify", verify, "run the migration guide's checklist (exit 0 when all pass)"),
        ("current", current, "show the current revision"),
        ("stamp", stamp, "mark an existing complete schema as migrated"),
    ):
        actions.add_parser(name, help=text).set_defaults(handler=handler)


def upgrade(settings: Settings, _args: argparse.Namespace) -> int:
    return _with_engine(settings, lambda engine: print(migrate.upgrade(engine)))


def current(settings: Settings, _args: argparse.Namespace) -> int:
    return _with_engine(settings, lambda engine: print(migrate.current(engine)))


def stamp(settings: Settings, _args: argparse.Namespace) -> int:
    return _with_engine(settings, lambda engine: print(migrate.stamp(engine)))


def verify(settings: Settings, _args: argparse.Namespace) -> int:
    engine = _engine(settings)
    try:
        migrate.read_state(engine)  # raises a clear refusal when unreachable
        checks = run_checklist(engine)
    finally:
        engine.dispose()
    for check in checks:
        mark = "ok  " if check.passed else "FAIL"
        print(f"{mark} {check.name}" + (f" ({check.detail})" if check.detail and not check.passed else ""))
    failed = sum(not c.passed for c in checks)
    print(f"{len(checks) - failed} passed, {failed} failed")
    return EXIT_OK if failed == 0 else EXIT_FAILED


def _engine(settings: Settings) -> Any:
    if settings.is_embedded:
        settings.resolved_data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(settings.sqlalchemy_url)


def _with_engine(settings: Settings, action: Any) -> int:
    engine = _engine(settings)
    try:
        action(engine)
    finally:
        engine.dispose()
    return EXIT_OK
