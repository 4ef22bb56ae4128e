"""Label placement for the printed map: collision-based, in the live map's priority order.

Crossing points (by kind, then flow, then capacity) come before towns (by population) and towns
before country names. Each label tries the right, left, top and bottom of its point and is left
out when every side would overlap a label already placed or a crossing-point marker, as the live
map's ``context.js`` does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from matplotlib.axes import Axes
from matplotlib.text import Text
from matplotlib.transforms import Bbox

KIND_RANK = {"official": 3, "dtm": 2, "informal": 1}
SIDES = (("right", (1, 0), "left", "center"), ("left", (-1, 0), "right", "center"),
         ("top", (0, 1), "center", "bottom"), ("bottom", (0, -1), "center", "top"))  # fmt: skip
PAD_PX = 1.5


@dataclass(frozen=True)
class Label:
    """One label to place: its text, anchor (Mercator x, y), gap from the point (points) and style."""

    text: str
    x: float
    y: float
    priority: float
    gap: float
    style: dict[str, Any]


def crossing_priority(props: dict[str, Any]) -> float:
    """Return a crossing point's label priority: kind first, then 24 h flow, then capacity."""
    kind = props.get("kind") or str(props.get("_s", "")).split(":")[1:2] or [""]
    kind = kind if isinstance(kind, str) else kind[0]
    flow = _number(props.get("people_24h")) or _number(props.get("events_24h"))
    return 3e6 + KIND_RANK.get(kind, 0) * 1e6 + min(flow, 9e5) + min(_number(props.get("capacity_per_day")), 9e4) / 1e5


def _number(value: Any) -> float:
    try:
        return float(value) if value is not None and value == value else 0.0
    except (TypeError, ValueError):
        return 0.0


def _overlaps(a: Bbox, b: Bbox) -> bool:
    return a.x0 < b.x1 + PAD_PX and b.x0 < a.x1 + PAD_PX and a.y0 < b.y1 + PAD_PX and b.y0 < a.y1 + PAD_PX


def place_labels(ax: Axes, labels: Iterable[Label], obstacles: Iterable[Bbox] = ()) -> list[Text]:
    """Draw each label at the first side where it overlaps nothing; return the labels drawn."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    placed: list[Bbox] = []
    blocked = list(obstacles)
    frame = ax.get_window_extent(renderer)
    drawn: list[Text] = []
    for label in sorted(labels, key=lambda lab: -lab.priority):
        for _side, (dx, dy), ha, va in SIDES:
            text = ax.annotate(
                label.text,
                (label.x, label.y),
                xytext=(dx * label.gap, dy * label.gap),
                textcoords="offset points",
                ha=ha,
                va=va,
                parse_math=False,
                annotation_clip=True,
                **label.style,
            )
            box = text.get_window_extent(renderer)
            if text.get_bbox_patch() is not None:  # the background box: text plus its pad (boxstyle pad=0.15)
                pad = 0.15 * text.get_fontsize() * fig.dpi / 72
                box = Bbox([[box.x0 - pad, box.y0 - pad], [box.x1 + pad, box.y1 + pad]])
            inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
            if inside and not any(_overlaps(box, other) for other in [*placed, *blocked]):
                placed.append(box)
                drawn.append(text)
                break
            text.remove()
    return drawn
