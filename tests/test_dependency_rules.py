"""The design's dependency rules, checked by scanning every import, including imports inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "function_level_import.py"

FORBIDDEN: dict[str, tuple[str, ...]] = {
    "pipeline": ("app", "db", "gradio", "huey", "sqlalchemy", "redis"),
    "db": ("pipeline", "app", "gradio", "huey"),
    "app/services": ("app.queue", "app.ui", "app.cli", "app.bench", "gradio", "huey"),
    "app/context.py": ("app.services", "app.queue", "app.ui", "app.cli", "app.bench"),
    "app/storage.py": ("app.services", "app.queue", "app.ui", "app.cli", "app.bench"),
    "app/queue": ("gradio", "app.ui", "app.cli", "app.bench"),
}


def imports(path: Path, package: str = "") -> set[str]:
    """Every module `path` imports, at any depth (functions, methods, TYPE_CHECKING blocks).

    Relative imports are resolved against `package` (the dotted package of `path`)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: max(0, len(package.split(".")) - node.level + 1)]
                base = ".".join([*parent, base] if base else parent)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def violations(target: Path, banned: tuple[str, ...]) -> list[str]:
    """'<file> imports <module>' for each banned import in `target` (a file or a package folder)."""
    files = [target] if target.suffix == ".py" else sorted(target.rglob("*.py"))
    found = []
    for path in files:
        relative = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        package = ".".join(relative.with_suffix("").parts[:-1])
        for name in sorted(imports(path, package)):
            if any(name == b or name.startswith(b + ".") for b in banned):
                found.append(f"{relative} imports {name}")
    return found


UI_BRIDGES = ("actions.py", "presenters.py")  # the bridge to services, and the views of their values


def test_dependency_rules_hold() -> None:
    problems = [v for place, banned in FORBIDDEN.items() for v in violations(ROOT / place, banned)]
    assert problems == []


def test_only_actions_bridges_the_ui_to_services() -> None:
    """Tab modules and the Blocks layout reach services only through app/ui/actions.py
    (presenters.py reads the value types services return)."""
    tabs = [p for p in sorted((ROOT / "app" / "ui").glob("*.py")) if p.name not in UI_BRIDGES]
    problems = [v for path in tabs for v in violations(path, ("app.services", "app.context.build_context"))]
    assert problems == []


def test_a_function_level_import_that_breaks_a_rule_is_reported() -> None:
    found = violations(FIXTURE, FORBIDDEN["app/services"])
    assert any(v.endswith("imports app.queue.tasks") for v in found), found
    assert any("app.ui" in v for v in found), found


def test_scanner_sees_top_level_and_relative_imports(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import gradio\nfrom db.models import Image\n\ndef f():\n    from ..queue import tasks\n")
    found = imports(bad, "app.services")
    assert {"gradio", "db.models", "app.queue", "app.queue.tasks"} <= found
