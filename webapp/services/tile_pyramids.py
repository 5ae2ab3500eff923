"""The map's own copy of each raster: a Web Mercator COG whose 256 px blocks are the map's XYZ tiles.

A task's orthophoto and DEMs come in their survey's UTM zone, so every tile of them used to be a small GDAL warp
(about 5 ms of a cold tile's CPU, most of it fixed cost). Made once when the results are extracted, this copy
is already in the tiles' projection and grid (GDAL's COG driver with the GoogleMapsCompatible tiling scheme, its
overview levels aligned to the tile grid), so a tile at any zoom it holds is one block read: a fraction of a
millisecond. Tiles coarser than its smallest overview, and rasters without a copy (tasks extracted before it
existed, imports), are still warped from the original.

The copies live in the assets' map_tiles/ folder (left out of all.zip: they are made from the results, not part
of them), named after their layer and the version (mtime, size) of the raster they were made from, so that a
replaced raster never meets the copy of the old one.
"""
import logging
import math
import os
import uuid
from pathlib import Path

import numpy
import rasterio
import rasterio.shutil
from rasterio.enums import ColorInterp
from rasterio.windows import Window

log = logging.getLogger(__name__)

PYRAMID_DIR = "map_tiles"
TILE_SIZE = 256
WEB_MERCATOR_HALF_WORLD = 20037508.342789244  # metres from the origin to the map's edge (EPSG:3857)
ZOOM0_RESOLUTION = 2 * WEB_MERCATOR_HALF_WORLD / TILE_SIZE  # metres per pixel of the one tile at zoom 0
# Each level aligned to the tile grid can double the padding GDAL adds towards the grid's corner (empty blocks, not
# written, but indexed): beyond this many, the coarsest zooms' few tiles are warped from the original instead.
MAX_ALIGNED_LEVELS = 10
PYRAMID_OPTIONS = {
    "TILING_SCHEME": "GoogleMapsCompatible",
    "BLOCKSIZE": TILE_SIZE,
    "COMPRESS": "DEFLATE",  # lossless, as the originals; a block decodes in about 0.3 ms
    "PREDICTOR": "YES",
    # Bilinear as the DEM tiles were warped (and smoother than the nearest neighbour orthophoto tiles had);
    # overviews average, as the originals' do.
    "RESAMPLING": "BILINEAR",
    "OVERVIEW_RESAMPLING": "AVERAGE",
    "BIGTIFF": "IF_SAFER",
    "NUM_THREADS": "ALL_CPUS",
}


def pyramid_path(assets_dir, layer, version):
    """Where the map's copy of a layer whose raster has this version (mtime in ns, size) is, or would be."""
    return Path(assets_dir, PYRAMID_DIR, f"{layer}-{version[0]:x}-{version[1]:x}.tif")


def make_pyramids(assets_dir, layer_files, only_missing=False):
    """Make the map's copy of each layer's raster ({layer: path relative to assets_dir}) that exists (only_missing:
    of those whose present version has none); returns the layers made. A raster GDAL cannot warp is left without
    one (its tiles are then warped from it, as before)."""
    made = []
    for layer, relative in layer_files.items():
        source = Path(assets_dir, relative)
        if not source.is_file():
            continue
        if only_missing and pyramid_path(assets_dir, layer, file_version(source)).is_file():
            continue
        try:
            if not _marks_its_empty_pixels(source):
                log.info("no map's copy of %s: it marks no pixel as empty (no alpha band, no nodata)", source)
                continue
            make_pyramid(source, assets_dir, layer)
            made.append(layer)
        except Exception as error:  # noqa: BLE001 (rasterio raises many types; the map still works without it)
            log.warning("could not make the map's copy of %s: %s", source, error)
    return made


def file_version(path):
    """A raster's version, which names its copy and its cached tiles: (mtime in ns, size); changes whenever the
    task's assets are replaced."""
    stat = os.stat(path)
    return stat.st_mtime_ns, stat.st_size


def make_pyramid(source, assets_dir, layer):
    """Write the map's copy of one raster (replacing copies of its older versions); returns its path."""
    target = pyramid_path(assets_dir, layer, file_version(source))
    target.parent.mkdir(exist_ok=True)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp.tif")
    try:
        rasterio.shutil.copy(str(source), str(temporary), driver="COG", ALIGNED_LEVELS=_aligned_levels(source),
                             **PYRAMID_OPTIONS)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    for older in target.parent.glob(f"{layer}-*.tif"):
        if older != target:
            older.unlink(missing_ok=True)
    return target


