"""README's Development section draws the layout of app/: every module is named there, and every
module named there exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _tree() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Development", 1)[1]
    block = section.split("```", 2)[1]
    return block.splitlines()


def _named_paths() -> set[str]:
    """app/... paths the tree names, rebuilt from its indentation."""
    paths: set[str] = set()
    stack: list[tuple[int, str]] = []
    for line in _tree():
        match = re.match(r"^( *)(\S+)", line)
        if not match:
            continue
        indent, name = len(match.group(1)), match.group(2)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = "/".join([*(part for _, part in stack), name.rstrip("/")])
        if name.endswith("/"):
            stack.append((indent, name.rstrip("/")))
        else:
            paths.add(path)
    return {p for p in paths if p.startswith("app/")}


def test_readme_names_every_app_module() -> None:
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "app").rglob("*.py")}
    assert sorted(modules - _named_paths()) == []


def test_every_module_the_readme_names_exists() -> None:
    assert sorted(p for p in _named_paths() if not (ROOT / p).is_file()) == []
