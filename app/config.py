"""Settings read once from the environment and passed down from `main`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipeline.engine_choice import EngineChoice



class Settings(BaseSettings):
    """Every knob of CoSwap. Environment names are given explicitly by alias."""

    model_config = SettingsConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    redis_url: str | None = Field(default=None, alias="REDIS_URL")
    data_dir: Path = Field(default=Path("data"), alias="FACESWAP_DATA_DIR")
    models_dir_override: Path | None = Field(default=None, alias="FACESWAP_MODELS_DIR")
    engine: EngineChoice = Field(default="auto", alias="FACESWAP_ENGINE")
    max_image_side: int = Field(default=2048, alias="FACESWAP_MAX_SIDE", ge=256, le=8192)
    max_upload_mb: int = Field(default=15, alias="FACESWAP_MAX_UPLOAD_MB", ge=1, le=100)
    temporary_ttl_hours: float = Field(default=24.0, alias="FACESWAP_TEMP_TTL_HOURS", gt=0)
    task_lease_seconds: int = Field(default=300, alias="FACESWAP_TASK_LEASE_SECONDS", ge=5)
    crawl_allow_private: bool = Field(default=False, alias="FACESWAP_CRAWL_ALLOW_PRIVATE")
    cleanup_interval_minutes: int = Field(default=15, alias="FACESWAP_CLEANUP_MINUTES", ge=1)
    queue_name: str = Field(default="coswap", alias="FACESWAP_QUEUE_NAME", pattern=r"^[A-Za-z0-9_]{1,64}$")

    @property
    def resolved_data_dir(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def models_dir(self) -> Path:
        base = self.models_dir_override or self.resolved_data_dir / "models"
        return base.expanduser().resolve()

    @property
    def images_dir(self) -> Path:
        return self.resolved_data_dir / "images"

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return normalize_database_url(self.database_url)
        return f"sqlite:///{self.resolved_data_dir / 'faceswap.db'}"

    @property
    def is_embedded(self) -> bool:
        return self.database_url is None or self.sqlalchemy_url.startswith("sqlite")


def normalize_database_url(url: str) -> str:
    """Use psycopg 3 for plain postgresql:// URLs (psycopg2 is not installed)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_settings() -> Settings:
    return Settings()
