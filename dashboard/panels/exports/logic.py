"""The export panel's logic as plain functions (no dash import): export the View on screen; permalinks."""

from __future__ import annotations

import io
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from dashboard.downloads import send_bytes
from dashboard.panels.exports.ids import IMAGE_FORMATS, VIEW_FORMAT, WHO
from dashboard.permissions import (
    EXPORT_DATA,
    EXPORT_IMAGE,
    RAW,
    REQUEST_USER,
    User,
    acting_user,
    can,
    clamp_view,
    denied_text,
)
from dashboard.screen import screen_view
from dashboard.settings import AppSettings
from data.audit import record_export
from data.store import Store
from geo.errors import HbmError
from layers.features import LAYERS
from layers.i18n import _
from layers.services.exports import EXTENSIONS, MEDIA_TYPES, run_export
from layers.services.exports.collect import Page
from layers.services.exports.settings import ExportSettings
from layers.view import LAYER_NAMES
from layers.view_io import query_fields, view_from_query, view_to_dict, view_to_json, view_to_query


class ExportResult(NamedTuple):
    """One export: the ``dcc.Download`` payload (None when refused or failed) and a one-line status."""

    download: dict[str, Any] | None
    status: str


class PermalinkFields(NamedTuple):
    """The control values a permalink sets; None leaves a control as it is."""

    window: str | None = None
    custom_start: str | None = None
    custom_end: str | None = None
    metric: str | None = None
    resolution: str | None = None
    statistic: str | None = None
    suppress: list[str] | None = None
    layers: list[str] | None = None  # titles of the overlays to show (switched by LAYERS_JS)
    viewport: dict[str, Any] | None = None
    error: str = ""


def export_permission(fmt: str) -> str:
    """Return the permission an export format needs: maps need export_image, everything else export_data."""
    return EXPORT_IMAGE if fmt in IMAGE_FORMATS else EXPORT_DATA


def export_file(
    store: Store,
    settings: AppSettings,
    export_settings: ExportSettings,
    fmt: str,
    controls: dict[str, Any],
    page: Page | None = None,
    who: str = WHO,
    now: datetime | None = None,
    user: User | None = REQUEST_USER,
) -> ExportResult:
    """Return the download (None if refused or failed) and a status line for the View on screen as ``fmt``; audited.

    ``user`` must hold the format's permission (``export_permission``); without ``raw`` the View is
    clamped to the viewer resolution and raw event points are never included.
    """
    user = acting_user(user)
    if not can(user, export_permission(fmt)):
        refused = _("Export refused: {reason}").format(reason=denied_text(user, export_permission(fmt)))
        return ExportResult(None, refused)
    if not can(user, RAW):
        export_settings = export_settings.model_copy(update={"allow_raw_events": False})
    try:
        shown = screen_view(settings, controls, now or datetime.now(UTC), exact=True)
        view = clamp_view(shown, user, settings.viewer_max_res)
        stamp = f"{view.end:%Y%m%d-%H%M}Z"
        if fmt == VIEW_FORMAT:
            content = view_to_json(view, sliding=True).encode("utf-8")
            filename = f"hbm-view-{stamp}.json"
            audit_id = record_export(
                store,
                who=who,
                fmt=fmt,
                view=view_to_dict(view),
                feature_counts={},
                filename=filename,
                nbytes=len(content),
            )
            saved = _("View saved as {file} (audit #{audit})").format(file=filename, audit=audit_id)
            return ExportResult(send_bytes(content, filename, "application/json"), saved)
        filename = f"hbm-{'briefing' if fmt in ('pdf', 'png', 'pack') else 'map' if fmt == 'html' else 'data'}"
        filename += f"-{stamp}{EXTENSIONS.get(fmt, '')}"
        with tempfile.TemporaryDirectory(prefix="hbm-export-") as tmp:
            result = run_export(
                store,
                view,
                fmt,
                Path(tmp) / filename,
                who=who,
                settings=export_settings,
                title=settings.title,
                synthetic=settings.synthetic,
                page=page or Page(),
                fallback_extent=settings.region,
            )
            if len(result.paths) == 1:
                content, media = result.paths[0].read_bytes(), MEDIA_TYPES[fmt]
            else:  # CSV and its metadata sidecar travel together
                buffer = io.BytesIO()
                with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                    for path in result.paths:
                        archive.write(path, arcname=path.name)
                content, media, filename = buffer.getvalue(), MEDIA_TYPES["pack"], filename + ".zip"
    except HbmError as exc:
        return ExportResult(None, _("Export failed: {error}").format(error=exc))
    counts = ", ".join(f"{_(LAYERS[n].title) if n in LAYERS else n} {c:,}" for n, c in result.feature_counts.items())
    size = f"{len(content) / 1024:,.0f} kB"
    ready = _("{file} ready ({size}; {counts}; audit #{audit})").format(
        file=filename, size=size, counts=counts or _("no layers"), audit=result.audit_id
    )
    return ExportResult(send_bytes(content, filename, media), ready)


def export_buttons(user: User | None, formats: list[str]) -> tuple[list[bool], list[str]]:
    """Return (disabled, title) per export button for ``user``: a convenience, the server checks each export."""
    refused = [denied_text(user, export_permission(fmt)) for fmt in formats]
    return [bool(text) for text in refused], refused


def permalink_fields(
    search: str | None,
    now: datetime | None = None,
    user: User | None = REQUEST_USER,
    max_res: int = 6,
) -> PermalinkFields:
    """Return the control values a permalink sets (None for fields it leaves out) and an error line.
    For a user without ``raw`` the link's View is clamped (resolution at most ``max_res``, suppression on).
    """
    user = acting_user(user)
    if not search or search in ("?", ""):
        return PermalinkFields()
    try:
        view = view_from_query(search, now=now)
    except HbmError as exc:
        return PermalinkFields(error=_("Link ignored: {error}").format(error=exc))
    given = query_fields(search)
    if not can(user, RAW):
        view = clamp_view(view, user, max_res)
        given |= {"suppress"}

    def pick(field: str, value: Any) -> Any:
        return value if field in given else None

    custom = view.window_label == "custom"
    window = pick("window_label", view.window_label)
    start = f"{view.start:%Y-%m-%d %H:%M}" if custom else None
    end = f"{view.end:%Y-%m-%d %H:%M}" if custom else None
    resolution = pick("resolution", "auto" if view.resolution is None else str(view.resolution))
    suppress = pick("suppress", ["on"] if view.suppress else [])
    layers = pick("layers", [_(LAYERS[name].title) for name in LAYER_NAMES if name in view.layers])  # as labelled
    viewport: Any = None
    if view.bbox is not None and "bbox" in given:
        w, s, e, n = view.bbox
        if "zoom" in given:
            viewport = {"center": [(s + n) / 2, (w + e) / 2], "zoom": view.zoom, "transition": "setView"}
        else:
            viewport = {"bounds": [[s, w], [n, e]], "transition": "fitBounds"}
    return PermalinkFields(
        window,
        start,
        end,
        pick("metric", view.metric),
        resolution,
        pick("statistic", view.statistic),
        suppress,
        layers,
        viewport,
        "",
    )


def permalink_query(
    settings: AppSettings, controls: dict[str, Any], now: datetime | None = None, user: User | None = REQUEST_USER
) -> str | None:
    """Return the URL query string (with ``?``) of the View on screen (as ``user`` sees it), or None if invalid."""
    user = acting_user(user)
    try:
        shown = screen_view(settings, controls, now or datetime.now(UTC), exact=True)
        return "?" + view_to_query(clamp_view(shown, user, settings.viewer_max_res))
    except HbmError:
        return None
