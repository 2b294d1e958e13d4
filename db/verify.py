"""The migration guide's checklist, run against a live database."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import Inspector

EXPECTED_REVISION = "00f2e8fecd91"

TABLES = (
    "users",
    "images",
    "templates",
    "template_preprocessing",
    "batch_tasks",
    "faceswap_tasks",
    "crawl_tasks",
)
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "images": ("storage_type", "expires_at", "session_id", "sha256", "width", "height", "path"),
    "templates": (
        "name",
        "original_image_id",
        "is_preprocessed",
        "male_face_count",
        "female_face_count",
        "updated_at",
    ),
    "template_preprocessing": (
        "faces_detected",
        "face_data",
        "masked_image_id",
        "preprocessing_status",
    ),
    "batch_tasks": ("batch_id", "template_ids", "total_tasks", "completed_tasks", "failed_tasks"),
    "faceswap_tasks": (
        "task_id",
        "batch_id",
        "husband_photo_id",
        "wife_photo_id",
        "face_mappings",
        "use_preprocessed",
        "status",
        "attempts",
        "error",
        "result_image_id",
    ),
}
REPLACED_COLUMNS: dict[str, tuple[str, ...]] = {
    "templates": ("title", "image_id"),
    "faceswap_tasks": ("husband_image_id", "wife_image_id"),
}
INDEXES: dict[str, str] = {
    "ix_images_storage_type": "images",
    "ix_images_session": "images",
    "ix_preprocessing_status": "template_preprocessing",
    "ix_batch_status": "batch_tasks",
    "ix_tasks_batch": "faceswap_tasks",
}
FOREIGN_KEYS: dict[str, tuple[str, ...]] = {
    "template_preprocessing": ("templates", "images"),
    "batch_tasks": ("users", "images"),
    "faceswap_tasks": ("batch_tasks", "templates", "images", "users"),
}


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str = ""


def run_checklist(engine: Engine, *, include_revision: bool = True) -> list[Check]:
    """Every line of the guide's checklist, in order. Nothing is modified."""
    inspector = inspect(engine)
    checks = list(_schema_checks(inspector))
    if include_revision:
        checks.append(_revision_check(engine, inspector))
    return checks


def _schema_checks(inspector: Inspector) -> Iterator[Check]:
    present = set(inspector.get_table_names())
    for table in TABLES:
        yield Check(f"table {table}", table in present)
    for table, columns in REQUIRED_COLUMNS.items():
        have = _columns(inspector, table, present)
        for column in columns:
            yield Check(f"column {table}.{column}", column in have)
    for table, columns in REPLACED_COLUMNS.items():
        have = _columns(inspector, table, present)
        for column in columns:
            yield Check(f"old column {table}.{column} is gone", column not in have)
    for index, table in INDEXES.items():
        names = {ix["name"] for ix in inspector.get_indexes(table)} if table in present else set()
        yield Check(f"index {index} on {table}", index in names)
    for table, targets in FOREIGN_KEYS.items():
        referred = (
            {fk["referred_table"] for fk in inspector.get_foreign_keys(table)}
            if table in present
            else set()
        )
        for target in targets:
            yield Check(f"foreign key {table} -> {target}", target in referred)


def _columns(inspector: Inspector, table: str, present: set[str]) -> set[str]:
    return {c["name"] for c in inspector.get_columns(table)} if table in present else set()


def _revision_check(engine: Engine, inspector: Inspector) -> Check:
    name = f"alembic_version is {EXPECTED_REVISION}"
    if "alembic_version" not in inspector.get_table_names():
        return Check(name, False, "no alembic_version table")
    with engine.connect() as conn:
        revisions = [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]
    return Check(name, revisions == [EXPECTED_REVISION], f"found {revisions or 'none'}")
