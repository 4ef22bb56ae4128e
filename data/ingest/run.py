"""Orchestrate an import: chunked read -> profile -> validate -> write -> summary.

Every row read is either accepted (committed, possibly with a flagged correction) or rejected
(written to the rejects file with its line, field and reason): ``read == accepted + rejected``.
Events are staged chunk by chunk in one bulk load and merged once at the end, in one transaction
(data/bulk_events.py): a fatal problem (unreadable file, missing column, a store error) raises
IngestError and commits nothing. Other records are upserted one transaction per batch; a failed
batch is rolled back and earlier ones stay committed. Re-running is idempotent (upserts by id).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from data.bulk_events import EventLoad, Staged
from data.ingest.context import Context
from data.ingest.profile_base import Issue, Profile
from data.ingest.profiles import get_profile
from data.ingest.readers import open_source, read_json_items
from data.ingest.rejects import RowFile
from data.ingest.settings import IngestSettings, load_ingest_settings
from data.ingest.source import Chunk, Source, detect_format
from data.ingest.summary import ItemResult, Summary
from data.ingest.validate import Checked, content_hash, feature_rows, id_hash, validate
from data.interfaces import Store
from data.records import EVENT_COLUMNS
from data.schema import LAYER_TABLES
from geo.errors import HbmError, IngestError, StoreUnavailable


def _code(reason: str) -> str:
    return reason.split(":", 1)[0]


# Batches a file import may check ahead of the one being written (each holds one chunk in memory).
WRITE_AHEAD = 3

# When a row has one of these problems, the problems it causes further down are not reported.
ROOT_CAUSES = {"malformed_row": None, "geometry_unparseable": {"coordinates_missing", "geometry_missing"}}


def _group(issues: Sequence[Issue]) -> dict[int, list[tuple[str, str]]]:
    """Return the problems per row position, in position order, without consequences of a root cause."""
    out: dict[int, list[tuple[str, str]]] = {}
    for pos, fld, reason in issues:
        out.setdefault(pos, []).append((fld, reason))
    for items in out.values():
        codes = {_code(r) for _f, r in items}
        for root, hidden in ROOT_CAUSES.items():
            if root in codes:
                items[:] = [
                    (f, r) for f, r in items if (_code(r) == root if hidden is None else _code(r) not in hidden)
                ]
    return dict(sorted(out.items()))


def _duplicates(checked: Checked, kind: str, lines: np.ndarray, ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    """Flag repeated ids among the chunk's good records; return (keep mask, merged mask) over records."""
    bad_rows = {pos for pos, _f, _r in checked.issues}
    ok = ~np.isin(checked.src, list(bad_rows)) if bad_rows else np.ones(len(checked.src), bool)
    merged = np.zeros(len(ok), bool)
    if not ok.any():
        return ok, merged
    idx = np.flatnonzero(ok)
    ih = id_hash(checked.frame["id"].iloc[idx])
    geoms = None if checked.geometry is None else [checked.geometry[i] for i in idx]
    ch = content_hash(checked.frame.iloc[idx].reset_index(drop=True), kind, geoms)
    rec_lines = lines[checked.src[idx]]
    found, first_line, first_content = ctx.seen.lookup(ih)
    within = pd.Series(ih).duplicated(keep="first").to_numpy()
    if within.any():
        firsts = pd.DataFrame({"h": ih, "line": rec_lines, "c": ch})[~within].drop_duplicates("h").set_index("h")
        hit = firsts.loc[ih[within]]
        first_line[within] = hit["line"].to_numpy()
        first_content[within] = hit["c"].to_numpy(np.uint64)
        found |= within
    same = found & (first_content == ch)
    conflict = found & ~same
    for j in np.flatnonzero(conflict):
        rid = checked.frame["id"].iloc[idx[j]]
        checked.issues.append(
            (int(checked.src[idx[j]]), "id", f"duplicate_id: {rid} already on line {first_line[j]} with other values")
        )
    for j in np.flatnonzero(same):
        checked.corrections.append(
            (int(checked.src[idx[j]]), "id", f"duplicate_merged: same as line {first_line[j]}, stored once")
        )
    merged[idx[same]] = True
    keep = ok.copy()
    keep[idx[conflict]] = False
    keep[merged] = False
    # A row with a conflicting duplicate is rejected whole, so its other records are dropped too.
    conflict_rows = set(checked.src[idx[conflict]].tolist())
    if conflict_rows:
        keep &= ~np.isin(checked.src, list(conflict_rows))
    register = np.flatnonzero(keep[idx])
    ctx.seen.add(ih[register], rec_lines[register], ch[register])
    return keep, merged


