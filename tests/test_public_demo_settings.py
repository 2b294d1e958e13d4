"""Public-demo mode from the bind address and FACESWAP_PUBLIC_DEMO; the Space front matter of README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.config import Settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("env", "host", "public"),
    [
        ({}, None, False),
        ({}, "127.0.0.1", False),
        ({}, "localhost", False),
        ({}, "::1", False),
        ({}, "0.0.0.0", True),
        ({}, "192.168.1.20", True),
        ({}, "coswap.example.org", True),
        ({"FACESWAP_PUBLIC_DEMO": "true"}, "127.0.0.1", True),
        ({"FACESWAP_PUBLIC_DEMO": "false"}, "0.0.0.0", False),
    ],
)
def test_public_mode_follows_the_bind_unless_set(
    env: dict[str, str], host: str | None, public: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FACESWAP_PUBLIC_DEMO", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert Settings().public_demo_for(host) is public


def test_quota_defaults() -> None:
    settings = Settings()
    assert (settings.max_private_templates, settings.max_pending_tasks, settings.max_uploads_per_hour) == (10, 24, 60)
    assert settings.seed_templates is True and settings.auto_download is False
    assert settings.is_public_demo is False  # undecided until `serve` knows its bind


def test_readme_front_matter_runs_as_a_gradio_space_on_the_pinned_version() -> None:
    text = (ROOT / "README.md").read_text()
    match = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert match, "README.md must start with YAML front matter"
    fields = dict(line.split(": ", 1) for line in match.group(1).splitlines() if ": " in line)
    pinned = re.search(r"^gradio==([\w.]+)", (ROOT / "requirements.txt").read_text(), re.M)
    assert pinned is not None
    assert fields["sdk"] == "gradio" and fields["app_file"] == "app.py"
    assert fields["sdk_version"] == pinned.group(1)


def test_no_promise_of_anime_or_drawn_faces() -> None:
    from app.ui.theme import HEADER_HTML

    assert "anime" not in HEADER_HTML.lower()
    intro = (ROOT / "README.md").read_text().split("## Quick start")[0].lower()
    assert "anime" not in intro.replace("anime, cartoon or drawn faces are not detected", "")
