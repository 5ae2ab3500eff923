"""Map tiles of a task's rasters (orthophoto, DSM, DTM): TileJSON, XYZ tile rendering and an on-disk tile cache.

Plain functions over the task's assets folder; the web routes translate TileNotFound into 404 and
InvalidTileRequest (a ValueError) into 400.
"""
import hashlib
import operator
import os
import shutil
import threading
from collections import OrderedDict
from pathlib import Path
from typing import NamedTuple

import morecantile
import numpy
from rasterio.enums import ColorInterp
from rio_tiler.colormap import cmap as COLOR_MAPS
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader
from rio_tiler.models import ImageData
from scipy import ndimage

from webapp import storage

# The tile layers and their files inside a task's assets folder (docs/API.md, "Assets").
LAYER_FILES = {
    "orthophoto": "odm_orthophoto/odm_orthophoto.tif",
    "dsm": "odm_dem/dsm.tif",
    "dtm": "odm_dem/dtm.tif",
}
DEM_LAYERS = ("dsm", "dtm")
ZOOM_MARGIN = 3  # the native zoom range is widened by this many levels each way, as WebODM does
TILE_SIZE = 256
SCALES = (1, 2)  # @2x tiles are 512 px
FORMATS = {"png": ("PNG", "image/png"), "jpg": ("JPEG", "image/jpeg"), "webp": ("WEBP", "image/webp")}
# GDAL creation options per driver. PNG at zlib level 1 encodes photos about 3x faster than the default 6,
# and its files are no bigger: orthophoto pixels are too noisy for the harder levels to win anything.
ENCODING_OPTIONS = {"PNG": {"ZLEVEL": 1}, "JPEG": {"QUALITY": 85}, "WEBP": {"QUALITY": 85}}
DEFAULT_COLOR_MAP = "viridis"
HILLSHADE_AZIMUTH = 315.0  # light from the north-west, the cartographic convention
HILLSHADE_ALTITUDE = 45.0
HILLSHADE_AMBIENT = 0.35  # the darkest a fully shaded slope gets, so colours stay readable
READERS_PER_THREAD = 16
WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")


class TileNotFound(LookupError):
    """No such tile: the layer's file is missing, or the tile is outside its zoom range or bounds."""


class InvalidTileRequest(ValueError):
    """A tile request with a parameter we cannot honour (unknown colour map, scale or format)."""


class CachedTile(NamedTuple):
    """A rendered tile with its HTTP validator; `hit` says whether it came from the cache."""

    content: bytes
    media_type: str
    etag: str
    hit: bool


class LayerInfo(NamedTuple):
    """What the map needs to know about one raster, computed once per file version."""

    bounds: tuple  # (west, south, east, north) in WGS84
    native_minzoom: int
    native_maxzoom: int
    elevation_range: tuple | None  # (min, max) of a DEM, None for the orthophoto

    @property
    def minzoom(self):
        """The lowest zoom served: native minimum widened by ZOOM_MARGIN."""
        return max(self.native_minzoom - ZOOM_MARGIN, WEB_MERCATOR.minzoom)

    @property
    def maxzoom(self):
        """The highest zoom served: native maximum widened by ZOOM_MARGIN."""
        return min(self.native_maxzoom + ZOOM_MARGIN, WEB_MERCATOR.maxzoom)


def tile_layers(assets_dir):
    """The tile layers (orthophoto, dsm, dtm) whose raster exists in this assets folder."""
    return [layer for layer, relative in LAYER_FILES.items() if (Path(assets_dir) / relative).is_file()]


def color_map_names():
    """The colour map names accepted by render_tile's color_map (rio-tiler's colour maps)."""
    return sorted(COLOR_MAPS.list())


