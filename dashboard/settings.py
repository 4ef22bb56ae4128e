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
    """How the map is served and refreshed: the web app's own settings, the bare ``HBM_`` prefix."""

    model_config = SettingsConfigDict(env_prefix="HBM_", env_file=".env", extra="ignore")

    host: str = Field("127.0.0.1", description="Interface the web app listens on (`hbm serve`/`hbm demo --host`).")
    port: int = Field(8050, ge=1, le=65535, description="Port the web app listens on (`--port`).")
    refresh_seconds: float = Field(
        10.0, ge=1.0, le=3600.0, description="Seconds between map refreshes in every browser (only changes are sent)."
    )
    tile_url: str | None = Field(
        None,
        description="An XYZ tile URL with {z}, {x} and {y} for the basemap (an offline tile server, or OSM when "
        "online); unset: the bundled Natural Earth boundaries only.",
    )
    tile_attribution: str = Field("Tiles: see HBM_TILE_URL provider", description="Attribution shown for HBM_TILE_URL.")
    basemap_pmtiles: str | None = Field(
        None, description="An offline PMTiles archive (vector or raster) the app serves itself, behind sign-in."
    )
    basemap_pmtiles_attribution: str = Field(
        N_("Basemap: operator-supplied PMTiles archive"), description="Attribution shown for HBM_BASEMAP_PMTILES."
    )
    region_bbox: str = Field(
        "28.8,-1.8,33.2,4.4", description="Region of interest W,S,E,N in degrees: the map's first view and extent."
    )
    title: str = Field(
        N_("HBM Operations Map"),
        description="Title of the page, the map and exports (the default title is translated; a custom one is "
        "shown as set).",
    )
    synthetic: bool = Field(
        False,
        description="Label the map and every export SYNTHETIC (demo data). `hbm demo` sets it; exports of a store "
        "holding demo events are labelled SYNTHETIC whatever it says.",
    )
    auth: bool = Field(
        True,
        description="Sign-in in front of every page and callback (issue 7). `hbm demo` always turns it off; "
        "`hbm serve` warns loudly when it is off.",
    )
    language: str = Field("en", description="Default language: en, fr or ar; each user's own choice overrides it.")
    workers: int = Field(
        0, ge=0, le=64, description="`hbm serve` runs gunicorn with this many worker processes; 0: Dash's own server."
    )
    threads: int = Field(4, ge=1, le=64, description="Requests served at once by each gunicorn worker.")
    worker_timeout: int = Field(120, ge=10, le=3600, description="Seconds before gunicorn restarts a stuck worker.")
    access_log: bool = Field(True, description="One log line per request under gunicorn.")
    log_format: Literal["text", "json"] = Field("text", description="Log lines as text, or JSON for a log collector.")
    layer_cache: bool = Field(
        True, description="Share one layer build per (View, revision) between this machine's workers (issue 15)."
    )
    layer_cache_dir: str | None = Field(
        None, description="Folder every worker can write for HBM_LAYER_CACHE (default: <tmp>/hbm-layer-cache-<uid>)."
    )
    database_read_url: str | None = Field(
        None,
        description="A streaming read replica for map and statistics reads; writes still go to HBM_DATABASE_URL.",
    )
    replica_max_lag_seconds: float = Field(
        30.0, ge=0, description="The status line says so when the read replica is further behind than this."
    )
    viewer_max_res: int = Field(
        6, ge=4, le=9, description="Finest H3 resolution shown to roles without raw access (viewers, partners)."
    )

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
