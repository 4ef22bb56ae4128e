"""The SQLAlchemy 2 schema shared by both backends, with the enumerations the store accepts."""

from __future__ import annotations

from sqlalchemy import (
    DDL,
    BigInteger,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.types import TypeEngine

from geo.cells import STORED_RESOLUTIONS

CROSSING_KINDS = ("official", "informal", "flow_monitoring")
CROSSING_STATUSES = ("open", "restricted", "closed", "unknown")
ROUTE_MODES = ("foot", "vehicle", "boat", "mixed")
RISK_LEVELS = ("low", "medium", "high", "critical")
EVENT_KINDS = (
    "crossing",
    "sighting",
    "distress",
    "rescue",
    "interception",
    "death",
    "missing",
    "vulnerability_referral",
    "smuggling_indicator",
    "other",
)
SAR_KINDS = ("srr", "search_area", "sector")
SAR_STATUSES = ("planned", "assigned", "in_progress", "searched", "cleared", "suspended")

LAYER_TABLES = ("crossing_points", "routes", "events", "sar_zones")
H3_COLUMNS = tuple(f"h3_r{res}" for res in STORED_RESOLUTIONS)

GEOMETRY_TYPES = {
    "crossing_points": "POINT",
    "routes": "LINESTRING",
    "events": "POINT",
    "sar_zones": "MULTIPOLYGON",
}

TIME_COLUMNS = frozenset({"last_observed_at", "occurred_at", "updated_at", "deleted_at"})
GLOBAL_REVISION = "_all"


def _time_type(dialect: str) -> TypeEngine:
    # SQLite keeps UTC instants as epoch milliseconds: compact, fast to compare, never naive.
    return BigInteger() if dialect == "sqlite" else DateTime(timezone=True)


def _geometry_type(dialect: str, kind: str, indexed: bool = True) -> TypeEngine:
    if dialect == "sqlite":
        return LargeBinary()
    from geoalchemy2 import Geometry

    # GeoAlchemy2 creates the GiST index itself (spatial_index=True).
    return Geometry(geometry_type=kind, srid=4326, spatial_index=indexed)


# Indexes events and its rollup no longer have: no query of the app needs them, and each one slowed every
# load (issue 15; EXPLAIN evidence in docs/performance-ingest.md). Store.init_schema drops them from older
# stores. The rollup's hour index repeated the first column of its unique key, which serves hour ranges.
RETIRED_EVENT_INDEXES = (
    "ix_event_cell_hours_hour",
    "ix_events_revision",
    "ix_events_crossing_point_id",
    "ix_events_route_id",
    *(f"ix_events_{col}" for col in H3_COLUMNS),
    "idx_events_geom",
)


def _common(table: str, dialect: str) -> list[Column]:
    indexed = table != "events"  # events are found by time (and id); see RETIRED_EVENT_INDEXES
    return [
        Column("id", Text, primary_key=True),
        Column("geom", _geometry_type(dialect, GEOMETRY_TYPES[table], indexed), nullable=False),
        Column("min_lng", Float, nullable=False),
        Column("min_lat", Float, nullable=False),
        Column("max_lng", Float, nullable=False),
        Column("max_lat", Float, nullable=False),
        Column("revision", BigInteger, nullable=False, index=indexed),
        Column("deleted_at", _time_type(dialect)),
    ]


EVENTS_TIME_INDEX = "ix_events_occurred_at_cells"


def _events_time_index() -> Index:
    """The PostGIS time index of events, covering what the hotspot query reads (an index-only scan).

    A time window of raw events used to fetch every row from the heap (264k rows, 11.6k pages at 1M
    events, 7-day window); with these columns in the index the heap is not read (docs/performance.md).
    """
    cols = ["deleted_at", "h3_r4", "h3_r5", "h3_r6", "h3_r7", "people", "lat", "lng"]
    return Index(EVENTS_TIME_INDEX, "occurred_at", postgresql_include=cols)


def build_metadata(dialect: str) -> MetaData:
    """Return the schema for ``dialect`` ("sqlite" or "postgresql")."""
    md = MetaData()
    ts = _time_type(dialect)
    Table(
        "crossing_points",
        md,
        *_common("crossing_points", dialect),
        Column("name", Text, nullable=False),
        Column("kind", Text, nullable=False),
        Column("country_a", Text),
        Column("country_b", Text),
        Column("status", Text, nullable=False),
        Column("capacity_per_day", Integer),
    )
    Table(
        "routes",
        md,
        *_common("routes", dialect),
        Column("name", Text, nullable=False),
        Column("mode", Text, nullable=False),
        Column("risk", Text, nullable=False),
        Column("last_observed_at", ts),
    )
    postgres = dialect == "postgresql"
    Table(
        "events",
        md,
        *_common("events", dialect),
        # PostGIS partitions events by month of occurred_at (data/partitions.py), and a partitioned table's
        # key must hold the partition column: there the key is (id, occurred_at) (EVENTS_CONFLICT_KEY).
        Column("occurred_at", ts, nullable=False, index=not postgres, primary_key=postgres),
        Column("kind", Text, nullable=False),
        Column("people", Integer, nullable=False),
        Column("lat", Float, nullable=False),
        Column("lng", Float, nullable=False),
        Column("location_precision_m", Float),
        Column("source", Text),
        Column("crossing_point_id", Text),
        Column("route_id", Text),
        Column("notes", Text),
        *[Column(col, BigInteger, nullable=False) for col in H3_COLUMNS],
        *([_events_time_index()] if postgres else []),
        **({"postgresql_partition_by": "RANGE (occurred_at)"} if postgres else {}),
    )
    Table(
        "sar_zones",
        md,
        *_common("sar_zones", dialect),
        Column("name", Text, nullable=False),
        Column("kind", Text, nullable=False),
        Column("parent_id", Text, index=True),
        Column("authority", Text),
        Column("status", Text, nullable=False),
        Column("team", Text),
        Column("poa", Float),
        Column("pod", Float),
        # SAR plans (issue 4): a plan is a search_area row (its id is the plan id) with sector children.
        # poa = current POA (Bayes-updated); poa_initial = POA when planned; pod = last sortie's POD;
        # cum_pod = cumulative POD; pos = poa_initial × cum_pod. On the plan row: version (optimistic
        # concurrency), method/target_km2, rest_poa (current rest-of-world share).
        Column("label", Text),
        Column("area_km2", Float),
        Column("poa_initial", Float),
        Column("cum_pod", Float),
        Column("pos", Float),
        Column("sweep_width_m", Float),
        Column("track_spacing_m", Float),
        Column("method", Text),
        Column("target_km2", Float),
        Column("rest_poa", Float),
        Column("version", Integer),
        Column("notes", Text),
    )
    Table(
        "hbm_revisions",
        md,
        Column("table_name", Text, primary_key=True),
        Column("revision", BigInteger, nullable=False),
        Column("updated_at", ts, nullable=False),
    )
    # Tables beyond the four layers. Each feature adds its own block below its own marker.
    # -- hotspot alerts (issue 3) --
    Table(
        "event_cell_hours",  # hourly per-cell counts for the hotspot statistics (data/rollup.py)
        md,
        Column("hour", BigInteger, nullable=False),  # hours since 1970-01-01 UTC; ranges use the unique key
        Column("h3_r4", BigInteger, nullable=False),
        Column("h3_r5", BigInteger, nullable=False),
        Column("h3_r6", BigInteger, nullable=False),
        Column("h3_r7", BigInteger, nullable=False),
        Column("fit", Integer, nullable=False),  # finest resolution (<= 7) the events' precision fits
        Column("lat", Float, nullable=False),
        Column("lng", Float, nullable=False),
        Column("events", Integer, nullable=False),
        Column("people", Integer, nullable=False),
        # Each event's own cells at res 4-7 (indexed directly, not parents of res 7): they are not a function
        # of h3_r7, so all four are part of the key. A store whose key is (hour, h3_r7, fit) predates direct
        # cells and is migrated by Store.init_schema (data/rollup.py: needs_direct_cells).
        # The key, with the counted values included (PostgreSQL): the statistics read a window's hours by an
        # index-only scan, the same pages whatever the table holds (issue 15). Its first column serves hour ranges.
        Index(
            "uq_event_cell_hours_direct",
            *("hour", "h3_r4", "h3_r5", "h3_r6", "h3_r7", "fit"),
            unique=True,
            postgresql_include=["lat", "lng", "events", "people"],
        ),
    )
    Table(
        "alert_rules",
        md,
        Column("id", Text, primary_key=True),
        Column("name", Text, nullable=False),
        Column("kind", Text, nullable=False),
        Column("params", Text, nullable=False),  # JSON, validated by layers.services.alerts
        Column("severity", Text, nullable=False),
        Column("enabled", Integer, nullable=False),
        Column("clear_after_s", Integer, nullable=False),
        Column("state", Text),  # JSON memory between evaluations (e.g. last crossing statuses)
        Column("updated_at", ts, nullable=False),
        Column("updated_by", Text),
    )
    Table(
        "alerts",
        md,
        Column("id", Text, primary_key=True),
        Column("rule_id", Text, nullable=False, index=True),
        Column("subject", Text, nullable=False),  # what it is about: a crossing, a SAR zone, a set of cells
        Column("status", Text, nullable=False, index=True),  # open | closed
        Column("severity", Text, nullable=False),
        Column("title", Text, nullable=False),
        Column("lat", Float),
        Column("lng", Float),
        Column("evidence", Text, nullable=False),  # JSON: the numbers that fired the rule
        Column("cells", Text),  # JSON list of H3 cells (hex) of a surge, to recognise it as it grows
        Column("opened_at", ts, nullable=False),
        Column("updated_at", ts, nullable=False),
        Column("last_true_at", ts, nullable=False),
        Column("closed_at", ts),
        Column("acked_by", Text),
        Column("acked_at", ts),
    )
    # -- export audit (issue 5) --
    Table(
        "export_audit",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("at", ts, nullable=False, index=True),
        Column("who", Text, nullable=False),  # the user, "dashboard" or "cli"
        Column("format", Text, nullable=False),
        Column("view_json", Text, nullable=False),  # layers.view_io.view_to_dict, as JSON
        Column("feature_counts_json", Text, nullable=False),  # {"layer": n}
        Column("filename", Text),
        Column("bytes", BigInteger),
    )
    # -- SAR plans (issue 4) --
    Table(
        "sar_sorties",
        md,
        Column("id", Text, primary_key=True),
        Column("plan_id", Text, nullable=False, index=True),
        Column("sector_id", Text, nullable=False, index=True),
        Column("at", ts, nullable=False),
        Column("sweep_width_m", Float, nullable=False),
        Column("track_spacing_m", Float),
        Column("track_length_km", Float),
        Column("coverage", Float, nullable=False),
        Column("pod", Float, nullable=False),
        Column("team", Text),
        Column("recorded_by", Text),
        Column("notes", Text),
    )
    # -- ingest (issue 6) --
    Table(
        "source_coverage",  # data/coverage.py: from when a source's data are complete (declared at ingest; issue 11)
        md,
        Column("source", Text, primary_key=True),  # the events' ``source`` value; "" for events without one
        Column("coverage_start", ts, nullable=False),
        Column("declared_at", ts, nullable=False),
        Column("declared_by", Text),
    )
    # -- users and audit (issue 7) --
    Table(
        "users",  # data/users.py; password_hash is argon2id (argon2-cffi), never the password
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("name", Text, nullable=False, unique=True),
        Column("role", Text, nullable=False),
        Column("password_hash", Text, nullable=False),
        Column("disabled", Integer, nullable=False),
        Column("created_at", ts, nullable=False),
        Column("updated_at", ts, nullable=False),
        Column("created_by", Text),
    )
    Table(
        "user_preferences",  # data/preferences.py: per-user settings such as the UI language (issue 12)
        md,
        Column("user_name", Text, primary_key=True),
        Column("language", Text),
        Column("updated_at", ts, nullable=False),
    )
    Table(
        "user_sessions",  # one row per sign-in; the id is the SHA-256 of the cookie's token, never the token
        md,
        Column("id", Text, primary_key=True),
        Column("user_name", Text, nullable=False, index=True),
        Column("created_at", ts, nullable=False),
        Column("expires_at", ts, nullable=False),
        Column("ended_at", ts),
        Column("ip", Text),
    )
    # -- interoperability (issue 16): API tokens, alert notification outbox --
    Table(
        "api_tokens",  # data/api_tokens.py; id is the SHA-256 of the token, never the token
        md,
        Column("id", Text, primary_key=True),
        Column("user_name", Text, nullable=False, index=True),
        Column("label", Text),
        Column("prefix", Text, nullable=False),  # the first characters, to tell tokens apart in listings
        Column("created_at", ts, nullable=False),
        Column("created_by", Text),
        Column("revoked_at", ts),
        Column("last_used_at", ts),
    )
    Table(
        "notification_outbox",  # data/notify.py: one row per (alert, event, channel, target); sent in background
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("alert_id", Text, nullable=False, index=True),
        Column("rule_id", Text, nullable=False),
        Column("event", Text, nullable=False),  # opened | escalated:<severity> | closed
        Column("channel", Text, nullable=False),  # email | webhook
        Column("target", Text, nullable=False),
        Column("subject", Text, nullable=False),
        Column("body", Text, nullable=False),
        Column("status", Text, nullable=False, index=True),  # pending | sent | dead
        Column("attempts", Integer, nullable=False),
        Column("next_attempt_at", ts, nullable=False),
        Column("last_error", Text),
        Column("created_at", ts, nullable=False),
        Column("sent_at", ts),
        UniqueConstraint("alert_id", "event", "channel", "target", name="uq_notification_once"),
    )
    audit = Table(
        "audit_log",  # data/audit_log.py: append-only (the triggers below refuse UPDATE and DELETE)
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("at", ts, nullable=False, index=True),
        Column("who", Text, nullable=False, index=True),
        Column("action", Text, nullable=False, index=True),
        Column("target", Text),
        Column("detail", Text),  # JSON object
        Column("ip", Text),
    )
    # The audit log is append-only in the store itself, not only in the code.
    append_only = {
        "sqlite": (
            "CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
            "CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
        ),
        "postgresql": (
            "CREATE OR REPLACE FUNCTION hbm_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION hbm_audit_append_only()",
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION hbm_audit_append_only()",
        ),
    }
    for ddl in append_only.get(dialect, ()):
        event.listen(audit, "after_create", DDL(ddl))
    return md


def data_columns(md: MetaData, table: str) -> list[str]:
    """Return the column names of ``table`` in schema order."""
    return [c.name for c in md.tables[table].columns]