def tilejson(assets_dir, layer, tiles_url_template):
    """The TileJSON 2.1.0 document of a layer; DEMs also carry their elevation range for a legend."""
    path = _layer_path(assets_dir, layer)
    info = _layer_info(path, _source_version(path), layer)
    west, south, east, north = info.bounds
    document = {
        "tilejson": "2.1.0",
        "name": layer,
        "scheme": "xyz",
        "tiles": [tiles_url_template],
        "minzoom": info.minzoom,
        "maxzoom": info.maxzoom,
        "bounds": [west, south, east, north],
        "center": [(west + east) / 2, (south + north) / 2, info.native_minzoom],
    }
    if info.elevation_range is not None:
        document["statistics"] = {"min": info.elevation_range[0], "max": info.elevation_range[1]}
        document["color_map"] = DEFAULT_COLOR_MAP
    return document


def render_tile(assets_dir, layer, z, x, y, scale=1, fmt="png", color_map=None, hillshade=False):
    """Render one XYZ (web mercator) tile of a layer; returns (image bytes, media type)."""
    z, x, y = _tile_index(z, x, y)
    img_format, media_type = _check_format(scale, fmt)
    colormap = _color_map(color_map) if layer in DEM_LAYERS else None
    path = _layer_path(assets_dir, layer)
    version = _source_version(path)
    info = _layer_info(path, version, layer)
    _check_tile(info, z, x, y)
    reader = _reader(path, version)
    size = TILE_SIZE * scale
    try:
        if layer in DEM_LAYERS:
            content = _render_dem(reader, info, z, x, y, size, img_format, colormap, hillshade)
        else:
            content = _render_orthophoto(reader, z, x, y, size, img_format)
    except TileOutsideBounds as error:
        raise TileNotFound(f"tile {z}/{x}/{y} is outside the {layer} bounds") from error
    return content, media_type


def cached_tile(cache_dir, assets_dir, layer, z, x, y, scale=1, fmt="png", color_map=None, hillshade=False):
    """render_tile through an on-disk cache shared by processes; cache_dir should be one task's own folder."""
    z, x, y = _tile_index(z, x, y)  # integers only: they become folder names under cache_dir
    _, media_type = _check_format(scale, fmt)
    path = _layer_path(assets_dir, layer)
    version = _source_version(path)
    version_key = f"{version[0]:x}-{version[1]:x}"
    if layer in DEM_LAYERS:
        color_map = (color_map or DEFAULT_COLOR_MAP).lower()
        _color_map(color_map)
        variant = f"-{color_map}{'-hillshade' if hillshade else ''}"
    else:
        variant = ""  # colour map and hillshade do not apply to the orthophoto
    name = f"{y}@{scale}x{variant}.{fmt}"
    etag = hashlib.sha256(f"{layer}/{z}/{x}/{name}|{version_key}".encode()).hexdigest()[:32]
    # The source version is part of the path: new assets never meet tiles of the old ones.
    version_dir = Path(cache_dir) / layer / version_key
    tile_file = version_dir / str(z) / str(x) / name
    try:
        return CachedTile(tile_file.read_bytes(), media_type, etag, True)
    except FileNotFoundError:
        pass
    content, media_type = render_tile(assets_dir, layer, z, x, y, scale, fmt, color_map, hillshade)
    if not version_dir.is_dir():
        _drop_other_versions(version_dir)
    storage.write_atomically(tile_file, content)
    return CachedTile(content, media_type, etag, False)


# --- checks ---------------------------------------------------------------------------------------------

def _layer_path(assets_dir, layer):
    """The raster file of a layer; TileNotFound for an unknown layer."""
    if layer not in LAYER_FILES:
        raise TileNotFound(f"unknown tile layer {layer!r}; layers are {', '.join(LAYER_FILES)}")
    return Path(assets_dir) / LAYER_FILES[layer]


def _source_version(path):
    """(mtime in ns, size) of the raster: changes whenever the task's assets are replaced."""
    try:
        stat = os.stat(path)
    except (FileNotFoundError, NotADirectoryError) as error:
        raise TileNotFound(f"{Path(path).name} does not exist") from error
    return stat.st_mtime_ns, stat.st_size


def _tile_index(z, x, y):
    """z, x, y as integers; InvalidTileRequest for anything else."""
    try:
        return operator.index(z), operator.index(x), operator.index(y)
    except TypeError as error:
        raise InvalidTileRequest(f"tile coordinates must be integers, not {z!r}/{x!r}/{y!r}") from error


