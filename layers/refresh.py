"""Decide which layers a client needs after a poll, and build only those."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from data.interfaces import Revision, Store
from layers.build_cache import BuildCache
from layers.features import LAYERS
from layers.view import View


def layer_keys(revisions: dict[str, Revision], view: View) -> dict[str, str]:
    """Return, per visible layer, a key that changes exactly when the layer's content may change."""
    keys = {}
    for name, spec in LAYERS.items():
        if name not in view.layers:
            continue
        revs = ",".join(str(revisions[t].revision) for t in spec.tables)
        keys[name] = f"{revs}|{spec.view_key(view)}"
    return keys


def stale_layers(previous: dict[str, str] | None, current: dict[str, str]) -> list[str]:
    """Return the layers whose key differs from what the client already has."""
    previous = previous or {}
    return [name for name, key in current.items() if previous.get(name) != key]


@dataclass
class RefreshResult:
    """What a poll produced: new layer data (only for stale layers) and the status figures."""

    layers: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    data_as_of: datetime | None = None
    events: int | None = None
    people: int | None = None
    revision: int = 0


def refresh(
    store: Store,
    view: View,
    previous: dict[str, str] | None,
    skip: tuple[str, ...] = (),
    cache: BuildCache | None = None,
) -> RefreshResult:
    """Return only the layers that changed since ``previous`` keys; nothing else is queried.

    Layers in ``skip`` (owned by something else for now, such as playback) keep their previous key.
    With a ``cache``, clients asking for the same layer key share one build (across worker processes).
    """
    revisions = store.revisions()
    keys = layer_keys(revisions, view)
    for name in skip:
        if name in keys and previous and name in previous:
            keys[name] = previous[name]
    stale = stale_layers(previous, keys)
    result = RefreshResult(keys=keys, data_as_of=revisions["_all"].updated_at, revision=revisions["_all"].revision)
    if not stale:
        return result
    written = revisions["_all"].updated_at  # a reset or restored store restarts revisions: never reuse
    for name in stale:
        if cache is None:
            result.layers[name] = LAYERS[name].build(store, view)
        else:
            build = LAYERS[name].build
            key = f"{keys[name]}|{written.isoformat() if written else ''}"
            result.layers[name] = cache.get_or_build(name, key, lambda b=build: b(store, view))  # type: ignore[misc]
    result.events, result.people = store.event_totals(view.start, view.end)
    return result
