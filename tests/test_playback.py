"""Time playback: frames from one aggregated query agree with direct counts; the scale stays fixed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from shapely.geometry import Point

from data.store import Store
from layers.services.playback import load_playback
from layers.view import View
from tests.helpers import NOW

FRAMES = 5
STEP = timedelta(days=1)


@pytest.fixture
def history(store: Store) -> Store:
    """Events on five days, growing day by day around one place, plus a second quiet place."""
    rows = []
    for day in range(FRAMES):
        for i in range(day * 3 + 1):
            rows.append(
                {
                    "id": f"d{day}-{i}",
                    "occurred_at": NOW - timedelta(days=FRAMES - 1 - day, hours=1 + i % 20),
                    "kind": "crossing",
                    "people": 2,
                    "geometry": Point(31.0 + 0.0005 * i, 2.0),
                }
            )
    rows.append(
        {
            "id": "quiet",
            "occurred_at": NOW - timedelta(days=2, hours=3),
            "kind": "sighting",
            "people": 1,
            "geometry": Point(30.2, 1.1),
        }
    )
    store.upsert("events", rows)
    return store


def _view() -> View:
    return View(start=NOW - timedelta(days=FRAMES), end=NOW, zoom=8, resolution=7, bbox=(29.0, 0.0, 33.0, 4.0))


@pytest.mark.parametrize("mode", ["windowed", "cumulative"])
def test_every_frame_matches_a_direct_count_of_its_window(history: Store, mode: str) -> None:
    playback = load_playback(history, _view(), STEP, FRAMES)
    for frame in range(FRAMES):
        start, end = playback.frame_bounds(frame, mode)
        direct = history.cell_counts(7, start, end, _view().bbox).sort_values("cell", ignore_index=True)
        got = playback.frame_cells(frame, mode)
        assert got["events"].tolist() == direct["events"].tolist()
        assert got["cell"].tolist() == direct["cell"].tolist()


def test_frames_change_but_the_colour_scale_does_not(history: Store) -> None:
    playback = load_playback(history, _view(), STEP, FRAMES)
    first, last = playback.frame_layer(0, "windowed"), playback.frame_layer(FRAMES - 1, "windowed")
    assert first != last
    legends = {tuple(label for label, _ in playback.legend("windowed")) for _ in range(FRAMES)}
    assert len(legends) == 1
    # The busiest frame reaches the top colour class of its fixed scale.
    top = max(int(f["properties"]["_s"].split(":")[1]) for f in last["features"])
    assert top == len(playback.breaks["windowed"]) - 1
    cumulative_total = sum(
        f["properties"]["events"] for f in playback.frame_layer(FRAMES - 1, "cumulative")["features"]
    )
    assert cumulative_total == history.counts()["events"]
