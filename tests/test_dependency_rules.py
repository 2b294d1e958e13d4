"""The design's dependency rules, checked by scanning every import."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN: dict[str, tuple[str, ...]] = {
    "pipeline": ("gradio", "db", "huey", "app", "sqlalchemy", "redis"),
    "db": ("pipeline", "app", "gradio", "huey"),
    "app/tasks": ("gradio", "app.ui"),
    "app/services": ("gradio", "app.ui"),
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _violations(package: str, banned: tuple[str, ...]) -> list[str]:
    base = ROOT / package
    files = [base.with_suffix(".py")] if base.with_suffix(".py").exists() else sorted(base.rglob("*.py"))
    found = []
    for path in files:
        for name in _imports(path):
            if any(name == b or name.startswith(b + ".") for b in banned):
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


def test_dependency_rules_hold() -> None:
    problems = [v for package, banned in FORBIDDEN.items() for v in _violations(package, banned)]
    assert problems == []


def test_scanner_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import gradio\nfrom db.models import Image\n")
    assert {"gradio", "db.models"} <= _imports(bad)
