"""The change between two flights of a site: the later task's DSM minus the earlier one's, as map tiles through a
diverging colour map (with its legend's range), and the volume gained and lost inside a polygon.

Both DSMs are read over the same grid before they are subtracted: a tile's web mercator grid for the map, the
later DSM's own full-resolution grid (the earlier one warped onto it, bilinearly) for volumes. Pixels where either
model has no data are left out (transparent on the map, "missing" in the volume).
"""
import functools
import hashlib
import math
import shutil
from pathlib import Path
from typing import NamedTuple

import morecantile
import numpy
import rasterio
import rasterio.features
import rasterio.windows
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform as transform_points
from rasterio.warp import transform_bounds
from rio_tiler.colormap import cmap as COLOR_MAPS
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader
from rio_tiler.models import ImageData

from webapp import storage
from webapp.services import tiles, volumes
from webapp.services.errors import ValidationError

DSM = tiles.LAYER_FILES["dsm"]
COLOR_MAPS_OFFERED = ("rdbu", "bwr", "seismic", "coolwarm", "brbg", "prgn", "puor")
DEFAULT_COLOR_MAP = "rdbu"  # red where ground was lost, blue where it was gained, white where nothing changed
STATISTICS_PIXELS = 1024  # the overview grid the legend's range is computed on
STRIP_ROWS = 512  # rows of the volume's window read at once: bounds the memory of a large polygon
ZOOM_MARGIN = 3
FORMATS = {"png": ("PNG", "image/png"), "webp": ("WEBP", "image/webp")}  # formats with transparency


class Pair(NamedTuple):
    """Two DSMs of one site: the later task's and the earlier task's."""

    later: Path
    earlier: Path


def check_pair(later_task, earlier_task):
    """The two tasks' DSMs, or ValidationError: different projects, the same task, a task without a DSM."""
    if earlier_task.id == later_task.id:
        raise ValidationError(field_errors={"other": ["Pick another task: a DSM minus itself is nothing."]})
    if earlier_task.project_id != later_task.project_id:
        raise ValidationError(field_errors={"other": [
            "The tasks are in different projects: compare two tasks of one project."]})
    pair = Pair(storage.assets_dir(later_task.project_id, later_task.id) / DSM,
                storage.assets_dir(earlier_task.project_id, earlier_task.id) / DSM)
    for task, path in ((later_task, pair.later), (earlier_task, pair.earlier)):
        if not path.is_file():
            raise ValidationError(f"Task {task.name or task.id!r} has no surface model (DSM) to compare.")
    return pair


def check_style(color_map, rescale_text):
    """The colour map (default DEFAULT_COLOR_MAP) and the (low, high) range, or ValidationError naming the field."""
    name = (color_map or DEFAULT_COLOR_MAP).strip().lower()
    if name not in tiles.color_map_names():
        raise ValidationError(field_errors={"color_map": [f"Unknown colour map {color_map!r}."]})
    try:
        rescale = tiles.parse_rescale(rescale_text)
    except tiles.InvalidTileRequest as error:
        raise ValidationError(field_errors={"rescale": [str(error)]}) from error
    return name, rescale