def _check_format(scale, fmt):
    """The GDAL driver and media type of an output format; InvalidTileRequest for unsupported ones."""
    if scale not in SCALES:
        raise InvalidTileRequest(f"unsupported tile scale {scale!r}; use 1 or 2")
    if fmt not in FORMATS:
        raise InvalidTileRequest(f"unsupported tile format {fmt!r}; use one of {', '.join(FORMATS)}")
    return FORMATS[fmt]


def _color_map(name):
    """The rio-tiler colour map of that name (default viridis); InvalidTileRequest for an unknown one."""
    name = (name or DEFAULT_COLOR_MAP).lower()
    if name not in COLOR_MAPS.data:
        raise InvalidTileRequest(f"unknown color map {name!r}; use a rio-tiler colour map such as "
                                 f"viridis, terrain, jet_r, gray or magma")
    return COLOR_MAPS.get(name)


def _check_tile(info, z, x, y):
    """TileNotFound unless z is in the widened zoom range and x, y are valid for that zoom."""
    if not info.minzoom <= z <= info.maxzoom:
        raise TileNotFound(f"zoom {z} is outside {info.minzoom}..{info.maxzoom}")
    if not (0 <= x < 2 ** z and 0 <= y < 2 ** z):
        raise TileNotFound(f"tile {z}/{x}/{y} does not exist")


# --- readers and layer information ----------------------------------------------------------------------

_thread_state = threading.local()
_layer_infos = OrderedDict()
_layer_infos_lock = threading.Lock()


def _reader(path, version):
    """An open rio-tiler Reader of this file version, from this thread's LRU (datasets are not thread-safe)."""
    readers = getattr(_thread_state, "readers", None)
    if readers is None:
        readers = _thread_state.readers = OrderedDict()
    key = (str(path), version)
    reader = readers.get(key)
    if reader is not None:
        readers.move_to_end(key)
        return reader
    # Close readers of older versions of the same file: they hold replaced files open.
    for stale in [k for k in readers if k[0] == key[0]]:
        readers.pop(stale).close()
    reader = readers[key] = Reader(str(path))
    while len(readers) > READERS_PER_THREAD:
        readers.popitem(last=False)[1].close()
    return reader


def _layer_info(path, version, layer):
    """Bounds, native zooms and (for DEMs) elevation range of a file version, cached per process."""
    key = (str(path), version)
    with _layer_infos_lock:
        if key in _layer_infos:
            _layer_infos.move_to_end(key)
            return _layer_infos[key]
    info = _read_layer_info(_reader(path, version), is_dem=layer in DEM_LAYERS)
    with _layer_infos_lock:
        _layer_infos[key] = info
        while len(_layer_infos) > 256:
            _layer_infos.popitem(last=False)
    return info


def _read_layer_info(reader, is_dem):
    """Compute a LayerInfo from an open reader."""
    elevation_range = None
    if is_dem:
        # Statistics of an overview-sized read: cheap on a COG, and what the legend and rescaling share.
        band = reader.statistics(indexes=1, max_size=1024)["b1"]
        low, high = float(band.min), float(band.max)
        if not (numpy.isfinite(low) and numpy.isfinite(high)):
            low, high = 0.0, 1.0  # a DEM with no data at all: any range will do
        elevation_range = (low, high)
    west, south, east, north = reader.get_geographic_bounds(morecantile.models.WGS84_CRS)
    return LayerInfo((west, south, east, north), reader.minzoom, reader.maxzoom, elevation_range)


# --- rendering ------------------------------------------------------------------------------------------

def _render_orthophoto(reader, z, x, y, size, img_format):
    """An RGB(A) tile of the orthophoto, transparent outside its data (PNG, WebP)."""
    count = len(reader.dataset.indexes) - (1 if _has_alpha(reader) else 0)
    indexes = (1, 2, 3) if count >= 3 else (1,)
    image = reader.tile(x, y, z, tilesize=size, indexes=indexes)
    if image.array.dtype != numpy.uint8:
        image.rescale(in_range=[_dtype_range(reader)] * len(indexes))
    return image.render(img_format=img_format, **ENCODING_OPTIONS[img_format])


