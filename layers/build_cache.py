"""One layer build per (layer, View, data revision), shared by every worker process of one machine.

When the feed writes, every client's next poll needs the changed layers. Without sharing, each
client (and each worker) rebuilds the same layer for the same View. ``BuildCache`` keeps each built
layer as a JSON file in a directory all workers of a machine share, and lets exactly one process
build a missing entry while the others wait on an OS file lock for it (single flight), then read it.

Entries are keyed by the layer's key (its tables' revisions and the View fields it depends on) plus
the time of the store's last write, so a reset or restored database never serves old builds. Old
entries are removed after ``max_age_s``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from plotly.io.json import to_json_plotly

log = logging.getLogger("hbm.layers")


def _lock(handle: IO[str]) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: lock the first byte, retrying until free
        import msvcrt

        while True:
            try:
                msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
                return
            except OSError:
                time.sleep(0.05)
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)


def _unlock(handle: IO[str]) -> None:
    try:
        import fcntl
    except ImportError:
        import msvcrt

        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class BuildCache:
    """Built layers as files in ``folder``, built once per key across the processes sharing it."""

    def __init__(self, folder: Path, scope: str, max_age_s: float = 600.0) -> None:
        self.folder = folder
        self.scope = scope  # which store: two databases on one machine never share entries
        self.max_age_s = max_age_s
        self.builds = 0  # builds done by this process (for tests and benchmarks)
        self.hits = 0
        self._last_prune = 0.0
        self._count_lock = threading.Lock()
        # Built layers can hold raw counts: only this OS user may read them (like a private temp dir).
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if hasattr(os, "getuid") and folder.stat().st_uid == os.getuid():
            folder.chmod(0o700)

    def path(self, name: str, key: str) -> Path:
        """Return the file of one entry."""
        digest = hashlib.sha256(f"{self.scope}\0{name}\0{key}".encode()).hexdigest()[:40]
        return self.folder / f"{name}-{digest}.json"

    def _read(self, path: Path) -> dict[str, Any] | None:
        try:
            return json.loads(path.read_bytes())
        except (OSError, ValueError):
            return None

    def get_or_build(self, name: str, key: str, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Return the layer for ``key``: from the shared folder, or built here once while others wait."""
        path = self.path(name, key)
        found = self._read(path)
        if found is not None:
            with self._count_lock:
                self.hits += 1
            return found
        with path.with_suffix(".lock").open("a") as handle:
            _lock(handle)
            try:
                found = self._read(path)  # built by another process while this one waited
                if found is not None:
                    with self._count_lock:
                        self.hits += 1
                    return found
                started = time.perf_counter()
                layer = build()
                tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
                tmp.write_text(to_json_plotly(layer))  # as Dash serialises it (numpy values included)
                os.replace(tmp, path)  # readers see the whole file or none of it
                with self._count_lock:
                    self.builds += 1
                ms = round((time.perf_counter() - started) * 1000, 1)
                log.info("layer built", extra={"layer": name, "key": key, "ms": ms, "pid": os.getpid()})
            finally:
                _unlock(handle)
        self._prune()
        return layer

    def _prune(self) -> None:
        """Delete entries older than ``max_age_s`` (at most once a minute per process)."""
        now = time.time()
        if now - self._last_prune < 60:
            return
        self._last_prune = now
        for entry in self.folder.iterdir():
            try:
                if now - entry.stat().st_mtime > self.max_age_s:
                    entry.unlink()
            except OSError:
                continue  # another process removed it first


def default_folder() -> Path:
    """Return the machine-wide folder for built layers (per OS user)."""
    uid = os.getuid() if hasattr(os, "getuid") else os.getlogin()
    return Path(tempfile.gettempdir()) / f"hbm-layer-cache-{uid}"
