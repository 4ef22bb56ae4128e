"""Store settings, read from ``HBM_*`` environment variables and an optional ``.env``."""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from geo.errors import ConfigError

SUPPORTED_DRIVERS = ("sqlite", "postgresql", "postgresql+psycopg")


def default_database_url() -> str:
    """Return the embedded SQLite URL under the user's data directory."""
    folder = Path(platformdirs.user_data_dir("hbm", appauthor=False))
    return f"sqlite:///{folder / 'hbm.sqlite'}"


def parse_database_url(raw: str) -> URL:
    """Return the parsed URL, or raise ConfigError with a one-line reason."""
    hint = "expected sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB"
    try:
        url = make_url(raw.strip())
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(f"HBM_DATABASE_URL {raw!r} is not a database URL ({hint})") from exc
    if url.drivername not in SUPPORTED_DRIVERS:
        raise ConfigError(f"HBM_DATABASE_URL uses unsupported driver {url.drivername!r} ({hint})")
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    if url.drivername.startswith("postgresql") and not url.database:
        raise ConfigError(f"HBM_DATABASE_URL names no database ({hint})")
    if url.drivername == "sqlite" and not url.database:
        raise ConfigError(f"HBM_DATABASE_URL names no SQLite file ({hint})")
    return url


def env_names(current: str, *deprecated: str) -> AliasChoices:
    """Return a setting's environment names: the current one first, then older names still read (deprecated)."""
    return AliasChoices(current, *deprecated)


class StoreSettings(BaseSettings):
    """Where the data lives (``HBM_DATABASE_*``)."""

    model_config = SettingsConfigDict(
        env_prefix="HBM_DATABASE_", env_file=".env", extra="ignore", populate_by_name=True
    )

    database_url: str = Field(
        default_factory=default_database_url,
        validation_alias=env_names("HBM_DATABASE_URL"),
        description="The store: sqlite:///PATH (embedded, the default: a file under the user's data folder) or "
        "postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB (PostGIS).",
    )
    connect_timeout_s: int = Field(
        3,
        validation_alias=env_names("HBM_DATABASE_CONNECT_TIMEOUT_S", "HBM_CONNECT_TIMEOUT_S"),
        description="Seconds to wait for the database to accept a connection before the store counts as unavailable.",
    )

    @field_validator("database_url")
    @classmethod
    def _valid_url(cls, value: str) -> str:
        parse_database_url(value)
        return value

    @property
    def url(self) -> URL:
        """Return the parsed database URL."""
        return parse_database_url(self.database_url)


def config_error(exc: ValidationError, prefix: str = "HBM_") -> ConfigError:
    """Return a one-line ConfigError for the first problem pydantic found in ``HBM_*`` settings."""
    first = exc.errors()[0]
    cause = first.get("ctx", {}).get("error")
    loc = str(first["loc"][0]).upper() if first["loc"] else ""
    field = (loc if loc.startswith("HBM_") else prefix + loc) if loc else "setting"
    return ConfigError(str(cause) if cause else f"{field}: {first['msg']}")


def load_store_settings(**overrides: object) -> StoreSettings:
    """Return validated StoreSettings, raising ConfigError with a one-line message."""
    try:
        return StoreSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise config_error(exc, "HBM_DATABASE_") from None
