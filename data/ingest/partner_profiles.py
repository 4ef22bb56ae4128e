"""Partners' published layouts: IOM Missing Migrants Project CSV (``mmp``) and DTM flow monitoring (``dtm-fmp``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from data.ingest.profile_base import (
    Issue,
    Mapped,
    Profile,
    blank,
    clean_text,
    find_column,
    parse_counts,
    split_coordinates,
)
from data.ingest.source import Chunk, Source
from geo.errors import IngestError


class MMPProfile(Profile):
    """IOM Missing Migrants Project CSV as published: dead and missing become ``death``/``missing`` events."""

    name = "mmp"
    default_kind = "events"
    kinds = ("events",)
    COLUMNS: dict[str, tuple[str, ...]] = {
        "id": ("Incident ID", "Main ID"),
        "main_id": ("Main ID",),
        "date": ("Incident Date", "Reported Date"),
        "dead": ("Number of Dead", "Number Dead"),
        "missing": ("Minimum Estimated Number of Missing", "Number of Missing"),
        "coordinates": ("Coordinates",),
        "route": ("Migration Route",),
        "country": ("Country of Incident",),
        "region": ("Region of Incident", "Region"),
        "cause": ("Cause of Death",),
        "location": ("Location of Incident", "Location of death"),
        "info": ("Information Source",),
        "url": ("URL",),
    }
    REQUIRED_KEYS = ("date", "dead", "missing", "coordinates")
    SOURCE = "IOM Missing Migrants Project"
    DATE_FORMATS = ("%a, %m/%d/%Y - %H:%M", "%m/%d/%Y %H:%M", "%m/%d/%Y")

    def _found(self, columns: Sequence[str]) -> dict[str, str | None]:
        return {key: find_column(columns, names) for key, names in self.COLUMNS.items()}

    def check_columns(self, source: Source, kind: str) -> None:
        found = self._found(source.columns)
        missing = [self.COLUMNS[k][0] for k in self.REQUIRED_KEYS if found[k] is None]
        if found["id"] is None:
            missing.insert(0, "Incident ID or Main ID")
        if missing:
            raise IngestError(
                f"{source.name}: missing required column(s) {', '.join(missing)} for the mmp profile "
                "(is this the IOM Missing Migrants Project CSV?)"
            )

    def map(self, chunk: Chunk, kind: str) -> Mapped:
        cols = self._found(list(chunk.frame.columns))
        n = len(chunk)

        def col(key: str, collapse: bool = True) -> pd.Series:
            name = cols[key]
            if name is None:
                return blank(n)
            return clean_text(chunk.frame[name].reset_index(drop=True), collapse=collapse, strip_tags=True)

        issues: list[Issue] = []
        ids = col("id")
        lat, lng, coord_issues = split_coordinates(col("coordinates"), str(cols["coordinates"]))
        issues += coord_issues
        dead, dead_issues = parse_counts(col("dead"), str(cols["dead"]))
        missing, missing_issues = parse_counts(col("missing"), str(cols["missing"]))
        issues += dead_issues + missing_issues
        flagged = {pos for pos, _f, _r in dead_issues + missing_issues}
        for pos in np.flatnonzero(np.isnan(dead) & np.isnan(missing)):
            if int(pos) not in flagged:
                issues.append((int(pos), f"{cols['dead']}", "missing_field: neither dead nor missing is given"))
        for pos in np.flatnonzero((np.nan_to_num(dead) == 0) & (np.nan_to_num(missing) == 0)):
            if int(pos) not in flagged and not (np.isnan(dead[pos]) and np.isnan(missing[pos])):
                issues.append((int(pos), f"{cols['dead']}", "no_casualties: no dead and no missing reported"))
        notes = self._notes(col)
        base = pd.DataFrame(
            {
                "country": col("country").to_numpy(object),
                "occurred_at": col("date").to_numpy(object),
                "lat": lat.to_numpy(object),
                "lng": lng.to_numpy(object),
                "source": self.SOURCE,
                "notes": notes.to_numpy(object),
                "location_precision_m": None,
                "crossing_point_id": None,
                "route_id": None,
            }
        )
        parts, srcs = [], []
        for kind_name, counts, suffix in (("death", dead, "dead"), ("missing", missing, "missing")):
            take = np.flatnonzero(np.nan_to_num(counts) > 0)
            part = base.iloc[take].copy()
            part["kind"] = kind_name
            part["people"] = counts[take].astype(np.int64)
            key = ids.iloc[take].astype(object)
            has = key.map(lambda v: isinstance(v, str) and v != "").to_numpy(bool)
            part["id"] = np.where(has, "mmp-" + key.astype(str) + "-" + suffix, None)
            parts.append(part)
            srcs.append(take)
        frame = pd.concat(parts, ignore_index=True)
        src = np.concatenate(srcs)
        order = np.argsort(src, kind="stable")
        frame = frame.iloc[order].reset_index(drop=True)
        country = frame.pop("country")
        labels = {
            "id": str(cols["id"]),
            "occurred_at": str(cols["date"]),
            "lat": str(cols["coordinates"]),
            "lng": str(cols["coordinates"]),
            "notes": "notes (composed)",
            "source": "source",
            "country": str(cols["country"] or "country"),
        }
        return Mapped(frame, src[order], None, issues, labels, "mmp-", None, self.DATE_FORMATS, country)

    def _notes(self, col: Any) -> pd.Series:
        """Return one notes text per row: cause, country, route, location, information source and URL."""
        parts = [
            ("Cause", col("cause")),
            ("Country", col("country")),
            ("Route", col("route")),
            ("Location", col("location")),
            ("Reported by", col("info")),
            ("URL", col("url")),
        ]
        frame = pd.DataFrame({label: s for label, s in parts})
        out = []
        for row in frame.itertuples(index=False):
            bits = [f"{label}: {v}" for (label, _s), v in zip(parts, row, strict=True) if v]
            out.append(". ".join(bits) if bits else None)
        return pd.Series(out, dtype=object)


class DTMFlowProfile(Profile):
    """A DTM flow-monitoring table: one row per flow-monitoring point (FMP), date and direction, with a count."""

    name = "dtm-fmp"
    default_kind = "events"
    kinds = ("events", "crossing_points")
    COLUMNS: dict[str, tuple[str, ...]] = {
        "record": ("Record ID", "Survey ID", "Observation ID"),
        "fmp": ("FMP ID", "Flow Monitoring Point ID", "FMP Code", "Point ID"),
        "name": ("FMP Name", "Flow Monitoring Point", "Point Name", "FMP"),
        "lat": ("Latitude", "FMP Latitude", "Lat"),
        "lng": ("Longitude", "FMP Longitude", "Lon", "Long"),
        "date": ("Survey Date", "Date", "Observation Date"),
        "count": ("Total Individuals", "Individuals", "Number of Individuals", "Total"),
        "direction": ("Direction", "Flow Direction"),
        "country": ("Country", "Admin 0"),
        "admin1": ("Admin 1", "Province", "Region"),
        "status": ("Status", "FMP Status"),
    }
    SOURCE = "DTM flow monitoring"

    def _found(self, columns: Sequence[str]) -> dict[str, str | None]:
        return {key: find_column(columns, names) for key, names in self.COLUMNS.items()}

    def check_columns(self, source: Source, kind: str) -> None:
        found = self._found(source.columns)
        need = ("fmp", "lat", "lng") + (("date", "count") if kind == "events" else ("name",))
        missing = [self.COLUMNS[k][0] for k in need if found[k] is None]
        if missing:
            raise IngestError(f"{source.name}: missing required column(s) {', '.join(missing)} for the dtm-fmp profile")

    def map(self, chunk: Chunk, kind: str) -> Mapped:
        cols = self._found(list(chunk.frame.columns))
        n = len(chunk)

        def col(key: str) -> pd.Series:
            name = cols[key]
            return clean_text(chunk.frame[name].reset_index(drop=True), collapse=True) if name else blank(n)

        fmp = col("fmp")
        has_fmp = fmp.map(lambda v: isinstance(v, str) and v != "").to_numpy(bool)
        issues: list[Issue] = [
            (int(pos), str(cols["fmp"]), "missing_field: no flow-monitoring point id")
            for pos in np.flatnonzero(~has_fmp)
        ]
        point_id = pd.Series(np.where(has_fmp, "dtm-" + fmp.astype(str), None), dtype=object)
        labels = {"lat": str(cols["lat"]), "lng": str(cols["lng"])}
        frame = pd.DataFrame({"lat": col("lat").to_numpy(object), "lng": col("lng").to_numpy(object)})
        id_from = None
        if kind == "crossing_points":
            frame["id"] = point_id.to_numpy(object)
            frame["name"] = col("name").to_numpy(object)
            frame["kind"] = "flow_monitoring"
            status = col("status")
            frame["status"] = status.where(status.notna(), "unknown").to_numpy(object)
            frame["country_a"] = col("country").to_numpy(object)
            frame["country_b"] = None
            frame["capacity_per_day"] = None
            labels.update(id=str(cols["fmp"]), name=str(cols["name"]))
        else:
            record = col("record")
            has_record = record.map(lambda v: isinstance(v, str) and v != "").to_numpy(bool)
            frame["id"] = np.where(has_record, "dtm-" + record.astype(str), None)
            # No record id: the key is the point, the date and the direction (one count per combination).
            id_from = pd.Series(
                ["|".join(str(v) for v in t) for t in zip(fmp, col("date"), col("direction"), strict=True)],
                dtype=object,
            )
            frame["occurred_at"] = col("date").to_numpy(object)
            frame["kind"] = "crossing"
            frame["people"] = col("count").to_numpy(object)
            frame["location_precision_m"] = None
            frame["source"] = self.SOURCE
            frame["crossing_point_id"] = point_id.to_numpy(object)
            frame["route_id"] = None
            notes = [
                " · ".join(str(v) for v in bits if v)
                for bits in zip(col("direction"), col("name"), col("admin1"), col("country"), strict=True)
            ]
            frame["notes"] = [v or None for v in notes]
            labels.update(id=str(cols["record"]), occurred_at=str(cols["date"]), people=str(cols["count"]))
        country = col("country") if cols["country"] else None
        if cols["country"]:
            labels["country"] = str(cols["country"])
        return Mapped(frame, np.arange(n), None, issues, labels, "dtm-", id_from, ("%d/%m/%Y", "%d.%m.%Y"), country)
