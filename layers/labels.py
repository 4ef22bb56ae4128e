"""What a user reads about a feature: field labels in order, human values, numbers and local times.

One place for the words of the details panel, the offline HTML popups and the alerts, so they say
the same thing (and so the translation work of issue 12 finds them together). Times are stored in
UTC; they are shown in ``HBM_DISPLAY_TZ`` (default UTC) with the zone's UTC offset.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import get_month_names
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from data.settings import env_names
from geo.errors import ConfigError
from layers.i18n import N_, _, current_language, field_label, value_label

# Field order and labels per layer; anything not listed (ids, style keys, internals) is not shown.
FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "crossing_points": (
        ("kind", N_("Type")),
        ("status", N_("Status")),
        ("country_a", N_("Country")),
        ("country_b", N_("Other side")),
        ("capacity_per_day", N_("Capacity per day")),
        ("events_window", N_("Events in window")),
        ("people_window", N_("People in window")),
        ("events_24h", N_("Events, last 24 h")),
        ("people_24h", N_("People, last 24 h")),
        ("events_7d", N_("Events, last 7 days")),
        ("people_7d", N_("People, last 7 days")),
    ),
    "routes": (
        ("mode", N_("Mode")),
        ("risk", N_("Risk")),
        ("events_window", N_("Events in window")),
        ("people_window", N_("People in window")),
        ("last_observed_at", N_("Last observed")),
    ),
    "sar_zones": (
        ("kind", N_("Type")),
        ("label", N_("Sector")),
        ("status", N_("Status")),
        ("team", N_("Team")),
        ("poa", N_("POA (probability of area)")),
        ("pod", N_("POD (probability of detection)")),
        ("cum_pod", N_("Cumulative POD")),
        ("pos", N_("POS (probability of success)")),
        ("area_km2", N_("Area (km²)")),
        ("authority", N_("Authority")),
    ),
    "hotspots": (
        ("events", N_("Events in window")),
        ("people", N_("People in window")),
        ("res", N_("H3 resolution")),
        ("merged", N_("Cells merged")),
        ("note", N_("Note")),
        ("category", N_("Change")),
        ("cells", N_("Cells")),
    ),
}
VALUE_LABELS: dict[str, dict[str, str]] = {
    "kind": {
        "official": N_("Official border crossing point"),
        "informal": N_("Informal crossing"),
        "flow_monitoring": N_("DTM flow-monitoring point"),
        "srr": N_("SAR region (SRR)"),
        "search_area": N_("Search area"),
        "sector": N_("Search sector"),
    },
}
PROBABILITIES = {"poa", "pod", "cum_pod", "pos"}
CODE_KEYS = {"status", "mode", "risk", "kind", "category", "previous_status"}
EMPTY = "—"


class DisplaySettings(BaseSettings):
    """How times are shown (``HBM_DISPLAY_*``)."""

    model_config = SettingsConfigDict(
        env_prefix="HBM_DISPLAY_", env_file=".env", extra="ignore", populate_by_name=True
    )

    display_tz: str = Field(
        "UTC",
        validation_alias=env_names("HBM_DISPLAY_TZ"),
        description="The IANA time zone every time is shown in, e.g. Africa/Kampala (storage stays UTC).",
    )


@lru_cache(maxsize=8)
def _zone(name: str) -> tzinfo:
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"HBM_DISPLAY_TZ {name!r} is not a known time zone (e.g. Africa/Kampala or UTC)") from None


def display_zone(name: str | None = None) -> tzinfo:
    """Return the display time zone: ``name``, else ``HBM_DISPLAY_TZ``, else UTC; ConfigError if unknown."""
    return _zone(name or DisplaySettings().display_tz)


def zone_suffix(moment: datetime, zone: tzinfo) -> str:
    """Return the zone's name and UTC offset at ``moment``: "UTC", or "EAT (UTC+03:00)"."""
    local = moment.astimezone(zone)
    if zone is UTC:
        return "UTC"
    offset = local.strftime("%z")
    sign, hours, minutes = offset[0], offset[1:3], offset[3:5]
    return f"{local.tzname()} (UTC{sign}{hours}:{minutes})"


