"""Map furniture for the exported map: Web Mercator helpers, a graticule, a scale bar and a north arrow."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle

from layers.i18n import _

MERCATOR = "EPSG:3857"


MAX_LAT = 85.05


R = 6_378_137.0


INK = "#17202a"


MUTED = "#566573"


def lnglat_to_mercator(lng: float, lat: float) -> tuple[float, float]:
    """Return Web Mercator metres (x, y) of a lng/lat point."""
    lat = max(-MAX_LAT, min(MAX_LAT, lat))
    return R * math.radians(lng), R * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def mercator_to_lat(y: float) -> float:
    """Return the latitude of a Web Mercator y."""
    return math.degrees(2 * math.atan(math.exp(y / R)) - math.pi / 2)


def nice_step(span: float, target: int) -> float:
    """Return a 1-2-5 step that cuts ``span`` into about ``target`` parts."""
    raw = span / max(target, 1)
    power = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 5, 10):
        if raw <= mult * power:
            return mult * power
    return 10 * power


def draw_grid(ax: Axes, limits: tuple[float, float, float, float]) -> None:
    x0, x1, y0, y1 = limits
    west, east = math.degrees(x0 / R), math.degrees(x1 / R)
    south, north = mercator_to_lat(y0), mercator_to_lat(y1)
    step = nice_step(max(east - west, north - south), 6)
    lngs = np.arange(math.ceil(west / step) * step, east, step)
    lats = np.arange(math.ceil(south / step) * step, north, step)

    def fmt(value: float, pos: str, neg: str) -> str:
        digits = max(0, -math.floor(math.log10(step))) if step < 1 else 0
        return f"{abs(value):.{digits}f}°{pos if value >= 0 else neg}"

    ax.set_xticks([lnglat_to_mercator(v, 0)[0] for v in lngs], [fmt(v, "E", "W") for v in lngs])
    ax.set_yticks([lnglat_to_mercator(0, v)[1] for v in lats], [fmt(v, "N", "S") for v in lats])
    ax.tick_params(labelsize=7, colors=INK, length=3, top=True, right=True, labeltop=True, labelright=True)
    ax.grid(True, color="white", alpha=0.35, linewidth=0.5, linestyle=(0, (2, 2)), zorder=8)


def draw_scale_bar(ax: Axes, limits: tuple[float, float, float, float]) -> None:
    x0, x1, y0, y1 = limits
    lat = mercator_to_lat((y0 + y1) / 2)
    ground_km = (x1 - x0) * math.cos(math.radians(lat)) / 1000
    length = nice_step(ground_km / 5, 1)
    frac = length / ground_km
    left, bottom = 0.03, 0.04
    ax.add_patch(
        Rectangle(
            (left - 0.012, bottom - 0.02),
            frac + 0.06,
            0.075,
            transform=ax.transAxes,
            facecolor=(1, 1, 1, 0.85),
            edgecolor="none",
            zorder=9,
        )
    )
    for i in range(2):
        ax.add_patch(
            Rectangle(
                (left + i * frac / 2, bottom),
                frac / 2,
                0.012,
                transform=ax.transAxes,
                facecolor=INK if i == 0 else "white",
                edgecolor=INK,
                linewidth=0.6,
                zorder=10,
            )
        )
    unit = f"{length:g} km" if length >= 1 else f"{length * 1000:g} m"
    for x, label in ((left, "0"), (left + frac, unit)):
        ax.text(
            x,
            bottom + 0.02,
            label,
            transform=ax.transAxes,
            ha="center",
            va="bottom",
            fontsize=6.5,
            color=INK,
            zorder=10,
        )
    ax.text(
        left,
        bottom - 0.012,
        _("scale at {latitude}").format(latitude=f"{abs(lat):.1f}°{'N' if lat >= 0 else 'S'}"),
        transform=ax.transAxes,
        fontsize=5,
        color=MUTED,
        va="center",
        zorder=10,
    )


def draw_north_arrow(ax: Axes) -> None:
    x, y = 0.955, 0.87
    ax.add_patch(
        Rectangle(
            (x - 0.03, y - 0.02),
            0.06,
            0.12,
            transform=ax.transAxes,
            facecolor=(1, 1, 1, 0.85),
            edgecolor="none",
            zorder=9,
        )
    )
    ax.annotate(
        "",
        xy=(x, y + 0.075),
        xytext=(x, y),
        xycoords="axes fraction",
        arrowprops={"arrowstyle": "-|>,head_width=0.4,head_length=0.8", "color": INK, "lw": 1.5},
        zorder=10,
    )
    ax.text(
        x,
        y - 0.005,
        "N",
        transform=ax.transAxes,
        ha="center",
        va="top",
        fontsize=9,
        fontweight="bold",
        color=INK,
        zorder=10,
    )