def _event_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.loc[:, list(EVENT_COLUMNS)].copy()
    out["people"] = out["people"].astype("int64")
    out["location_precision_m"] = out["location_precision_m"].astype(float)
    for col in ("source", "crossing_point_id", "route_id", "notes"):
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out


@dataclass
class Batch:
    """One checked chunk: the records to write (None if none) and the rows' problems and corrections."""

    chunk: Chunk
    checked: Checked
    keep: np.ndarray
    problems: dict[int, list[tuple[str, str]]]
    fixes: dict[int, list[tuple[str, str]]]
    frame: pd.DataFrame | None = None
    geometry: list[Any] | None = None
    staged: Staged | None = None  # events laid out for the bulk load (prepared beside the checks)


class Importer:
    """One import: reads chunks, keeps the counts and the rejects/corrections files."""

    def __init__(
        self,
        store: Store,
        source: Source,
        profile: Profile,
        kind: str,
        settings: IngestSettings,
        rejects_path: Path | None,
        collect_items: bool = False,
        now: datetime | None = None,
        overlap: bool = False,
    ) -> None:
        self.store, self.source, self.profile, self.kind = store, source, profile, kind
        self.ctx = Context(settings, now or datetime.now(UTC), crs=profile.crs or source.crs)
        self.summary = Summary(source.name, source.format, profile.name, kind, notes=list(source.notes))
        self.collect = collect_items
        self.overlap = overlap
        self.load: EventLoad | None = None  # the bulk load events are staged in (kind "events")
        self.rejects = self.corrections = None
        if rejects_path is not None:
            corrections_path = corrections_path_for(rejects_path)
            self.rejects = RowFile(rejects_path, source.columns, source.has_geometry)
            self.corrections = RowFile(corrections_path, source.columns, source.has_geometry)

    def run(self) -> Summary:
        """Import every chunk; return the summary, or raise IngestError on a fatal problem."""
        started = time.perf_counter()
        self.profile.check_kind(self.kind)
        self.profile.check_columns(self.source, self.kind)
        if self.ctx.transformer is not None:
            self.summary.notes.append(f"reprojected from {self.ctx.crs} to EPSG:4326")
        try:
            if self.kind == "events":
                self._load_events()
            else:
                self._run_chunks()
        finally:
            for f in (self.rejects, self.corrections):
                if f is not None:
                    f.close()
            self.summary.seconds = time.perf_counter() - started
        if self.rejects is not None and self.rejects.rows:
            self.summary.rejects_path = str(self.rejects.path)
        if self.corrections is not None and self.corrections.rows:
            self.summary.corrections_path = str(self.corrections.path)
        return self.summary

    def _load_events(self) -> None:
        """Stage every chunk of events in one bulk load, then merge it once (identical events are not rewritten)."""
        merging = False
        try:
            with self.store.bulk_events() as load:
                self.load = load
                self._run_chunks()
                merging, t0 = True, time.perf_counter()
            self.summary.stage_seconds["merge"] = time.perf_counter() - t0
        except Exception as exc:
            if not merging:
                raise
            detail = str(exc) if isinstance(exc, HbmError) else f"{type(exc).__name__}: {exc}"
            message = (
                f"the {self.summary.accepted:,} accepted rows could not be merged into the store, nothing from this "
                f"import was committed: {detail.strip().splitlines()[0]}"
            )
            raise (StoreUnavailable if isinstance(exc, StoreUnavailable) else IngestError)(message) from None
        self.summary.unchanged = load.result.unchanged

    def _run_chunks(self) -> None:
        """Read, check and write every chunk; with ``overlap`` the next chunks are checked while one is written.

        Writes run in order on one thread. A bulk load of events lets up to ``WRITE_AHEAD`` writes wait
        behind the one running, so that a slow one (a merge step) does not stall the checks, nor they it.
        """
        stages = self.summary.stage_seconds
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hbm-ingest") if self.overlap else None
        # Only a bulk load of events (one transaction) sends a write before the previous one is confirmed:
        # other records commit batch by batch, and a batch must not commit after an earlier one failed.
        ahead = WRITE_AHEAD if pool is not None and self.load is not None else 0
        pending: deque[tuple[Batch, Future[float] | None]] = deque()
        try:
            chunks = iter(self.source.chunks)
            while True:
                t0 = time.perf_counter()
                chunk = next(chunks, None)
                stages["read"] += time.perf_counter() - t0
                if chunk is None:
                    break
                batch = self._prepare(chunk)
                while len(pending) > ahead:
                    self._commit(*pending.popleft())
                future = pool.submit(self._write, batch) if pool is not None and batch.frame is not None else None
                pending.append((batch, future))
            while pending:
                self._commit(*pending.popleft())
        finally:
            if pool is not None:
                pool.shutdown(wait=True)  # batches already sent finish (or fail) before we return

    def _prepare(self, chunk: Chunk) -> Batch:
        """Return the chunk checked: what to write, and the rows' problems and corrections."""
        t0 = time.perf_counter()
        mapped = self.profile.map(chunk, self.kind)
        mapped.issues = [(pos, fld, reason) for pos, (fld, reason) in chunk.errors.items()] + mapped.issues
        checked = validate(mapped, self.kind, self.ctx)
        keep, _merged = _duplicates(checked, self.kind, chunk.lines, self.ctx)
        batch = Batch(chunk, checked, keep, _group(checked.issues), _group(checked.corrections))
        if keep.any():
            idx = np.flatnonzero(keep)
            batch.geometry = None if checked.geometry is None else [checked.geometry[i] for i in idx]
            batch.frame = checked.frame.iloc[idx].reset_index(drop=True)
            if self.load is not None:  # the Python part of staging runs here, the database part on the writer
                batch.staged = self.load.prepare(_event_frame(batch.frame))
        self.summary.stage_seconds["check"] += time.perf_counter() - t0
        return batch

    def _write(self, batch: Batch) -> float:
        """Write one batch in one store transaction; return the seconds it took."""
        t0 = time.perf_counter()
        if batch.frame is None:
            pass
        elif self.load is not None and batch.staged is not None:
            self.load.write(batch.staged)
        else:
            self.store.upsert(self.kind, feature_rows(batch.frame, batch.geometry, self.kind))
        return time.perf_counter() - t0

    def _commit(self, batch: Batch, future: Future[float] | None) -> None:
        """Wait for (or do) the batch's write, then count it and write its rejects and corrections."""
        s = self.summary
        chunk, n = batch.chunk, len(batch.chunk)
        t0 = time.perf_counter()
        try:
            s.stage_seconds["write"] += future.result() if future is not None else self._write(batch)
        except Exception as exc:  # noqa: BLE001 - any store failure ends the import with one line
            first_line, last_line = (int(chunk.lines[0]), int(chunk.lines[-1])) if n else (0, 0)
            detail = str(exc) if isinstance(exc, HbmError) else f"{type(exc).__name__}: {exc}"
            committed = (
                "nothing from this import was committed"
                if self.load is not None
                else f"nothing from it was committed ({s.accepted:,} rows from earlier batches were)"
            )
            message = (
                f"batch {s.batches + 1} (lines {first_line}-{last_line}) was not written, {committed}: "
                f"{detail.strip().splitlines()[0]}"
            )
            raise (StoreUnavailable if isinstance(exc, StoreUnavailable) else IngestError)(message) from None
        s.stage_seconds["wait"] += time.perf_counter() - t0
        problems, fixes = batch.problems, batch.fixes
        s.written += 0 if batch.frame is None else len(batch.frame)
        if self.kind == "events" and batch.frame is not None:
            s.sources.update(batch.frame["source"].fillna("").astype(str).unique())
        s.batches += 1
        s.read += n
        s.rejected += len(problems)
        s.accepted += n - len(problems)
        corrected_rows = [pos for pos in fixes if pos not in problems]
        s.corrected += len(corrected_rows)
        for pos, items in problems.items():
            s.rejected_by_reason.update({_code(r) for _f, r in items})
            if self.rejects is not None:
                self._write_row(self.rejects, chunk, pos, batch.checked, items)
        for pos in corrected_rows:
            s.corrected_by_reason.update({_code(r) for _f, r in fixes[pos]})
            if self.corrections is not None:
                self._write_row(self.corrections, chunk, pos, batch.checked, fixes[pos])
        if self.collect:
            self._collect(chunk, batch.checked, batch.keep, problems, fixes)

    def _write_row(self, out: RowFile, chunk: Chunk, pos: int, checked: Checked, items: list[tuple[str, str]]) -> None:
        values = chunk.frame.iloc[pos].to_dict() if len(chunk.frame.columns) else {}
        geom = chunk.geometry[pos] if chunk.geometry is not None else None
        if geom is not None and self.ctx.transformer is not None:
            try:
                moved = shapely.transform(
                    geom,
                    lambda c: np.column_stack(self.ctx.transformer.transform(c[:, 0], c[:, 1])),  # type: ignore[union-attr]
                )
                geom = moved if np.isfinite(shapely.get_coordinates(moved)).all() else geom
            except Exception:  # noqa: BLE001 - keep the original geometry when it cannot be moved
                pass
        fields = " | ".join(dict.fromkeys(f for f, _r in items))
        reasons = " | ".join(dict.fromkeys(r for _f, r in items))
        out.write(values, geom, int(chunk.lines[pos]), fields, reasons)

    def _collect(
        self,
        chunk: Chunk,
        checked: Checked,
        keep: np.ndarray,
        problems: dict[int, list[tuple[str, str]]],
        fixes: dict[int, list[tuple[str, str]]],
    ) -> None:
        ids: dict[int, list[str]] = {}
        for i, pos in enumerate(checked.src):
            if keep[i]:
                ids.setdefault(int(pos), []).append(str(checked.frame["id"].iloc[i]))
        for pos in range(len(chunk)):
            index = int(chunk.lines[pos]) - 1
            if pos in problems:
                item = ItemResult(index, "rejected", problems=[{"field": f, "reason": r} for f, r in problems[pos]])
            else:
                status = "corrected" if pos in fixes else "accepted"
                item = ItemResult(index, status, ids.get(pos, []))
                item.corrections = [{"field": f, "reason": r} for f, r in fixes.get(pos, [])]
            self.summary.items.append(item)


