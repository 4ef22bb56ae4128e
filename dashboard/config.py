"""One settings model: every concern's settings class, and the ``Settings`` that holds them for one process.

Each concern has its own class and environment prefix, and lives in its own package (so ``data`` and
``layers`` never import upward). ``create_app`` and the CLI's ``main`` make one ``Settings`` at start and
pass it (or the concern a callee needs) in; each concern is validated on first use, once, and then kept.
``CONCERNS`` is the list ``docs/configuration.md`` is generated from (``python -m dashboard.settings_doc``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pydantic_settings import BaseSettings

from dashboard.api import ApiSettings, load_api_settings
from dashboard.auth.settings import AuthSettings, load_auth_settings
from dashboard.security import SecuritySettings, load_security_settings
from dashboard.settings import AppSettings, load_app_settings
from dashboard.tak import TakSettings, load_tak_settings
from data.ingest.settings import IngestSettings, load_ingest_settings
from data.notify_settings import NotifySettings, load_notify_settings
from data.retention import RetentionSettings, load_retention_settings
from data.settings import StoreSettings, load_store_settings
from layers.hotspots import HotspotEnv, HotspotSettings, load_hotspot_settings
from layers.labels import DisplaySettings
from layers.services.exports.settings import ExportSettings, load_export_settings


@dataclass(frozen=True)
class Concern:
    """One settings class, as the configuration reference lists it."""

    key: str
    title: str
    model: type[BaseSettings]
    about: str


CONCERNS: tuple[Concern, ...] = (
    Concern("app", "Web app", AppSettings, "How the map is served, refreshed and labelled (the bare `HBM_` prefix)."),
    Concern("store", "Store", StoreSettings, "Where the data lives."),
    Concern("auth", "Sign-in", AuthSettings, "Secrets and limits of sign-in (on unless `HBM_AUTH=false`)."),
    Concern("security", "Transport security", SecuritySettings, "Security headers beyond the fixed ones."),
    Concern("api", "Event push API", ApiSettings, "`POST /api/v1/events`: who may push events, how much at once."),
    Concern("ingest", "Ingest checks", IngestSettings, "How files and API batches are read, checked and written."),
    Concern("hotspots", "Hotspot statistics", HotspotEnv, "Hotspot thresholds; defaults follow ACLED Trendfinder."),
    Concern("display", "Display", DisplaySettings, "How times are shown."),
    Concern("exports", "Briefing exports", ExportSettings, "What may leave the system, and how it is labelled."),
    Concern("notify", "Alert notifications", NotifySettings, "E-mail and webhook delivery of alerts (outbox)."),
    Concern("tak", "TAK (Cursor on Target)", TakSettings, "Where `hbm tak send` sends open alerts and SAR sectors."),
    Concern("retention", "Retention", RetentionSettings, "How long raw events are kept (`hbm purge`)."),
)


class Settings:
    """Every concern's settings for one process: each read from the environment (and ``.env``) once, on first use.

    Pass an already built concern by keyword (``Settings(app=load_app_settings(auth=False))``), as tests and
    ``hbm serve --port`` do; the others are loaded and validated (one-line ConfigError) when first asked for.
    """

    def __init__(self, **given: Any) -> None:
        unknown = set(given) - {c.key for c in CONCERNS}
        if unknown:
            raise TypeError(f"unknown settings concern(s): {', '.join(sorted(unknown))}")
        self.__dict__.update(given)  # cached_property reads the instance dict first

    def replace(self, **given: Any) -> Settings:
        """Return Settings with ``given`` concerns replaced and those already loaded kept."""
        loaded = {c.key: self.__dict__[c.key] for c in CONCERNS if c.key in self.__dict__}
        return Settings(**{**loaded, **given})

    @cached_property
    def app(self) -> AppSettings:
        """The web app's settings."""
        return load_app_settings()

    @cached_property
    def store(self) -> StoreSettings:
        """Where the data lives."""
        return load_store_settings()

    @cached_property
    def auth(self) -> AuthSettings:
        """Sign-in secrets and limits."""
        return load_auth_settings()

    @cached_property
    def security(self) -> SecuritySettings:
        """Transport security headers."""
        return load_security_settings()

    @cached_property
    def api(self) -> ApiSettings:
        """The event push API."""
        return load_api_settings()

    @cached_property
    def ingest(self) -> IngestSettings:
        """Ingest checks and limits."""
        return load_ingest_settings()

    @cached_property
    def hotspots(self) -> tuple[HotspotSettings, int]:
        """The hotspot statistics and the small-count threshold k."""
        return load_hotspot_settings()

    @property
    def statistics(self) -> HotspotSettings:
        """The hotspot statistics' thresholds."""
        return self.hotspots[0]

    @property
    def suppress_k(self) -> int:
        """Counts of people below k never reach a role without raw access (HBM_HOTSPOT_SUPPRESS_K)."""
        return self.hotspots[1]

    @cached_property
    def display(self) -> DisplaySettings:
        """How times are shown."""
        return DisplaySettings()

    @cached_property
    def exports(self) -> ExportSettings:
        """Briefing export limits and marking."""
        return load_export_settings()

    @cached_property
    def notify(self) -> NotifySettings:
        """Alert notification delivery."""
        return load_notify_settings()

    @cached_property
    def tak(self) -> TakSettings:
        """Cursor on Target to TAK."""
        return load_tak_settings()

    @cached_property
    def retention(self) -> RetentionSettings:
        """Retention of raw events."""
        return load_retention_settings()


def load_settings(**given: Any) -> Settings:
    """Return the process's Settings, validating the web app's settings now (the rest on first use)."""
    settings = Settings(**given)
    _ = settings.app
    return settings
