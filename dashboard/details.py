"""The details panel and the hotspot legend: what a clicked feature or H3 cell shows, as much as the role may see."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import h3
from dash import html

from dashboard.layout import legend_rows
from dashboard.permissions import RAW, REQUEST_USER, User, acting_user, can
from data.store import Store
from geo.errors import HbmError
from layers.features import LAYERS
from layers.hotspots import HotspotSettings, load_hotspot_settings
from layers.i18n import _, value_label
from layers.labels import feature_rows, format_value
from layers.styles import GI_LABELS, hotspot_legend, hotspot_title
from layers.view import window_bounds


def describe_feature(feature: dict[str, Any] | None, layer: str) -> Any:
    """Return a table of a clicked feature's properties: human labels, in order, values as text."""
    if not feature:
        return _("Click a crossing point, route, hotspot cell or SAR zone.")
    props = feature.get("properties") or {}
    title = props.get("name") or (
        _("H3 cell {cell}").format(cell=props.get("cell")) if layer == "hotspots" else _(LAYERS[layer].title)
    )
    rows = [html.Tr([html.Td(label), html.Td(value)]) for label, value in feature_rows(layer, props)]
    return [
        html.Div(_(LAYERS[layer].title), className="hbm-detail-layer"),
        html.Div(str(title), className="hbm-detail-title"),
        html.Table(html.Tbody(rows)),
    ]


def hotspot_legend_view(
    metric: str | None,
    statistic: str | None,
    playback: dict[str, Any] | None,
    window: str | None = None,
    cstart: str | None = None,
    cend: str | None = None,
    statistics: HotspotSettings | None = None,
) -> tuple[str, list[Any]]:
    """Return the hotspot legend's title and rows: the statistic's classes, or the fixed playback scale.

    Outside playback a last row states the exact current window and its baseline windows (UTC).
    """
    metric = metric or "events"
    if playback and playback.get("active"):
        breaks = tuple(int(b) for b in playback.get("breaks") or ())
        mode = {"windowed": _("windowed"), "cumulative": _("cumulative")}.get(str(playback.get("mode", "windowed")))
        title = _("Playback: {metric} per H3 cell ({mode}, fixed scale)").format(
            metric=value_label(metric), mode=mode or playback.get("mode")
        )
        return title, legend_rows(hotspot_legend("count", breaks) if breaks else hotspot_legend("count"))
    statistic = statistic or "count"
    title = hotspot_title(statistic, metric)
    rows = legend_rows(hotspot_legend(statistic))
    statistics = statistics or load_hotspot_settings()[0]
    spans = _window_spans_text(window, cstart, cend, statistics.baseline_windows, statistics) if window else []
    if spans:
        rows.append(
            html.Div(
                _("Window {window} UTC (complete hours); baseline {baseline}").format(
                    window=spans[0], baseline="; ".join(spans[1:])
                )
                + " "
                + _("(a window before the data is missing, not zero)"),
                className="hbm-legend-row hbm-legend-windows",
            )
        )
    return title, rows


def _count_text(value: Any) -> str:
    """Return a count as text; a withheld count (None, or "<k" in a list) reads "under k"."""
    if isinstance(value, str) and value.startswith("<"):
        return f"under {value[1:]}"
    return "under k" if value is None else f"{value:,}"


def _bar_value(value: Any) -> int:
    return value if isinstance(value, int) else 0


def _bars(windows: list[int | str], labels: list[str]) -> html.Div:
    top = max(max((v for v in windows if isinstance(v, int)), default=0), 1)
    rows = []
    for label, value in zip(labels, windows, strict=True):
        rows.append(
            html.Div(
                className="hbm-bar-row",
                children=[
                    html.Span(label, className="hbm-bar-label"),
                    html.Span(
                        className="hbm-bar",
                        style={"width": f"{100 * (value if isinstance(value, int) else 0) / top:.0f}%"},
                    ),
                    html.Span(_count_text(value), className="hbm-bar-value"),
                ],
            )
        )
    return html.Div(rows, className="hbm-bars")


