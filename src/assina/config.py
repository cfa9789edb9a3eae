"""Settings from the environment, all prefixed `ASSINA_`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from assina.core.ratelimit import Limits, Policy
from assina.core.smtp_target import check_sender_address, parse_smtp_url

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
    # Limits (docs/limits.md). Requests per API key: a token bucket of `burst` requests
    # refilled at `per_second` (0 turns the limit off, e.g. behind a gateway that limits).
    api_rate_limit_per_second: float = Field(default=50, ge=0)
    api_rate_limit_burst: int = Field(default=100, ge=1)
    # Requests of one API key that run at once in a process; the others wait their turn.
    api_concurrency_per_key: int = Field(default=8, ge=1)
    # A request sent while its key is already known refused is answered 429 after this pause:
    # a flood then costs one cheap answer per connection per pause, not the event loop.
    api_refusal_hold_seconds: float = Field(default=1.0, ge=0, le=10)
    # Webhook endpoints a tenant may have (deleted ones do not count).
    max_webhook_endpoints: int = Field(default=50, ge=1)
    # Manual retries of messages, and recovers, per webhook endpoint per hour.
    message_retries_per_hour: int = Field(default=100, ge=1)
    endpoint_recovers_per_hour: int = Field(default=20, ge=1)
    # The server's public base URL (`https://assina.example.com`), from which providers reach
    # it: the inbound URLs of the payment settings are built on it. Unset: each request's own.
    public_url: str | None = None
    # Where the Asaas adapter sends its requests instead of Asaas (a local stand-in, in tests
    # and demos); unset: Asaas's own URL for the tenant's environment.
    asaas_base_url: str | None = None
    # How often the worker asks each tenant's providers what they received (reconciliation).
    reconcile_interval_seconds: float = Field(default=300.0, gt=0)
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

    @field_validator("public_url", mode="before")
    @classmethod
    def _public_url(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, str):
            if not value.startswith(("http://", "https://")):
                raise ValueError("ASSINA_PUBLIC_URL must start with http:// or https://")
            return value.strip().rstrip("/")
        return value

    @field_validator("smtp_from")
    @classmethod
    def _smtp_from(cls, value: str) -> str:
        check_sender_address(value)
        return value

    def limits(self) -> Limits:
        requests = None
        if self.api_rate_limit_per_second > 0:
            requests = Policy(
                "requests",
                self.api_rate_limit_burst,
                self.api_rate_limit_per_second,
                "requests with this API key",
            )
        return Limits(
            requests=requests,
            message_retries=Policy.per_hour(
                "retries", self.message_retries_per_hour, "manual retries for this endpoint"
            ),
            endpoint_recovers=Policy.per_hour(
                "recovers", self.endpoint_recovers_per_hour, "recovers of this endpoint"
            ),
            max_webhook_endpoints=self.max_webhook_endpoints,
        )
