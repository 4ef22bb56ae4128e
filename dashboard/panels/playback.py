"""Playback panel: step the hotspot layer through time, windowed or cumulative, on a fixed colour scale.

Starting playback loads every frame in one aggregated store query (``layers.services.playback``);
moving the slider then only picks a frame from that cache. While playback is on it owns the
hotspot layer; stopping hands it back to the live refresh.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from dash import Dash, Input, Output, State, ctx, dcc, html, no_update

from dashboard.callbacks import parse_view
from dashboard.ids import Id
from dashboard.layout import radio_group
from dashboard.permissions import (
    RAW,
    REQUEST_USER,
    VIEW,
    Forbidden,
    User,
    acting_user,
    can,
    clamp_view,
    current_user,
    denied_text,
)
from dashboard.settings import AppSettings
from data.store import Store
from geo.errors import HbmError
from layers.hotspots import load_hotspot_settings
from layers.i18n import N_, _, ngettext
from layers.labels import display_zone, format_time, local_strftime
from layers.services.playback import MODES, STEPS, Playback, load_playback

TITLE = N_("Time playback")
MODE_LABELS = {"windowed": N_("windowed"), "cumulative": N_("cumulative")}
TOGGLE = "playback-toggle"
MODE = "playback-mode"
STEP = "playback-step"
SLIDER = "playback-slider"
PLAY = "playback-play"
TICK = "playback-tick"
LABEL = "playback-label"
FRAMES = {"6h": 28, "1d": 30, "7d": 8}
# Glyphs every font we ship has (DejaVu Sans): "⏸" (U+23F8) rendered as an empty box (issue 12).
PLAY_TEXT = N_("▶ Play")
PAUSE_TEXT = N_("❚❚ Pause")
CACHE_SIZE = 4
ARIA_LIVE: dict[str, Any] = {"aria-live": "polite"}


class PlaybackCache:
    """A few recent playbacks per server process, keyed by what they were loaded for."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, Playback] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Playback | None:
        """Return a cached playback, or None."""
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: str, playback: Playback) -> None:
        """Keep ``playback`` under ``key``, dropping the oldest beyond the cache size."""
        with self._lock:
            self._items[key] = playback
            while len(self._items) > CACHE_SIZE:
                self._items.popitem(last=False)


def layout(settings: AppSettings) -> html.Div:
    """Return the playback controls: on/off, mode, step, slider and a play button."""
    return html.Div(
        [
            dcc.Checklist(
                id=TOGGLE,
                options=[{"label": " " + _("play back the hotspot layer"), "value": "on"}],
                value=[],
                className="hbm-check",
            ),
            html.Div(
                [
                    radio_group(
                        _("Playback mode"),
                        dcc.RadioItems(
                            id=MODE,
                            options=[{"label": _(MODE_LABELS.get(m, m)), "value": m} for m in MODES],
                            value="windowed",
                            className="hbm-seg",
                            inline=True,
                        ),
                    ),
                    radio_group(
                        _("Playback step"),
                        dcc.RadioItems(
                            id=STEP,
                            options=[{"label": _("step {step}").format(step=s), "value": s} for s in STEPS],
                            value="1d",
                            className="hbm-seg",
                            inline=True,
                        ),
                    ),
                ],
                className="hbm-playback-row",
            ),
            html.Div(
                dcc.Slider(
                    id=SLIDER,
                    min=0,
                    max=FRAMES["1d"] - 1,
                    step=1,
                    value=FRAMES["1d"] - 1,
                    marks=None,
                    updatemode="mouseup",
                    allow_direct_input=False,  # its number box had no label and white text on white (issue 12)
                    tooltip={"always_visible": False},
                ),
                **{"data-label": _("Playback frame")},
            ),
            html.Div(
                [
                    html.Button(
                        _(PLAY_TEXT),
                        id=PLAY,
                        className="hbm-button",
                        n_clicks=0,
                        disabled=True,
                        title=_("Tick “play back” first"),
                    ),
                    html.Span(id=LABEL, className="hbm-playback-label", **ARIA_LIVE),
                ],
                className="hbm-playback-row",
            ),
            dcc.Interval(id=TICK, interval=1200, disabled=True),
        ]
    )


def _key(view: Any, step: str) -> str:
    day = view.end.replace(minute=0, second=0, microsecond=0)
    return f"{view.res}|{view.bbox}|{view.metric}|{step}|{day.isoformat()}"


