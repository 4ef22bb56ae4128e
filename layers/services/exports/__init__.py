"""Briefing exports of one View: PDF/PNG map, offline HTML, GeoPackage/GeoJSON/CSV/KML extracts, a pack.

Every output comes from :func:`run_export`, which builds the View's layers with the live map's own
layer code (``layers.features.LAYERS``), writes the file(s) and records one audit row. The audit row
is part of the export: if it cannot be written, the files are removed and the export fails.
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from data.audit import record_export
from data.interfaces import BBox, Store
from geo.errors import HbmError
from layers.i18n import _
from layers.labels import format_time
from layers.services.exports.collect import ExportData, Page, collect
from layers.services.exports.extracts import table, write_csv, write_geojson, write_gpkg, write_kml
from layers.services.exports.html import write_html
from layers.services.exports.hxl import write_hxl_csv
from layers.services.exports.render import render_map
from layers.services.exports.settings import ExportSettings
from layers.view import View
from layers.view_io import view_to_dict, view_to_json

FORMATS = ("pdf", "png", "html", "gpkg", "geojson", "csv", "kml", "pack")
EXTENSIONS = {
    "pdf": ".pdf",
    "png": ".png",
    "html": ".html",
    "gpkg": ".gpkg",
    "geojson": ".geojson",
    "csv": ".csv",
    "kml": ".kml",
    "pack": ".zip",
}
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "html": "text/html",
    "gpkg": "application/geopackage+sqlite3",
    "geojson": "application/geo+json",
    "csv": "text/csv",
    "kml": "application/vnd.google-earth.kml+xml",
    "pack": "application/zip",
}
PACK_FILES = ("map.pdf", "data.gpkg", "summary.csv", "README.txt")


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote, and its audit row."""

    format: str
    paths: list[Path]
    feature_counts: dict[str, int]
    bytes: int
    audit_id: int


def readme_text(data: ExportData) -> str:
    """Return the briefing pack's README: the View, the time of export, what each file holds."""
    counts = "\n".join(
        "  " + _("{layer}: {n} features").format(layer=name, n=f"{n:,}") for name, n in data.counts().items()
    ) or "  " + _("(no layers)")
    filters = "\n".join(f"  {line}" for line in data.filter_lines())
    return (
        f"{data.marking}\n\n"
        + _("{title}: briefing pack").format(title=data.title)
        + "\n\n"
        + _("Exported at: {time} by {who}").format(
            time=format_time(data.exported_at, fmt="%Y-%m-%d %H:%M:%S"), who=data.who
        )
        + "\n"
        + _("Data as of:  {as_of}").format(as_of=data.as_of_text())
        + "\n"
        + _("Window:      {window}").format(window=data.window_text())
        + "\n\n"
        + _(
            "Files:\n  map.pdf      the briefing map\n  data.gpkg    the features, one layer per map layer, "
            "and a metadata table\n  summary.csv  one row per feature with its figures and a lat/lon inside it"
        )
        + "\n\n"
        + _("Features:")
        + f"\n{counts}\n\n"
        + _("Filters:")
        + f"\n{filters}\n\n"
        + _("View (save as view.json, then `hbm export --view view.json` reproduces it):")
        + f"\n{view_to_json(data.view)}\n{data.marking}\n"
    )


def write_pack(data: ExportData, path: Path, page: Page) -> list[Path]:
    """Write the briefing pack zip: PDF map, GeoPackage, CSV summary, README.txt; return the files written."""
    with tempfile.TemporaryDirectory(prefix="hbm-pack-") as tmp:
        folder = Path(tmp)
        render_map(data, folder / "map.pdf", "pdf", page)
        write_gpkg(data, folder / "data.gpkg")
        write_hxl_csv(table(data, wkt=False), folder / "summary.csv")  # with the HXL hashtag row
        (folder / "README.txt").write_text(readme_text(data), encoding="utf-8")
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in PACK_FILES:
                archive.write(folder / name, arcname=name)
    return [path]


def _writer(fmt: str, page: Page) -> Callable[[ExportData, Path], list[Path]]:
    if fmt in ("pdf", "png"):
        return lambda data, path: [render_map(data, path, fmt, page)]
    if fmt == "pack":
        return lambda data, path: write_pack(data, path, page)
    writers: dict[str, Callable[[ExportData, Path], list[Path]]] = {
        "html": write_html,
        "gpkg": write_gpkg,
        "geojson": write_geojson,
        "csv": write_csv,
        "kml": write_kml,
    }
    return writers[fmt]


def run_export(
    store: Store,
    view: View,
    fmt: str,
    out: Path,
    *,
    who: str,
    settings: ExportSettings,
    title: str,
    synthetic: bool = False,
    page: Page | None = None,
    fallback_extent: BBox = (-180.0, -60.0, 180.0, 80.0),
) -> ExportResult:
    """Export ``view`` as ``fmt`` to ``out`` and audit it; return what was written."""
    if fmt not in FORMATS:
        raise HbmError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    page = page or Page()
    if not out.parent.is_dir():
        raise HbmError(f"cannot write {out}: folder {out.parent} does not exist")
    data = collect(store, view, settings, who=who, title=title, synthetic=synthetic, fallback_extent=fallback_extent)
    try:
        paths = _writer(fmt, page)(data, out)
    except OSError as exc:
        raise HbmError(f"cannot write {out}: {exc.strerror or exc}") from None
    nbytes = sum(p.stat().st_size for p in paths)
    try:
        audit_id = record_export(
            store,
            who=who,
            fmt=fmt,
            view=view_to_dict(data.view),  # as exported: suppression on
            feature_counts=data.counts(),
            filename=out.name,
            nbytes=nbytes,
            at=data.exported_at,
        )
    except HbmError:
        for path in paths:
            path.unlink(missing_ok=True)  # an export that is not audited does not leave the system
        raise
    return ExportResult(fmt, paths, data.counts(), nbytes, audit_id)
