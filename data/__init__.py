"""The store (SQLite default, PostGIS for production), its settings, ingest and the demo crisis."""
