"""SAR assignment sheets: one PDF page per sector, with its map, corners (lat/lng and MGRS), tracks and team."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import shapely
from shapely.geometry.base import BaseGeometry

from data.sar_plans import Plan
from geo.sectors import reproject, utm_epsg
from layers.i18n import _, value_label
from layers.services.exports.sar import ExportError, bounds_span, sector_records, sector_tracks, to_mgrs


def _plain(text: Any) -> str:
    """Return free text safe for matplotlib: no mathtext."""
    return str(text).replace("$", r"\$")


def _corners(geometry: BaseGeometry, local: BaseGeometry, epsg: int) -> list[tuple[str, float, float]]:
    """Return named corner points (name, lat, lng): the vertices of a simple sector, else its bbox corners."""
    simple = local.simplify(1.0)
    if simple.geom_type == "Polygon" and len(simple.exterior.coords) - 1 <= 8:
        pts = reproject(shapely.MultiPoint(list(simple.exterior.coords)[:-1]), epsg, 4326)
        return [(f"P{i + 1}", p.y, p.x) for i, p in enumerate(shapely.get_parts(pts))]
    w, s, e, n = geometry.bounds
    return [("NW", n, w), ("NE", n, e), ("SE", s, e), ("SW", s, w)]


def _nice_length(span_m: float) -> float:
    target = span_m / 4
    base = 10 ** math.floor(math.log10(target))
    return max(m * base for m in (1, 2, 5) if m * base <= target)


def write_sheets(
    plan: Plan, out: str | Path | IO[bytes], synthetic: bool = False, track_spacing_m: float | None = None
) -> int:
    """Write the assignment sheets PDF (one A4 page per sector) to ``out``; return the number of pages."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    sectors = sector_records(plan)
    if not sectors:
        raise ExportError(f"plan {plan.id} has no sectors to print")
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    marking = _("SYNTHETIC DEMO DATA") + " — " if synthetic else ""
    title = marking + _("SAR assignment sheets: {plan}").format(plan=plan.name)
    try:
        pdf = PdfPages(out, metadata={"Title": title, "Creator": "hbm"})
    except OSError as exc:
        raise ExportError(f"cannot write {str(out)!r}: {exc.strerror or exc}") from None
    with pdf:
        for s in sectors:
            fig = _sheet(plt, plan, s, sectors, synthetic, now, track_spacing_m)
            pdf.savefig(fig)
            plt.close(fig)
    return len(sectors)


