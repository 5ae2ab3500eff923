"""Map tiles of a task's rasters (orthophoto, DSM, DTM): TileJSON, XYZ tile rendering and an on-disk tile cache.

Plain functions over the task's assets folder; the web routes translate TileNotFound into 404 and
InvalidTileRequest (a ValueError) into 400.
"""
import hashlib
import io
import operator
import os
import shutil
import threading
from collections import OrderedDict
from pathlib import Path
from typing import NamedTuple

import imagecodecs
import morecantile
import numpy
import rasterio
from PIL import Image
from rasterio.crs import CRS
from rasterio.enums import ColorInterp, Resampling
from rasterio.transform import from_bounds
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform_bounds
from rio_tiler.colormap import cmap as COLOR_MAPS
from rio_tiler.colormap import make_lut
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.expression import apply_expression, get_expression_blocks
from rio_tiler.io import Reader
from rio_tiler.models import ImageData
from scipy import ndimage

from webapp import storage
from webapp.services import plant_health, tile_pyramids

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
# The same settings for an RGBA array, encoded without GDAL's in-memory file (faster on a tile). PNG with libpng
# through imagecodecs, one filter for every row and zlib's run-length strategy: 2.1 ms for a 256 px orthophoto tile
# where Pillow (which tries five filters per row) took 9 ms at level 1, and the files are 10 % smaller, because
# deflate's string matching finds nothing in photo noise. WebP with Pillow: method 0 encodes twice as fast as the
# default 4 for files about 10 % bigger.
FAST_ENCODERS = ("PNG", "WEBP")
PNG_OPTIONS = {"level": 1, "strategy": imagecodecs.PNG.STRATEGY.RLE, "filter": imagecodecs.PNG.FILTER.PAETH}
WEBP_OPTIONS = {"quality": 85, "method": 0}
DEFAULT_COLOR_MAP = "viridis"
DEFAULT_INDEX_COLOR_MAP = "rdylgn"  # red (bare) to green (growing): what plant-health maps are read in
DEFAULT_INDEX_RANGE = (-1.0, 1.0)
# The colour maps the metadata offers, as WebODM offers them (the tiles accept any of rio-tiler's).
DEM_COLOR_MAPS = ("viridis", "jet", "terrain", "gist_earth", "pastel1")
INDEX_COLOR_MAPS = ("rdylgn", "spectral", "rdylgn_r", "spectral_r", "viridis", "plasma", "inferno", "magma",
                    "cividis", "jet", "jet_r")
COLOR_MAP_LABELS = {"viridis": "Viridis", "jet": "Jet", "jet_r": "Jet (Reverse)", "terrain": "Terrain",
                    "gist_earth": "Earth", "pastel1": "Pastel", "rdylgn": "RdYlGn", "rdylgn_r": "RdYlGn (Reverse)",
                    "spectral": "Spectral", "spectral_r": "Spectral (Reverse)", "plasma": "Plasma",
                    "inferno": "Inferno", "magma": "Magma", "cividis": "Cividis"}
HILLSHADE_AZIMUTH = 315.0  # light from the north-west, the cartographic convention
HILLSHADE_ALTITUDE = 45.0
HILLSHADE_AMBIENT = 0.35  # the darkest a fully shaded slope gets, so colours stay readable
# Open datasets per thread: an orthophoto takes its reader and one per overview level read (up to ~6), a DEM one.
READERS_PER_THREAD = 32
WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")
WEB_MERCATOR_CRS = CRS.from_epsg(3857)


class TileNotFound(LookupError):
    """No such tile: the layer's file is missing, or the tile is outside its zoom range or bounds."""


class InvalidTileRequest(ValueError):
    """A tile request with a parameter we cannot honour (unknown colour map, scale or format)."""


class TileStyle(NamedTuple):
    """How to draw a layer: DEM colour map and hillshade, or an index formula over the orthophoto's bands.

    rescale is the (low, high) value range stretched over the colour map; None takes the layer's default.
    """

    color_map: str | None = None
    hillshade: bool = False
    formula: str | None = None
    bands: str | None = None
    rescale: tuple | None = None
    expression: str | None = None  # the formula as a rio-tiler expression, once resolve_style has run


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
    band_count: int  # bands without the alpha band
    band_names: tuple  # each band's description, or its colour interpretation's name

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


