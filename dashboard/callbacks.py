"""Thin callbacks: parse inputs into a View, call the layers, serialise. Testable as plain functions."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import h3
from dash import Dash, Input, Output, State, ctx, html, no_update

from dashboard.ids import LAYER_IDS, Id
from dashboard.layout import legend_rows
from dashboard.permissions import RAW, REQUEST_USER, VIEW, User, acting_user, can, clamp_view, current_user, denied_text
from dashboard.settings import AppSettings
from data.store import BBox, Store
from geo.errors import HbmError, InvalidView, StoreUnavailable
from geo.suppression import is_small_count
from layers.build_cache import BuildCache, default_folder
from layers.features import LAYERS, hide_small_flows
from layers.hotspots import load_hotspot_settings
from layers.i18n import _, fill, value_label
from layers.labels import display_zone, feature_rows, format_time, format_value, local_strftime
from layers.refresh import RefreshResult, refresh
from layers.styles import GI_LABELS, hotspot_legend, hotspot_title
from layers.view import View, snap_bbox, window_bounds

LAYER_ORDER = tuple(LAYER_IDS)
PLAYBACK_KEY = "playback"


def bounds_to_bbox(bounds: Any) -> BBox | None:
    """Return ``west, south, east, north`` from Leaflet ``[[s, w], [n, e]]`` bounds, or None."""
    try:
        (s, w), (n, e) = bounds
        values = float(w), float(s), float(e), float(n)
    except (TypeError, ValueError, OverflowError):
        return None
    if not all(math.isfinite(v) for v in values):
        raise InvalidView("the map bounds must be finite numbers")
    w, s, e, n = values
    # Leaflet reports longitudes past ±180 after panning round the world; nothing lies beyond.
    w, e = max(-180.0, min(180.0, w)), max(-180.0, min(180.0, e))
    s, n = max(-90.0, min(90.0, s)), max(-90.0, min(90.0, n))
    if not (w < e and s < n):
        raise InvalidView("the map bounds are empty: west must be less than east and south less than north")
    return w, s, e, n


def parse_view(
    window: str | None,
    custom_start: str | None,
    custom_end: str | None,
    metric: str | None,
    resolution: str | None,
    zoom: float | None,
    bounds: Any,
    settings: AppSettings,
    now: datetime,
    statistic: str | None = None,
    suppress: Any = None,
) -> View:
    """Return the View the controls describe; raise InvalidView with a readable message."""
    window = window or "24h"
    start, end = window_bounds(window, now, custom_start, custom_end)
    bbox = bounds_to_bbox(bounds) or settings.region
    try:
        res = None if resolution in (None, "", "auto") else int(str(resolution))
        zoom_value = float(zoom) if zoom is not None else 7.0
    except (TypeError, ValueError):
        raise InvalidView(f"resolution {str(resolution)[:12]!r} or zoom {str(zoom)[:12]!r} is not a number") from None
    if not 0 <= zoom_value <= 30:
        raise InvalidView("zoom must be between 0 and 30")
    return View(
        start=start,
        end=end,
        zoom=zoom_value,
        resolution=res,
        bbox=snap_bbox(bbox),
        metric=metric or "events",
        window_label=window,
        statistic=statistic or "count",
        suppress=bool(suppress),
    )


FLOW_LAYERS = ("crossing_points", "routes")
# Wall-screen mode (issue 12): on with ?wall=1 in the address, toggled by the header button; the map resizes.
WALL_JS = r"""
function (search, clicks, current) {
    var trigger = (window.dash_clientside.callback_context.triggered[0] || {}).prop_id || "";
    var on = (current || "").indexOf("wall") >= 0;
    var asked = /[?&]wall=(1|true|on)(&|$)/;
    if (trigger.indexOf("wall-toggle") === 0) { on = !on; }
    else {
        // The address turns it on (never off: the permalink soon rewrites the search without it).
        on = on || asked.test(search || "") || (!window.__hbmWallSeen && asked.test(window.location.search));
        window.__hbmWallSeen = true;
    }
    setTimeout(function () { if (window.hbmMap) { window.hbmMap.invalidateSize(); } }, 50);
    return [on ? "hbm-app wall" : "hbm-app", on ? "true" : "false"];
}
"""


def playback_status(playback: dict[str, Any]) -> list[Any]:
    """Return the header's status while playback runs: PLAYBACK and the frame's dates, never "as of now"."""
    try:
        start = datetime.fromisoformat(str(playback["start"]))
        end = datetime.fromisoformat(str(playback["end"]))
        first = local_strftime(start.astimezone(display_zone()), "%d %b %H:%M")
        dates = f"{first} – {format_time(end, fmt='%d %b %H:%M')}"
    except (KeyError, ValueError):
        dates = _("loading frame…")
    return fill(
        _("{playback} past frame {dates} · not live"),
        playback=html.B(_("PLAYBACK"), className="hbm-playback-flag"),
        dates=html.B(dates),
    )


def _status(result: RefreshResult, view: View, settings: AppSettings, small_k: int | None = None) -> list[Any]:
    """Return the status line; with ``small_k`` (roles without raw) totals of 1..k-1 read \"under k\"."""
    zone = display_zone()
    as_of = format_time(result.data_as_of, zone, "%H:%M:%S") if result.data_as_of else "—"
    label = (
        view.window_label
        if view.window_label != "custom"
        else f"{view.start.astimezone(zone):%Y-%m-%d %H:%M}–{format_time(view.end, zone, '%Y-%m-%d %H:%M')}"
    )
    events = f"{result.events:,}" if result.events is not None else "…"
    people = f"{result.people:,}" if result.people is not None else "…"
    if small_k and is_small_count(result.events, small_k):
        events = _("under {k}").format(k=small_k)
    if small_k and is_small_count(result.people, small_k):
        people = _("under {k}").format(k=small_k)
    return fill(
        _("Data as of {as_of} · {events} events · {people} people in {window}"),
        as_of=html.B(as_of),
        events=html.B(events, id="status-events"),
        people=html.B(people),
        window=label,
    )


