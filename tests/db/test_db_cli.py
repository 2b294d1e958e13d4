"""`python app.py db ...` as a user runs it: verify, and the guide's troubleshooting cases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.cli_helpers import run_cli


def _env(tmp_path: Path, url: str | None = None) -> dict[str, str]:
    env = {"FACESWAP_DATA_DIR": str(tmp_path / "data")}
    if url:
        env["DATABASE_URL"] = url
    return env


def test_upgrade_then_verify_passes_on_embedded_default(tmp_path: Path) -> None:
    env = _env(tmp_path)
    up = run_cli("db", "upgrade", env=env)
    assert up.returncode == 0, up.stderr
    assert (tmp_path / "data" / "faceswap.db").exists()
    verify = run_cli("db", "verify", env=env)
    assert verify.returncode == 0, verify.stdout
    assert "FAIL" not in verify.stdout
    assert "ok   index ix_tasks_batch on faceswap_tasks" in verify.stdout
    current = run_cli("db", "current", env=env)
    assert current.stdout.strip() == "00f2e8fecd91"


def test_verify_fails_on_one_missing_index(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert run_cli("db", "upgrade", env=env).returncode == 0
    engine = create_engine(f"sqlite:///{tmp_path / 'data' / 'faceswap.db'}")
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_images_session"))
    engine.dispose()
    verify = run_cli("db", "verify", env=env)
    assert verify.returncode == 1
    assert "FAIL index ix_images_session on images" in verify.stdout
    assert "Traceback" not in verify.stderr


def test_foreign_history_is_refused_with_a_reason(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'foreign.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('abc123deadbe')"))
    engine.dispose()
    result = run_cli("db", "upgrade", env=_env(tmp_path, url))
    assert result.returncode == 2
    assert "another project" in result.stderr and "abc123deadbe" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_unstamped_tables_suggest_stamp_only_when_verify_passes(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert run_cli("db", "upgrade", env=env).returncode == 0
    engine = create_engine(f"sqlite:///{tmp_path / 'data' / 'faceswap.db'}")
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
    engine.dispose()
    refused = run_cli("db", "upgrade", env=env)
    assert refused.returncode == 2
    assert "db stamp" in refused.stderr and "not stamped" in refused.stderr
    stamped = run_cli("db", "stamp", env=env)
    assert stamped.returncode == 0, stamped.stderr
    assert run_cli("db", "verify", env=env).returncode == 0


def test_stamp_refused_when_schema_is_incomplete(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'partial.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE templates (id INTEGER PRIMARY KEY, title TEXT)"))
    engine.dispose()
    result = run_cli("db", "stamp", env=_env(tmp_path, url))
    assert result.returncode == 2
    assert "refusing to stamp" in result.stderr


def test_unreachable_server_is_one_clear_line(tmp_path: Path) -> None:
    url = "postgresql://postgres@127.0.0.1:1/nowhere"
    for action in ("upgrade", "verify"):
        result = run_cli("db", action, env=_env(tmp_path, url))
        assert result.returncode == 2, result.stderr
        assert "cannot reach the database" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.postgres
def test_postgres_upgrade_and_verify_via_cli(tmp_path: Path, postgres_url: str) -> None:
    env = _env(tmp_path, postgres_url)
    assert run_cli("db", "upgrade", env=env).returncode == 0
    verify = run_cli("db", "verify", env=env)
    assert verify.returncode == 0, verify.stdout