def playback_frame(
    store: Store,
    cache: PlaybackCache,
    view: Any,
    step: str,
    mode: str,
    frame: int,
    user: User | None = REQUEST_USER,
    max_res: int = 6,
    k: int | None = None,
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Return (hotspot layer data, playback state, label) for one frame, loading the frames once.

    A user without ``raw`` gets the View clamped to ``max_res`` and every frame's cells under ``k``
    people merged into parent cells, whatever the client asked for.
    """
    user = acting_user(user)
    if not can(user, VIEW):
        raise Forbidden(denied_text(user, VIEW))
    restricted = not can(user, RAW)
    if restricted:
        view = clamp_view(view, user, max_res)
        k = k if k is not None else load_hotspot_settings()[1]
    key = _key(view, step)
    playback = cache.get(key)
    if playback is None:
        playback = load_playback(store, view, STEPS[step], FRAMES[step])
        cache.put(key, playback)
    start, end = playback.frame_bounds(frame, mode)
    data = playback.frame_layer(frame, mode, k if restricted else None)
    cells = len(data["features"])
    label = ngettext("{dates} · {n} cell", "{dates} · {n} cells", cells).format(
        dates=frame_dates(start, end), n=f"{cells:,}"
    )
    state = {
        "active": True,
        "mode": mode,
        "step": step,
        "frame": frame,
        "breaks": list(playback.breaks[mode]),
        "start": start.isoformat(),
        "end": end.isoformat(),
    }
    return data, state, label


def frame_dates(start: datetime, end: datetime) -> str:
    """Return a frame's dates in the display time zone: "02 Nov 06:00 – 03 Nov 06:00 EAT (UTC+03:00)"."""
    zone = display_zone()
    first = local_strftime(start.astimezone(zone), "%d %b %H:%M")
    return f"{first} – {format_time(end, zone, '%d %b %H:%M')}"


def play_state(trigger: str | None, toggle: list[str] | None, ticking: bool) -> tuple[bool, str, bool]:
    """Return (tick disabled, button text, button disabled): Play works only while playback is ticked on."""
    on = bool(toggle)
    if not on:
        return True, _(PLAY_TEXT), True  # switching playback off also stops the clock
    if trigger == PLAY:
        return (False, _(PAUSE_TEXT), False) if not ticking else (True, _(PLAY_TEXT), False)
    return (not ticking), _(PAUSE_TEXT if ticking else PLAY_TEXT), False


def register(app: Dash, store: Store, settings: AppSettings) -> None:
    """Attach the playback callbacks."""
    cache = PlaybackCache()

    @app.callback(
        Output(SLIDER, "max"),
        Output(SLIDER, "value"),
        Input(STEP, "value"),
    )
    def _frames(step: str) -> tuple[int, int]:
        n = FRAMES.get(step or "1d", FRAMES["1d"])
        return n - 1, n - 1

    @app.callback(
        Output(TICK, "disabled"),
        Output(PLAY, "children"),
        Output(PLAY, "disabled"),
        Input(PLAY, "n_clicks"),
        Input(TOGGLE, "value"),
        State(TICK, "disabled"),
        prevent_initial_call=True,
    )
    def _play(_n: int, toggle: list[str] | None, disabled: bool) -> tuple[bool, str, bool]:
        return play_state(ctx.triggered_id, toggle, not disabled)

    @app.callback(
        Output(SLIDER, "value", allow_duplicate=True),
        Input(TICK, "n_intervals"),
        State(SLIDER, "value"),
        State(SLIDER, "max"),
        prevent_initial_call=True,
    )
    def _advance(_n: int, value: int | None, top: int) -> int:
        return 0 if value is None or value >= top else int(value) + 1

    @app.callback(
        Output(Id.HOTSPOTS, "data", allow_duplicate=True),
        Output(Id.PLAYBACK_STATE, "data"),
        Output(LABEL, "children"),
        Input(TOGGLE, "value"),
        Input(MODE, "value"),
        Input(STEP, "value"),
        Input(SLIDER, "value"),
        State(Id.METRIC, "value"),
        State(Id.RESOLUTION, "value"),
        State(Id.MAP, "zoom"),
        State(Id.MAP, "bounds"),
        prevent_initial_call=True,
    )
    def _frame(
        toggle: list[str] | None,
        mode: str,
        step: str,
        frame: int | None,
        metric: str | None,
        resolution: str | None,
        zoom: float | None,
        bounds: Any,
    ) -> tuple[Any, dict[str, Any], str]:
        if not toggle:
            return no_update, {"active": False}, ""
        try:
            view = parse_view("24h", None, None, metric, resolution, zoom, bounds, settings, datetime.now(UTC))
            return playback_frame(
                store,
                cache,
                view,
                step or "1d",
                mode or "windowed",
                int(frame or 0),
                current_user(),
                settings.viewer_max_res,
            )
        except HbmError as exc:
            return no_update, {"active": False}, _("Playback unavailable: {error}").format(error=exc)