def _sheet(
    plt: Any,
    plan: Plan,
    s: dict[str, Any],
    sectors: list[dict[str, Any]],
    synthetic: bool,
    now: str,
    track_spacing_m: float | None,
) -> Any:
    geom = s["geometry"]
    c = geom.centroid
    epsg = utm_epsg(c.y, c.x)
    step = max(1e-4, max(bounds_span(geom)) / 100)
    local = reproject(geom, 4326, epsg, step)
    fig = plt.figure(figsize=(8.27, 11.69))
    label = str(s["label"])
    head = _("SAR assignment — sector {label}").format(label=label)
    fig.text(0.06, 0.965, head, fontsize=20, weight="bold", usetex=False)
    plan_line = _("Plan: {name}  ({id}, version {version})").format(name=plan.name, id=plan.id, version=plan.version)
    fig.text(0.06, 0.945, _plain(plan_line), fontsize=9)
    fig.text(0.94, 0.965, now, fontsize=8, ha="right")
    if synthetic:
        fig.text(0.94, 0.945, _("SYNTHETIC DEMO DATA"), fontsize=10, ha="right", color="#c0392b", weight="bold")

    ax = fig.add_axes((0.08, 0.42, 0.84, 0.5))
    minx, miny, maxx, maxy = local.bounds
    pad = 0.12 * max(maxx - minx, maxy - miny, 100.0)
    view = shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad)
    for other in sectors:  # neighbours, faint, for orientation
        if other["id"] == s["id"]:
            continue
        o = reproject(other["geometry"], 4326, epsg, step)
        if o.intersects(view):
            for part in shapely.get_parts(o):
                ax.plot(*part.exterior.xy, color="#aaaaaa", lw=0.8)
            p = o.intersection(view).representative_point()
            ax.text(p.x, p.y, str(other["label"]), color="#999999", fontsize=9, ha="center", va="center")
    for part in shapely.get_parts(local):
        ax.fill(*part.exterior.xy, facecolor="#f7dc6f", alpha=0.35, edgecolor="#b7950b", lw=2)
    spacing = s.get("track_spacing_m") or track_spacing_m
    tracks = sector_tracks(geom, spacing) if spacing else None
    if tracks and tracks.tracks.legs:
        for leg in tracks.tracks.legs:
            ax.plot(*leg.xy, color="#1f618d", lw=0.8, ls="--")
    p = local.representative_point()
    ax.text(p.x, p.y, label, fontsize=28, weight="bold", ha="center", va="center", color="#7d6608")
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    ax.set_aspect("equal")
    ax.grid(True, color="#cccccc", lw=0.6)
    ax.ticklabel_format(style="plain", useOffset=False)
    ax.tick_params(labelsize=7)
    zone = epsg % 100
    ax.set_xlabel(_("UTM zone {zone} easting (m)").format(zone=f"{zone}{'N' if epsg < 32700 else 'S'}"), fontsize=8)
    ax.set_ylabel(_("northing (m)"), fontsize=8)
    bar = _nice_length(maxx - minx + 2 * pad)
    x0, y0 = minx - pad * 0.6, miny - pad * 0.6
    ax.plot([x0, x0 + bar], [y0, y0], color="black", lw=4, solid_capstyle="butt")
    ax.text(
        x0 + bar / 2, y0 + pad * 0.12, f"{bar / 1000:g} km" if bar >= 1000 else f"{bar:g} m", ha="center", fontsize=8
    )
    ax.annotate("N", xy=(0.96, 0.96), xycoords="axes fraction", ha="center", fontsize=12, weight="bold")
    ax.annotate("", xy=(0.96, 0.95), xytext=(0.96, 0.87), xycoords="axes fraction", arrowprops={"arrowstyle": "-|>"})

    def fmt(v: Any, spec: str, unit: str = "") -> str:
        return "—" if v is None else f"{format(float(v), spec)}{unit}"

    facts = [
        (_("Team"), _plain(s.get("team") or _("unassigned"))),
        (_("Status"), value_label(s.get("status") or "")),
        (_("Area"), fmt(s.get("area_km2"), ".2f", " km²")),
        (_("POA (now)"), fmt(s.get("poa"), ".3f")),
        (_("Cumulative POD"), fmt(s.get("cum_pod"), ".3f")),
        ("POS", fmt(s.get("pos"), ".3f")),
        (_("Sweep width"), fmt(s.get("sweep_width_m"), ".0f", " m")),
        (_("Track spacing"), fmt(spacing, ".0f", " m")),
        (
            _("Track legs / length"),
            f"{tracks.tracks.leg_count} / {tracks.tracks.track_length_km:.1f} km" if tracks else "—",
        ),
    ]
    y = 0.37
    for name, value in facts:
        fig.text(0.08, y, name, fontsize=10, color="#555555")
        fig.text(0.30, y, value, fontsize=10, weight="bold")
        y -= 0.018
    fig.text(0.55, 0.37, _("Corners (WGS 84)"), fontsize=10, weight="bold")
    y = 0.352
    for name, lat, lng in _corners(geom, local, epsg):
        fig.text(0.55, y, f"{name}  {lat:.5f}, {lng:.5f}", fontsize=8.5, family="monospace")
        fig.text(0.55, y - 0.013, f"     MGRS {to_mgrs(lat, lng)}", fontsize=8.5, family="monospace")
        y -= 0.03
    if s.get("notes"):
        fig.text(0.08, 0.19, _plain(_("Notes: {notes}").format(notes=s["notes"]))[:300], fontsize=9, wrap=True)
    fig.text(
        0.06,
        0.03,
        (_("SYNTHETIC DEMO DATA") + ". " if synthetic else "")
        + _(
            "POD = 1 − e^(−C), C = sweep width ÷ track spacing. "
            "Report each sortie: sweep width, track spacing or track length."
        ),
        fontsize=7,
        color="#555555",
    )
    return fig