def render_tile(assets_dir, layer, z, x, y, scale=1, fmt="png", color_map=None, hillshade=False, style=None):
    """Render one XYZ (web mercator) tile of a layer; returns (image bytes, media type).

    style (a TileStyle) takes the place of color_map and hillshade, and adds index formulas and rescaling.
    """
    style = style or TileStyle(color_map, hillshade)
    z, x, y = _tile_index(z, x, y)
    img_format, media_type = _check_format(scale, fmt)
    path = _layer_path(assets_dir, layer)
    version = _source_version(path)
    info = _layer_info(path, version, layer)
    style = resolve_style(info, layer, style)
    _check_tile(info, z, x, y)
    reader = _reader(path, version)
    source = _Source(path, version, str(tile_pyramids.pyramid_path(assets_dir, layer, version)))
    size = TILE_SIZE * scale
    if not _tile_intersects(info, z, x, y):
        raise TileNotFound(f"tile {z}/{x}/{y} is outside the {layer} bounds")
    try:
        if layer in DEM_LAYERS:
            content = _render_dem(reader, source, style, z, x, y, size, img_format)
        elif style.formula:
            content = _render_index(reader, source, style, z, x, y, size, img_format)
        else:
            content = _render_orthophoto(reader, source, z, x, y, size, img_format)
    except TileOutsideBounds as error:
        raise TileNotFound(f"tile {z}/{x}/{y} is outside the {layer} bounds") from error
    return content, media_type


def cached_tile(cache_dir, assets_dir, layer, z, x, y, scale=1, fmt="png", color_map=None, hillshade=False,
                style=None):
    """render_tile through an on-disk cache shared by processes; cache_dir should be one task's own folder."""
    entry = _cache_entry(cache_dir, assets_dir, layer, z, x, y, scale, fmt, style or TileStyle(color_map, hillshade))
    try:
        return CachedTile(_read(entry.file), entry.media_type, entry.etag, True)
    except FileNotFoundError:
        pass
    content, media_type = render_tile(assets_dir, entry.layer, entry.z, entry.x, entry.y, scale, fmt,
                                      style=entry.style)
    version_dir = Path(entry.version_dir)
    if not version_dir.is_dir():
        _drop_other_versions(version_dir)
    storage.write_atomically(Path(entry.file), content)
    return CachedTile(content, media_type, entry.etag, False)


def _read(path):
    """A file's bytes."""
    with open(path, "rb") as file:
        return file.read()


class _CacheEntry(NamedTuple):
    """Where a tile is cached and its validator; the resolved style and checked indexes to render it with."""

    file: str  # paths as strings: a cache hit is a few hundred microseconds, and pathlib would be a third of them
    version_dir: str  # the folder of this raster version's tiles
    media_type: str
    etag: str
    layer: str
    z: int
    x: int
    y: int
    style: TileStyle


def _cache_entry(cache_dir, assets_dir, layer, z, x, y, scale, fmt, style):
    """The cache entry of a tile; TileNotFound or InvalidTileRequest for a tile that cannot exist."""
    z, x, y = _tile_index(z, x, y)  # integers only: they become folder names under cache_dir
    _, media_type = _check_format(scale, fmt)
    path = _layer_path(assets_dir, layer)
    version = _source_version(path)
    version_key = f"{version[0]:x}-{version[1]:x}"
    style = resolve_style(_layer_info(path, version, layer), layer, style)
    name = f"{y}@{scale}x{_variant(layer, style)}.{fmt}"
    etag = hashlib.sha256(f"{layer}/{z}/{x}/{name}|{version_key}".encode()).hexdigest()[:32]
    # The source version is part of the path: new assets never meet tiles of the old ones.
    version_dir = os.path.join(cache_dir, layer, version_key)
    return _CacheEntry(os.path.join(version_dir, str(z), str(x), name), version_dir, media_type, etag, layer, z, x, y,
                       style)


