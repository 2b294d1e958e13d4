"""Settings read once from the environment and passed down from `main`."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from pydantic import Field, field_validator
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
    # Long-side caps at decoding: couple photos (only their face is used) and templates (results come
    # back at the template's size, so a phone photo keeps its resolution up to this cap).
    max_image_side: int = Field(default=2048, alias="FACESWAP_MAX_SIDE", ge=256, le=8192)
    max_template_side: int = Field(default=4096, alias="FACESWAP_MAX_TEMPLATE_SIDE", ge=256, le=8192)
    max_upload_mb: int = Field(default=15, alias="FACESWAP_MAX_UPLOAD_MB", ge=1, le=100)
    temporary_ttl_hours: float = Field(default=24.0, alias="FACESWAP_TEMP_TTL_HOURS", gt=0)
    task_lease_seconds: int = Field(default=300, alias="FACESWAP_TASK_LEASE_SECONDS", ge=5)
    crawl_allow_private: bool = Field(default=False, alias="FACESWAP_CRAWL_ALLOW_PRIVATE")
    cleanup_interval_minutes: int = Field(default=15, alias="FACESWAP_CLEANUP_MINUTES", ge=1)
    queue_name: str = Field(default="coswap", alias="FACESWAP_QUEUE_NAME", pattern=r"^[A-Za-z0-9_]{1,64}$")
    # Public demo: None = decided by the bind address (see `public_demo_for`); true/false force it.
    public_demo: bool | None = Field(default=None, alias="FACESWAP_PUBLIC_DEMO")
    max_private_templates: int = Field(default=10, alias="FACESWAP_MAX_PRIVATE_TEMPLATES", ge=0)
    max_pending_tasks: int = Field(default=24, alias="FACESWAP_MAX_PENDING_TASKS", ge=1)
    max_uploads_per_hour: int = Field(default=60, alias="FACESWAP_MAX_UPLOADS_PER_HOUR", ge=1)
    # The same three quotas per client address (several visitors may share one NAT), public mode.
    max_private_templates_per_address: int = Field(default=30, alias="FACESWAP_MAX_PRIVATE_TEMPLATES_PER_ADDRESS", ge=0)
    max_pending_tasks_per_address: int = Field(default=48, alias="FACESWAP_MAX_PENDING_TASKS_PER_ADDRESS", ge=1)
    max_uploads_per_hour_per_address: int = Field(default=150, alias="FACESWAP_MAX_UPLOADS_PER_HOUR_PER_ADDRESS", ge=1)
    # Proxies whose X-Forwarded-For is believed (comma-separated CIDRs); empty: the peer address is used.
    trusted_proxies: str = Field(default="", alias="FACESWAP_TRUSTED_PROXIES")
    # Bytes all visitors together may store (photos, private templates, results), public mode.
    visitor_storage_mb: int = Field(default=2048, alias="FACESWAP_VISITOR_STORAGE_MB", ge=1)
    # Unfinished swaps on the whole server before new runs are refused as busy (UI and API).
    max_queued_tasks: int = Field(default=200, alias="FACESWAP_MAX_QUEUED_TASKS", ge=1)
    # `/swap` calls served at once by one web process; each waits (asleep) for its batch on the job queue.
    swap_api_concurrency: int = Field(default=16, alias="FACESWAP_SWAP_API_CONCURRENCY", ge=1, le=32)
    # Gradio sessions kept in memory; older ones are evicted (a visitor's data follows its token instead).
    session_capacity: int = Field(default=10000, alias="FACESWAP_SESSION_CAPACITY", ge=10)
    seed_templates: bool = Field(default=True, alias="FACESWAP_SEED_TEMPLATES")
    auto_download: bool = Field(default=False, alias="FACESWAP_AUTO_DOWNLOAD")
    models_base_url: str | None = Field(default=None, alias="FACESWAP_MODELS_BASE_URL")
    # Threads of the consumer that `serve` embeds on the embedded default (None: one per core, at most 2).
    embedded_workers: int | None = Field(default=None, alias="FACESWAP_EMBEDDED_WORKERS", ge=1, le=16)
    # Image bytes: unset = files in the data dir; s3://BUCKET/PREFIX = an S3-compatible bucket (app/objects.py),
    # with the standard AWS variables and a local cache of at most storage_cache_mb in the data dir.
    storage_url: str | None = Field(default=None, alias="FACESWAP_STORAGE_URL", pattern=r"^s3://[^/?#]+(/[^?#]*)?$")
    storage_cache_mb: int = Field(default=1024, alias="FACESWAP_STORAGE_CACHE_MB", ge=16)
    aws_access_key_id: str | None = Field(default=None, alias="AWS_ACCESS_KEY_ID", repr=False)
    aws_secret_access_key: str | None = Field(default=None, alias="AWS_SECRET_ACCESS_KEY", repr=False)
    aws_region: str | None = Field(default=None, alias="AWS_REGION")
    aws_endpoint_url: str | None = Field(default=None, alias="AWS_ENDPOINT_URL")

    @field_validator(
        "storage_url", "aws_access_key_id", "aws_secret_access_key", "aws_region", "aws_endpoint_url", mode="before"
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: str) -> str:
        parse_networks(value)
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[IPNetwork, ...]:
        return parse_networks(self.trusted_proxies)

    @property
    def visitor_storage_bytes(self) -> int:
        return self.visitor_storage_mb * 1024 * 1024

    @property
    def embedded_worker_count(self) -> int:
        if self.embedded_workers is not None:
            return self.embedded_workers
        return max(1, min(2, os.cpu_count() or 1))

    @property
    def is_public_demo(self) -> bool:
        """True only once public mode was decided on (explicitly, or by `serve` from its bind)."""
        return self.public_demo is True

    def public_demo_for(self, host: str | None) -> bool:
        """Public-demo mode for a server bound to `host`: an explicit setting wins, else any
        non-loopback bind (0.0.0.0 on a Space) is public."""
        if self.public_demo is not None:
            return self.public_demo
        return not is_loopback(host)

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


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: str) -> tuple[IPNetwork, ...]:
    """'10.0.0.0/8, 172.16.0.0/12' → networks; a bad entry raises ValueError (refused at startup)."""
    networks = []
    for item in value.replace(";", ",").split(","):
        if item.strip():
            try:
                networks.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError:
                raise ValueError(f"not an address or CIDR: {item.strip()[:60]!r}") from None
    return tuple(networks)


def is_loopback(host: str | None) -> bool:
    """None (Gradio's default 127.0.0.1), localhost and 127.x / ::1 are loopback; anything else is not."""
    if host is None or host.strip().lower() in ("", "localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def normalize_database_url(url: str) -> str:
    """Use psycopg 3 for plain postgresql:// URLs (psycopg2 is not installed)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_settings() -> Settings:
    return Settings()
