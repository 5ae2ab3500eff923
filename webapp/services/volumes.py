"""Volumes inside a polygon drawn on the map: the DSM at full resolution against a base surface.

The base is a plane fitted (least squares) to the DSM along the polygon's edge, a surface triangulated from the
edge, the edge's average, highest or lowest height (WebODM's methods), a flat base at a given height ("custom"),
or the DTM. Cut is the volume above the base (material to remove), fill the volume below it (room to fill), and
net = cut - fill; all in cubic metres, with the area in square metres.
"""
import numpy
import rasterio
import rasterio.features
import rasterio.windows
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform as transform_points
from scipy.interpolate import LinearNDInterpolator, NearestNDInterpolator

from webapp import storage
from webapp.services import workers
from webapp.services.errors import ServiceError, ValidationError
from webapp.services.tiles import LAYER_FILES

METHODS = ("plane", "triangulate", "average", "highest", "lowest", "custom", "dtm")
DEFAULT_METHOD = "triangulate"  # WebODM's default when a client sends none
MAX_VERTICES = 10000


def parse_area(area):
    """The outer ring of a GeoJSON Polygon (a Feature, or a bare geometry) as [(lon, lat), ...], not closed.

    ValidationError (field "area") for anything else: fewer than 3 distinct points, bad numbers, self-crossing.
    """
    geometry = area.get("geometry", area) if isinstance(area, dict) else None
    if not isinstance(geometry, dict) or geometry.get("type") != "Polygon":
        raise _area_error("Send a GeoJSON Polygon (or a Feature holding one) in WGS84 longitude, latitude.")
    rings = geometry.get("coordinates")
    if not isinstance(rings, list) or not rings or not isinstance(rings[0], list):
        raise _area_error("The polygon has no coordinates.")
    try:
        ring = [(float(point[0]), float(point[1])) for point in rings[0]]
    except (TypeError, ValueError, IndexError):
        raise _area_error("Each point must be [longitude, latitude] numbers.") from None
    if len(ring) > MAX_VERTICES:
        raise _area_error(f"The polygon has more than {MAX_VERTICES} points.")
    if not all(numpy.isfinite(value) for point in ring for value in point) or \
            not all(-180 <= lon <= 180 and -90 <= lat <= 90 for lon, lat in ring):
        raise _area_error("Coordinates must be longitudes and latitudes in degrees.")
    if len(ring) > 1 and ring[0] == ring[-1]:
        ring = ring[:-1]
    ring = [point for index, point in enumerate(ring) if index == 0 or point != ring[index - 1]]
    if len(set(ring)) < 3:
        raise _area_error("A polygon needs at least 3 distinct points.")
    if _self_crossing(ring):
        raise _area_error("The polygon crosses itself; draw its outline without crossings.")
    return ring


def check_method(method, base_height):
    """The base method (default WebODM's) and the flat base height it needs; ValidationError for bad ones."""
    method = (method or DEFAULT_METHOD).strip().lower()
    if method not in METHODS:
        raise ValidationError(field_errors={"method": [f"Unknown base method {method!r}; use one of "
                                                       f"{', '.join(METHODS)}."]})
    if method != "custom":
        return method, None
    try:
        height = float(base_height)
    except (TypeError, ValueError):
        height = float("nan")
    if not numpy.isfinite(height):
        raise ValidationError(field_errors={"base_height": ["The custom base needs its height in metres."]})
    return method, height


def measure(dsm_path, ring, method="plane", base_height=None, dtm_path=None):
    """Cut, fill and net volume inside a WGS84 ring, from the DSM at full resolution against the chosen base."""
    with rasterio.open(dsm_path) as dsm:
        check_projected(dsm)
        xs, ys = transform_points("EPSG:4326", dsm.crs, [p[0] for p in ring], [p[1] for p in ring])
        points = numpy.column_stack([xs, ys])
        window, surface = _read_window(dsm, points)
        transform = dsm.window_transform(window)
        inside = rasterio.features.geometry_mask([projected_polygon(points)], surface.shape, transform, invert=True)
        if not inside.any():
            raise ValidationError("The polygon is smaller than one pixel of the surface model.")
        edge = _edge_samples(surface, transform, points, dsm.res)
        if method == "triangulate":  # as WebODM: a surface through the polygon's corners
            edge = _samples(surface, transform, points)
        dtm = _open_dtm(dtm_path, dsm) if method == "dtm" else None
        try:
            base = _base_function(method, edge, transform, base_height, dtm, window)
            totals = _sum_strips(surface, inside, base)
        finally:
            if dtm is not None:
                dtm.close()
        pixel_area = abs(dsm.res[0] * dsm.res[1])
        return _answer(totals, pixel_area, points, method, edge)


STRIP_ROWS = 256  # rows of the window handled at once: bounds the memory of the base and the differences