def version(pair):
    """A short key of both files' versions (size and modification time): new models never meet old tiles."""
    parts = []
    for path in pair:
        stat = path.stat()
        parts.append(f"{path}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


# --- the map: TileJSON and tiles ----------------------------------------------------------------------------

def tilejson(pair, tiles_url_template):
    """TileJSON 2.1.0 of the difference over the models' common area, with its statistics and a range for the legend."""
    with Reader(str(pair.later)) as later, Reader(str(pair.earlier)) as earlier:
        bounds = _common_bounds(later, earlier)
        minzoom = max(min(later.minzoom, earlier.minzoom) - ZOOM_MARGIN, 0)
        maxzoom = min(max(later.maxzoom, earlier.maxzoom) + ZOOM_MARGIN, 24)
    west, south, east, north = bounds
    return {"tilejson": "2.1.0", "name": "dsm difference", "scheme": "xyz", "tiles": [tiles_url_template],
            "minzoom": minzoom, "maxzoom": maxzoom, "bounds": list(bounds),
            "center": [(west + east) / 2, (south + north) / 2, minzoom + ZOOM_MARGIN],
            "statistics": statistics(pair), "color_map": DEFAULT_COLOR_MAP, "color_maps": list(COLOR_MAPS_OFFERED)}


def statistics(pair):
    """min, max, mean and the 2nd and 98th percentiles of the difference (m), on an overview grid of the common
    area, and `rescale`: a range symmetric about zero that holds those percentiles (what the legend starts with).
    Computed once per version of the two files (in each process)."""
    return dict(_statistics(str(pair.later), str(pair.earlier), version(pair)))


@functools.lru_cache(maxsize=64)
def _statistics(later_path, earlier_path, _version):
    """statistics() of two files; _version keys the cache."""
    with Reader(later_path) as later, Reader(earlier_path) as earlier:
        bounds, width, height = _overview_grid(later.dataset, earlier.dataset)
        # rio-tiler reads each model from its overview nearest the grid's resolution, onto the same grid.
        grid = {"dst_crs": later.crs, "bounds_crs": later.crs, "width": width, "height": height, "indexes": 1,
                "resampling_method": "average", "reproject_method": "bilinear"}
        difference = later.part(bounds, **grid).array[0].astype(numpy.float64) - \
            earlier.part(bounds, **grid).array[0].astype(numpy.float64)
    values = difference.compressed()
    values = values[numpy.isfinite(values)]
    if not values.size:
        return {"min": 0.0, "max": 0.0, "mean": 0.0, "percentiles": [0.0, 0.0], "rescale": [-1.0, 1.0]}
    low, high = numpy.percentile(values, [2, 98])
    reach = _round_up(max(abs(low), abs(high)) or 1.0)
    return {"min": round(float(values.min()), 3), "max": round(float(values.max()), 3),
            "mean": round(float(values.mean()), 3), "percentiles": [round(float(low), 3), round(float(high), 3)],
            "rescale": [-reach, reach]}


def _round_up(value):
    """A positive value rounded up to two significant digits (a legend reads 2.5 m, not 2.4831 m)."""
    step = 10.0 ** (math.floor(math.log10(value)) - 1)
    return round(math.ceil(value / step - 1e-9) * step, 10)


def render_tile(pair, z, x, y, scale=1, fmt="png", color_map=DEFAULT_COLOR_MAP, rescale=None):
    """One XYZ tile of the difference, coloured over rescale (low, high); TileNotFound outside both models."""
    if scale not in tiles.SCALES:
        raise tiles.InvalidTileRequest(f"Unknown scale {scale}; use 1 or 2.")
    if fmt not in FORMATS:
        raise tiles.InvalidTileRequest(f"Unknown format {fmt!r}; use png or webp (the difference is transparent "
                                       f"where a model has no data).")
    size = tiles.TILE_SIZE * scale
    rescale = rescale or (-1.0, 1.0)
    try:
        with Reader(str(pair.later)) as later, Reader(str(pair.earlier)) as earlier:
            if not (later.tile_exists(x, y, z) and earlier.tile_exists(x, y, z)):
                raise tiles.TileNotFound(f"tile {z}/{x}/{y} is outside the models' common area")
            first = later.tile(x, y, z, tilesize=size, indexes=1, reproject_method="bilinear")
            second = earlier.tile(x, y, z, tilesize=size, indexes=1, reproject_method="bilinear")
    except (TileOutsideBounds, morecantile.errors.InvalidZoomError) as error:
        raise tiles.TileNotFound(str(error)) from error
    difference = first.array.astype(numpy.float32) - second.array.astype(numpy.float32)  # masks join
    image = ImageData(difference)
    image.rescale(in_range=(rescale,))
    img_format, media_type = FORMATS[fmt]
    return image.render(img_format=img_format, colormap=COLOR_MAPS.get(color_map)), media_type


class Tile(NamedTuple):
    """A rendered difference tile and its HTTP validator."""

    content: bytes
    media_type: str
    etag: str


def cached_tile(cache_dir, pair, earlier_id, z, x, y, scale=1, fmt="png", color_map=DEFAULT_COLOR_MAP, rescale=None):
    """render_tile through an on-disk cache in the later task's own cache folder, one folder per earlier task and
    pair version (a newer version drops the older ones)."""
    z, x, y, scale = int(z), int(x), int(y), int(scale)  # they become names under cache_dir
    rescale = rescale or (-1.0, 1.0)
    key = version(pair)
    name = f"{y}@{scale}x-{color_map}-{rescale[0]:g}_{rescale[1]:g}.{fmt}"
    etag = hashlib.sha256(f"{earlier_id}/{key}/{z}/{x}/{name}".encode()).hexdigest()[:32]
    pair_dir = Path(cache_dir) / f"{int(earlier_id)}-{key}"
    tile_file = pair_dir / str(z) / str(x) / name
    if fmt in FORMATS and tile_file.is_file():
        return Tile(tile_file.read_bytes(), FORMATS[fmt][1], etag)
    content, media_type = render_tile(pair, z, x, y, scale, fmt, color_map, rescale)
    if not pair_dir.is_dir():
        _drop_other_versions(pair_dir, earlier_id)
    storage.write_atomically(tile_file, content)
    return Tile(content, media_type, etag)


def _drop_other_versions(pair_dir, earlier_id):
    """Remove the cached tiles of this pair's older versions."""
    if pair_dir.parent.is_dir():
        for other in pair_dir.parent.glob(f"{int(earlier_id)}-*"):
            if other != pair_dir:
                shutil.rmtree(other, ignore_errors=True)


# --- the volume gained and lost -----------------------------------------------------------------------------

def volume_change(pair, ring):
    """Volume gained (later above earlier), lost (below) and net inside a WGS84 ring, in m3, with the areas in m2.

    On the later DSM's full-resolution grid; the earlier DSM is warped onto it (bilinear), strip by strip.
    """
    with rasterio.open(pair.later) as later, rasterio.open(pair.earlier) as source:
        volumes.check_projected(later)
        xs, ys = transform_points("EPSG:4326", later.crs, [p[0] for p in ring], [p[1] for p in ring])
        points = numpy.column_stack([xs, ys])
        window = volumes.polygon_window(later, points)
        transform = later.window_transform(window)
        shape = (int(window.height), int(window.width))
        inside = rasterio.features.geometry_mask([volumes.projected_polygon(points)], shape, transform, invert=True)
        if not inside.any():
            raise ValidationError("The polygon is smaller than one pixel of the surface model.")
        with WarpedVRT(source, crs=later.crs, transform=later.transform, width=later.width, height=later.height,
                       resampling=Resampling.bilinear, nodata=numpy.nan, dtype="float32") as earlier:
            totals = _sum_change(later, earlier, window, inside)
        pixel_area = abs(later.res[0] * later.res[1])
    return _change_answer(totals, pixel_area, volumes.planar_area(points))


def _sum_change(later, earlier, window, inside):
    """Sums of the positive and negative differences over the pixels inside, strip by strip, and pixel counts."""
    totals = {"gained": 0.0, "lost": 0.0, "measured": 0, "missing": 0}
    for top in range(0, inside.shape[0], STRIP_ROWS):
        rows = slice(top, min(top + STRIP_ROWS, inside.shape[0]))
        mask = inside[rows]
        if not mask.any():
            continue
        strip = rasterio.windows.Window(window.col_off, window.row_off + top, window.width, rows.stop - rows.start)
        difference = (_heights(later, strip) - _heights(earlier, strip))[mask]
        measured = numpy.isfinite(difference)
        kept = difference[measured].astype(numpy.float64)
        totals["gained"] += float(kept[kept > 0].sum())
        totals["lost"] -= float(kept[kept < 0].sum())
        totals["measured"] += int(measured.sum())
        totals["missing"] += int((~measured).sum())
    return totals


def _change_answer(totals, pixel_area, area):
    """The answer: gained, lost and net (m3); the polygon's area and the areas measured and missing (m2)."""
    if not totals["measured"]:
        raise ValidationError("The two surface models have no data in common inside the polygon.")
    gained, lost = totals["gained"] * pixel_area, totals["lost"] * pixel_area
    return {"gained": round(gained, 3) + 0.0, "lost": round(lost, 3) + 0.0, "net": round(gained - lost, 3) + 0.0,
            "area": round(float(area), 3), "measured_area": round(totals["measured"] * pixel_area, 3),
            "missing_area": round(totals["missing"] * pixel_area, 3), "pixel_area": pixel_area}


# --- reading ---------------------------------------------------------------------------------------------------

def _heights(dataset, window):
    """Heights of a window as float32, nodata as NaN."""
    return dataset.read(1, window=window, masked=True, boundless=False).astype(numpy.float32).filled(numpy.nan)


def _common_bounds(later, earlier):
    """The WGS84 bounds both models cover; ValidationError when they do not overlap."""
    first = later.get_geographic_bounds(morecantile.models.WGS84_CRS)
    second = earlier.get_geographic_bounds(morecantile.models.WGS84_CRS)
    west, south = max(first[0], second[0]), max(first[1], second[1])
    east, north = min(first[2], second[2]), min(first[3], second[3])
    if west >= east or south >= north:
        raise ValidationError("The two surface models do not overlap: they are of different places.")
    return west, south, east, north


def _overview_grid(later, earlier):
    """The common area's bounds in the later model's CRS, and a grid size of at most STATISTICS_PIXELS a side
    (no finer than the later model) over it."""
    left, bottom, right, top = later.bounds
    e_left, e_bottom, e_right, e_top = transform_bounds(earlier.crs, later.crs, *earlier.bounds)
    left, bottom, right, top = max(left, e_left), max(bottom, e_bottom), min(right, e_right), min(top, e_top)
    if left >= right or bottom >= top:
        raise ValidationError("The two surface models do not overlap: they are of different places.")
    pixel = max((right - left) / STATISTICS_PIXELS, (top - bottom) / STATISTICS_PIXELS, abs(later.res[0]))
    return (left, bottom, right, top), max(1, round((right - left) / pixel)), max(1, round((top - bottom) / pixel))