def metadata(assets_dir, layer, formula=None, bands=None, value_range=None):
    """WebODM's raster metadata of a layer: the file's description, statistics per band with a 255-bin histogram,
    and (for a formula over the orthophoto) the formulas and colour maps on offer.

    value_range (low, high) bounds the histogram; a formula's natural range (NDVI's -1..1) is its default.
    """
    path = _layer_path(assets_dir, layer)
    version = _source_version(path)
    info = _layer_info(path, version, layer)
    reader = _reader(path, version)
    expression, auto_bands, offered_range = None, {"filter": "", "match": None}, None
    if formula and layer not in DEM_LAYERS:
        bands = bands or "RGB"
        if bands == plant_health.AUTO:
            bands, matched = plant_health.auto_band_order(formula, info.band_names, info.band_count)
            auto_bands = {"filter": bands, "match": matched}
        expression = plant_health.expression(formula, bands, info.band_count)
        offered_range = plant_health.formula(formula).range
    histogram_range = _histogram_range(value_range, offered_range)
    statistics = _statistics(path, version, expression, histogram_range, info.band_count)
    if offered_range and value_range is None:
        for band in statistics.values():  # the formula's range is the scale the map offers, as in WebODM
            band["min"], band["max"] = offered_range
    document = reader.info().model_dump(mode="json")
    document.update({
        "statistics": statistics, "minzoom": info.minzoom, "maxzoom": info.maxzoom,
        "bounds": {"value": list(reader.bounds), "crs": reader.crs.to_string()},
        "color_maps": [_encoded_color_map(name) for name in _offered_color_maps(layer, expression)],
        "algorithms": plant_health.algorithms(info.band_count) if expression else [],
        "auto_bands": auto_bands,
    })
    return document


def _histogram_range(value_range, offered_range):
    """The histogram's range: the one asked for unless it leaves the formula's natural range, else that range."""
    if value_range is None:
        return offered_range
    low, high = _check_rescale(value_range)
    if offered_range and (low < offered_range[0] or high > offered_range[1]):
        return offered_range
    return low, high


_statistics_cache = OrderedDict()
_statistics_lock = threading.Lock()


def _statistics(path, version, expression, histogram_range, band_count):
    """Statistics per band ("1", "2", ...) of an overview-sized read, cached per file version and question."""
    key = (str(path), version, expression, histogram_range)
    with _statistics_lock:
        if key in _statistics_cache:
            return _copy_statistics(_statistics_cache[key])
    options = {"max_size": 1024, "percentiles": [2, 98], "hist_options": {"bins": 255}}
    if histogram_range:
        options["hist_options"]["range"] = histogram_range
    reader = _reader(path, version)
    if expression:
        found = reader.statistics(expression=expression, **options)
    else:
        found = reader.statistics(indexes=tuple(range(1, band_count + 1)), **options)
    statistics = {}
    for number, band in enumerate(found.values(), start=1):
        entry = band.model_dump(mode="json")
        entry["percentiles"] = [entry["percentile_2"], entry["percentile_98"]]
        if histogram_range:
            entry["percentiles"] = [max(histogram_range[0], entry["percentiles"][0]),
                                    min(histogram_range[1], entry["percentiles"][1])]
        statistics[str(number)] = entry
    with _statistics_lock:
        _statistics_cache[key] = statistics
        while len(_statistics_cache) > 64:
            _statistics_cache.popitem(last=False)
    return _copy_statistics(statistics)


def _copy_statistics(statistics):
    """A copy deep enough for the caller to change min and max."""
    return {band: dict(entry) for band, entry in statistics.items()}


def _offered_color_maps(layer, expression):
    """The colour maps WebODM offers: elevation maps for DEMs, diverging ones for an index, none otherwise."""
    if layer in DEM_LAYERS:
        return DEM_COLOR_MAPS
    return INDEX_COLOR_MAPS if expression else ()


def _encoded_color_map(name):
    """A colour map as WebODM's metadata sends it: 256 integers 0xRRGGBBAA, with a label."""
    values = COLOR_MAPS.get(name)
    encoded = [int.from_bytes(bytes(int(part) for part in values[i]), "big") for i in range(256)]
    return {"key": name, "color_map": encoded, "label": COLOR_MAP_LABELS.get(name, name)}


