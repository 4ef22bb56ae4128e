"""Views as JSON and as URL query strings (permalinks), validated, built from the View's own fields.

Every field of :class:`layers.view.View` is encoded from its type hint, so a field added to the
View round-trips with no change here. Named windows ("24h") slide: a permalink or a saved View
without ``start``/``end`` means "the last 24 h when opened". Custom windows keep explicit bounds.
Exactly: ``view_from_query(view_to_query(v), now=v.end) == v`` and ``view_from_dict(view_to_dict(v)) == v``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode

from geo.errors import InvalidView
from layers.view import DEFAULT_WINDOW, LAYER_NAMES, MAX_CUSTOM_WINDOW, WINDOWS, View

CUSTOM = "custom"
MAX_QUERY_CHARS = 2048
MAX_JSON_CHARS = 16_384
MAX_TEXT_CHARS = 64
MAX_WINDOW = MAX_CUSTOM_WINDOW
ZOOM_RANGE = (0.0, 24.0)


def default_view(now: datetime) -> View:
    """Return the default View: all data (no bbox), the last 24 h ending ``now``, every layer."""
    return View(start=now - WINDOWS[DEFAULT_WINDOW], end=now, bbox=None, window_label=DEFAULT_WINDOW)


# -- one codec per field type -------------------------------------------------


def _is_optional(hint: Any) -> tuple[bool, Any]:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(hint)) == 2:
            return True, args[0]
    return False, hint


def _number(name: str, raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise InvalidView(f"View field {name!r} must be a number")
    try:
        value = float(raw)
    except ValueError:
        raise InvalidView(f"View field {name!r} must be a number, got {str(raw)[:MAX_TEXT_CHARS]!r}") from None
    if not math.isfinite(value):
        raise InvalidView(f"View field {name!r} must be a finite number")
    return value


def _text(name: str, raw: Any) -> str:
    if not isinstance(raw, str):
        raise InvalidView(f"View field {name!r} must be text")
    if len(raw) > MAX_TEXT_CHARS:
        raise InvalidView(f"View field {name!r} is longer than {MAX_TEXT_CHARS} characters")
    return raw


def _time(name: str, raw: Any) -> datetime:
    text = _text(name, raw)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidView(f"View field {name!r} must be an ISO 8601 time, got {text!r}") from None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def _time_out(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _items(name: str, raw: Any) -> list[str]:
    if isinstance(raw, str):
        raw = [part for part in raw.split(",") if part]
    if not isinstance(raw, list | tuple) or len(raw) > 4 * len(LAYER_NAMES):
        raise InvalidView(f"View field {name!r} must be a short list")
    return [_text(name, item) for item in raw]


def _ordered(names: frozenset[str]) -> list[str]:
    known = [n for n in LAYER_NAMES if n in names]
    return known + sorted(set(names) - set(known))


class _Codec(typing.NamedTuple):
    to_json: typing.Callable[[Any], Any]
    from_json: typing.Callable[[str, Any], Any]
    to_text: typing.Callable[[Any], str]


def _base_codec(hint: Any) -> _Codec:
    origin = typing.get_origin(hint)
    if hint is datetime:
        return _Codec(_time_out, _time, _time_out)
    if hint is bool:
        return _Codec(bool, lambda n, r: r if isinstance(r, bool) else r in ("1", "true"), lambda v: "1" if v else "0")
    if hint is float:
        return _Codec(float, _number, repr)
    if hint is int:

        def as_int(name: str, raw: Any) -> int:
            value = _number(name, raw)
            if not value.is_integer():
                raise InvalidView(f"View field {name!r} must be a whole number")
            return int(value)

        return _Codec(int, as_int, str)
    if hint is str:
        return _Codec(str, _text, str)
    if origin is frozenset:
        return _Codec(_ordered, lambda n, r: frozenset(_items(n, r)), lambda v: ",".join(_ordered(v)))
    if origin is tuple:

        def as_floats(name: str, raw: Any) -> tuple[float, ...]:
            parts = raw.split(",") if isinstance(raw, str) else raw
            if not isinstance(parts, list | tuple) or len(parts) != len(typing.get_args(hint)):
                raise InvalidView(f"View field {name!r} must be {len(typing.get_args(hint))} numbers")
            return tuple(_number(name, p) for p in parts)

        return _Codec(list, as_floats, lambda v: ",".join(repr(float(x)) for x in v))
    raise TypeError(f"no View codec for type {hint!r}")  # a developer error: add a codec above


@lru_cache(maxsize=1)
def _codecs() -> dict[str, tuple[bool, _Codec]]:
    hints = typing.get_type_hints(View)
    out = {}
    for f in dataclasses.fields(View):
        optional, base = _is_optional(hints[f.name])
        out[f.name] = (optional, _base_codec(base))
    return out


# -- validation beyond the View's own checks ----------------------------------


def _check(values: dict[str, Any]) -> None:
    bbox = values.get("bbox")
    if bbox is not None:
        w, s, e, n = bbox
        if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
            text = ",".join(f"{x:g}" for x in bbox)
            raise InvalidView(f"bbox {text} must be W,S,E,N with W<E, S<N in lng/lat degrees")
    zoom = values.get("zoom")
    if zoom is not None and not ZOOM_RANGE[0] <= zoom <= ZOOM_RANGE[1]:
        raise InvalidView(f"zoom must be between {ZOOM_RANGE[0]:g} and {ZOOM_RANGE[1]:g}")
    label = values.get("window_label")
    if label is not None and label not in (*WINDOWS, CUSTOM):
        raise InvalidView(f"unknown window {label!r}; use {', '.join(WINDOWS)} or {CUSTOM}")
    start, end = values.get("start"), values.get("end")
    if start is not None and end is not None and end - start > MAX_WINDOW:
        raise InvalidView(f"the time window is longer than {MAX_WINDOW.days} days")


def _build(values: dict[str, Any], now: datetime | None) -> View:
    _check(values)
    label = values.setdefault("window_label", DEFAULT_WINDOW)
    has_start, has_end = values.get("start") is not None, values.get("end") is not None
    if has_start != has_end:
        raise InvalidView("a View needs both start and end, or neither (a named window ending now)")
    if not has_start:
        if label == CUSTOM:
            raise InvalidView("a custom window needs start and end times")
        now = (now or datetime.now(UTC)).astimezone(UTC)
        values["start"], values["end"] = now - WINDOWS[label], now
    _check(values)
    return View(**values)


def _decode(pairs: typing.Iterable[tuple[str, Any]], as_text: bool) -> dict[str, Any]:
    codecs = _codecs()
    values: dict[str, Any] = {}
    for key, raw in pairs:
        if key not in codecs:
            raise InvalidView(f"unknown View field {str(key)[:MAX_TEXT_CHARS]!r}")
        if key in values:
            raise InvalidView(f"View field {key!r} is given twice")
        optional, codec = codecs[key]
        if raw is None or (as_text and raw == "" and optional):
            if not optional:
                raise InvalidView(f"View field {key!r} cannot be empty")
            values[key] = None
        else:
            values[key] = codec.from_json(key, raw)
    return values


def _sliding(view: View) -> bool:
    return view.window_label in WINDOWS and view.end - view.start == WINDOWS[view.window_label]


# -- public API -----------------------------------------------------------------


def view_to_dict(view: View, sliding: bool = False) -> dict[str, Any]:
    """Return a JSON-safe dict of every View field; ``sliding`` drops start/end of a named window."""
    out: dict[str, Any] = {}
    for name, (_optional, codec) in _codecs().items():
        value = getattr(view, name)
        out[name] = None if value is None else codec.to_json(value)
    if sliding and _sliding(view):
        del out["start"], out["end"]
    return out


def view_from_dict(data: Any, now: datetime | None = None) -> View:
    """Return the View a dict describes (missing fields take defaults); raise a one-line InvalidView."""
    if not isinstance(data, dict):
        raise InvalidView("a View must be a JSON object")
    if len(data) > 4 * len(_codecs()):
        raise InvalidView("a View has too many fields")
    return _build(_decode(data.items(), as_text=False), now)


def view_to_json(view: View, sliding: bool = False) -> str:
    """Return the View as an indented JSON document (a saved View file)."""
    return json.dumps(view_to_dict(view, sliding=sliding), indent=2) + "\n"


def view_from_json(text: str, now: datetime | None = None) -> View:
    """Return the View in a JSON document; raise a one-line InvalidView on bad input."""
    if len(text) > MAX_JSON_CHARS:
        raise InvalidView(f"a View file must be under {MAX_JSON_CHARS // 1024} kB")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidView(f"the View is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    return view_from_dict(data, now)


def view_to_query(view: View) -> str:
    """Return the URL query string (no ``?``) of a View; a named window is stored by its name only."""
    params = []
    for name, (_optional, codec) in _codecs().items():
        if name in ("start", "end") and _sliding(view):
            continue
        value = getattr(view, name)
        params.append((name, "" if value is None else codec.to_text(value)))
    return urlencode(params, safe=",:")


def view_from_query(query: str, now: datetime | None = None) -> View:
    """Return the View in a URL query string (``?`` optional); missing fields take defaults."""
    query = (query or "").lstrip("?")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidView(f"the View link is longer than {MAX_QUERY_CHARS} characters")
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query), max_num_fields=64)
    except ValueError:
        raise InvalidView("the View link is not a valid query string") from None
    return _build(_decode(pairs, as_text=True), now)


def query_fields(query: str) -> set[str]:
    """Return the names of the View fields a query string sets (the rest take defaults)."""
    return {key for key, _ in parse_qsl((query or "").lstrip("?"), keep_blank_values=True)}