def _sum_strips(surface, inside, base):
    """Sums over the pixels inside, strip by strip: volume above and below the base, pixels measured and not,
    and the base's lowest and highest height."""
    totals = {"above": 0.0, "below": 0.0, "measured": 0, "missing": 0, "low": numpy.inf, "high": -numpy.inf}
    for top in range(0, surface.shape[0], STRIP_ROWS):
        rows = slice(top, min(top + STRIP_ROWS, surface.shape[0]))
        mask = inside[rows]
        if not mask.any():
            continue
        base_heights = base(rows, mask)
        difference = surface[rows][mask] - base_heights
        measured = numpy.isfinite(difference)
        kept = difference[measured]
        totals["above"] += float(kept[kept > 0].sum())
        totals["below"] -= float(kept[kept < 0].sum())
        totals["measured"] += int(measured.sum())
        totals["missing"] += int((~measured).sum())
        if measured.any():
            totals["low"] = min(totals["low"], float(base_heights[measured].min()))
            totals["high"] = max(totals["high"], float(base_heights[measured].max()))
    return totals


# --- the polygon ------------------------------------------------------------------------------------------

def _area_error(message):
    """A ValidationError on the area field."""
    return ValidationError(field_errors={"area": [message]})


def _self_crossing(ring):
    """Whether two edges of the closed ring cross (edges sharing a corner do not count)."""
    edges = [(ring[i], ring[(i + 1) % len(ring)]) for i in range(len(ring))]
    for i, first in enumerate(edges):
        for j in range(i + 1, len(edges)):
            if j == i + 1 or (i == 0 and j == len(edges) - 1):
                continue  # neighbours share a corner
            if _segments_cross(*first, *edges[j]):
                return True
    return False


def _segments_cross(a, b, c, d):
    """Whether segments ab and cd intersect (touching included), by orientation tests."""
    def orientation(p, q, r):
        value = (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])
        return 0 if value == 0 else (1 if value > 0 else -1)

    def on_segment(p, q, r):
        return min(p[0], r[0]) <= q[0] <= max(p[0], r[0]) and min(p[1], r[1]) <= q[1] <= max(p[1], r[1])

    o1, o2, o3, o4 = orientation(a, b, c), orientation(a, b, d), orientation(c, d, a), orientation(c, d, b)
    if o1 != o2 and o3 != o4:
        return True
    return (o1 == 0 and on_segment(a, c, b)) or (o2 == 0 and on_segment(a, d, b)) or \
        (o3 == 0 and on_segment(c, a, d)) or (o4 == 0 and on_segment(c, b, d))


def projected_polygon(points):
    """A GeoJSON polygon of projected points."""
    ring = [tuple(point) for point in points]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


def planar_area(points):
    """The planar area of a ring of projected points."""
    x, y = points[:, 0], points[:, 1]
    return abs(numpy.dot(x, numpy.roll(y, -1)) - numpy.dot(y, numpy.roll(x, -1))) / 2


# --- reading the rasters ------------------------------------------------------------------------------------

def check_projected(dataset):
    """ValidationError unless the raster is in a projected CRS in metres (ODM writes UTM)."""
    if dataset.crs is None or not dataset.crs.is_projected:
        raise ValidationError("Volumes need a surface model in a projected coordinate system (metres).")
    unit, factor = dataset.crs.linear_units_factor
    if abs(factor - 1.0) > 1e-9:
        raise ValidationError(f"Volumes need a surface model in metres, not {unit}.")


def _read_window(dataset, points):
    """The DSM's full-resolution window around the polygon (one pixel of margin), nodata as NaN (float32)."""
    window = polygon_window(dataset, points)
    surface = dataset.read(1, window=window, masked=True).astype(numpy.float32).filled(numpy.nan)
    if numpy.isnan(surface).all():
        raise ValidationError("The surface model has no data inside the polygon.")
    return window, surface


def polygon_window(dataset, points):
    """The raster's full-resolution window around projected points (one pixel of margin), cut to the raster;
    ValidationError when they lie outside it."""
    west, south = points.min(axis=0)
    east, north = points.max(axis=0)
    margin_x, margin_y = dataset.res
    window = rasterio.windows.from_bounds(west - margin_x, south - margin_y, east + margin_x, north + margin_y,
                                          dataset.transform).round_offsets().round_lengths()
    full = rasterio.windows.Window(0, 0, dataset.width, dataset.height)
    try:
        return window.intersection(full)
    except rasterio.errors.WindowError:
        raise ValidationError("The polygon lies outside the surface model.") from None


def _open_dtm(dtm_path, dsm):
    """The DTM seen on the DSM's grid (resampled bilinearly when its grid differs)."""
    if dtm_path is None:
        raise ValidationError(field_errors={"method": ["This task has no terrain model (DTM)."]})
    source = rasterio.open(dtm_path)
    return WarpedVRT(source, crs=dsm.crs, transform=dsm.transform, width=dsm.width, height=dsm.height,
                     resampling=Resampling.bilinear)