def resolve_style(info, layer, style):
    """The style with its defaults filled in and checked; InvalidTileRequest or ValidationError for bad ones.

    A resolved style is only checked once: the expression marks it (and equal renderings share a cache entry).
    """
    if style.expression or (layer in DEM_LAYERS and style.rescale and style.color_map):
        return style
    if layer in DEM_LAYERS:
        low, high = info.elevation_range
        rescale = style.rescale or (low, max(high, low + 1e-6))
        name = (style.color_map or DEFAULT_COLOR_MAP).lower()
        _color_map(name)
        return TileStyle(name, bool(style.hillshade), None, None, _check_rescale(rescale))
    if not style.formula:
        return TileStyle()  # colour maps, hillshade and rescaling do not apply to the plain orthophoto
    formula = plant_health.formula(style.formula)
    bands = style.bands or "RGB"
    if bands == plant_health.AUTO:
        bands, _ = plant_health.auto_band_order(style.formula, info.band_names, info.band_count)
    expression = plant_health.expression(style.formula, bands, info.band_count)
    name = (style.color_map or DEFAULT_INDEX_COLOR_MAP).lower()
    _color_map(name)
    rescale = style.rescale or formula.range or DEFAULT_INDEX_RANGE
    return TileStyle(name, False, style.formula, bands, _check_rescale(rescale), expression)


def parse_rescale(text):
    """A `rescale` parameter "low,high" as two floats; None when empty; InvalidTileRequest when malformed."""
    if not text:
        return None
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 2:
        raise InvalidTileRequest(f"rescale must be two numbers, low,high: not {text!r}")
    return _check_rescale(values)


def _check_rescale(values):
    """(low, high) as finite floats with low below high; InvalidTileRequest otherwise."""
    low, high = (float(value) for value in values)
    if not (numpy.isfinite(low) and numpy.isfinite(high) and low < high):
        raise InvalidTileRequest(f"rescale needs finite numbers with low < high, not {low},{high}")
    return low, high


def _variant(layer, style):
    """The part of a cached tile's file name that tells its style apart from the layer's others."""
    if layer in DEM_LAYERS:
        low, high = style.rescale
        return f"-{style.color_map}{'-hillshade' if style.hillshade else ''}-{low!r}-{high!r}"
    if not style.formula:
        return ""
    key = f"{style.expression}|{style.color_map}|{style.rescale[0]!r}|{style.rescale[1]!r}"
    return "-index-" + hashlib.sha256(key.encode()).hexdigest()[:20]  # a digest: formulas hold / and *


# --- checks ---------------------------------------------------------------------------------------------

def _layer_path(assets_dir, layer):
    """The raster file of a layer; TileNotFound for an unknown layer."""
    if layer not in LAYER_FILES:
        raise TileNotFound(f"unknown tile layer {layer!r}; layers are {', '.join(LAYER_FILES)}")
    return Path(assets_dir, LAYER_FILES[layer])


def _source_version(path):
    """The raster's version (tile_pyramids.file_version); TileNotFound when it does not exist."""
    try:
        return tile_pyramids.file_version(path)
    except (FileNotFoundError, NotADirectoryError) as error:
        raise TileNotFound(f"{Path(path).name} does not exist") from error


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
    return _thread_cached((str(path), version, "reader"), lambda: Reader(str(path)))


def _overview_dataset(path, version, level):
    """The raster opened at one overview level (None: full resolution), from this thread's LRU."""
    if level is None:
        return _reader(path, version).dataset
    return _thread_cached((str(path), version, level), lambda: rasterio.open(path, overview_level=level))


def _thread_cached(key, opener):
    """An open dataset or reader from this thread's LRU, keyed (path, version, what); opened when missing."""
    readers = getattr(_thread_state, "readers", None)
    if readers is None:
        readers = _thread_state.readers = OrderedDict()
    reader = readers.get(key)
    if reader is not None:
        readers.move_to_end(key)
        return reader
    # Close readers of older versions of the same file: they hold replaced files open.
    for stale in [k for k in readers if k[0] == key[0] and k[1] != key[1]]:
        readers.pop(stale).close()
    reader = readers[key] = opener()
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
    dataset = reader.dataset
    bands = [index for index, interp in zip(dataset.indexes, dataset.colorinterp) if interp != ColorInterp.alpha]
    names = tuple(dataset.descriptions[index - 1] or dataset.colorinterp[index - 1].name for index in bands)
    return LayerInfo((west, south, east, north), reader.minzoom, reader.maxzoom, elevation_range, len(bands), names)


# --- rendering ------------------------------------------------------------------------------------------

