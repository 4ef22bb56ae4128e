"""Views as JSON and permalinks: exact round trips, sliding named windows, one-line errors on bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.cells import STORED_RESOLUTIONS
from geo.errors import InvalidView
from layers.view import LAYER_NAMES, METRICS, STATISTICS, WINDOWS, View
from layers.view_io import (
    default_view,
    query_fields,
    view_from_dict,
    view_from_json,
    view_from_query,
    view_to_dict,
    view_to_json,
    view_to_query,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _named(label: str, **kw: object) -> View:
    return View(start=NOW - WINDOWS[label], end=NOW, window_label=label, **kw)  # type: ignore[arg-type]


CASES = [
    default_view(NOW),
    _named("24h", zoom=7.25, bbox=(28.8, -1.8, 33.2, 4.4), layers=frozenset({"routes", "hotspots"})),
    _named("7d", resolution=6, metric="people", statistic="gi", suppress=True, layers=frozenset()),
    View(
        start=datetime(2026, 1, 1, 3, 4, 5, 123456, tzinfo=UTC),
        end=datetime(2026, 1, 3, 5, 7, 9, tzinfo=UTC),
        window_label="custom",
        zoom=11.5,
        bbox=(-0.1234567891234, 51.4, 0.2, 51.6),
        statistic="emerging",
    ),
    # A named label whose bounds are not "ending now" keeps its explicit bounds.
    View(start=NOW - timedelta(hours=30), end=NOW - timedelta(hours=6), window_label="24h"),
]


@pytest.mark.parametrize("view", CASES)
def test_permalink_and_json_round_trip_exactly(view: View) -> None:
    assert view_from_query(view_to_query(view), now=view.end) == view
    assert view_from_query("?" + view_to_query(view), now=view.end) == view
    assert view_from_dict(view_to_dict(view)) == view
    assert view_from_json(view_to_json(view)) == view
    assert json.loads(json.dumps(view_to_dict(view))) == view_to_dict(view)  # JSON-safe


times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC))


@st.composite
def views(draw: st.DrawFn) -> View:
    label = draw(st.sampled_from([*WINDOWS, "custom"]))
    end = draw(times)
    span = WINDOWS[label] if label != "custom" else timedelta(seconds=draw(st.integers(1, 365 * 86400)))
    if label != "custom" and draw(st.booleans()):
        span = timedelta(seconds=draw(st.integers(1, 365 * 86400)))  # a named label with other bounds
    w = draw(st.floats(-180, 179, allow_nan=False))
    s = draw(st.floats(-90, 89, allow_nan=False))
    bbox = (w, s, draw(st.floats(w + 1e-6, 180)), draw(st.floats(s + 1e-6, 90)))
    return View(
        start=end - span,
        end=end,
        zoom=draw(st.floats(0, 24, allow_nan=False)),
        resolution=draw(st.one_of(st.none(), st.sampled_from(STORED_RESOLUTIONS))),
        bbox=draw(st.one_of(st.none(), st.just(bbox))),
        layers=frozenset(draw(st.lists(st.sampled_from(LAYER_NAMES), unique=True))),
        metric=draw(st.sampled_from(METRICS)),
        window_label=label,
        statistic=draw(st.sampled_from(STATISTICS)),
        suppress=draw(st.booleans()),
    )


@settings(max_examples=200, deadline=None)
@given(views())
def test_any_view_round_trips(view: View) -> None:
    assert view_from_query(view_to_query(view), now=view.end) == view
    assert view_from_dict(view_to_dict(view)) == view


def test_a_named_window_in_a_link_means_the_last_24_h_when_opened() -> None:
    query = view_to_query(_named("24h", zoom=8.0))
    assert "start" not in query_fields(query) and "end" not in query_fields(query)
    later = NOW + timedelta(days=3)
    opened = view_from_query(query, now=later)
    assert (opened.start, opened.end, opened.window_label) == (later - timedelta(hours=24), later, "24h")


def test_saved_view_slides_but_the_audit_record_keeps_the_bounds() -> None:
    view = _named("6h")
    assert "start" not in view_to_dict(view, sliding=True)
    assert view_to_dict(view)["start"] == "2026-11-20T06:00:00Z"


def test_missing_fields_take_the_defaults() -> None:
    view = view_from_query("layers=routes&metric=people", now=NOW)
    assert view == View(start=NOW - timedelta(hours=24), end=NOW, layers=frozenset({"routes"}), metric="people")
    assert view_from_query("", now=NOW) == View(start=NOW - timedelta(hours=24), end=NOW)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("zoom=abc", "must be a number"),
        ("zoom=nan", "finite"),
        ("zoom=99", "zoom must be between"),
        ("bbox=1,2,3", "must be 4 numbers"),
        ("bbox=10,0,5,5", "W<E"),
        ("bbox=0,0,200,5", "W<E"),
        ("window_label=2d", "unknown window"),
        ("metric=x", "metric must be one of"),
        ("statistic=x", "statistic must be one of"),
        ("resolution=12", "H3 resolution"),
        ("resolution=5.5", "whole number"),
        ("layers=a", "unknown layers"),
        ("foo=1", "unknown View field"),
        ("zoom=1&zoom=2", "given twice"),
        ("start=2026-01-01T00:00Z", "both start and end"),
        ("window_label=custom", "custom window needs start and end"),
        ("start=2026-01-02T00:00Z&end=2026-01-01T00:00Z&window_label=custom", "must end after it starts"),
        ("start=2020-01-01T00:00Z&end=2026-01-01T00:00Z&window_label=custom", "longer than 366 days"),
        ("start=yesterday&end=2026-01-01T00:00Z", "ISO 8601"),
        ("metric=" + "x" * 100, "longer than 64"),
        ("zoom=" + "1" * 3000, "longer than 2048"),
    ],
)
def test_bad_links_give_one_line_errors(query: str, message: str) -> None:
    with pytest.raises(InvalidView, match=message) as err:
        view_from_query(query, now=NOW)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "JSON object"),
        ("{", "not valid JSON"),
        ('{"zoom": true}', "must be a number"),
        ('{"bbox": [1, 2, "x", 4]}', "must be a number"),
        ('{"layers": "routes,nope"}', "unknown layers"),
        ('{"layers": [1]}', "must be text"),
        ('{"metric": null}', "cannot be empty"),
        ('{"zoom": 1e400}', "finite"),
        ("{" + ", ".join(f'"k{i}": 1' for i in range(100)) + "}", "too many fields"),
        (" " * 20_000, "under 16 kB"),
    ],
)
def test_bad_view_files_give_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidView, match=message) as err:
        view_from_json(text, now=NOW)
    assert "\n" not in str(err.value)


def test_naive_times_in_a_view_file_are_utc() -> None:
    view = view_from_dict({"start": "2026-01-01T00:00", "end": "2026-01-02T00:00", "window_label": "custom"})
    assert view.start == datetime(2026, 1, 1, tzinfo=UTC)
