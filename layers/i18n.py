"""Languages: gettext catalogs (Babel) for the map UI, legends, alerts, the login page and exports.

English is the source language (the msgids). French and Arabic come from ``layers/locale/<lang>/
LC_MESSAGES/hbm.po``, compiled in memory on first use, so a fresh ``pip install`` needs no build
step and the ``.po`` files stay the one source. The language in force is a context variable: the
web app sets it per request (``dashboard.i18n``), the CLI and exports use ``HBM_LANGUAGE``, and
tests can wrap code in ``use_language("fr")``.

Use ``_("text")`` where text is shown, ``N_("text")`` to mark a constant that is translated where
it is shown, and ``value_label(value)`` for a stored enumeration value (status, mode, kind, role).
Format with ``str.format`` placeholders (``_("{n} events").format(n=...)``), never by gluing
translated fragments together: word order differs between languages.
"""

from __future__ import annotations

import io
import os
import string
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

DOMAIN = "hbm"
LOCALE_DIR = Path(__file__).parent / "locale"
SOURCE_LANGUAGE = "en"
LANGUAGES: dict[str, str] = {"en": "English", "fr": "Français", "ar": "العربية"}  # each in its own language
RTL_LANGUAGES = frozenset({"ar"})

_current: ContextVar[str | None] = ContextVar("hbm_language", default=None)
_default = {"language": SOURCE_LANGUAGE}


def normalise_language(raw: str | None) -> str | None:
    """Return the supported language code ``raw`` names ("fr", "fr-CA", "ar_EG" …), or None."""
    if not raw:
        return None
    code = str(raw).strip().replace("_", "-").split("-")[0].lower()
    return code if code in LANGUAGES else None


def set_default_language(raw: str | None) -> str:
    """Make ``raw`` (``HBM_LANGUAGE``) the language used when nothing else chose one; return it."""
    code = normalise_language(raw) or SOURCE_LANGUAGE
    _default["language"] = code
    return code


def default_language() -> str:
    """Return the default language: the last ``set_default_language``, else ``HBM_LANGUAGE``, else English."""
    return _default["language"]


set_default_language(os.environ.get("HBM_LANGUAGE"))


def current_language() -> str:
    """Return the language in force (this request's, else the default)."""
    return _current.get() or default_language()


def text_direction(language: str | None = None) -> str:
    """Return ``"rtl"`` for a right-to-left language (Arabic), else ``"ltr"``."""
    return "rtl" if (language or current_language()) in RTL_LANGUAGES else "ltr"


def set_language(raw: str | None) -> Token[str | None]:
    """Put ``raw`` in force (None: the default); return the token to pass to ``reset_language``."""
    return _current.set(normalise_language(raw))


def reset_language(token: Token[str | None]) -> None:
    """Undo a ``set_language``."""
    try:
        _current.reset(token)
    except ValueError:  # set in another context: make sure nothing leaks into the next request
        _current.set(None)


@contextmanager
def use_language(raw: str | None) -> Iterator[str]:
    """Run a block in language ``raw`` (exports for a user, tests); yield the code in force."""
    token = set_language(raw)
    try:
        yield current_language()
    finally:
        reset_language(token)


