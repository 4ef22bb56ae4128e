"""Ingestion you can trust: files and API batches in, validated rows upserted, every rejected row kept with its reason.

readers (file -> chunks of raw rows) -> profiles (layout -> schema fields) -> validate (per-row
checks) -> run (one upsert transaction per batch, rejects and corrections files, summary).
"""

from data.ingest.run import ItemResult, Summary, ingest_file, ingest_records

__all__ = ["ItemResult", "Summary", "ingest_file", "ingest_records"]
