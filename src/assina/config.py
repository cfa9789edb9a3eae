"""Settings from the environment, all prefixed `ASSINA_`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from assina.notifications.smtp import check_sender_address, parse_smtp_url

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./assina.db"


class Settings(BaseSettings):
    # Inputs stay out of error messages: a bad ASSINA_SMTP_URL must not print its password.
    model_config = SettingsConfigDict(
        env_prefix="ASSINA_", extra="ignore", hide_input_in_errors=True
    )

    database_url: str = DEFAULT_DATABASE_URL
    data_dir: Path = Path(".")
    secret_key: str | None = Field(default=None, repr=False)
    # Only for `assina secret-key rotate`: the key that replaces secret_key.
    new_secret_key: str | None = Field(default=None, repr=False)
    allow_private_targets: bool = False
    # `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://…:465` (implicit TLS).
    smtp_url: str | None = Field(default=None, repr=False)
    # The sender address of every e-mail (a tenant's `from_name` is shown with it).
    smtp_from: str = "assina@localhost"
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

    @field_validator("smtp_url", mode="before")
    @classmethod
    def _smtp_url(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, str):
            parse_smtp_url(value)  # a malformed URL stops the process at start, clearly
        return value

    @field_validator("smtp_from")
    @classmethod
    def _smtp_from(cls, value: str) -> str:
        check_sender_address(value)
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