def event_kinds_text(
    store: Store, cell: Any, start: datetime, end: datetime, user: User | None, max_res: int, k: int
) -> str:
    """Return a cell's top event kinds ("crossing 12, distress 3"), as much as ``user`` may see.

    The cell comes from the browser, so it is checked here: a user without ``raw`` gets nothing for a
    cell finer than ``max_res`` or holding fewer than ``k`` people, and only the kinds with at least
    ``k`` people each.
    """
    cell_id = h3.str_to_int(str(cell))
    restricted = not can(user, RAW)
    if restricted and h3.get_resolution(h3.int_to_str(cell_id)) > max_res:
        return _("hidden (finer than H3 res {res})").format(res=max_res)
    table = store.cell_event_kinds(cell_id, start, end)
    rows = list(zip(table["kind"], table["events"], table["people"], strict=True))
    if restricted:
        total = sum(int(p or 0) for _k, _e, p in rows)
        if 0 < total < k:
            return _("suppressed (fewer than {k} people)").format(k=k)
        shown = [r for r in rows if int(r[2] or 0) >= k]
        text = ", ".join(f"{value_label(kind)} {int(n):,}" for kind, n, _p in shown[:4])
        if len(shown) < len(rows):
            text = (text + ", " if text else "") + _("other kinds (each under {k} people)").format(k=k)
        return text or "—"
    return ", ".join(f"{value_label(kind)} {int(n):,}" for kind, n, _p in rows[:4]) or "—"


def _window_spans_text(
    window: str | None, cstart: str | None, cend: str | None, baselines: int, statistics: HotspotSettings | None = None
) -> list[str]:
    """Return ``DD Mon HH:MM–HH:MM`` for the current window and each baseline (newest first), or [] if unknown."""
    from geo.windows import baseline_step, floor_hour, window_spans

    if baselines < 0:
        return []
    try:
        start, end = window_bounds(window or "24h", datetime.now(UTC), cstart, cend)
        cycle = (statistics or load_hotspot_settings()[0]).baseline_cycle
        spans = window_spans(floor_hour(end), end - start, baseline_step(end - start, cycle), baselines, None)
    except (HbmError, ValueError):
        return []
    return [f"{s.start:%d %b %H:%M}–{s.end:%d %b %H:%M}" for s in spans]


def describe_hotspot(
    store: Store,
    props: dict[str, Any],
    window: str | None,
    cstart: str | None,
    cend: str | None,
    user: User | None = REQUEST_USER,
    max_res: int = 6,
    k: int | None = None,
    statistics: HotspotSettings | None = None,
) -> Any:
    """Return a hotspot cell's panel: counts per window as bars, category, Gi* z and p, top event kinds."""
    user = acting_user(user)
    raw = list(props.get("windows") or [])
    # None: a baseline window before the data (missing); "<k": withheld for a role without raw access.
    windows = [v if isinstance(v, str) else 0 if v is None else int(v) for v in raw]
    labels = [f"−{len(windows) - 1 - i}" for i in range(len(windows) - 1)] + [_("now")]
    spans = _window_spans_text(window, cstart, cend, len(windows) - 1, statistics)
    if spans:  # oldest first, as the bars; a window before the data is marked missing
        labels = [
            _("{span} (no data yet)").format(span=s) if v is None else s for s, v in zip(spans[::-1], raw, strict=False)
        ] + labels[len(spans) :]
    rows = [
        (
            _("change"),
            value_label(props.get("category"))
            + (f" ({props['change_pct']:+.0f} %)" if props.get("change_pct") is not None else ""),
        ),
        (_("baseline mean"), format_value("baseline_mean", props.get("baseline_mean"))),
        ("Gi* z / p", f"{format_value('gi_z', props.get('gi_z'))} / {format_value('gi_p', props.get('gi_p'))}"),
        (_("Gi* bin"), _(GI_LABELS[props["gi_bin"]]) if props.get("gi_bin") in GI_LABELS else "—"),
        (_("trend"), value_label(props.get("emerging"))),
        (_("events / people"), f"{_count_text(props.get('events', 0))} / {_count_text(props.get('people', 0))}"),
    ]
    kinds: Any = "—"
    try:
        start, end = window_bounds(window or "24h", datetime.now(UTC), cstart, cend)
        k = k if k is not None else load_hotspot_settings()[1]
        kinds = event_kinds_text(store, props["cell"], start, end, user, max_res, k)
    except (HbmError, ValueError, KeyError, TypeError):
        kinds = _("unavailable")
    rows.append((_("top kinds"), kinds))
    if props.get("coarse"):
        rows.append(
            (
                _("location"),
                _("coarse: these events are only known to about an H3 res-{res} cell").format(res=props.get("res")),
            )
        )
    return [
        html.Div(_(LAYERS["hotspots"].title), className="hbm-detail-layer"),
        html.Div(
            _("H3 cell {cell} (res {res})").format(cell=props.get("cell"), res=props.get("res")),
            className="hbm-detail-title",
        ),
        html.Div(_("Counts per window, UTC (oldest → now)"), className="hbm-detail-layer"),
        _bars(windows, labels),
        html.Table(html.Tbody([html.Tr([html.Td(k), html.Td("—" if v is None else str(v))]) for k, v in rows])),
    ]