def corrections_path_for(rejects_path: Path) -> Path:
    """Return the corrections file beside a rejects file: ``x.rejects.csv`` -> ``x.corrections.csv``."""
    name = rejects_path.name
    if ".rejects" in name:
        return rejects_path.with_name(name.replace(".rejects", ".corrections", 1))
    return rejects_path.with_name(f"{rejects_path.stem}.corrections{rejects_path.suffix or '.csv'}")


def resolve_kind(kind: str | None, profile: Profile, fmt: str) -> str:
    """Return the record kind: the one asked for, else the profile's, else routes for GPX, else events."""
    if kind is not None:
        if kind not in LAYER_TABLES:
            raise IngestError(f"--kind {kind!r} is not one of {', '.join(LAYER_TABLES)}")
        return kind
    if fmt == "gpx" and profile.name == "schema":
        return "routes"
    return profile.default_kind


def default_rejects_path(path: Path) -> Path:
    """Return ``<file stem>.rejects.csv`` in the working directory (source folders may be read-only)."""
    return Path.cwd() / f"{path.stem}.rejects.csv"


def ingest_file(
    store: Store,
    path: Path,
    kind: str | None = None,
    profile: str | None = None,
    rejects_path: Path | None = None,
    settings: IngestSettings | None = None,
    now: datetime | None = None,
) -> Summary:
    """Return the summary of importing ``path`` into ``store``; raise IngestError when it is fatal."""
    settings = settings or load_ingest_settings()
    prof = get_profile(profile)
    fmt = detect_format(path)
    kind = resolve_kind(kind, prof, fmt)
    source = open_source(path, settings.batch_rows, kind)
    rejects = rejects_path or default_rejects_path(path)
    importer = Importer(store, source, prof, kind, settings, rejects, now=now, overlap=True)
    return importer.run()


def ingest_records(
    store: Store,
    records: list[Any] | pd.DataFrame,
    kind: str = "events",
    settings: IngestSettings | None = None,
    name: str = "batch",
    crs: str | None = None,
    now: datetime | None = None,
) -> Summary:
    """Return the summary (with per-item results) of validating and upserting in-memory records.

    ``records`` is a list of GeoJSON Features or plain objects (the API), or a DataFrame with
    the schema's columns (the live feed). Nothing is written to files.
    """
    settings = settings or load_ingest_settings()
    if isinstance(records, pd.DataFrame):
        frame = records.reset_index(drop=True).copy()
        for col in frame.columns:
            if not pd.api.types.is_datetime64_any_dtype(frame[col]):
                frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
        chunks = iter([Chunk(frame, np.arange(1, len(frame) + 1))]) if len(frame) else iter([])
        source = Source(name, "frame", list(frame.columns), chunks, crs)
    else:
        source = read_json_items(records, name, settings.batch_rows, crs)
    return Importer(store, source, get_profile(None), kind, settings, None, collect_items=True, now=now).run()
