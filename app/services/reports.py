"""Typed reports of batches and crawls, read by attribute; `to_json` gives the design's JSON shapes.

A task's notes (for example "two men: the leftmost two faces were used") have their own field. They
are stored beside the per-face report in the task row's JSON `face_report` column, so the schema
does not change; the `error` column carries errors only.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

UNFINISHED = ("pending", "running")


@dataclass(frozen=True)
class TaskResult:
    """One template of a batch."""

    template_id: int
    status: str
    task_id: str
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    output: str | None = None
    seconds: float = 0.0
    faces: list[dict[str, Any]] = field(default_factory=list)
    template_name: str | None = None

    @property
    def note(self) -> str | None:
        """The notes as one line, or None."""
        return "; ".join(self.notes) or None

    def to_json(self, *, with_output: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "template_id": self.template_id,
            "status": self.status,
            "error": self.error,
            "note": self.note,
            "notes": list(self.notes),
            "output": self.output,
            "seconds": self.seconds,
            "faces": self.faces,
            "task_id": self.task_id,
        }
        if self.template_name is not None:
            data["template_name"] = self.template_name
        if not with_output:
            del data["output"]
        return data


@dataclass(frozen=True)
class BatchReport:
    """The design's batch report: one couple, N templates."""

    batch_id: str
    engine: str
    status: str
    total: int
    completed: int
    failed: int
    notes: list[str] = field(default_factory=list)
    results: list[TaskResult] = field(default_factory=list)
    enhance: float | None = None  # the face enhancer's strength when it was asked for
    couple_refused: str | None = None  # why the couple photos could not be used (every task failed for it)

    @property
    def finished(self) -> bool:
        return self.completed + self.failed >= self.total

    def is_finished(self) -> bool:
        return self.finished

    @property
    def waiting(self) -> int:
        return max(0, self.total - self.completed - self.failed)

    def completed_results(self) -> list[TaskResult]:
        return [r for r in self.results if r.status == "completed" and r.output]

    def failed_results(self) -> list[TaskResult]:
        return [r for r in self.results if r.status == "failed"]

    def named(self, names: dict[int, str]) -> BatchReport:
        """The report with each result's template name (a fallback name for a template gone)."""
        results = [replace(r, template_name=names.get(r.template_id, f"template {r.template_id}")) for r in self.results]
        return replace(self, results=results)

    def with_outputs(self, outputs: dict[int, str]) -> BatchReport:
        """The report with these results' output paths replaced (keyed by template id)."""
        results = [replace(r, output=outputs.get(r.template_id, r.output)) for r in self.results]
        return replace(self, results=results)

    def to_json(self, *, with_outputs: bool = True) -> dict[str, Any]:
        """The design's `--json` shape; without outputs for API callers (no server paths)."""
        return {
            "batch_id": self.batch_id,
            "engine": self.engine,
            "status": self.status,
            "total": self.total,
            "completed": self.completed,
            "failed": self.failed,
            "notes": list(self.notes),
            "enhance": self.enhance,
            "results": [r.to_json(with_output=with_outputs) for r in self.results],
        }


@dataclass(frozen=True)
class CrawlReport:
    """One crawl_tasks row."""

    crawl_id: int
    url: str
    status: str
    found: int = 0
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    template_ids: list[int] = field(default_factory=list)
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.status not in UNFINISHED

    def to_json(self) -> dict[str, Any]:
        return {
            "crawl_id": self.crawl_id,
            "url": self.url,
            "status": self.status,
            "found": self.found,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "template_ids": list(self.template_ids),
            "error": self.error,
        }


def stored_task_report(value: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """(faces, notes) from a task's `face_report` column: {"faces": [...], "notes": [...]},
    or the bare face list that rows written before notes had their own field hold."""
    if isinstance(value, dict):
        return list(value.get("faces") or []), [str(n) for n in value.get("notes") or []]
    return list(value or []), []


def task_report_json(faces: list[dict[str, Any]], notes: list[str]) -> dict[str, Any]:
    """What `face_report` stores for a finished task."""
    return {"faces": faces, "notes": notes}