class _Source(NamedTuple):
    """A layer's raster file, its version, and the path its map's copy has (see tile_pyramids) if it was made."""

    path: Path
    version: tuple
    pyramid: str


def _render_orthophoto(reader, source, z, x, y, size, img_format):
    """An RGB(A) tile of the orthophoto, transparent outside its data (PNG, WebP)."""
    if img_format in FAST_ENCODERS and _warps_directly(reader):
        return encode_rgba(_orthophoto_rgba(reader, source, z, x, y, size), img_format)
    count = len(reader.dataset.indexes) - (1 if _has_alpha(reader) else 0)
    indexes = (1, 2, 3) if count >= 3 else (1,)
    image = reader.tile(x, y, z, tilesize=size, indexes=indexes)
    if image.array.dtype != numpy.uint8:
        image.rescale(in_range=[_dtype_range(reader)] * len(indexes))
    return image.render(img_format=img_format, **ENCODING_OPTIONS[img_format])


def _warps_directly(reader):
    """Whether the orthophoto is what ODM makes (8-bit RGB plus alpha), which _warp_rgba draws itself."""
    dataset = reader.dataset
    return (dataset.count == 4 and set(dataset.dtypes) == {"uint8"} and dataset.colorinterp[3] == ColorInterp.alpha
            and dataset.nodata is None)


def _orthophoto_rgba(reader, source, z, x, y, size):
    """The tile as a size x size x 4 RGBA array: from the map's copy of the orthophoto, else warped."""
    bands = _pyramid_tile(source, z, x, y, size)
    if bands is None:
        return _warp_rgba(source.path, source.version, reader, z, x, y, size)
    return numpy.ascontiguousarray(bands.transpose(1, 2, 0))


def _pyramid_tile(source, z, x, y, size, fill=0, buffer=0, overzoom=True):
    """A tile's bands from the map's copy of the raster, or None: no copy, no level for this zoom, or (without
    overzoom) a zoom finer than the copy's, which a DEM leaves to the bilinear warp (repeated heights would shade
    as terraces)."""
    grid = _pyramid_grids.get(source.pyramid)
    if grid is None:
        if not os.path.exists(source.pyramid):
            return None
        if len(_pyramid_grids) > 1024:
            _pyramid_grids.clear()
        grid = _pyramid_grids[source.pyramid] = tile_pyramids.Grid(_pyramid_level(source, 0))
    return tile_pyramids.read_tile(lambda level: _pyramid_level(source, level), grid, z, x, y, size, fill, buffer,
                                   overzoom)


_pyramid_grids = {}


def _pyramid_level(source, level):
    """One level of the map's copy of a raster (0: full resolution, k: its k-th overview), from this thread's LRU."""
    if level == 0:
        return _thread_cached((source.pyramid, source.version, 0), lambda: rasterio.open(source.pyramid))
    return _thread_cached((source.pyramid, source.version, level),
                          lambda: rasterio.open(source.pyramid, overview_level=level - 1))


def _warp_rgba(path, version, reader, z, x, y, size):
    """The tile as a size x size x 4 RGBA array, warped straight to its pixels from the right overview.

    rio-tiler warps the tile's area at the raster's own resolution and then shrinks that (several times the
    tile's pixels); warping into the tile's own grid from the overview just finer than it costs a fraction.
    Nearest neighbour, as rio-tiler's default; pixels outside the raster come out with alpha 0.
    """
    bounds = WEB_MERCATOR.xy_bounds(morecantile.Tile(x, y, z))
    dataset = _overview_dataset(path, version, _overview_level(path, version, reader.dataset, bounds, size))
    with WarpedVRT(dataset, crs=WEB_MERCATOR_CRS, transform=from_bounds(*bounds, size, size), width=size,
                   height=size, resampling=Resampling.nearest) as vrt:
        bands = vrt.read()
    return numpy.ascontiguousarray(bands.transpose(1, 2, 0))


_overview_levels = {}


def _overview_level(path, version, dataset, mercator_bounds, size):
    """The coarsest overview level still at least as fine as the tile's pixels; None for full resolution.

    Worked out once per file version and tile size (its zoom): the pixel size hardly changes across a survey, and
    reprojecting the bounds was a tenth of a DEM tile's time.
    """
    key = (str(path), version, round(mercator_bounds[2] - mercator_bounds[0], 3), size)
    if key not in _overview_levels:
        if len(_overview_levels) > 4096:
            _overview_levels.clear()
        _overview_levels[key] = _pick_overview_level(dataset, mercator_bounds, size)
    return _overview_levels[key]