def _edge_samples(surface, transform, points, resolution):
    """(x, y, z) of the DSM along the polygon's edge, about one sample per pixel."""
    step = min(abs(resolution[0]), abs(resolution[1]))
    samples = []
    for start, end in zip(points, numpy.roll(points, -1, axis=0)):
        count = max(2, int(numpy.ceil(numpy.hypot(*(end - start)) / step)) + 1)
        t = numpy.linspace(0.0, 1.0, count)[:-1]  # the next edge starts where this one ends
        samples.append(start + (end - start) * t[:, None])
    return _samples(surface, transform, numpy.concatenate(samples))


def _samples(surface, transform, xy):
    """(x, y, z) of the DSM's pixels under points, each pixel once, at its centre; nodata left out."""
    rows, columns = rasterio.transform.rowcol(transform, xy[:, 0], xy[:, 1], op=numpy.floor)
    rows = numpy.clip(numpy.asarray(rows, dtype=int), 0, surface.shape[0] - 1)
    columns = numpy.clip(numpy.asarray(columns, dtype=int), 0, surface.shape[1] - 1)
    # Each sample at its pixel's centre, where the pixel's height was measured; a pixel counts once.
    rows, columns = numpy.unique(numpy.column_stack([rows, columns]), axis=0).T
    z = surface[rows, columns]
    keep = numpy.isfinite(z)
    if keep.sum() < 3:
        raise ValidationError("The surface model has too little data along the polygon's edge to set a base on.")
    xs, ys = rasterio.transform.xy(transform, rows[keep], columns[keep], offset="center")
    return numpy.column_stack([xs, ys, z[keep]])


# --- the base and the volumes -----------------------------------------------------------------------------

def _pixel_centres(transform, rows, width):
    """x and y grids of the pixel centres of some rows of the window."""
    columns = numpy.arange(width) + 0.5
    lines = numpy.arange(rows.start, rows.stop)[:, None] + 0.5
    a, b, c, d, e, f = transform[:6]
    return a * columns + b * lines + c, d * columns + e * lines + f


def _base_function(method, edge, transform, base_height, dtm, window):
    """A function (rows, mask) -> the base height under each pixel inside those rows of the window."""
    heights = edge[:, 2]
    flat = {"average": heights.mean(), "highest": heights.max(), "lowest": heights.min(), "custom": base_height}
    if method in flat:
        return lambda rows, mask: numpy.full(int(mask.sum()), float(flat[method]))
    if method == "dtm":
        def from_dtm(rows, mask):
            part = rasterio.windows.Window(window.col_off, window.row_off + rows.start, window.width,
                                           rows.stop - rows.start)
            return dtm.read(1, window=part, masked=True).astype(numpy.float64).filled(numpy.nan)[mask]
        return from_dtm
    centre = edge[:, :2].mean(axis=0)  # fit in local coordinates: UTM's large numbers cost precision
    local = edge[:, :2] - centre
    if method == "plane":
        design = numpy.column_stack([local, numpy.ones(len(edge))])
        (slope_x, slope_y, height), *_ = numpy.linalg.lstsq(design, heights, rcond=None)

        def on_plane(rows, mask):
            xs, ys = _pixel_centres(transform, rows, mask.shape[1])
            return (height + slope_x * (xs - centre[0]) + slope_y * (ys - centre[1]))[mask]
        return on_plane
    linear, nearest = LinearNDInterpolator(local, heights), NearestNDInterpolator(local, heights)

    def triangulated(rows, mask):
        xs, ys = _pixel_centres(transform, rows, mask.shape[1])
        xs, ys = (xs - centre[0])[mask], (ys - centre[1])[mask]
        base = linear(xs, ys)
        outside = numpy.isnan(base)  # centres just outside the corners' hull take the nearest corner's height
        if outside.any():
            base[outside] = nearest(xs[outside], ys[outside])
        return base
    return triangulated


def _answer(totals, pixel_area, points, method, edge):
    """The answer: cut, fill, net (m3), the area (m2) and the base used."""
    above, below = totals["above"] * pixel_area, totals["below"] * pixel_area
    described = {"method": method, "edge_samples": int(len(edge))}
    if totals["measured"]:
        described.update({"min_height": round(totals["low"], 3), "max_height": round(totals["high"], 3)})
    return {
        "cut": round(above, 3) + 0.0, "fill": round(below, 3) + 0.0, "net": round(above - below, 3) + 0.0,
        "area": round(float(planar_area(points)), 3),
        "measured_area": round(totals["measured"] * pixel_area, 3),
        "missing_area": round(totals["missing"] * pixel_area, 3),
        "pixel_area": pixel_area, "base": described,
    }


def task_volume(project_id, task_id, ring, method, base_height):
    """The volume job's answer for a task: WebODM's {"output": |net|} with the details in "volume", or an error."""
    assets = storage.assets_dir(project_id, task_id)
    dtm = assets / LAYER_FILES["dtm"]
    try:
        found = measure(assets / LAYER_FILES["dsm"], ring, method, base_height, dtm if dtm.is_file() else None)
    except ServiceError as error:
        return {"error": workers.error_text(error)}
    except rasterio.errors.RasterioIOError:
        return {"error": "The surface model could not be read; it may have been replaced. Try again."}
    return {"output": abs(found["net"]), "volume": found}
