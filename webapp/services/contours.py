"""Contour lines of a task's DSM or DTM, as WebODM's contours plugin makes them: at an interval, simplified,
reprojected to an EPSG, written as GeoPackage, DXF, GeoJSON or a zipped ESRI Shapefile with each line's `level` (and
its height as Z).

Lines come from contourpy's marching squares on the DEM (decimated to MAX_PIXELS on its longer side), lines
shorter than MIN_LENGTH are left out, and simplification is Douglas-Peucker with a tolerance in metres.
"""
import struct
import tempfile
import zipfile
from pathlib import Path
from typing import NamedTuple

import contourpy
import numpy
import pyogrio.raw
import rasterio
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from rasterio.enums import Resampling

from webapp import storage
from webapp.services import workers
from webapp.services.errors import ServiceError, ValidationError
from webapp.services.tiles import LAYER_FILES

SHAPEFILE = "ESRI Shapefile"  # WebODM's name of the format; the file is a zip of the shapefile's parts
FORMATS = {"GPKG": ("GPKG", "gpkg"), "DXF": ("DXF", "dxf"), "GeoJSON": ("GeoJSON", "geojson"),
           SHAPEFILE: (SHAPEFILE, "zip")}
FORMAT_ALIASES = {"SHP": SHAPEFILE, "SHAPEFILE": SHAPEFILE}
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
ESTIMATE_PIXELS = 1024  # the overview read that counts a request's levels before its job starts
DEFAULT_EPSG = 3857  # WebODM's default
MAX_PIXELS = 4000
MIN_LENGTH = 10.0  # metres, as WebODM
MAX_LEVELS = 1000
LINESTRING_Z = 1002  # ISO WKB


class ContourRequest(NamedTuple):
    """A checked contours request."""

    layer: str
    interval: float
    simplify: float
    format: str
    epsg: int


def check_request(data, assets_dir):
    """A ContourRequest from WebODM's fields (layer DSM or DTM, interval, simplify, format, epsg); ValidationError
    naming the field for bad ones, and for an interval that would make more than MAX_LEVELS levels."""
    layer = str(data.get("layer") or "DSM").strip().lower()
    if layer not in ("dsm", "dtm"):
        raise ValidationError(field_errors={"layer": [f"{data.get('layer')!r} is not a valid layer: use DSM or DTM."]})
    if not (assets_dir / LAYER_FILES[layer]).is_file():
        raise ValidationError(field_errors={"layer": [f"No {layer.upper()} layer is available."]})
    interval = _number(data, "interval", 1.0)
    simplify = _number(data, "simplify", 0.01, allow_zero=True)
    export_format = str(data.get("format") or "GPKG").strip()
    export_format = FORMAT_ALIASES.get(export_format.upper(), export_format)
    if export_format not in FORMATS:
        raise ValidationError(field_errors={"format": [f"Invalid format {export_format!r}; use one of "
                                                       f"{', '.join(FORMATS)}."]})
    try:
        epsg = int(data.get("epsg") or DEFAULT_EPSG)
        CRS.from_epsg(epsg)
    except (TypeError, ValueError, CRSError):
        raise ValidationError(field_errors={"epsg": [f"Unknown EPSG code {data.get('epsg')!r}."]}) from None
    _check_level_count(assets_dir / LAYER_FILES[layer], interval)
    return ContourRequest(layer, interval, simplify, export_format, epsg)


def _check_level_count(dem_path, interval):
    """ValidationError (field interval) when the DEM's range, from a small overview read, needs too many levels."""
    with rasterio.open(dem_path) as dem:
        factor = max(1.0, max(dem.width, dem.height) / ESTIMATE_PIXELS)
        shape = (max(1, round(dem.height / factor)), max(1, round(dem.width / factor)))
        # Nearest keeps real heights: an average would shrink the range and let a few too many levels through.
        heights = dem.read(1, out_shape=shape, masked=True, resampling=Resampling.nearest).astype(numpy.float64)
    heights.mask = numpy.ma.getmaskarray(heights) | ~numpy.isfinite(heights.data)
    if not heights.mask.all():
        _levels(heights, interval)


def file_name(task, request):
    """The file's name: the task's name, contours, the extension."""
    base = "".join(c if c.isalnum() or c in "-_" else "-" for c in (task.name or f"task-{task.id}")).strip("-")
    return f"{base or 'task'}-{request.layer}-contours.{FORMATS[request.format][1]}"


def make(project_id, task_id, request, name, key):
    """The contours job: write the file in the task's export folder; {"file", "filename"} or {"error"}."""
    request = ContourRequest(*request)
    folder = storage.task_dir(project_id, task_id) / "cache" / "exports" / \
        "".join(c for c in str(key) if c.isalnum() or c == "-")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    try:
        lines, crs = contour_lines(storage.assets_dir(project_id, task_id) / LAYER_FILES[request.layer], request)
        write(target, lines, crs, request)
    except ServiceError as error:
        return {"error": workers.error_text(error)}
    return {"file": str(target), "filename": name}


