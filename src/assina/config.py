"""Settings from the environment, all prefixed `ASSINA_`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./assina.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ASSINA_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    data_dir: Path = Path(".")
    secret_key: str | None = Field(default=None, repr=False)
    allow_private_targets: bool = False
    smtp_url: str | None = Field(default=None, repr=False)
    log_level: Literal["debug", "info", "warning", "error", "critical"] = "info"
    db_pool_size: int = 10
    retention_days: int = Field(default=30, ge=1)
    # How long a claimed message stays leased to one worker before another may take it over.
    webhook_lease_seconds: int = Field(default=60, ge=1, le=600)
    # Exposes `POST /_bench/bare`, a route that touches no database, for bench/api.py only.
    bench_endpoints: bool = False

    @field_validator("log_level", mode="before")
    @classmethod
    def _lowercase_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
