"""Thin callbacks: parse inputs into a View, call the layers, serialise. Testable as plain functions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from dash import Dash, Input, Output, State, ctx, html, no_update

from dashboard.details import describe_feature, describe_hotspot, hotspot_legend_view
from dashboard.ids import LAYER_IDS, Id
from dashboard.permissions import RAW, REQUEST_USER, VIEW, User, acting_user, can, clamp_view, current_user, denied_text
from dashboard.screen import Screen, screen_view
from dashboard.settings import AppSettings
from data.store import Store
from geo.errors import HbmError, InvalidView, StoreUnavailable
from geo.suppression import is_small_count
from layers.build_cache import BuildCache, default_folder
from layers.features import hide_small_flows
from layers.hotspots import HotspotSettings, load_hotspot_settings
from layers.i18n import _, fill, value_label
from layers.labels import display_zone, format_time, local_strftime
from layers.refresh import RefreshResult, refresh
from layers.view import View

LAYER_ORDER = tuple(LAYER_IDS)
PLAYBACK_KEY = "playback"


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


class MapRefresh(NamedTuple):
    """What one map refresh sends back; ``no_update`` leaves an output as it is on screen."""

    crossing_points: Any = no_update
    routes: Any = no_update
    hotspots: Any = no_update
    sar_zones: Any = no_update
    status: Any = no_update
    banner: Any = no_update
    banner_class: Any = no_update
    client_state: Any = no_update
    view_error: Any = no_update


# The one place MapRefresh fields meet the components they update (the order of the callback's outputs).
MAP_OUTPUTS: dict[str, tuple[str, str]] = {
    **{name: (LAYER_IDS[name], "data") for name in LAYER_ORDER},
    "status": (Id.STATUS, "children"),
    "banner": (Id.BANNER, "children"),
    "banner_class": (Id.BANNER, "className"),
    "client_state": (Id.CLIENT_STATE, "data"),
    "view_error": (Id.VIEW_ERROR, "children"),
}
assert tuple(MAP_OUTPUTS) == MapRefresh._fields


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
    small_k: int | None = None,
) -> MapRefresh:
    """Return the layer data, status line, banner, client state and view error of one refresh.

    Layers whose inputs did not change are ``no_update``; on a store failure every layer
    is ``no_update`` so the last good data stays on screen. While playback runs, it owns
    the hotspot layer, so this refresh leaves it alone (and re-sends it when playback stops).
    ``user`` is who asks (the registered callback passes the request's user): without ``raw`` the
    View is clamped to ``settings.viewer_max_res`` with small counts (under ``small_k``, by default
    ``HBM_HOTSPOT_SUPPRESS_K``) suppressed, whatever was sent.
    """
    user = acting_user(user)
    now = now or datetime.now(UTC)
    client = dict(client or {})
    if not can(user, VIEW):
        return MapRefresh(view_error=denied_text(user, VIEW))
    try:
        screen = Screen(window, custom_start, custom_end, metric, resolution, zoom, bounds, statistic, suppress)
        view = screen_view(settings, screen, now)
    except InvalidView as exc:
        return MapRefresh(view_error=str(exc))
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
        return MapRefresh(
            banner=text, banner_class="hbm-banner show", client_state={**client, "failing_since": since}, view_error=""
        )
    except HbmError as exc:
        return MapRefresh(view_error=str(exc))
    if not can(user, RAW):
        small_k = small_k if small_k is not None else load_hotspot_settings()[1]
        for name in FLOW_LAYERS:
            if name in result.layers:
                result.layers[name] = hide_small_flows(result.layers[name], small_k)
    else:
        small_k = None
    layers = {name: result.layers[name] for name in LAYER_ORDER if name in result.layers}
    state = {"keys": result.keys, "failing_since": None, "revision": result.revision}
    state["replica_lag"] = lag_note or None
    if playing:  # a past frame must never look live on a wall screen
        status = playback_status(playback or {})
        shown = {"banner": "", "banner_class": "hbm-banner", "client_state": state, "view_error": ""}
        return MapRefresh(**layers, status=status, **shown)
    if not result.layers and not client.get("failing_since") and lag_note == (client.get("replica_lag") or ""):
        # Nothing changed: send no layer data and keep the status line as it is.
        return MapRefresh(client_state=state)
    lag_changed = lag_note != (client.get("replica_lag") or "")
    if not result.layers and lag_changed:  # only the replica's lag changed: re-state the status line
        result.events, result.people = source.event_totals(view.start, view.end)
    lag_part = [f" · {lag_note}"] if lag_note else []
    status = _status(result, view, settings, small_k) + lag_part if result.layers or lag_changed else no_update
    return MapRefresh(**layers, status=status, banner="", banner_class="hbm-banner", client_state=state, view_error="")


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


def register(
    app: Dash,
    store: Store,
    settings: AppSettings,
    read_store: Store | None = None,
    hotspots: tuple[HotspotSettings, int] | None = None,
) -> None:
    """Attach the callbacks to ``app``, bound to ``store`` and ``settings`` (map reads from ``read_store`` if given).

    ``hotspots`` is the hotspot statistics and small-count threshold k as loaded at start.
    """
    statistics, hotspot_k = hotspots or load_hotspot_settings()
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
        *[Output(cid, prop) for cid, prop in MAP_OUTPUTS.values()],
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
            small_k=hotspot_k,
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
                    store, props, window, cstart, cend, current_user(), settings.viewer_max_res, hotspot_k, statistics
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
        return hotspot_legend_view(metric, statistic, playback, window, cstart, cend, statistics)
