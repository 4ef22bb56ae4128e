"""Geographic context and label placement in the PDF briefing map and the offline HTML (issue 12, items 10-11).

The PDF is read back with poppler's ``pdftotext -bbox``: every word on the page with its box, so
overlapping labels and missing towns are seen as a reader sees them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from data.demo import demo_features
from data.demo_events import demo_events
from data.store import Store
from layers.services.exports import run_export
from layers.services.exports.settings import load_export_settings
from layers.view import View
from tests.helpers import unavailable

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
DEMO_REGION = (28.8, -1.8, 33.2, 4.4)
TOWNS = ("Arua", "Gulu", "Bunia", "Goma", "Kasese", "Juba")


@pytest.fixture
def demo(sqlite_store: Store) -> Store:
    for table, rows in demo_features(NOW).items():
        sqlite_store.upsert(table, rows)
    sqlite_store.upsert_events(demo_events(2000, NOW))
    return sqlite_store


def _view(bbox: tuple[float, float, float, float], zoom: float) -> View:
    return View(start=NOW - timedelta(hours=24), end=NOW, zoom=zoom, bbox=bbox, window_label="24h")


def _words(pdf: Path) -> list[tuple[str, float, float, float, float]]:
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pattern = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
    return [(w, float(a), float(b), float(c), float(d)) for a, b, c, d, w in re.findall(pattern, html)]


def _overlaps(words: list[tuple[str, float, float, float, float]]) -> list[tuple[str, str]]:
    out = []
    for i, (wa, ax0, ay0, ax1, ay1) in enumerate(words):
        for wb, bx0, by0, bx1, by1 in words[i + 1 :]:
            # 0.3 pt of slack: pdftotext boxes of adjacent words on one line may touch.
            if ax0 < bx1 - 0.3 and bx0 < ax1 - 0.3 and ay0 < by1 - 0.3 and by0 < ay1 - 0.3:
                out.append((wa, wb))
    return out


@pytest.mark.parametrize("zoom", [7, 8, 10])
def test_pdf_labels_never_overlap_and_towns_are_named(demo: Store, tmp_path: Path, zoom: int) -> None:
    if not shutil.which("pdftotext"):
        unavailable("pdftotext (Debian poppler-utils) is not installed")
    out = tmp_path / "brief.pdf"
    bbox = DEMO_REGION if zoom < 10 else (28.9, -1.9, 30.1, -0.9)  # zoom 10: around Bunagana/Busanza and Goma
    run_export(demo, _view(bbox, zoom), "pdf", out, who="t", settings=load_export_settings(), title="Brief")
    words = _words(out)
    assert _overlaps(words) == []
    text = " ".join(w[0] for w in words)
    if zoom == 8:
        assert sum(town in text for town in TOWNS) >= 5, text
    if zoom == 10:
        assert "Goma" in text and "Bunagana" in text and "Busanza" in text
    assert "GSHHG" in text and "GeoNames" in text  # sources named on the page