def contour_lines(dem_path, request):
    """[(level, xyz array)] of the DEM's contour lines in the asked EPSG, and that CRS."""
    with rasterio.open(dem_path) as dem:
        heights, transform = _read(dem)
        source_crs = dem.crs
    levels = _levels(heights, request.interval)
    generator = contourpy.contour_generator(z=heights, line_type=contourpy.LineType.Separate)
    to_target = Transformer.from_crs(source_crs, CRS.from_epsg(request.epsg), always_xy=True)
    found = []
    for level in levels:
        for line in generator.lines(level):
            xs, ys = transform * (line[:, 0] + 0.5, line[:, 1] + 0.5)  # pixel indices to the pixels' centres
            xy = numpy.column_stack([xs, ys])
            if _length(xy) < MIN_LENGTH:
                continue
            if request.simplify > 0:
                xy = _simplify(xy, request.simplify)
            x, y = to_target.transform(xy[:, 0], xy[:, 1])
            found.append((float(level), numpy.column_stack([x, y, numpy.full(len(x), level)])))
    return found, CRS.from_epsg(request.epsg)


def write(target, lines, crs, request):
    """Write the lines with their level as GeoPackage, DXF, GeoJSON or a zipped shapefile."""
    target.unlink(missing_ok=True)
    if not lines:
        raise ValidationError("No contour line at this interval: the model's heights span less than it.")
    driver = FORMATS[request.format][0]
    if driver == SHAPEFILE:
        _write_shapefile_zip(target, lines, crs)
    else:
        _write_layer(target, lines, crs, driver)


def _write_layer(target, lines, crs, driver):
    """One file of the lines through GDAL's OGR driver, each line's level as a field (and as its Z)."""
    geometry = numpy.array([_wkb(xyz) for _, xyz in lines], dtype=object)
    levels = numpy.array([level for level, _ in lines], dtype=numpy.float64)
    # DXF has no attribute table: there the height is each line's Z.
    fields = {"field_data": [], "fields": []} if driver == "DXF" else {"field_data": [levels], "fields": ["level"]}
    pyogrio.raw.write(str(target), geometry, geometry_type="LineString Z", crs=crs.to_wkt(), driver=driver,
                      layer="contours", **fields)


def _write_shapefile_zip(target, lines, crs):
    """A zip of the shapefile's .shp, .shx, .dbf, .prj and .cpg, named as the zip: how GIS users exchange them."""
    with tempfile.TemporaryDirectory(dir=target.parent) as folder:
        shapefile = Path(folder) / f"{target.stem}.shp"
        _write_layer(shapefile, lines, crs, SHAPEFILE)
        temp = Path(folder) / target.name
        with zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as archive:
            for suffix in SHAPEFILE_PARTS:
                part = shapefile.with_suffix(suffix)
                if part.is_file():
                    archive.write(part, part.name)
        temp.replace(target)


def _number(data, name, default, allow_zero=False):
    """A positive number field (zero allowed when asked), or ValidationError naming it."""
    value = data.get(name)
    try:
        number = default if value in (None, "") else float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not numpy.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        raise ValidationError(field_errors={name: ["Use a positive number of metres."]})
    return number


def _read(dem):
    """The DEM's heights (masked) and their transform, decimated to MAX_PIXELS on the longer side."""
    factor = max(1.0, max(dem.width, dem.height) / MAX_PIXELS)
    shape = (max(1, round(dem.height / factor)), max(1, round(dem.width / factor)))
    heights = dem.read(1, out_shape=shape, masked=True, resampling=Resampling.average).astype(numpy.float64)
    heights.mask = numpy.ma.getmaskarray(heights) | ~numpy.isfinite(heights.data)
    transform = dem.transform * dem.transform.scale(dem.width / shape[1], dem.height / shape[0])
    return heights, transform


def _levels(heights, interval):
    """The contour heights: multiples of interval within the DEM's range."""
    if heights.mask.all():
        raise ValidationError("The elevation model has no data.")
    low, high = float(heights.min()), float(heights.max())
    first, last = numpy.ceil(low / interval), numpy.floor(high / interval)
    if last - first + 1 > MAX_LEVELS:
        raise ValidationError(field_errors={"interval": [
            f"That interval makes more than {MAX_LEVELS} levels over {low:.1f}..{high:.1f} m; use a larger one."]})
    return [float(k * interval) for k in numpy.arange(first, last + 1)]


def _length(xy):
    """The length of a polyline."""
    return float(numpy.hypot(*numpy.diff(xy, axis=0).T).sum())


def _simplify(xy, tolerance):
    """Douglas-Peucker: the points that keep the line within tolerance of the original."""
    keep = numpy.zeros(len(xy), dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, len(xy) - 1)]
    while stack:
        first, last = stack.pop()
        if last - first < 2:
            continue
        start, end = xy[first], xy[last]
        inner = xy[first + 1:last]
        direction = end - start
        norm = numpy.hypot(*direction)
        if norm == 0:  # a closed ring: distances to the start point
            distances = numpy.hypot(*(inner - start).T)
        else:
            distances = numpy.abs(direction[0] * (inner[:, 1] - start[1]) - direction[1] * (inner[:, 0] - start[0]))
            distances /= norm
        farthest = int(numpy.argmax(distances))
        if distances[farthest] > tolerance:
            middle = first + 1 + farthest
            keep[middle] = True
            stack += [(first, middle), (middle, last)]
    return xy[keep]


def _wkb(xyz):
    """ISO WKB of a LineString Z."""
    return struct.pack("<BII", 1, LINESTRING_Z, len(xyz)) + numpy.ascontiguousarray(xyz, dtype="<f8").tobytes()
