"""Settings of alert notifications (``HBM_NOTIFY_*``): SMTP server, retry policy, worker pace."""

from __future__ import annotations

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from data.settings import config_error, env_names


class NotifySettings(BaseSettings):
    """SMTP server, retry policy and worker pace of alert notifications (``HBM_NOTIFY_*``)."""

    model_config = SettingsConfigDict(
        env_prefix="HBM_NOTIFY_", env_file=".env", extra="ignore", populate_by_name=True
    )

    smtp_host: str | None = Field(
        None,
        validation_alias=env_names("HBM_NOTIFY_SMTP_HOST", "HBM_SMTP_HOST"),
        description="SMTP server for alert e-mails; unset: e-mails fail, are retried, then kept as dead letters.",
    )
    smtp_port: int = Field(
        25,
        ge=1,
        le=65535,
        validation_alias=env_names("HBM_NOTIFY_SMTP_PORT", "HBM_SMTP_PORT"),
        description="SMTP port.",
    )
    smtp_user: str | None = Field(
        None, validation_alias=env_names("HBM_NOTIFY_SMTP_USER", "HBM_SMTP_USER"), description="SMTP user name."
    )
    smtp_password: str | None = Field(
        None, validation_alias=env_names("HBM_NOTIFY_SMTP_PASSWORD", "HBM_SMTP_PASSWORD"), description="SMTP password."
    )
    smtp_starttls: bool = Field(
        False,
        validation_alias=env_names("HBM_NOTIFY_SMTP_STARTTLS", "HBM_SMTP_STARTTLS"),
        description="Upgrade the SMTP connection with STARTTLS.",
    )
    smtp_from: str = Field(
        "hbm-alerts@localhost",
        validation_alias=env_names("HBM_NOTIFY_SMTP_FROM", "HBM_SMTP_FROM"),
        description="Sender address of alert e-mails.",
    )
    notify_max_attempts: int = Field(
        5,
        ge=1,
        le=50,
        validation_alias=env_names("HBM_NOTIFY_MAX_ATTEMPTS"),
        description="Tries per message before it becomes a dead letter.",
    )
    notify_retry_base_s: float = Field(
        30.0,
        ge=0,
        le=86_400,
        validation_alias=env_names("HBM_NOTIFY_RETRY_BASE_S"),
        description="First retry delay in seconds; it doubles with every try.",
    )
    notify_timeout_s: float = Field(
        10.0,
        gt=0,
        le=120,
        validation_alias=env_names("HBM_NOTIFY_TIMEOUT_S"),
        description="Seconds to wait for an SMTP server or webhook.",
    )
    notify_interval_s: float = Field(
        5.0,
        gt=0,
        le=3600,
        validation_alias=env_names("HBM_NOTIFY_INTERVAL_S"),
        description="Seconds between the outbox worker's rounds in the web app.",
    )
    dashboard_url: str = Field(
        "",
        validation_alias=env_names("HBM_NOTIFY_DASHBOARD_URL", "HBM_DASHBOARD_URL"),
        description="The dashboard's address, linked from each message when set.",
    )
    worker: bool = Field(
        False,
        validation_alias=env_names("HBM_NOTIFY_WORKER"),
        description="Run the outbox worker inside the web app (one process only; with several workers run "
        "`hbm notify run --every N` instead).",
    )


def load_notify_settings(**overrides: object) -> NotifySettings:
    """Return validated NotifySettings, raising ConfigError with a one-line message."""
    try:
        return NotifySettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise config_error(exc, "HBM_NOTIFY_") from None
