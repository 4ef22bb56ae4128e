"""Side-panel features of the dashboard, one module each.

A panel module exposes ``TITLE: str``, ``layout(settings) -> Component`` and
``register(app, store, settings) -> None``. The page shows each panel as a section of
the side bar, in the order of ``PANEL_MODULES``; add one line per panel.
"""

from __future__ import annotations

import importlib
from types import ModuleType

PANEL_MODULES: tuple[str, ...] = ("dashboard.panels.alerts", "dashboard.panels.playback")


def load_panels() -> list[ModuleType]:
    """Return the panel modules, imported in display order."""
    return [importlib.import_module(name) for name in PANEL_MODULES]
