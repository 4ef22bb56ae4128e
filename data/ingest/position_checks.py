"""Position checks: coordinates in range and in their named country (swapped or flipped ones fixed), valid shapes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import shapely

from data.ingest.context import CORRECTION_TOLERANCE_KM, Context, add_issues, normalise_text
from data.ingest.profile_base import Issue, Mapped
from data.records import GEOM_TYPES
from geo import positions as gpos
from geo import validate as gv


def _to_float(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Return (degrees, mask of present values that are not numbers); a decimal comma is accepted."""
    text, bad_type = normalise_text(series)
    present = text.notna().to_numpy()
    values = pd.to_numeric(text, errors="coerce").to_numpy(float, copy=True)
    retry = present & np.isnan(values)
    if retry.any():  # "2,5" as written with a decimal comma
        sub = text[retry]
        comma = sub.str.fullmatch(r"[-+]?\d+,\d+", na=False).to_numpy(bool)
        fixed = pd.to_numeric(sub[comma].str.replace(",", ".", regex=False), errors="coerce")
        values[np.flatnonzero(retry)[comma]] = fixed.to_numpy(float)
    return values, (present & ~np.isfinite(values)) | bad_type


REGION_PAD_DEG = 1.0  # the extent of a chunk's rows, grown by this, is the region a swap must land in


def _check_countries(
    lat: np.ndarray,
    lng: np.ndarray,
    candidates: np.ndarray,
    m: Mapped,
    ctx: Context,
    issues: list[Issue],
    fixes: list[Issue],
    label: str,
) -> np.ndarray:
    """Check positions against the country each record names; return the mask of rows checked this way.

    Within ``country_margin_km`` of the country's 1:50m outline: kept as written. Otherwise the first
    swap or sign change that puts the point inside the country (within ``CORRECTION_TOLERANCE_KM`` of
    its outline) is applied as a correction. Otherwise a point at sea (outside every outline) within
    ``sea_margin_km`` is kept; failing that the row is rejected. ``lat``/``lng`` change in place.
    """
    names = m.country
    checked = np.zeros(len(lat), bool)
    if names is None or not candidates.any():
        return checked
    from data.boundaries import find_country, on_land

    values = names.reset_index(drop=True).to_numpy(object)
    countries = [find_country(v) if candidates[i] else None for i, v in enumerate(values)]
    country_label = m.labels.get("country", "country")
    by_code: dict[str, list[int]] = {}
    for i, country in enumerate(countries):
        if country is not None:
            by_code.setdefault(country.code, []).append(i)
    settings = ctx.settings
    for idx_list in by_code.values():
        idx = np.array(idx_list)
        country = countries[idx[0]]
        assert country is not None
        checked[idx] = True
        la, ln = lat[idx], lng[idx]
        dist = gpos.distance_to_km(la, ln, country.geometry)
        outside = np.flatnonzero(~(dist <= settings.country_margin_km))  # NaN (not a position) is outside
        if not outside.size:
            continue
        new_lat, new_lng, what = gpos.correct_into(la[outside], ln[outside], country.geometry, CORRECTION_TOLERANCE_KM)
        allowed = np.zeros(outside.size, bool)
        sea = ~what.astype(bool) & (dist[outside] <= settings.sea_margin_km)
        if sea.any():
            allowed[sea] = ~on_land(la[outside][sea], ln[outside][sea])
        for j, b in enumerate(outside):
            i = int(idx[b])
            if not what[j] and (allowed[j] or not np.isfinite(dist[b])):
                continue  # plausible as written; or out of range with no fix (coordinates_out_of_range below)
            shown = values[i] if values[i] == country.name else f"{values[i]!s:.60}, {country.name}"
            where = f"lat {lat[i]:g} / lon {lng[i]:g}"
            far = f"lies {dist[b]:,.0f} km from {shown} ({country_label})" if np.isfinite(dist[b]) else "is no position"
            if what[j]:
                code = "swapped_lat_lon" if what[j].startswith("swapped") else "sign_flipped"
                fix = f"stored as lat {new_lat[j]:g} / lon {new_lng[j]:g} ({what[j]}), inside it"
                fixes.append((int(m.src[i]), label, f"{code}: {where} {far}; {fix}"))
                lat[i], lng[i] = new_lat[j], new_lng[j]
            else:
                issues.append(
                    (
                        int(m.src[i]),
                        label,
                        f"coordinates_wrong_country: {where} {far} (allowed: {settings.country_margin_km:g} km, "
                        f"{settings.sea_margin_km:g} km at sea), and no swap or sign change puts it inside",
                    )
                )
    return checked


