"""Time playback of the hotspot layer: every frame from one aggregated store query.

A playback loads per-cell counts for ``frames`` consecutive steps (for example 30 days)
in a single grouped query, then serves each frame from memory. Raw events are never
downloaded, and one colour scale, fixed from the largest value any frame can show,
keeps the colours meaning the same thing in every frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from data.interfaces import Store
from data.rollup import ceil_hour
from layers.features import cells_to_features
from layers.geojson import feature_collection
from layers.hotspots import split_small_counts, withhold_features
from layers.styles import hotspot_legend, nice_breaks
from layers.view import View

MODES = ("windowed", "cumulative")
STEPS: dict[str, timedelta] = {"6h": timedelta(hours=6), "1d": timedelta(days=1), "7d": timedelta(days=7)}


@dataclass(frozen=True)
class Playback:
    """Per-cell counts for each playback step, and the fixed colour breaks of each mode."""

    end: datetime
    step: timedelta
    frames: int
    res: int
    metric: str
    counts: pd.DataFrame  # cell, window (0 = newest step), events, people
    breaks: dict[str, tuple[int, ...]]

    def frame_bounds(self, frame: int, mode: str) -> tuple[datetime, datetime]:
        """Return [start, end) of ``frame`` (0 = oldest) in ``mode``."""
        frame = self._check(frame, mode)
        frame_end = self.end - self.step * (self.frames - 1 - frame)
        start = self.end - self.step * self.frames if mode == "cumulative" else frame_end - self.step
        return start, frame_end

    def frame_cells(self, frame: int, mode: str) -> pd.DataFrame:
        """Return ``cell, events, people`` shown in ``frame`` (0 = oldest) in ``mode``."""
        frame = self._check(frame, mode)
        window = self.frames - 1 - frame
        counts = self.counts
        picked = counts[counts["window"] == window] if mode == "windowed" else counts[counts["window"] >= window]
        grouped = picked.groupby("cell", as_index=False)[["events", "people"]].sum()
        return grouped.sort_values("cell", ignore_index=True)

    def frame_layer(self, frame: int, mode: str, k: int | None = None) -> dict[str, Any]:
        """Return the hotspot FeatureCollection of one frame, coloured on the mode's fixed scale.

        With ``k``, cells with 1..k-1 people are merged into parent cells first, by the same
        suppression the live hotspot layer and the exports use (``split_small_counts``).
        """
        cells = self.frame_cells(frame, mode)
        if not k:
            return feature_collection(cells_to_features(cells, self.res, self.metric, self.breaks[mode]))
        kept, merged = split_small_counts(cells, k)
        features = []
        for res, part in merged.groupby("res", sort=True):  # coarse first: parents drawn beneath
            features += cells_to_features(part, int(res), self.metric, self.breaks[mode])
        features += cells_to_features(kept, self.res, self.metric, self.breaks[mode])
        return feature_collection(withhold_features(features, self.metric, k))

    def legend(self, mode: str) -> list[tuple[str, dict[str, Any]]]:
        """Return the legend rows of ``mode``: the same for every frame."""
        return hotspot_legend("count", self.breaks[mode])

    def _check(self, frame: int, mode: str) -> int:
        if mode not in MODES:
            raise ValueError(f"playback mode must be one of {', '.join(MODES)}")
        return min(max(int(frame), 0), self.frames - 1)


def load_playback(store: Store, view: View, step: timedelta, frames: int) -> Playback:
    """Return a Playback of ``frames`` steps of ``step`` ending at the View's end, at the View's resolution and bbox."""
    end = ceil_hour(view.end)  # whole hours: frames are summed from the store's hourly rollup
    counts = store.window_cell_counts(view.res, end, step, frames, view.bbox)
    value = view.metric
    windowed_max = int(counts[value].max()) if len(counts) else 1
    cumulative_max = int(counts.groupby("cell")[value].sum().max()) if len(counts) else 1
    return Playback(
        end=end,
        step=step,
        frames=frames,
        res=view.res,
        metric=value,
        counts=counts,
        breaks={"windowed": nice_breaks(windowed_max), "cumulative": nice_breaks(cumulative_max)},
    )