def pick_read_store(
    store: Store, read_store: Store | None, client: dict[str, Any], max_lag_s: float
) -> tuple[Store, str]:
    """Return the store to read the map from, and a note when the replica lags more than ``max_lag_s``.

    The replica serves the map unless it is behind the revision this client already shows (then the
    primary does: a refresh never goes back in time) or unreachable. Its lag is how much older its
    data is than the primary's (the last write each has), measured only when it is behind.
    """
    if read_store is None:
        return store, ""
    try:
        replica = read_store.revisions()["_all"]
    except StoreUnavailable:
        return store, "replica unreachable: reading from the primary"
    primary = store.revisions()["_all"]
    lag_s = 0.0
    if replica.revision < primary.revision and primary.updated_at and replica.updated_at:
        lag_s = (primary.updated_at - replica.updated_at).total_seconds()
    elif replica.revision < primary.revision:
        lag_s = float("inf")
    note = (f"replica {lag_s:.0f} s behind" if lag_s != float("inf") else "replica behind") if lag_s > max_lag_s else ""
    have = int(client.get("revision") or 0)
    return (read_store if replica.revision >= have else store), note


def refresh_map(
    store: Store,
    settings: AppSettings,
    window: str | None,
    custom_start: str | None,
    custom_end: str | None,
    metric: str | None,
    resolution: str | None,
    zoom: float | None,
    bounds: Any,
    client: dict[str, Any] | None,
    now: datetime | None = None,
    statistic: str | None = None,
    suppress: Any = None,
    playback: dict[str, Any] | None = None,
    user: User | None = REQUEST_USER,
    cache: BuildCache | None = None,
    read_store: Store | None = None,
) -> tuple[Any, ...]:
    """Return (4 layer datas, status, banner text, banner class, client state, view error).

    Layers whose inputs did not change are ``no_update``; on a store failure every layer
    is ``no_update`` so the last good data stays on screen. While playback runs, it owns
    the hotspot layer, so this refresh leaves it alone (and re-sends it when playback stops).
    ``user`` is who asks (the registered callback passes the request's user): without ``raw`` the
    View is clamped to ``settings.viewer_max_res`` with small counts suppressed, whatever was sent.
    """
    user = acting_user(user)
    now = now or datetime.now(UTC)
    client = dict(client or {})
    unchanged = (no_update,) * len(LAYER_ORDER)
    if not can(user, VIEW):
        return (*unchanged, no_update, no_update, no_update, no_update, denied_text(user, VIEW))
    try:
        view = parse_view(
            window, custom_start, custom_end, metric, resolution, zoom, bounds, settings, now, statistic, suppress
        )
    except InvalidView as exc:
        return (*unchanged, no_update, no_update, no_update, no_update, str(exc))
    view = clamp_view(view, user, settings.viewer_max_res)
    keys = dict(client.get("keys") or {})
    playing = bool(playback and playback.get("active"))
    if playing:
        keys["hotspots"] = PLAYBACK_KEY  # never equal to a live key: treated as current while playing
    try:
        source, lag_note = pick_read_store(store, read_store, client, settings.replica_max_lag_seconds)
        result = refresh(source, view, keys, skip=("hotspots",) if playing else (), cache=cache)
    except StoreUnavailable as exc:
        since = client.get("failing_since") or now.strftime("%H:%M:%S UTC")
        text = _(
            "Store unreachable since {since}: showing the last good data; retrying every {seconds} s. ({error})"
        ).format(since=since, seconds=f"{settings.refresh_seconds:g}", error=exc)
        return (
            *unchanged,
            no_update,
            text,
            "hbm-banner show",
            {**client, "failing_since": since},
            "",
        )
    except HbmError as exc:
        return (*unchanged, no_update, no_update, no_update, no_update, str(exc))
    small_k = None
    if not can(user, RAW):
        k = small_k = load_hotspot_settings()[1]
        for name in FLOW_LAYERS:
            if name in result.layers:
                result.layers[name] = hide_small_flows(result.layers[name], k)
    layers = tuple(result.layers.get(name, no_update) for name in LAYER_ORDER)
    state = {"keys": result.keys, "failing_since": None, "revision": result.revision}
    state["replica_lag"] = lag_note or None
    if playing:  # a past frame must never look live on a wall screen
        return (*layers, playback_status(playback or {}), "", "hbm-banner", state, "")
    if not result.layers and not client.get("failing_since") and lag_note == (client.get("replica_lag") or ""):
        # Nothing changed: send no layer data and keep the status line as it is.
        return (*unchanged, no_update, no_update, no_update, state, no_update)
    lag_changed = lag_note != (client.get("replica_lag") or "")
    if not result.layers and lag_changed:  # only the replica's lag changed: re-state the status line
        result.events, result.people = source.event_totals(view.start, view.end)
    lag_part = [f" · {lag_note}"] if lag_note else []
    status = _status(result, view, settings, small_k) + lag_part if result.layers or lag_changed else no_update
    return (*layers, status, "", "hbm-banner", state, "")


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
    spans = _window_spans_text(window, cstart, cend, load_hotspot_settings()[0].baseline_windows) if window else []
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


