"""Bundled country boundaries (Natural Earth 1:50m via npm ``world-atlas``) and country names/codes to them.

The file lives in ``data/boundaries/`` so that ingest (data) can check positions against a named country
and the basemap (layers) can draw the same boundaries: layers may import data, never the reverse.
A country is named by ISO 3166-1 alpha-3 code (``UGA``), by Natural Earth's name, or by any of
pycountry's names for it (the UN-style names of the Missing Migrants files, such as
"Iran (Islamic Republic of)", match "Iran, Islamic Republic of" once punctuation is ignored).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pycountry
import shapely
from shapely.geometry.base import BaseGeometry

from geo.topojson import topology_to_geometries

BOUNDARIES = Path(__file__).parent / "boundaries" / "countries-50m.json"

# Names in the sources that neither Natural Earth nor pycountry spell this way, as alpha-3 codes.
ALIASES = {
    "republic of korea": "KOR",
    "south korea": "KOR",
    "north korea": "PRK",
    "china hong kong special administrative region": "HKG",
    "china macao special administrative region": "MAC",
    "united states virgin islands": "VIR",
    "us virgin islands": "VIR",
    "turkey": "TUR",
    "kosovo": "XKX",
    "palestine": "PSE",
    "state of palestine": "PSE",
    "occupied palestinian territory": "PSE",
    "democratic republic of the congo": "COD",
    "republic of the congo": "COG",
    "swaziland": "SWZ",
    "czech republic": "CZE",
    "ivory coast": "CIV",
    "cape verde": "CPV",
    "burma": "MMR",
    "macedonia": "MKD",
}
# Territories Natural Earth draws as part of another country's outline.
PART_OF = {"MYT": "FRA", "REU": "FRA", "GLP": "FRA", "MTQ": "FRA", "GUF": "FRA", "SJM": "NOR", "BES": "NLD"}


def name_key(name: str) -> str:
    """Return ``name`` folded for matching: no accents, case, punctuation or a leading "the"."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").casefold()
    text = re.sub(r"[^a-z0-9]+", " ", text.replace("&", " and ")).strip()
    return re.sub(r"^the ", "", text)


@dataclass(frozen=True)
class Country:
    """One country outline: its code (alpha-3 when it has one), display name and (multi)polygon."""

    code: str
    name: str
    geometry: BaseGeometry


@lru_cache(maxsize=1)
def country_features() -> list[tuple[dict[str, Any], BaseGeometry]]:
    """Return ``(properties, geometry)`` of every bundled country (properties: ``name``, numeric ``id``)."""
    return topology_to_geometries(json.loads(BOUNDARIES.read_text(encoding="utf-8")), "countries")


def _iso(numeric: Any) -> Any:
    if not numeric:
        return None
    try:
        return pycountry.countries.get(numeric=str(numeric).zfill(3))
    except (KeyError, LookupError):
        return None


@lru_cache(maxsize=1)
def _index() -> tuple[dict[str, Country], dict[str, Country]]:
    """Return (by alpha-3 code, by name key) over the bundled outlines."""
    by_code: dict[str, Country] = {}
    by_name: dict[str, Country] = {}
    for props, geom in country_features():
        iso = _iso(props.get("id"))
        name = str(props.get("name") or "")
        geom = shapely.make_valid(geom)
        shapely.prepare(geom)
        country = Country(iso.alpha_3 if iso else name_key(name).upper(), name, geom)
        if iso:
            by_code[iso.alpha_3] = country
            for attr in ("name", "official_name", "common_name"):
                if getattr(iso, attr, None):
                    by_name.setdefault(name_key(getattr(iso, attr)), country)
        by_name.setdefault(name_key(name), country)
    for part, whole in PART_OF.items():
        if part not in by_code and whole in by_code:
            by_code[part] = by_code[whole]
            iso = pycountry.countries.get(alpha_3=part)
            if iso:
                by_name.setdefault(name_key(iso.name), by_code[whole])
    for alias, code in ALIASES.items():
        if code in by_code:
            by_name.setdefault(alias, by_code[code])
    return by_code, by_name


def find_country(name_or_code: Any) -> Country | None:
    """Return the bundled outline for an ISO alpha-3 code or a country name, or None when unknown."""
    if not isinstance(name_or_code, str) or not name_or_code.strip():
        return None
    by_code, by_name = _index()
    text = name_or_code.strip()
    if len(text) == 3 and text.isalpha() and text.upper() in by_code:
        return by_code[text.upper()]
    key = name_key(text)
    if key in by_name:
        return by_name[key]
    iso = _fuzzy(text)
    return by_code.get(iso) if iso else None


@lru_cache(maxsize=512)
def _fuzzy(text: str) -> str | None:
    """Return the alpha-3 code pycountry finds for one exact name (any of its spellings), else None."""
    try:
        iso = pycountry.countries.lookup(text)
    except LookupError:
        return None
    code = str(iso.alpha_3)
    return PART_OF.get(code, code)


def on_land(lat: np.ndarray, lng: np.ndarray) -> np.ndarray:
    """Return True where a position lies inside any bundled country outline (land at 1:50m)."""
    lat, lng = np.asarray(lat, dtype=float), np.asarray(lng, dtype=float)
    out = np.zeros(lat.shape, bool)
    if lat.size:
        hits = _tree().query(shapely.points(lng, lat), predicate="within")[0]
        out[hits] = True
    return out


@lru_cache(maxsize=1)
def _tree() -> shapely.STRtree:
    return shapely.STRtree([c.geometry for c in {id(c): c for c in _index()[0].values()}.values()])
