"""Export settings, read from ``HBM_EXPORT_*`` (and ``HBM_MARKING``) environment variables or ``.env``."""

from __future__ import annotations

import re

from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from data.settings import config_error

DEFAULT_MARKING = "RESTRICTED — HUMANITARIAN USE"


class ExportSettings(BaseSettings):
    """What may leave the system, and how it is labelled."""

    model_config = SettingsConfigDict(env_prefix="HBM_EXPORT_", env_file=".env", extra="ignore")

    marking: str = Field(
        DEFAULT_MARKING,
        min_length=1,
        max_length=80,
        validation_alias=AliasChoices("HBM_MARKING", "HBM_EXPORT_MARKING", "marking"),
    )
    allow_raw_events: bool = False
    max_raw_events: int = Field(100_000, ge=1, le=2_000_000)
    source_note: str = Field("HBM situational-awareness store", max_length=200)


def load_export_settings(**overrides: object) -> ExportSettings:
    """Return validated ExportSettings, raising ConfigError with a one-line message."""
    try:
        return ExportSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = config_error(exc)
        # config_error names fields HBM_<NAME>; these live under HBM_EXPORT_<NAME>.
        raise type(error)(re.sub(r"^HBM_(?!EXPORT_|MARKING)", "HBM_EXPORT_", str(error))) from None
