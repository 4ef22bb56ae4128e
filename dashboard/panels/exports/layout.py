"""The export panel's components: export buttons, page options, status line, download and permalink stores."""

from __future__ import annotations

from dash import dcc, html

from dashboard.layout import radio_group
from dashboard.panels.exports.ids import (
    ARIA_LIVE,
    BUTTON_STYLE,
    MAIN_BUTTONS,
    MORE_BUTTONS,
    ROW_STYLE,
    VIEW_FORMAT,
    ExportId,
)
from dashboard.settings import AppSettings
from layers.i18n import N_, _
from layers.services.exports.collect import Page


def _button(fmt: str, label: str) -> html.Button:
    return html.Button(
        _(label), id={"type": ExportId.BUTTON, "format": fmt}, className="hbm-export-btn", n_clicks=0,
        style=BUTTON_STYLE,
    )


def layout(settings: AppSettings) -> html.Div:
    """Return the export buttons, page options, progress/status line, the download and the permalink."""
    return html.Div(
        [
            html.Div([_button(f, label) for f, label in MAIN_BUTTONS], style=ROW_STYLE),
            html.Div([_button(f, label) for f, label in MORE_BUTTONS], style=ROW_STYLE),
            html.Div(
                [
                    radio_group(
                        _("Page size"),
                        dcc.RadioItems(
                            id=ExportId.PAGE,
                            options=[{"label": s, "value": s} for s in Page.SIZES_MM],
                            value="A4",
                            className="hbm-seg",
                            inline=True,
                        ),
                    ),
                    radio_group(
                        _("Orientation"),
                        dcc.RadioItems(
                            id=ExportId.ORIENTATION,
                            options=[{"label": _(o), "value": o} for o in (N_("landscape"), N_("portrait"))],
                            value="landscape",
                            className="hbm-seg",
                            inline=True,
                        ),
                    ),
                    radio_group(
                        _("PNG resolution"),
                        dcc.RadioItems(
                            id=ExportId.DPI,
                            options=[{"label": f"{d} dpi", "value": d} for d in (150, 300)],
                            value=150,
                            className="hbm-seg",
                            inline=True,
                        ),
                    ),
                ],
                style=ROW_STYLE,
                title=_("Page size and orientation (PDF/PNG/pack) and PNG resolution"),
            ),
            html.Div(_button(VIEW_FORMAT, N_("Download View JSON")), style=ROW_STYLE),
            dcc.Loading(
                html.Div(
                    id=ExportId.STATUS,
                    role="status",
                    style={"fontSize": "13px", "wordBreak": "break-word", "minHeight": "1.2em"},
                    **ARIA_LIVE,
                ),
                type="dot",
            ),
            html.Div(id=ExportId.LINK_STATUS, className="hbm-view-error", role="alert"),
            dcc.Download(id=ExportId.DOWNLOAD),
            dcc.Location(id=ExportId.LOCATION, refresh=False),
            dcc.Store(id=ExportId.APPLIED, data=False),
            dcc.Store(id=ExportId.PENDING_LAYERS, data=None),
            dcc.Store(id=ExportId.SHOWN, data=None),
        ]
    )
