"""Alembic operations with the guide's troubleshooting cases turned into clear refusals."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import OperationalError

from db.verify import TABLES, run_checklist

ROOT = Path(__file__).resolve().parent.parent


class MigrationRefused(Exception):
    """The database is not in a state we may migrate; the message says what to do."""


class DatabaseUnreachable(MigrationRefused):
    pass


@dataclass(frozen=True)
class DatabaseState:
    revisions: tuple[str, ...]
    app_tables: tuple[str, ...]
    known_revisions: frozenset[str]

    @property
    def foreign_revisions(self) -> tuple[str, ...]:
        return tuple(r for r in self.revisions if r not in self.known_revisions)


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["skip_logging"] = True
    return config


def read_state(engine: Engine) -> DatabaseState:
    scripts = ScriptDirectory.from_config(alembic_config(engine.url.render_as_string(False)))
    known = frozenset(s.revision for s in scripts.walk_revisions())
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            revisions: tuple[str, ...] = ()
            if "alembic_version" in tables:
                revisions = tuple(r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version")))
    except OperationalError as exc:
        raise DatabaseUnreachable(
            f"cannot reach the database at {engine.url.render_as_string(hide_password=True)}: "
            f"{_first_line(exc)}; check DATABASE_URL and that the server is running"
        ) from exc
    return DatabaseState(revisions, tuple(t for t in TABLES if t in tables), known)


def upgrade(engine: Engine) -> str:
    """Apply migrations to head. Returns a one-line summary."""
    state = read_state(engine)
    if state.foreign_revisions:
        raise MigrationRefused(
            f"the database has migration history from another project (revision "
            f"{', '.join(state.foreign_revisions)}); use a fresh database, or remove its "
            "alembic_version table once you are sure the schema is CoSwap's"
        )
    if not state.revisions and state.app_tables:
        raise MigrationRefused(
            "tables exist but the database is not stamped; run `python app.py db verify`, "
            "and if it passes, `python app.py db stamp`"
        )
    _run(engine, lambda cfg: command.upgrade(cfg, "head"))
    return f"database at revision {current(engine)}"


def stamp(engine: Engine) -> str:
    """Mark an existing, complete schema as being at head; refused when the checklist fails."""
    state = read_state(engine)
    if state.foreign_revisions:
        raise MigrationRefused(
            f"the database has foreign migration history ({', '.join(state.foreign_revisions)}); "
            "refusing to stamp over it"
        )
    failed = [c.name for c in run_checklist(engine, include_revision=False) if not c.passed]
    if failed:
        raise MigrationRefused(
            f"refusing to stamp: {len(failed)} schema checks fail (first: {failed[0]}); "
            "run `python app.py db verify` for the list"
        )
    _run(engine, lambda cfg: command.stamp(cfg, "head"))
    return f"stamped at {current(engine)}"


def current(engine: Engine) -> str:
    revisions = read_state(engine).revisions
    return ", ".join(revisions) if revisions else "none (empty database)"


def downgrade_to_base(engine: Engine) -> None:
    _run(engine, lambda cfg: command.downgrade(cfg, "base"))


def _run(engine: Engine, action: object) -> None:
    with engine.begin() as conn:
        config = alembic_config(engine.url.render_as_string(False))
        config.attributes["connection"] = conn
        action(config)  # type: ignore[operator]


def _first_line(exc: BaseException) -> str:
    text_ = str(getattr(exc, "orig", exc)) or exc.__class__.__name__
    return text_.strip().splitlines()[0]
