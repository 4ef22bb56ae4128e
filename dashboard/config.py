"""One settings model: every concern's settings class, and the ``Settings`` that holds them for one process.

Each concern has its own class and environment prefix, and lives in its own package (so ``data`` and
``layers`` never import upward). ``create_app`` and the CLI's ``main`` make one ``Settings`` at start and
pass it (or the concern a callee needs) in; each concern is validated on first use, once, and then kept.
``concerns()`` is the list ``docs/configuration.md`` is generated from (``python -m dashboard.settings_doc``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the classes are imported where first needed: `hbm --help` must not load dash or matplotlib
    from pydantic_settings import BaseSettings

    from dashboard.api import ApiSettings
    from dashboard.auth.settings import AuthSettings
    from dashboard.security import SecuritySettings
    from dashboard.settings import AppSettings
    from dashboard.tak import TakSettings
    from data.ingest.settings import IngestSettings
    from data.notify_settings import NotifySettings
    from data.retention import RetentionSettings
    from data.settings import StoreSettings
    from layers.hotspots import HotspotSettings
    from layers.labels import DisplaySettings
    from layers.services.exports.settings import ExportSettings


@dataclass(frozen=True)
class Concern:
    """One settings class, as the configuration reference lists it."""

    key: str
    title: str
    model: type[BaseSettings]
    about: str


def concerns() -> tuple[Concern, ...]:
    """Return every concern's settings class, in the order docs/configuration.md lists them."""
    from dashboard.api import ApiSettings
    from dashboard.auth.settings import AuthSettings
    from dashboard.security import SecuritySettings
    from dashboard.settings import AppSettings
    from dashboard.tak import TakSettings
    from data.ingest.settings import IngestSettings
    from data.notify_settings import NotifySettings
    from data.retention import RetentionSettings
    from data.settings import StoreSettings
    from layers.hotspots import HotspotEnv
    from layers.labels import DisplaySettings
    from layers.services.exports.settings import ExportSettings

    return (
        Concern("app", "Web app", AppSettings, "How the map is served, refreshed and labelled (bare `HBM_` prefix)."),
        Concern("store", "Store", StoreSettings, "Where the data lives."),
        Concern("auth", "Sign-in", AuthSettings, "Secrets and limits of sign-in (on unless `HBM_AUTH=false`)."),
        Concern("security", "Transport security", SecuritySettings, "Security headers beyond the fixed ones."),
        Concern("api", "Event push API", ApiSettings, "`POST /api/v1/events`: who may push events, how much at once."),
        Concern("ingest", "Ingest checks", IngestSettings, "How files and API batches are read, checked and written."),
        Concern("hotspots", "Hotspot statistics", HotspotEnv, "Hotspot thresholds; defaults after ACLED Trendfinder."),
        Concern("display", "Display", DisplaySettings, "How times are shown."),
        Concern("exports", "Briefing exports", ExportSettings, "What may leave the system, and how it is labelled."),
        Concern("notify", "Alert notifications", NotifySettings, "E-mail and webhook delivery of alerts (outbox)."),
        Concern("tak", "TAK (Cursor on Target)", TakSettings, "Where `hbm tak send` sends alerts and SAR sectors."),
        Concern("retention", "Retention", RetentionSettings, "How long raw events are kept (`hbm purge`)."),
    )


KEYS: tuple[str, ...] = (
    "app", "store", "auth", "security", "api", "ingest", "hotspots",
    "display", "exports", "notify", "tak", "retention",
)


class Settings:
    """Every concern's settings for one process: each read from the environment (and ``.env``) once, on first use.

    Pass an already built concern by keyword (``Settings(app=load_app_settings(auth=False))``), as tests and
    ``hbm serve --port`` do; the others are loaded and validated (one-line ConfigError) when first asked for.
    """

    def __init__(self, **given: Any) -> None:
        unknown = set(given) - set(KEYS)
        if unknown:
            raise TypeError(f"unknown settings concern(s): {', '.join(sorted(unknown))}")
        self.__dict__.update(given)  # cached_property reads the instance dict first

    def replace(self, **given: Any) -> Settings:
        """Return Settings with ``given`` concerns replaced and those already loaded kept."""
        loaded = {key: self.__dict__[key] for key in KEYS if key in self.__dict__}
        return Settings(**{**loaded, **given})

    @cached_property
    def app(self) -> AppSettings:
        """The web app's settings."""
        from dashboard.settings import load_app_settings

        return load_app_settings()

    @cached_property
    def store(self) -> StoreSettings:
        """Where the data lives."""
        from data.settings import load_store_settings

        return load_store_settings()

    @cached_property
    def auth(self) -> AuthSettings:
        """Sign-in secrets and limits."""
        from dashboard.auth.settings import load_auth_settings

        return load_auth_settings()

    @cached_property
    def security(self) -> SecuritySettings:
        """Transport security headers."""
        from dashboard.security import load_security_settings

        return load_security_settings()

    @cached_property
    def api(self) -> ApiSettings:
        """The event push API."""
        from dashboard.api import load_api_settings

        return load_api_settings()

    @cached_property
    def ingest(self) -> IngestSettings:
        """Ingest checks and limits."""
        from data.ingest.settings import load_ingest_settings

        return load_ingest_settings()

    @cached_property
    def hotspots(self) -> tuple[HotspotSettings, int]:
        """The hotspot statistics and the small-count threshold k."""
        from layers.hotspots import load_hotspot_settings

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
        from layers.labels import DisplaySettings

        return DisplaySettings()

    @cached_property
    def exports(self) -> ExportSettings:
        """Briefing export limits and marking."""
        from layers.services.exports.settings import load_export_settings

        return load_export_settings()

    @cached_property
    def notify(self) -> NotifySettings:
        """Alert notification delivery."""
        from data.notify_settings import load_notify_settings

        return load_notify_settings()

    @cached_property
    def tak(self) -> TakSettings:
        """Cursor on Target to TAK."""
        from dashboard.tak import load_tak_settings

        return load_tak_settings()

    @cached_property
    def retention(self) -> RetentionSettings:
        """Retention of raw events."""
        from data.retention import load_retention_settings

        return load_retention_settings()


def load_settings(**given: Any) -> Settings:
    """Return the process's Settings, validating the web app's settings now (the rest on first use)."""
    settings = Settings(**given)
    _ = settings.app
    return settings
