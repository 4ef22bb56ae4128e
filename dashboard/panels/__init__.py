"""Side-panel features of the dashboard, one module each.

A panel module exposes ``TITLE: str``, ``layout(settings) -> Component`` and
``register(app, store, settings, config) -> None`` (``config``: the process's ``dashboard.config.Settings``,
for the concerns beyond the web app's own settings, loaded once at start). The page shows each panel as a section of
the side bar, in the order of ``PANEL_MODULES``; add one line per panel.
A panel may also expose ``map_children(settings) -> list[Component]``: layers or controls added
inside the map (e.g. the SAR panel's draw control and sector preview).
"""

from __future__ import annotations

import importlib
from types import ModuleType

PANEL_MODULES: tuple[str, ...] = (
    "dashboard.panels.alerts",
    "dashboard.panels.playback",
    "dashboard.panels.exports",
    "dashboard.panels.sar",
    "dashboard.panels.audit",
)


def load_panels() -> list[ModuleType]:
    """Return the panel modules, imported in display order."""
    return [importlib.import_module(name) for name in PANEL_MODULES]
