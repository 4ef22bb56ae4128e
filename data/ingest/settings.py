"""Ingest settings, read from ``HBM_INGEST_*`` environment variables and an optional ``.env``."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from data.settings import config_error
from geo.errors import ConfigError
from geo.validate import bbox_from_text

# The longest text each field may hold; longer values are rejected (never truncated).
DEFAULT_TEXT_LIMITS = {"id": 200, "name": 200, "notes": 4000, "source": 500}
OTHER_TEXT_LIMIT = 200


def parse_region(raw: str) -> tuple[float, float, float, float]:
    """Return ``west, south, east, north`` from ``"W,S,E,N"`` text, or raise ConfigError."""
    return bbox_from_text(raw, "HBM_INGEST_REGION_BBOX")


class IngestSettings(BaseSettings):
    """How files and API batches are read, checked and written."""

    model_config = SettingsConfigDict(env_prefix="HBM_INGEST_", env_file=".env", extra="ignore")

    naive_timezone: str = "UTC"
    batch_rows: int = Field(20_000, ge=1, le=1_000_000)
    future_tolerance_s: int = Field(600, ge=0)
    earliest_year: int = Field(1900, ge=1, le=9999)
    region_bbox: str | None = None
    # Plausible positions (docs/ingest.md, "Checks, per row"): how far from a named country a position may lie.
    country_margin_km: float = Field(500.0, ge=0)
    sea_margin_km: float = Field(1000.0, ge=0)
    repair_geometry: bool = True
    text_limit_name: int = Field(DEFAULT_TEXT_LIMITS["name"], ge=1)
    text_limit_notes: int = Field(DEFAULT_TEXT_LIMITS["notes"], ge=1)
    text_limit_source: int = Field(DEFAULT_TEXT_LIMITS["source"], ge=1)
    text_limit_id: int = Field(DEFAULT_TEXT_LIMITS["id"], ge=1)
    text_limit_other: int = Field(OTHER_TEXT_LIMIT, ge=1)

    @field_validator("naive_timezone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"HBM_INGEST_NAIVE_TIMEZONE {value!r} is not an IANA time zone (e.g. UTC, Africa/Kampala)"
            ) from None
        return value

    @field_validator("region_bbox")
    @classmethod
    def _valid_region(cls, value: str | None) -> str | None:
        if value:
            parse_region(value)
        return value or None

    @property
    def zone(self) -> ZoneInfo:
        """Return the zone naive timestamps are read in."""
        return ZoneInfo(self.naive_timezone)

    @property
    def region(self) -> tuple[float, float, float, float] | None:
        """Return the region used to detect swapped lat/lng, or None when unset."""
        return parse_region(self.region_bbox) if self.region_bbox else None

    @property
    def earliest(self) -> datetime:
        """Return the earliest plausible time (UTC)."""
        return datetime(self.earliest_year, 1, 1, tzinfo=ZoneInfo("UTC"))

    def text_limit(self, field: str) -> int:
        """Return the longest text ``field`` may hold."""
        return int(getattr(self, f"text_limit_{field}", self.text_limit_other))


def load_ingest_settings(**overrides: object) -> IngestSettings:
    """Return validated IngestSettings, raising ConfigError with a one-line message."""
    try:
        return IngestSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise config_error(exc) from None
