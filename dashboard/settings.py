"""Web-app settings, read from ``HBM_*`` environment variables and an optional ``.env``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from data.settings import config_error
from geo.errors import ConfigError
from layers.i18n import N_
from layers.pmtiles_archive import read_pmtiles_header


def parse_bbox(raw: str) -> tuple[float, float, float, float]:
    """Return ``west, south, east, north`` from ``"W,S,E,N"`` text, or raise ConfigError."""
    try:
        w, s, e, n = (float(part) for part in raw.split(","))
    except ValueError:
        raise ConfigError(f"bbox {raw!r} must be four numbers W,S,E,N in degrees") from None
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise ConfigError(f"bbox {raw!r} must be W,S,E,N with W<E and S<N in lng/lat degrees")
    return w, s, e, n


class AppSettings(BaseSettings):
    """How the map is served and refreshed."""

    model_config = SettingsConfigDict(env_prefix="HBM_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8050, ge=1, le=65535)
    refresh_seconds: float = Field(10.0, ge=1.0, le=3600.0)
    tile_url: str | None = None
    tile_attribution: str = "Tiles: see HBM_TILE_URL provider"
    # HBM_BASEMAP_PMTILES: an offline PMTiles archive (vector or raster) the app serves itself, behind sign-in.
    basemap_pmtiles: str | None = None
    basemap_pmtiles_attribution: str = N_("Basemap: operator-supplied PMTiles archive")
    region_bbox: str = "28.8,-1.8,33.2,4.4"
    title: str = N_("HBM Operations Map")  # the default title is translated; a custom HBM_TITLE is shown as set
    synthetic: bool = False
    # Sign-in (issue 7): on unless turned off; `hbm demo` always turns it off, `hbm serve` warns loudly when off.
    auth: bool = True
    language: str = "en"  # HBM_LANGUAGE: en, fr or ar; each user's own choice overrides it (issue 12)
    # Production server (issue 15): `hbm serve --workers N` (or HBM_WORKERS) runs gunicorn; 0 = Dash's own server.
    workers: int = Field(0, ge=0, le=64)
    threads: int = Field(4, ge=1, le=64)  # HBM_THREADS: requests served at once by each worker
    worker_timeout: int = Field(120, ge=10, le=3600)  # HBM_WORKER_TIMEOUT: seconds before a stuck worker restarts
    access_log: bool = True  # HBM_ACCESS_LOG: one line per request under gunicorn
    log_format: Literal["text", "json"] = "text"  # HBM_LOG_FORMAT=json: JSON lines for a log collector
    # One layer build per (View, revision) shared by this machine's workers (issue 15); a folder they can all write.
    layer_cache: bool = True  # HBM_LAYER_CACHE
    layer_cache_dir: str | None = None  # HBM_LAYER_CACHE_DIR (default: <tmp>/hbm-layer-cache-<uid>)
    # Read replica (issue 15): map and statistics reads go to a streaming replica, writes to HBM_DATABASE_URL.
    database_read_url: str | None = None  # HBM_DATABASE_READ_URL
    replica_max_lag_seconds: float = Field(30.0, ge=0)  # HBM_REPLICA_MAX_LAG_SECONDS: the status line says so beyond
    viewer_max_res: int = Field(6, ge=4, le=9)  # HBM_VIEWER_MAX_RES: finest H3 resolution for roles without raw

    @field_validator("region_bbox")
    @classmethod
    def _valid_bbox(cls, value: str) -> str:
        parse_bbox(value)
        return value

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        from layers.i18n import LANGUAGES, normalise_language

        code = normalise_language(value)
        if code is None:
            raise ConfigError(f"HBM_LANGUAGE {value!r} is not supported; use one of {', '.join(LANGUAGES)}")
        return code

    @field_validator("tile_url")
    @classmethod
    def _valid_tiles(cls, value: str | None) -> str | None:
        if value and not ("{z}" in value and "{x}" in value and "{y}" in value):
            raise ConfigError(f"HBM_TILE_URL {value!r} must contain {{z}}, {{x}} and {{y}}")
        return value or None

    @field_validator("basemap_pmtiles")
    @classmethod
    def _valid_pmtiles(cls, value: str | None) -> str | None:
        if not value:
            return None
        read_pmtiles_header(value)  # one-line ConfigError for a missing or foreign file
        return value

    @property
    def region(self) -> tuple[float, float, float, float]:
        """Return the region of interest as west, south, east, north."""
        return parse_bbox(self.region_bbox)


def load_app_settings(**overrides: object) -> AppSettings:
    """Return validated AppSettings, raising ConfigError with a one-line message."""
    try:
        return AppSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise config_error(exc) from None
