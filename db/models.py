"""The Phase 1.5 schema: users, images, templates, template_preprocessing,
batch_tasks, faceswap_tasks and crawl_tasks."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy import JSON, Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base, CreatedAtMixin, TimestampMixin

StorageType = Literal["permanent", "temporary"]
PreprocessingStatus = Literal["pending", "processing", "completed", "failed"]
TaskStatus = Literal["pending", "running", "completed", "failed"]
BatchStatus = Literal["pending", "running", "completed", "partial", "failed"]
CrawlStatus = Literal["pending", "running", "completed", "partial", "failed"]

STORAGE_TYPES: Final = ("permanent", "temporary")
PREPROCESSING_STATUSES: Final = ("pending", "processing", "completed", "failed")
TASK_STATUSES: Final = ("pending", "running", "completed", "failed")
BATCH_STATUSES: Final = ("pending", "running", "completed", "partial", "failed")
CRAWL_STATUSES: Final = ("pending", "running", "completed", "partial", "failed")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class User(CreatedAtMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    email: Mapped[str | None] = mapped_column(String(255))


class Image(CreatedAtMixin, Base):
    """A stored image file: template original, mask, couple photo or result."""

    __tablename__ = "images"
    __table_args__ = (
        CheckConstraint(_in("storage_type", STORAGE_TYPES), name="storage_type"),
        Index("ix_images_storage_type", "storage_type", "expires_at"),
        Index("ix_images_session", "session_id"),
        Index("ix_images_sha256", "sha256"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(String(512), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(32), default="image/png")
    storage_type: Mapped[str] = mapped_column(String(16), default="permanent")
    expires_at: Mapped[datetime | None]
    session_id: Mapped[str | None] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Template(TimestampMixin, Base):
    __tablename__ = "templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    original_image_id: Mapped[int] = mapped_column(ForeignKey("images.id"))
    category: Mapped[str | None] = mapped_column(String(40))
    source_url: Mapped[str | None] = mapped_column(Text)
    is_preprocessed: Mapped[bool] = mapped_column(Boolean, default=False)
    male_face_count: Mapped[int] = mapped_column(Integer, default=0)
    female_face_count: Mapped[int] = mapped_column(Integer, default=0)

    original_image: Mapped[Image] = relationship(foreign_keys=[original_image_id])
    preprocessing: Mapped[TemplatePreprocessing | None] = relationship(
        back_populates="template", cascade="all, delete-orphan", uselist=False
    )


class TemplatePreprocessing(TimestampMixin, Base):
    __tablename__ = "template_preprocessing"
    __table_args__ = (
        CheckConstraint(_in("preprocessing_status", PREPROCESSING_STATUSES), name="status"),
        Index("ix_preprocessing_status", "preprocessing_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("templates.id", ondelete="CASCADE"), unique=True
    )
    faces_detected: Mapped[int] = mapped_column(Integer, default=0)
    face_data: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    masked_image_id: Mapped[int | None] = mapped_column(ForeignKey("images.id", ondelete="SET NULL"))
    preprocessing_status: Mapped[str] = mapped_column(String(16), default="pending")
    engine: Mapped[str | None] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)

    template: Mapped[Template] = relationship(back_populates="preprocessing")


class Batch(TimestampMixin, Base):
    """One couple and N templates (the guide's `batch_tasks` table)."""

    __tablename__ = "batch_tasks"
    __table_args__ = (
        CheckConstraint(_in("status", BATCH_STATUSES), name="status"),
        Index("ix_batch_status", "status"),
        Index("ix_batch_session", "session_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[str] = mapped_column(String(36), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    session_id: Mapped[str | None] = mapped_column(String(64))
    husband_photo_id: Mapped[int] = mapped_column(ForeignKey("images.id"))
    wife_photo_id: Mapped[int] = mapped_column(ForeignKey("images.id"))
    template_ids: Mapped[list[int]] = mapped_column(JSON)
    source_faces: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    source_notes: Mapped[list[str] | None] = mapped_column(JSON)
    engine: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    total_tasks: Mapped[int] = mapped_column(Integer, default=0)
    completed_tasks: Mapped[int] = mapped_column(Integer, default=0)
    failed_tasks: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime | None]

    tasks: Mapped[list[SwapTask]] = relationship(
        back_populates="batch", order_by="SwapTask.id"
    )


class SwapTask(TimestampMixin, Base):
    """One template of a batch (the guide's `faceswap_tasks` table)."""

    __tablename__ = "faceswap_tasks"
    __table_args__ = (
        CheckConstraint(_in("status", TASK_STATUSES), name="status"),
        Index("ix_tasks_batch", "batch_id"),
        Index("ix_tasks_status_lease", "status", "lease_expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(String(36), unique=True)
    batch_id: Mapped[str | None] = mapped_column(
        ForeignKey("batch_tasks.batch_id", ondelete="CASCADE")
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    template_id: Mapped[int] = mapped_column(ForeignKey("templates.id"))
    husband_photo_id: Mapped[int] = mapped_column(ForeignKey("images.id"))
    wife_photo_id: Mapped[int] = mapped_column(ForeignKey("images.id"))
    result_image_id: Mapped[int | None] = mapped_column(ForeignKey("images.id", ondelete="SET NULL"))
    face_mappings: Mapped[dict[str, str] | None] = mapped_column(JSON)
    mapping_overrides: Mapped[dict[str, str] | None] = mapped_column(JSON)
    face_report: Mapped[dict[str, Any] | list[dict[str, Any]] | None] = mapped_column(JSON)  # faces and notes
    use_preprocessed: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    seconds: Mapped[float | None] = mapped_column(Float)
    lease_expires_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    batch: Mapped[Batch | None] = relationship(back_populates="tasks")


class CrawlTask(TimestampMixin, Base):
    __tablename__ = "crawl_tasks"
    __table_args__ = (
        CheckConstraint(_in("status", CRAWL_STATUSES), name="status"),
        Index("ix_crawl_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    found_count: Mapped[int] = mapped_column(Integer, default=0)
    imported_count: Mapped[int] = mapped_column(Integer, default=0)
    duplicate_count: Mapped[int] = mapped_column(Integer, default=0)
    rejected_count: Mapped[int] = mapped_column(Integer, default=0)
    template_ids: Mapped[list[int] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
