"""The four map layers: View in, styled GeoJSON out. Shared by the live map, exports and the CLI."""
