"""SAR planning panel: search area → sectors → POA preview → saved plan; team, status and sorties per sector.

The search area comes from a polygon drawn on the map (leaflet-draw), a datum and radius, or a
distress event. Saved plans live in ``sar_zones``, so the live map layer already shows them to
every session; the plan table here reloads whenever that layer's data changes (the same refresh as
the rest of the map). Every edit sends the plan version the table showed; a stale version is
refused with a clear message and the latest plan is shown instead.

Access (on the server, in every callback): previewing, saving and editing plans and recording sorties
need ``edit_sar``; the field exports need ``export_data``. Other roles see the plans read-only, with a
one-line note saying so and the controls disabled.

Modules: ``ids`` (component ids, choices), ``logic`` (plain functions, no dash import), ``layout``
(components) and ``callbacks`` (wiring). This package exposes the panel interface (``TITLE``,
``layout``, ``map_children``, ``register``) and the names tests use.
"""

from dashboard.panels.sar.callbacks import clicked_plan, register, role_state
from dashboard.panels.sar.ids import EDIT_CONTROLS, EMPTY, EXPORTS, TITLE, SarId
from dashboard.panels.sar.layout import layout, map_children
from dashboard.panels.sar.logic import (
    PlanEdit,
    PlanTable,
    Preview,
    edit_plan,
    export_plan,
    highlight,
    plan_options,
    plan_view,
    preview_geojson,
    save_new_plan,
    search_area,
    summary_text,
    table_rows,
)

__all__ = [
    "EDIT_CONTROLS",
    "EMPTY",
    "EXPORTS",
    "TITLE",
    "PlanEdit",
    "PlanTable",
    "Preview",
    "SarId",
    "clicked_plan",
    "edit_plan",
    "export_plan",
    "highlight",
    "layout",
    "map_children",
    "plan_options",
    "plan_view",
    "preview_geojson",
    "register",
    "role_state",
    "save_new_plan",
    "search_area",
    "summary_text",
    "table_rows",
]