def _window_spans_text(window: str | None, cstart: str | None, cend: str | None, baselines: int) -> list[str]:
    """Return ``DD Mon HH:MM–HH:MM`` for the current window and each baseline (newest first), or [] if unknown."""
    from geo.windows import baseline_step, floor_hour, window_spans

    if baselines < 0:
        return []
    try:
        start, end = window_bounds(window or "24h", datetime.now(UTC), cstart, cend)
        cycle = load_hotspot_settings()[0].baseline_cycle
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
) -> Any:
    """Return a hotspot cell's panel: counts per window as bars, category, Gi* z and p, top event kinds."""
    user = acting_user(user)
    raw = list(props.get("windows") or [])
    # None: a baseline window before the data (missing); "<k": withheld for a role without raw access.
    windows = [v if isinstance(v, str) else 0 if v is None else int(v) for v in raw]
    labels = [f"−{len(windows) - 1 - i}" for i in range(len(windows) - 1)] + [_("now")]
    spans = _window_spans_text(window, cstart, cend, len(windows) - 1)
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


def role_controls(user: User | None, max_res: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Any]:
    """Return (resolution options, suppression options, suppression value) for what ``user`` may pick.

    Only a convenience: the server clamps every View whatever the controls say (``clamp_view``).
    """
    label = " " + _("merge cells under k people")
    options = [{"label": _("auto (zoom)"), "value": "auto"}]
    if can(user, RAW):
        options += [{"label": _("res {r}").format(r=r), "value": str(r)} for r in range(4, 10)]
        return options, [{"label": label, "value": "on"}], no_update
    options += [{"label": _("res {r}").format(r=r), "value": str(r)} for r in range(4, max_res + 1)]
    role = value_label(user.role) if user else _("anonymous")
    forced = {
        "label": " " + _("merge cells under k people (always on for the {role} role)").format(role=role),
        "value": "on",
        "disabled": True,
    }
    return options, [forced], ["on"]


def layer_cache(store: Store, settings: AppSettings) -> BuildCache | None:
    """Return the machine-wide cache of built layers (HBM_LAYER_CACHE, on by default), or None."""
    if not settings.layer_cache:
        return None
    folder = Path(settings.layer_cache_dir) if settings.layer_cache_dir else default_folder()
    return BuildCache(folder, f"{store.backend}:{getattr(store, 'label', '')}")