def po_path(language: str) -> Path:
    """Return the ``.po`` catalog of ``language``."""
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=8)
def translations(language: str) -> NullTranslations:
    """Return the compiled catalog of ``language`` (English, or a missing catalog: the msgids themselves)."""
    path = po_path(language)
    if language == SOURCE_LANGUAGE or not path.exists():
        return NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)  # fuzzy entries are left out, as msgfmt does
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def gettext(message: str) -> str:
    """Return ``message`` in the language in force."""
    return translations(current_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Return the singular or plural form (by the language's rules) for ``n``."""
    return translations(current_language()).ngettext(singular, plural, n)


def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    """Mark ``message`` for extraction without translating it here (translate where it is shown)."""
    return message


_ = gettext

# Stored enumeration values shown to users (statuses, modes, kinds, roles, event kinds, trends).
VALUE_LABELS: dict[str, str] = {
    "open": N_("open"),
    "restricted": N_("restricted"),
    "closed": N_("closed"),
    "unknown": N_("unknown"),
    "official": N_("official"),
    "informal": N_("informal"),
    "flow_monitoring": N_("flow monitoring"),
    "foot": N_("foot"),
    "vehicle": N_("vehicle"),
    "boat": N_("boat"),
    "mixed": N_("mixed"),
    "low": N_("low"),
    "medium": N_("medium"),
    "high": N_("high"),
    "critical": N_("critical"),
    "warning": N_("warning"),
    "info": N_("info"),
    "crossing": N_("crossing"),
    "sighting": N_("sighting"),
    "distress": N_("distress"),
    "rescue": N_("rescue"),
    "interception": N_("interception"),
    "death": N_("death"),
    "missing": N_("missing"),
    "vulnerability_referral": N_("vulnerability referral"),
    "smuggling_indicator": N_("smuggling indicator"),
    "other": N_("other"),
    "srr": N_("SAR region"),
    "search_area": N_("search area"),
    "sector": N_("sector"),
    "planned": N_("planned"),
    "assigned": N_("assigned"),
    "in_progress": N_("in progress"),
    "searched": N_("searched"),
    "cleared": N_("cleared"),
    "suspended": N_("suspended"),
    "acknowledged": N_("acknowledged"),
    "resolved": N_("resolved"),
    "new": N_("new"),
    "large_increase": N_("large increase"),
    "moderate_increase": N_("moderate increase"),
    "limited_change": N_("limited change"),
    "large_decrease": N_("large decrease"),
    "intensifying": N_("intensifying"),
    "consecutive": N_("consecutive"),
    "persistent": N_("persistent"),
    "sporadic": N_("sporadic"),
    "diminishing": N_("diminishing"),
    "none": N_("none"),
    "events": N_("events"),
    "people": N_("people"),
    "admin": N_("admin"),
    "analyst": N_("analyst"),
    "viewer": N_("viewer"),
    "sar_coordinator": N_("SAR coordinator"),
    # audit actions (data/audit_log.py ACTIONS)
    "login": N_("sign-in"),
    "login_failed": N_("failed sign-in"),
    "login_rate_limited": N_("sign-in blocked (too many failures)"),
    "logout": N_("sign-out"),
    "user_add": N_("user added"),
    "user_role": N_("role changed"),
    "user_disable": N_("user disabled"),
    "user_enable": N_("user enabled"),
    "user_password": N_("password changed"),
    "export": N_("export"),
    "sar_plan_create": N_("SAR plan created"),
    "sar_plan_update_sector": N_("SAR sector updated"),
    "sar_plan_record_sortie": N_("SAR sortie recorded"),
    "sar_plan_delete_sector": N_("SAR sector deleted"),
    "sar_plan_split_sector": N_("SAR sector split"),
    "sar_plan_add_sector": N_("SAR sector added"),
    "sar_plan_delete": N_("SAR plan deleted"),
    "rule_change": N_("rule change"),
    "alert_ack": N_("alert acknowledged"),
    "purge": N_("purge"),
    "True": N_("yes"),
    "False": N_("no"),
}


def value_label(value: object) -> str:
    """Return a stored enumeration value as words in the language in force (other values as text)."""
    text = "—" if value is None else str(value)
    known = VALUE_LABELS.get(text)
    return gettext(known) if known else text


# Feature properties shown in the details panel and export popups.
FIELD_LABELS: dict[str, str] = {
    "name": N_("name"),
    "kind": N_("kind"),
    "status": N_("status"),
    "country_a": N_("country A"),
    "country_b": N_("country B"),
    "capacity_per_day": N_("capacity per day"),
    "events_24h": N_("events (24 h)"),
    "people_24h": N_("people (24 h)"),
    "events_7d": N_("events (7 days)"),
    "people_7d": N_("people (7 days)"),
    "events_window": N_("events in window"),
    "people_window": N_("people in window"),
    "mode": N_("mode"),
    "risk": N_("risk"),
    "last_observed_at": N_("last observed"),
    "parent_id": N_("parent"),
    "authority": N_("authority"),
    "team": N_("team"),
    "label": N_("label"),
    "area_km2": N_("area (km²)"),
    "poa": N_("POA"),
    "pod": N_("POD"),
    "cell": N_("H3 cell"),
    "res": N_("resolution"),
    "events": N_("events"),
    "people": N_("people"),
    "notes": N_("notes"),
    "source": N_("source"),
    "cluster": N_("cluster"),
    "zone": N_("zone"),
    "zone_name": N_("zone name"),
    "latest": N_("latest"),
    "baseline_mean_people": N_("baseline mean (people)"),
    "categories": N_("categories"),
    "max_gi_bin": N_("highest Gi* bin"),
    "max_gi_z": N_("highest Gi* z"),
    "resolution": N_("resolution"),
    "window": N_("window"),
    "crossing_point": N_("crossing point"),
    "previous_status": N_("previous status"),
    "cells": N_("cells"),
    "window_start": N_("window start"),
    "window_end": N_("window end"),
    "baseline_windows": N_("baseline windows"),
}


def field_label(key: str) -> str:
    """Return a feature property's name as words in the language in force."""
    known = FIELD_LABELS.get(key)
    return gettext(known) if known else key.replace("_", " ")


def fill(template: str, **parts: object) -> list[object]:
    """Return a translated ``template`` split around ``{name}`` placeholders, each replaced by ``parts[name]``.

    For sentences that hold components (``html.B``): the translator keeps the sentence whole and may
    move the placeholders; the result is a Dash ``children`` list. Unknown placeholders stay as text.
    """
    out: list[object] = []
    for literal, field, _spec, _conv in string.Formatter().parse(template):
        if literal:
            out.append(literal)
        if field is not None:
            out.append(parts[field] if field in parts else "{" + field + "}")
    return out


def format_time(t: datetime, pattern: str = "d MMM HH:mm") -> str:
    """Return ``t`` as "26 Nov 21:55 UTC" with month names in the language in force (CLDR, via Babel)."""
    return format_datetime(t.astimezone(UTC), pattern, tzinfo=UTC, locale=current_language()) + " UTC"
