"""The SAR panel's callbacks: parse the form, call the plain functions in ``logic``, map results to outputs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dash import ALL, Dash, Input, Output, State, ctx, no_update

from dashboard.ids import Id
from dashboard.panels.sar.ids import EDIT_CONTROLS, EMPTY, EXPORTS, FORM_KEYS, NO_DRAW, SarId
from dashboard.panels.sar.logic import (
    edit_plan,
    export_plan,
    highlight,
    plan_options,
    plan_view,
    preview_geojson,
    save_new_plan,
)
from dashboard.permissions import EDIT_SAR, EXPORT_DATA, User, can, current_user, denied_text
from dashboard.settings import AppSettings
from data.sar_plans import load_plan
from data.store import Store
from geo.errors import HbmError
from layers.i18n import _

if TYPE_CHECKING:
    from dashboard.config import Settings


def role_state(user: User | None) -> tuple[Any, ...]:
    """Return (role note, draw tools, then ``disabled`` per EDIT_CONTROLS, then per export button) for ``user``.

    A convenience for the eye: every callback checks the permission again on the server.
    """
    editor = can(user, EDIT_SAR)
    note = denied_text(user, EDIT_SAR)
    if not can(user, EXPORT_DATA):
        note = (note + " " if note else "") + denied_text(user, EXPORT_DATA)
    draw = no_update if editor else NO_DRAW
    return (note, draw, *[not editor] * len(EDIT_CONTROLS), [not can(user, EXPORT_DATA)] * len(EXPORTS))


def clicked_plan(feature: dict[str, Any] | None) -> tuple[Any, Any]:
    """Return (plan id, selected sector ids) for a SAR zone clicked on the map; no change for other zones."""
    props = (feature or {}).get("properties") or {}
    if props.get("kind") == "sector" and props.get("parent_id") and props.get("label"):
        return props["parent_id"], [props["id"]]
    if props.get("kind") == "search_area" and props.get("id"):
        return props["id"], []
    return no_update, no_update


FORM_STATES = (
    State(SarId.SOURCE, "value"),
    State(SarId.DRAW, "geojson"),
    State(SarId.DATUM, "value"),
    State(SarId.RADIUS, "value"),
    State(SarId.EVENT, "value"),
    State(SarId.METHOD, "value"),
    State(SarId.ROTATE, "value"),
    State(SarId.SIZE, "value"),
    State(SarId.POA, "value"),
    State(SarId.REST, "value"),
    State(SarId.NAME, "value"),
)


def _form(*values: Any) -> dict[str, Any]:
    form = dict(zip(FORM_KEYS, values, strict=True))
    form["rotate"] = "on" in (form["rotate"] or [])
    return form


def register(app: Dash, store: Store, settings: AppSettings, config: Settings | None = None) -> None:
    """Attach the SAR panel's callbacks."""

    @app.callback(
        Output(SarId.ROLE_NOTE, "children"),
        Output(SarId.DRAW, "draw"),
        *[Output(cid, "disabled") for cid in EDIT_CONTROLS],
        Output({"type": SarId.EXPORT.value, "fmt": ALL}, "disabled"),
        Input(SarId.ROLE_NOTE, "id"),
    )
    def _role(_note: str) -> tuple[Any, ...]:
        return role_state(current_user())

    @app.callback(
        Output(SarId.PREVIEW, "data"),
        Output(SarId.PREVIEW, "hideout"),
        Output(SarId.NEW_MSG, "children"),
        Output(SarId.NEW_MSG, "className"),
        Input(SarId.PREVIEW_BTN, "n_clicks"),
        *FORM_STATES,
        prevent_initial_call=True,
    )
    def _preview(_n: int | None, *values: Any) -> tuple[Any, ...]:
        try:
            preview = preview_geojson(store, _form(*values), current_user())
        except HbmError as exc:
            return EMPTY, no_update, str(exc), "sar-message error"
        message = _("Preview: {summary}. Save to share it.").format(summary=preview.summary)
        return preview.features, {"max": preview.top_poa}, message, "sar-message ok"

    @app.callback(
        Output(SarId.NEW_MSG, "children", allow_duplicate=True),
        Output(SarId.NEW_MSG, "className", allow_duplicate=True),
        Output(SarId.PREVIEW, "data", allow_duplicate=True),
        Output(SarId.PLAN, "options"),
        Output(SarId.PLAN, "value"),
        Output(SarId.DRAW, "editToolbar"),
        Input(SarId.SAVE_BTN, "n_clicks"),
        *FORM_STATES,
        prevent_initial_call=True,
    )
    def _save(n: int | None, *values: Any) -> tuple[Any, ...]:
        try:
            plan_id = save_new_plan(store, _form(*values), current_user())
            plan = load_plan(store, plan_id)
        except HbmError as exc:
            return str(exc), "sar-message error", no_update, no_update, no_update, no_update
        clear = {"mode": "remove", "action": "clear all", "n_clicks": n or 0}
        text = _("Saved plan {name} ({n} sectors, id {id}): visible to every session.").format(
            name=plan.name, n=len(plan.sectors), id=plan.id
        )
        return text, "sar-message ok", EMPTY, plan_options(store), plan.id, clear

    @app.callback(
        Output(SarId.PLAN, "options", allow_duplicate=True),
        Output(SarId.PLAN, "value", allow_duplicate=True),
        Input(Id.SAR_ZONES, "data"),
        State(SarId.PLAN, "value"),
        prevent_initial_call="initial_duplicate",
    )
    def _plans(_layer: Any, current: str | None) -> tuple[Any, Any]:
        try:
            options = plan_options(store)
        except HbmError:
            return no_update, no_update
        ids = [o["value"] for o in options]
        return options, current if current in ids else (ids[0] if ids else None)

    @app.callback(
        Output(SarId.TABLE, "data"),
        Output(SarId.SUMMARY, "children"),
        Output(SarId.SEEN, "data"),
        Input(SarId.PLAN, "value"),
        Input(Id.SAR_ZONES, "data"),
    )
    def _table(plan_id: str | None, _layer: Any) -> tuple[Any, ...]:
        try:
            return plan_view(store, plan_id)
        except HbmError as exc:
            return [], str(exc), {}

    @app.callback(
        Output(SarId.TABLE, "data", allow_duplicate=True),
        Output(SarId.SUMMARY, "children", allow_duplicate=True),
        Output(SarId.SEEN, "data", allow_duplicate=True),
        Output(SarId.PLAN_MSG, "children"),
        Output(SarId.PLAN_MSG, "className"),
        Input(SarId.SECTOR_BTN, "n_clicks"),
        Input(SarId.SORTIE_BTN, "n_clicks"),
        State(SarId.SEEN, "data"),
        State(SarId.TABLE, "selected_row_ids"),
        State(SarId.TEAM, "value"),
        State(SarId.STATUS, "value"),
        State(SarId.SWEEP, "value"),
        State(SarId.SPACING, "value"),
        State(SarId.LENGTH, "value"),
        prevent_initial_call=True,
    )
    def _edit(_a: Any, _b: Any, seen: Any, selected: Any, *values: Any) -> tuple[Any, ...]:
        action = "sector" if ctx.triggered_id == SarId.SECTOR_BTN else "sortie"
        team, status, sweep, spacing, length = values
        user = current_user()
        who = user.name if user else "dashboard"
        try:
            return edit_plan(store, action, seen, selected, team, status, sweep, spacing, length, who=who, user=user)
        except HbmError as exc:
            return no_update, no_update, no_update, str(exc), "sar-message error"

    @app.callback(
        Output(SarId.TEAM, "value"),
        Output(SarId.STATUS, "value"),
        Input(SarId.TABLE, "selected_row_ids"),
        State(SarId.TABLE, "data"),
    )
    def _select(selected: list[str] | None, rows: list[dict[str, Any]] | None) -> tuple[Any, ...]:
        row = next((r for r in rows or [] if selected and r["id"] == selected[0]), None)
        if row is None:
            return no_update, no_update
        return row.get("team") or "", row.get("status") or "planned"

    @app.callback(
        Output(SarId.HIGHLIGHT, "data"),
        Input(SarId.TABLE, "selected_row_ids"),
        Input(SarId.SEEN, "data"),
    )
    def _highlight(selected: list[str] | None, seen: Any) -> Any:
        return highlight(store, seen, selected)

    @app.callback(
        Output(SarId.PLAN, "value", allow_duplicate=True),
        Output(SarId.TABLE, "selected_row_ids"),
        Input(Id.SAR_ZONES, "clickData"),
        prevent_initial_call=True,
    )
    def _clicked(feature: dict[str, Any] | None) -> tuple[Any, Any]:
        return clicked_plan(feature)

    @app.callback(
        Output(SarId.DOWNLOAD, "data"),
        Output(SarId.PLAN_MSG, "children", allow_duplicate=True),
        Input({"type": SarId.EXPORT.value, "fmt": ALL}, "n_clicks"),
        State(SarId.PLAN, "value"),
        prevent_initial_call=True,
    )
    def _export(clicks: list[int | None], plan_id: str | None) -> tuple[Any, Any]:
        if not any(clicks) or not isinstance(ctx.triggered_id, dict):
            return no_update, no_update
        if not plan_id:
            return no_update, _("Pick a plan to export.")
        try:
            return export_plan(store, plan_id, ctx.triggered_id["fmt"], settings.synthetic, current_user()), ""
        except HbmError as exc:
            return no_update, str(exc)