def _marks_its_empty_pixels(source):
    """Whether a raster has an alpha band or a nodata value: the copy's padding out to the tile grid is then empty
    blocks, which GDAL does not write (a raster without either would be padded with written black blocks), and
    these are the rasters the tile service draws itself (ODM's 8-bit RGBA orthophoto, DEMs)."""
    with rasterio.open(source) as dataset:
        return dataset.nodata is not None or ColorInterp.alpha in dataset.colorinterp


def _aligned_levels(source):
    """How many levels (full resolution and overviews) to align with the tile grid: down to a level of one tile."""
    with rasterio.open(source) as dataset:
        pixels = max(dataset.width, dataset.height)
    return max(1, min(MAX_ALIGNED_LEVELS, math.ceil(math.log2(max(pixels, TILE_SIZE) / TILE_SIZE)) + 2))


class Grid:
    """Where a pyramid's pixels sit in the tile grid: its full-resolution zoom, the pixel of the world grid at that
    zoom where it starts, and its number of overviews."""

    def __init__(self, dataset):
        self.zoom = round(math.log2(ZOOM0_RESOLUTION / dataset.transform.a))
        resolution = ZOOM0_RESOLUTION / 2 ** self.zoom
        self.column = round((dataset.transform.c + WEB_MERCATOR_HALF_WORLD) / resolution)
        self.row = round((WEB_MERCATOR_HALF_WORLD - dataset.transform.f) / resolution)
        self.overviews = len(dataset.overviews(1))

    def level(self, zoom):
        """The pyramid level (0: full resolution, k: the k-th overview) of a zoom, or None when it has none; a zoom
        finer than the pyramid's own reads its full resolution."""
        level = max(0, self.zoom - zoom)
        if level > self.overviews or self.column % 2 ** level or self.row % 2 ** level:
            return None  # coarser than the smallest overview, or an overview not on the grid's pixels
        return level


def read_tile(open_level, grid, z, x, y, size, fill=0, buffer=0, overzoom=True):
    """A tile's pixels (bands x rows x columns, size + 2 * buffer a side) from a pyramid, or None where the pyramid
    has no level for it (then the caller warps it from the original).

    open_level(level) gives the dataset of a pyramid level (0: full resolution, k: the k-th overview). A tile
    size of 512 (an @2x tile) is the four tiles of the next zoom. Zooms finer than the pyramid's read a part of
    a full-resolution block and repeat its pixels (nearest neighbour, as the map's overzoom always did). Pixels
    outside the raster are `fill`; buffer pixels around the tile let a hillshade see over its edges. Without
    overzoom, zooms finer than the pyramid's are None too.
    """
    zoom = z + int(math.log2(size // TILE_SIZE))
    level = grid.level(zoom)
    if level is None or (zoom > grid.zoom and not overzoom):
        return None
    repeat = 2 ** max(0, zoom - grid.zoom)  # how many of the tile's pixels one pixel of the pyramid covers
    width = size + 2 * buffer
    # The tile's pixels in the world grid of its zoom, then the pyramid pixels that cover them.
    left, top = x * size - buffer, y * size - buffer
    first_column, first_row = left // repeat, top // repeat
    count = -(-(left + width) // repeat) - first_column  # ceiling division: the last pixel partly covered counts
    count = max(count, -(-(top + width) // repeat) - first_row)
    pixels = _read_window(open_level(level), first_column - grid.column // 2 ** level,
                          first_row - grid.row // 2 ** level, count, fill)
    if repeat == 1:
        return pixels
    pixels = pixels.repeat(repeat, axis=1).repeat(repeat, axis=2)
    column_offset, row_offset = left - first_column * repeat, top - first_row * repeat
    return pixels[:, row_offset:row_offset + width, column_offset:column_offset + width]


def _read_window(dataset, left, top, width, fill):
    """A width x width window of every band at (left, top), the part outside the dataset filled with fill."""
    pixels = numpy.full((dataset.count, width, width), fill, dtype=dataset.dtypes[0])
    column0, row0 = max(left, 0), max(top, 0)
    column1, row1 = min(left + width, dataset.width), min(top + width, dataset.height)
    if column0 < column1 and row0 < row1:
        dataset.read(out=pixels[:, row0 - top:row1 - top, column0 - left:column1 - left],
                     window=Window(column0, row0, column1 - column0, row1 - row0))
    return pixels