def _pick_overview_level(dataset, mercator_bounds, size):
    """_overview_level's choice for these bounds."""
    left, bottom, right, top = transform_bounds(WEB_MERCATOR_CRS, dataset.crs, *mercator_bounds)
    wanted = min((right - left) / size, (top - bottom) / size)  # the tile's pixel size in the raster's units
    level = None
    for index, factor in enumerate(dataset.overviews(1)):
        if dataset.res[0] * factor <= wanted:
            level = index
    return level


def encode_rgba(rgba, img_format):
    """PNG or WebP bytes of an RGBA array."""
    if img_format == "PNG":
        return imagecodecs.png_encode(rgba, **PNG_OPTIONS)
    output = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(output, format=img_format, **WEBP_OPTIONS)
    return output.getvalue()


def _tile_intersects(info, z, x, y):
    """Whether the tile overlaps the raster's bounds (as rio-tiler's tile_exists, from the cached bounds)."""
    west, south, east, north = info.bounds
    tile = WEB_MERCATOR.bounds(morecantile.Tile(x, y, z))
    return tile.left < east and tile.right > west and tile.top > south and tile.bottom < north


def _render_index(reader, source, style, z, x, y, size, img_format):
    """A plant-health tile: the formula's value per pixel, stretched over style.rescale through a colour map."""
    if img_format in FAST_ENCODERS and _warps_directly(reader):
        rgba = _orthophoto_rgba(reader, source, z, x, y, size)
        bands = rgba[..., :3].transpose(2, 0, 1)
        values = apply_expression(get_expression_blocks(style.expression), ("b1", "b2", "b3"), bands)[0].data
        empty = (rgba[..., 3] == 0) | ~numpy.isfinite(values)
        return encode_rgba(_coloured(values, empty, style), img_format)
    image = reader.tile(x, y, z, tilesize=size, expression=style.expression)
    values = image.array
    # Division by zero (black or saturated pixels) gives inf or nan: leave those pixels transparent.
    invalid = ~numpy.isfinite(values.data)
    values.mask = numpy.ma.getmaskarray(values) | invalid
    values.data[invalid] = 0
    # The alpha band already masks the values; rio-tiler would rescale its float copy of it to nothing.
    image.alpha_mask = None
    image.rescale(in_range=(style.rescale,))
    return image.render(img_format=img_format, colormap=_color_map(style.color_map), **ENCODING_OPTIONS[img_format])


def _coloured(values, empty, style, shade=None):
    """An RGBA array of values stretched over style.rescale through its colour map (as rio-tiler's rescale and
    colour map do), darkened by a hillshade's 0..1 shade if given; pixels that are empty are transparent."""
    low, high = style.rescale
    stretched = (numpy.clip(values, low, high, dtype=numpy.float64) - low) * (255 / (high - low))
    indexes = stretched.astype(numpy.uint8)
    indexes[empty] = 0
    rgba = numpy.take(_lookup_table(style.color_map), indexes, axis=0)
    if shade is not None:
        light = HILLSHADE_AMBIENT + (1 - HILLSHADE_AMBIENT) * shade
        rgba[..., :3] = (rgba[..., :3] * light[..., None]).round()
    rgba[..., 3][empty] = 0
    return rgba


_lookup_tables = {}


def _lookup_table(name):
    """A colour map as a 256 x 4 uint8 array, made once per process."""
    table = _lookup_tables.get(name)
    if table is None:
        table = _lookup_tables[name] = make_lut(_color_map(name))
    return table


