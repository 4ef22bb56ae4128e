"""An operator's offline basemap: a PMTiles v3 archive (``HBM_BASEMAP_PMTILES``), checked by its header.

The app serves the file itself with HTTP byte ranges; the browser reads tiles with the vendored
``pmtiles`` (raster) or ``protomaps-leaflet`` (vector) libraries. Only the 127-byte header is read here.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from geo.errors import ConfigError

HEADER_BYTES = 127
TILE_TYPES = {1: "mvt", 2: "png", 3: "jpeg", 4: "webp", 5: "avif"}


@dataclass(frozen=True)
class PmtilesInfo:
    """What the map needs to know about an archive."""

    path: Path
    tile_type: str
    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float]  # west, south, east, north

    @property
    def is_vector(self) -> bool:
        """Return True for Mapbox Vector Tiles (drawn by protomaps-leaflet), False for images."""
        return self.tile_type == "mvt"


def read_pmtiles_header(path: str | Path) -> PmtilesInfo:
    """Return the archive's tile type, zoom range and bounds, or raise ConfigError with one line."""
    file = Path(path).expanduser()
    try:
        with file.open("rb") as handle:
            head = handle.read(HEADER_BYTES)
    except OSError as exc:
        raise ConfigError(f"HBM_BASEMAP_PMTILES {str(file)!r} cannot be read: {exc.strerror or exc}") from None
    if len(head) < HEADER_BYTES or head[:7] != b"PMTiles":
        raise ConfigError(f"HBM_BASEMAP_PMTILES {str(file)!r} is not a PMTiles archive")
    if head[7] != 3:
        raise ConfigError(f"HBM_BASEMAP_PMTILES {str(file)!r} is PMTiles version {head[7]}; version 3 is needed")
    tile_type = TILE_TYPES.get(head[99])
    if tile_type is None:
        raise ConfigError(f"HBM_BASEMAP_PMTILES {str(file)!r} has an unknown tile type ({head[99]})")
    w, s, e, n = (v / 1e7 for v in struct.unpack_from("<iiii", head, 102))
    return PmtilesInfo(file.resolve(), tile_type, head[100], head[101], (w, s, e, n))