def format_time(moment: datetime | str | None, zone: tzinfo | None = None, fmt: str = "%d %b %Y %H:%M") -> str:
    """Return ``moment`` (aware, naive-as-UTC or ISO text) in the display zone with its offset."""
    if moment is None or moment == "":
        return EMPTY
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            return moment
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    zone = zone or display_zone()
    return f"{local_strftime(moment.astimezone(zone), fmt)} {zone_suffix(moment, zone)}"


def local_strftime(moment: datetime, fmt: str) -> str:
    """Return ``moment.strftime(fmt)`` with month names (``%b``, ``%B``) in the language in force."""
    if current_language() != "en":
        for code, width in (("%b", "abbreviated"), ("%B", "wide")):
            if code in fmt:
                name = get_month_names(width, locale=current_language())[moment.month]
                fmt = fmt.replace(code, name.replace("%", "%%"))
    return moment.strftime(fmt)


def format_value(key: str, value: Any, zone: tzinfo | None = None) -> str:
    """Return a property as a user reads it: labels for codes, thousands separators, local times."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return EMPTY
    if key in VALUE_LABELS and str(value) in VALUE_LABELS[key]:
        return _(VALUE_LABELS[key][str(value)])
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if key in PROBABILITIES and isinstance(value, int | float):
        return f"{float(value):.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 1 or value == 0 else f"{value:.3f}"
    if key.endswith("_at") or isinstance(value, datetime):
        return format_time(value, zone)
    if key in CODE_KEYS:
        return value_label(value)
    return str(value)  # free text (names, teams) exactly as entered


def feature_rows(layer: str, props: dict[str, Any], zone: tzinfo | None = None) -> list[tuple[str, str]]:
    """Return ``(label, value)`` rows of a feature's properties for ``layer``, in the layer's order."""
    rows = []
    for key, label in FIELDS.get(layer, ()):
        if key not in props:
            continue
        if props[key] is None and key in ("label", "team", "merged", "note", "authority", "country_b"):
            continue  # optional fields: no row rather than a dash
        rows.append((_(label), format_value(key, props[key], zone)))
    return rows


EVIDENCE_LABELS: dict[str, str] = {
    "place": N_("Where"),
    "zone": N_("SAR zone"),
    "plan": N_("Plan"),
    "name": N_("Crossing point"),
    "previous_status": N_("Previous status"),
    "status": N_("Status"),
    "people": N_("People"),
    "events": N_("Events"),
    "latest": N_("Latest event"),
    "cells": N_("H3 cells"),
    "baseline_mean_people": N_("Baseline mean (people)"),
    "baseline_mean": N_("Baseline mean (events)"),
    "test_hours": N_("Test window (hours)"),
    "window_events": N_("Events in the test window"),
    "window_people": N_("People in the test window"),
    "p_value": N_("p-value (Poisson test)"),
    "categories": N_("Change"),
    "max_gi_bin": N_("Strongest Gi* bin"),
    "max_gi_z": N_("Highest Gi* z"),
    "resolution": N_("H3 resolution"),
    "window": N_("Window"),
}


def evidence_rows(evidence: dict[str, Any], zone: tzinfo | None = None) -> list[tuple[str, str, Any]]:
    """Return ``(key, label, value)`` for an alert's evidence a person reads; internal ids are left out."""
    rows = []
    keys = [k for k in EVIDENCE_LABELS if k in evidence] + [k for k in evidence if k not in EVIDENCE_LABELS]
    for key in keys:
        if key.endswith("_id") or key.endswith("_ids") or evidence[key] in (None, ""):
            continue
        value = evidence[key]
        if key in ("latest", "window_start", "window_end"):
            value = format_time(value, zone)
        elif key == "baseline_windows" and isinstance(value, list):  # [[start, end], ...] of the surge rule
            value = "; ".join(f"{format_time(a, zone)} – {format_time(b, zone)}" for a, b in value)
        elif key == "categories" and isinstance(value, list):
            value = ", ".join(value_label(v) for v in value)
        elif key in CODE_KEYS:
            value = value_label(value)
        elif key == "p_value" and isinstance(value, int | float):  # a tiny p-value is not "0.000"
            value = "< 0.001" if value < 0.001 else f"{value:.3f}"
        label = _(EVIDENCE_LABELS[key]) if key in EVIDENCE_LABELS else field_label(key).capitalize()
        rows.append((key, label, value))
    return rows