def register(app: Dash, store: Store, settings: AppSettings, read_store: Store | None = None) -> None:
    """Attach the callbacks to ``app``, bound to ``store`` and ``settings`` (map reads from ``read_store`` if given)."""
    hotspot_k = load_hotspot_settings()[1]
    cache = layer_cache(store, settings)

    @app.callback(
        Output(Id.RESOLUTION, "options"),
        Output(Id.SUPPRESS, "options"),
        Output(Id.SUPPRESS, "value", allow_duplicate=True),
        Input(Id.MAP, "id"),
        prevent_initial_call="initial_duplicate",
    )
    def _role_controls(_map: str) -> tuple[Any, ...]:
        return role_controls(current_user(), settings.viewer_max_res)

    @app.callback(
        *[Output(LAYER_IDS[name], "data") for name in LAYER_ORDER],
        Output(Id.STATUS, "children"),
        Output(Id.BANNER, "children"),
        Output(Id.BANNER, "className"),
        Output(Id.CLIENT_STATE, "data"),
        Output(Id.VIEW_ERROR, "children"),
        Input(Id.INTERVAL, "n_intervals"),
        Input(Id.WINDOW, "value"),
        Input(Id.CUSTOM_START, "value"),
        Input(Id.CUSTOM_END, "value"),
        Input(Id.METRIC, "value"),
        Input(Id.RESOLUTION, "value"),
        Input(Id.MAP, "zoom"),
        Input(Id.MAP, "bounds"),
        Input(Id.STATISTIC, "value"),
        Input(Id.SUPPRESS, "value"),
        Input(Id.PLAYBACK_STATE, "data"),
        State(Id.CLIENT_STATE, "data"),
    )
    def _refresh(
        _n: int | None,
        window: str,
        cstart: str | None,
        cend: str | None,
        metric: str,
        resolution: str,
        zoom: float | None,
        bounds: Any,
        statistic: str | None,
        suppress: list[str] | None,
        playback: dict[str, Any] | None,
        client: dict[str, Any] | None,
    ) -> tuple[Any, ...]:
        return refresh_map(
            store,
            settings,
            window,
            cstart,
            cend,
            metric,
            resolution,
            zoom,
            bounds,
            client,
            statistic=statistic,
            suppress=bool(suppress),
            playback=playback,
            user=current_user(),
            cache=cache,
            read_store=read_store,
        )

    @app.callback(
        Output(Id.DETAILS, "children"),
        *[Input(LAYER_IDS[name], "clickData") for name in LAYER_ORDER],
        State(Id.WINDOW, "value"),
        State(Id.CUSTOM_START, "value"),
        State(Id.CUSTOM_END, "value"),
        prevent_initial_call=True,
    )
    def _details(*args: Any) -> Any:
        features, (window, cstart, cend) = args[: len(LAYER_ORDER)], args[len(LAYER_ORDER) :]
        triggered = ctx.triggered_id
        for name, feature in zip(LAYER_ORDER, features, strict=True):
            if LAYER_IDS[name] != triggered:
                continue
            props = (feature or {}).get("properties") or {}
            if name == "hotspots" and props.get("windows"):
                return describe_hotspot(
                    store, props, window, cstart, cend, current_user(), settings.viewer_max_res, hotspot_k
                )
            return describe_feature(feature, name)
        return no_update

    app.clientside_callback(
        WALL_JS,
        Output(Id.APP, "className"),
        Output(Id.WALL_TOGGLE, "aria-pressed"),
        Input(Id.WALL_LOCATION, "search"),
        Input(Id.WALL_TOGGLE, "n_clicks"),
        State(Id.APP, "className"),
    )

    @app.callback(Output(Id.CUSTOM_BOX, "style"), Input(Id.WINDOW, "value"))
    def _custom_box(window: str) -> dict[str, str]:
        return {"display": "inline-flex", "gap": "6px"} if window == "custom" else {"display": "none"}

    @app.callback(
        Output(Id.HOTSPOT_LEGEND_TITLE, "children"),
        Output(Id.HOTSPOT_LEGEND, "children"),
        Input(Id.METRIC, "value"),
        Input(Id.STATISTIC, "value"),
        Input(Id.PLAYBACK_STATE, "data"),
        Input(Id.WINDOW, "value"),
        Input(Id.CUSTOM_START, "value"),
        Input(Id.CUSTOM_END, "value"),
    )
    def _legend(
        metric: str | None,
        statistic: str | None,
        playback: dict[str, Any] | None,
        window: str | None,
        cstart: str | None,
        cend: str | None,
    ) -> tuple[str, Any]:
        return hotspot_legend_view(metric, statistic, playback, window, cstart, cend)
