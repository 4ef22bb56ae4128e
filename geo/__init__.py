"""Pure geospatial logic: numbers, shapely geometries, GeoDataFrames and H3 cells.

Nothing in this package imports dash, flask or sqlalchemy (a test checks it).
"""