def _render_dem(reader, info, z, x, y, size, img_format, colormap, hillshade):
    """A DEM tile: elevations rescaled over the DEM's range through a colour map, optionally hillshaded."""
    # One extra pixel around the tile lets the hillshade slope be computed at the tile's edges too.
    image = reader.tile(x, y, z, tilesize=size, indexes=1, buffer=1 if hillshade else None,
                        reproject_method="bilinear")
    elevation = image.array[0]
    low, high = info.elevation_range
    image.rescale(in_range=((low, max(high, low + 1e-6)),))
    if not hillshade:
        return image.render(img_format=img_format, colormap=colormap, **ENCODING_OPTIONS[img_format])
    coloured = image.apply_colormap(colormap)
    shade = _hillshade(elevation, _ground_resolution(image, z, x, y))
    rgb = coloured.array.data.astype(numpy.float32) * (HILLSHADE_AMBIENT + (1 - HILLSHADE_AMBIENT) * shade)
    inner = (slice(None), slice(1, -1), slice(1, -1))  # drop the buffer pixel
    shaded = numpy.ma.MaskedArray(rgb.round().astype(numpy.uint8)[inner], mask=coloured.array.mask[inner])
    return ImageData(shaded, alpha_mask=coloured.alpha_mask[1:-1, 1:-1]).render(
        img_format=img_format, **ENCODING_OPTIONS[img_format])


def _hillshade(elevation, resolution):
    """Illumination 0..1 of a masked elevation grid, by the classic slope/aspect hillshade formula."""
    heights = numpy.asarray(elevation.filled(0), dtype=numpy.float64)
    mask = numpy.ma.getmaskarray(elevation)
    if mask.all():
        return numpy.ones(heights.shape)
    if mask.any():
        # Nodata takes its nearest valid height, so the edge of the data does not read as a cliff.
        nearest = ndimage.distance_transform_edt(mask, return_distances=False, return_indices=True)
        heights = heights[tuple(nearest)]
    dz_south, dz_east = numpy.gradient(heights, resolution)  # rows run north to south
    slope = numpy.arctan(numpy.hypot(dz_east, dz_south))
    aspect = numpy.arctan2(dz_south, -dz_east)
    zenith = numpy.radians(90.0 - HILLSHADE_ALTITUDE)
    azimuth = numpy.radians((360.0 - HILLSHADE_AZIMUTH + 90.0) % 360.0)
    shade = numpy.cos(zenith) * numpy.cos(slope) + numpy.sin(zenith) * numpy.sin(slope) * numpy.cos(azimuth - aspect)
    return numpy.clip(shade, 0.0, 1.0)


def _ground_resolution(image, z, x, y):
    """Metres on the ground per pixel of a tile image: web mercator metres shrink by cos(latitude)."""
    left, _, right, _ = image.bounds
    bounds = WEB_MERCATOR.bounds(morecantile.Tile(x, y, z))
    latitude = (bounds.bottom + bounds.top) / 2
    return (right - left) / image.width * numpy.cos(numpy.radians(latitude))


def _has_alpha(reader):
    """Whether the raster has an alpha band."""
    return ColorInterp.alpha in reader.dataset.colorinterp


def _dtype_range(reader):
    """The value range of the raster's data type, to bring 16-bit or float imagery to 8 bits."""
    dtype = numpy.dtype(reader.dataset.dtypes[0])
    if numpy.issubdtype(dtype, numpy.integer):
        return (numpy.iinfo(dtype).min, numpy.iinfo(dtype).max)
    return (0.0, 1.0)


# --- cache files ----------------------------------------------------------------------------------------



def _drop_other_versions(version_dir):
    """Remove the cached tiles of older versions of this layer's raster."""
    layer_dir = version_dir.parent
    if layer_dir.is_dir():
        for other in layer_dir.iterdir():
            if other.name != version_dir.name:
                shutil.rmtree(other, ignore_errors=True)