def check_points(frame: pd.DataFrame, m: Mapped, ctx: Context, issues: list[Issue], fixes: list[Issue]) -> None:
    """Check and normalise the lat/lng of point records in place; problems go to ``issues``, fixes to ``fixes``."""
    n = len(frame)
    lat, bad_lat = _to_float(frame["lat"])
    lng, bad_lng = _to_float(frame["lng"])
    lat_label, lng_label = m.labels.get("lat", "lat"), m.labels.get("lng", "lon")
    pos_label = lat_label if lat_label == lng_label else f"{lat_label}/{lng_label}"
    geom_label = m.labels.get("geometry", "geometry")
    flagged = np.zeros(n, bool)
    if m.geometry is not None:
        for i, geom in enumerate(m.geometry):
            if geom is None:
                continue
            pt = gv.coerce_type(geom, ("Point",)) if not geom.is_empty else None
            if pt is None:
                reason = (
                    "geometry_missing: empty geometry"
                    if geom.is_empty
                    else f"geometry_type: {geom.geom_type} where a Point is needed"
                )
                issues.append((int(m.src[i]), geom_label, reason))
                flagged[i] = True
                continue
            lng[i], lat[i] = pt.x, pt.y
            bad_lat[i] = bad_lng[i] = False
    unparseable = (bad_lat | bad_lng) & ~flagged
    add_issues(
        issues,
        m.src,
        unparseable,
        pos_label,
        lambda i: (
            f"coordinates_unparseable: {frame['lat'].iloc[i]!s:.30}, {frame['lng'].iloc[i]!s:.30} "
            "are not decimal degrees"
        ),
    )
    missing = ~unparseable & ~flagged & (np.isnan(lat) | np.isnan(lng))
    add_issues(issues, m.src, missing, pos_label, "coordinates_missing: no position (lat/lon or geometry)")
    if ctx.transformer is not None:
        have = ~np.isnan(lat) & ~np.isnan(lng)
        x, y = ctx.transformer.transform(lng[have], lat[have])
        lng[have], lat[have] = x, y
        failed = have & ~(np.isfinite(lat) & np.isfinite(lng))
        add_issues(issues, m.src, failed, pos_label, f"coordinates_out_of_range: cannot be reprojected from {ctx.crs}")
        lat[failed] = lng[failed] = np.nan
    have = ~np.isnan(lat) & ~np.isnan(lng)
    placeholder = have & (gv.is_null_island(lat, lng) | (gv.is_in_range(lat, lng) & (lat == lng)))
    named = _check_countries(lat, lng, have & ~placeholder, m, ctx, issues, fixes, pos_label)
    # Without a named country, a swap is made only when it lands in the region of interest: the
    # configured region, else the extent of this chunk's other rows (docs/ingest.md, "Checks, per row").
    region = ctx.settings.region or gv.region_of(lat[have & ~named], lng[have & ~named], REGION_PAD_DEG)
    swap = have & ~named & gv.swapped_latlng(lat, lng, region, in_range_too=ctx.settings.region is not None)
    if swap.any():
        where = "HBM_INGEST_REGION_BBOX" if ctx.settings.region else "the extent of the other rows"
        add_issues(
            fixes,
            m.src,
            swap,
            pos_label,
            lambda i: (
                f"swapped_lat_lon: lat {lat[i]:g} / lon {lng[i]:g} stored as lat {lng[i]:g} / lon {lat[i]:g} "
                f"(inside {where})"
            ),
        )
        lat[swap], lng[swap] = lng[swap], lat[swap].copy()
    outside = have & ~gv.is_in_range(lat, lng)
    projected = outside & (np.abs(lat) > 1000) & (np.abs(lng) > 1000)
    add_issues(
        issues,
        m.src,
        outside,
        pos_label,
        lambda i: (
            f"coordinates_out_of_range: lat {lat[i]:g}, lon {lng[i]:g} (lat must be -90..90, lon -180..180)"
            + (" — these look like projected metres: declare the CRS (crs in a column map)" if projected[i] else "")
        ),
    )
    zero = have & gv.is_null_island(lat, lng)
    add_issues(issues, m.src, zero, pos_label, "coordinates_zero: (0, 0) is the placeholder for an unknown position")
    same = have & ~zero & ~outside & (lat == lng)
    add_issues(
        issues,
        m.src,
        same,
        pos_label,
        lambda i: f"coordinates_suspect: lat equals lon ({lat[i]:g}), almost always a copy error",
    )
    frame["lat"], frame["lng"] = lat, lng


def check_shapes(kind: str, m: Mapped, ctx: Context, issues: list[Issue], fixes: list[Issue]) -> list[Any]:
    """Return the records' geometries in EPSG:4326, valid and of the kind's types (None where rejected)."""
    allowed = GEOM_TYPES[kind]
    label = m.labels.get("geometry", "geometry")
    out: list[Any] = []
    for i, geom in enumerate(m.geometry or [None] * len(m.src)):
        pos = int(m.src[i])
        if geom is None or geom.is_empty:
            issues.append((pos, label, "geometry_missing: no geometry" if geom is None else "geometry_missing: empty"))
            out.append(None)
            continue
        geom = shapely.force_2d(geom)
        if ctx.transformer is not None:
            geom = shapely.transform(geom, lambda c: np.column_stack(ctx.transformer.transform(c[:, 0], c[:, 1])))
            if not np.isfinite(shapely.get_coordinates(geom)).all():
                issues.append((pos, label, f"coordinates_out_of_range: cannot be reprojected from {ctx.crs}"))
                out.append(None)
                continue
        typed = gv.coerce_type(geom, allowed)
        if typed is None:
            issues.append((pos, label, f"geometry_type: {geom.geom_type} where {'/'.join(allowed)} is needed"))
            out.append(None)
            continue
        if gv.is_geometry_swapped(typed, ctx.settings.region):
            fixes.append((pos, label, "swapped_lat_lon: every vertex had x and y exchanged"))
            typed = gv.swap_xy(typed)
        if not gv.bounds_in_range(typed):
            issues.append((pos, label, f"coordinates_out_of_range: bounds {tuple(round(b, 4) for b in typed.bounds)}"))
            out.append(None)
            continue
        if not typed.is_valid:
            why = shapely.is_valid_reason(typed)
            fixed = gv.repair(typed, allowed) if ctx.settings.repair_geometry else None
            if fixed is None:
                issues.append((pos, label, f"geometry_invalid: {why}"))
                out.append(None)
                continue
            fixes.append((pos, label, f"made_valid: {why}"))
            typed = fixed
        out.append(typed)
    return out