def _render_dem(reader, source, style, z, x, y, size, img_format):
    """A DEM tile: elevations rescaled over style.rescale through a colour map, optionally hillshaded."""
    if img_format in FAST_ENCODERS and reader.dataset.nodata is not None:
        return encode_rgba(_dem_rgba(reader, source, style, z, x, y, size), img_format)
    colormap, hillshade = _color_map(style.color_map), style.hillshade
    # One extra pixel around the tile lets the hillshade slope be computed at the tile's edges too.
    image = reader.tile(x, y, z, tilesize=size, indexes=1, buffer=1 if hillshade else None,
                        reproject_method="bilinear")
    elevation = image.array[0]
    image.rescale(in_range=(style.rescale,))
    if not hillshade:
        return image.render(img_format=img_format, colormap=colormap, **ENCODING_OPTIONS[img_format])
    coloured = image.apply_colormap(colormap)
    shade = _hillshade(elevation, _ground_resolution(image, z, x, y))
    rgb = coloured.array.data.astype(numpy.float32) * (HILLSHADE_AMBIENT + (1 - HILLSHADE_AMBIENT) * shade)
    inner = (slice(None), slice(1, -1), slice(1, -1))  # drop the buffer pixel
    shaded = numpy.ma.MaskedArray(rgb.round().astype(numpy.uint8)[inner], mask=coloured.array.mask[inner])
    return ImageData(shaded, alpha_mask=coloured.alpha_mask[1:-1, 1:-1]).render(
        img_format=img_format, **ENCODING_OPTIONS[img_format])


def _dem_rgba(reader, source, style, z, x, y, size):
    """A DEM tile as an RGBA array, its elevations from the map's copy of the DEM or warped into the tile's grid."""
    buffer = 1 if style.hillshade else 0  # a pixel around the tile gives the hillshade its slope at the edges
    left, _, right, _ = WEB_MERCATOR.xy_bounds(morecantile.Tile(x, y, z))
    nodata = reader.dataset.nodata
    bands = _pyramid_tile(source, z, x, y, size, fill=nodata, buffer=buffer, overzoom=False)
    heights = _warp_heights(reader, source, z, x, y, size, buffer) if bands is None else bands[0]
    empty = numpy.isnan(heights) if numpy.isnan(nodata) else heights == nodata
    shade = None
    if style.hillshade:
        geographic = WEB_MERCATOR.bounds(morecantile.Tile(x, y, z))
        latitude = numpy.radians((geographic.bottom + geographic.top) / 2)  # mercator metres shrink by cos(latitude)
        shade = _hillshade(numpy.ma.MaskedArray(heights, mask=empty), (right - left) / size * numpy.cos(latitude))
    inner = (slice(buffer, buffer + size), slice(buffer, buffer + size))
    return _coloured(heights[inner], empty[inner], style, None if shade is None else shade[inner])


def _warp_heights(reader, source, z, x, y, size, buffer):
    """A DEM tile's elevations (with buffer pixels around it) warped straight into the tile's grid from the right
    overview, bilinear (as _warp_rgba)."""
    left, bottom, right, top = WEB_MERCATOR.xy_bounds(morecantile.Tile(x, y, z))
    pad = (right - left) / size * buffer
    bounds, width = (left - pad, bottom - pad, right + pad, top + pad), size + 2 * buffer
    level = _overview_level(source.path, source.version, reader.dataset, bounds, width)
    dataset = _overview_dataset(source.path, source.version, level)
    with WarpedVRT(dataset, crs=WEB_MERCATOR_CRS, transform=from_bounds(*bounds, width, width), width=width,
                   height=width, resampling=Resampling.bilinear, nodata=reader.dataset.nodata) as vrt:
        return vrt.read(1)


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
    zenith = numpy.radians(90.0 - HILLSHADE_ALTITUDE)
    azimuth = numpy.radians((360.0 - HILLSHADE_AZIMUTH + 90.0) % 360.0)
    # cos(zenith) cos(slope) + sin(zenith) sin(slope) cos(azimuth - aspect), with slope = arctan(|gradient|) and
    # aspect = arctan2(dz_south, -dz_east), written without the trigonometry per pixel (a third of the time):
    # cos(slope) = 1 / sqrt(1 + |gradient|^2), and sin(slope) cos(azimuth - aspect) is the gradient's component
    # along the light over the same root.
    towards_light = numpy.sin(azimuth) * dz_south - numpy.cos(azimuth) * dz_east
    shade = (numpy.cos(zenith) + numpy.sin(zenith) * towards_light) / numpy.sqrt(1 + dz_east ** 2 + dz_south ** 2)
    return numpy.clip(shade, 0.0, 1.0)


hillshade = _hillshade  # the exports shade DEM colours the same way


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
