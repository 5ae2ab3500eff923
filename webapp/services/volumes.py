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
from rasterio.warp import transform as transform_points
from scipy.interpolate import griddata

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
        _check_projected(dsm)
        xs, ys = transform_points("EPSG:4326", dsm.crs, [p[0] for p in ring], [p[1] for p in ring])
        points = numpy.column_stack([xs, ys])
        window, surface = _read_window(dsm, points)
        transform = dsm.window_transform(window)
        inside = rasterio.features.geometry_mask([_polygon(points)], surface.shape, transform, invert=True)
        if not inside.any():
            raise ValidationError("The polygon is smaller than one pixel of the surface model.")
        edge = _edge_samples(surface, transform, points, dsm.res)
        if method == "triangulate":  # as WebODM: a surface through the polygon's corners
            edge = _samples(surface, transform, points)
        if method == "dtm":
            base = _read_dtm(dtm_path, dsm, window, surface.shape)[inside]
        else:
            base = _base_heights(method, edge, _pixel_centres(inside, transform), base_height)
        pixel_area = abs(dsm.res[0] * dsm.res[1])
        return _volumes(surface[inside], base, pixel_area, points, method, edge)


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


def _polygon(points):
    """A GeoJSON polygon of projected points."""
    ring = [tuple(point) for point in points]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


def _shoelace_area(points):
    """The planar area of a ring of projected points."""
    x, y = points[:, 0], points[:, 1]
    return abs(numpy.dot(x, numpy.roll(y, -1)) - numpy.dot(y, numpy.roll(x, -1))) / 2


# --- reading the rasters ------------------------------------------------------------------------------------

def _check_projected(dataset):
    """ValidationError unless the raster is in a projected CRS in metres (ODM writes UTM)."""
    if dataset.crs is None or not dataset.crs.is_projected:
        raise ValidationError("Volumes need a surface model in a projected coordinate system (metres).")
    unit, factor = dataset.crs.linear_units_factor
    if abs(factor - 1.0) > 1e-9:
        raise ValidationError(f"Volumes need a surface model in metres, not {unit}.")


def _read_window(dataset, points):
    """The DSM's full-resolution window around the polygon (one pixel of margin), nodata as NaN."""
    west, south = points.min(axis=0)
    east, north = points.max(axis=0)
    margin_x, margin_y = dataset.res
    window = rasterio.windows.from_bounds(west - margin_x, south - margin_y, east + margin_x, north + margin_y,
                                          dataset.transform).round_offsets().round_lengths()
    full = rasterio.windows.Window(0, 0, dataset.width, dataset.height)
    try:
        window = window.intersection(full)
    except rasterio.errors.WindowError:
        raise ValidationError("The polygon lies outside the surface model.") from None
    surface = dataset.read(1, window=window, masked=True).astype(numpy.float64).filled(numpy.nan)
    if numpy.isnan(surface).all():
        raise ValidationError("The surface model has no data inside the polygon.")
    return window, surface


def _read_dtm(dtm_path, dsm, window, shape):
    """The DTM on the DSM's grid over the window (resampled bilinearly when its grid differs)."""
    if dtm_path is None:
        raise ValidationError(field_errors={"method": ["This task has no terrain model (DTM)."]})
    from rasterio.vrt import WarpedVRT
    bounds = rasterio.windows.bounds(window, dsm.transform)
    with rasterio.open(dtm_path) as dtm, WarpedVRT(dtm, crs=dsm.crs, transform=dsm.transform, width=dsm.width,
                                                  height=dsm.height, resampling=rasterio.enums.Resampling.bilinear) as vrt:
        values = vrt.read(1, window=vrt.window(*bounds), out_shape=shape, masked=True)
    return values.astype(numpy.float64).filled(numpy.nan)


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

def _pixel_centres(inside, transform):
    """x and y of the centres of the pixels inside the polygon (1-D arrays, in the order of array[inside])."""
    rows, columns = numpy.nonzero(inside)
    xs, ys = rasterio.transform.xy(transform, rows, columns, offset="center")
    return numpy.asarray(xs), numpy.asarray(ys)


def _base_heights(method, edge, centres, base_height):
    """The base height under each pixel centre inside the polygon, for a method other than the DTM."""
    heights = edge[:, 2]
    xs, ys = centres
    flat = {"average": heights.mean(), "highest": heights.max(), "lowest": heights.min(), "custom": base_height}
    if method in flat:
        return numpy.full(xs.shape, float(flat[method]))
    centre = edge[:, :2].mean(axis=0)  # fit in local coordinates: UTM's large numbers cost precision
    if method == "plane":
        design = numpy.column_stack([edge[:, 0] - centre[0], edge[:, 1] - centre[1], numpy.ones(len(edge))])
        (slope_x, slope_y, height), *_ = numpy.linalg.lstsq(design, heights, rcond=None)
        return slope_x * (xs - centre[0]) + slope_y * (ys - centre[1]) + height
    local = (xs - centre[0], ys - centre[1])
    base = griddata(edge[:, :2] - centre, heights, local, method="linear")
    outside = numpy.isnan(base)  # pixel centres just outside the samples' hull take the nearest sample's height
    if outside.any():
        base[outside] = griddata(edge[:, :2] - centre, heights, (local[0][outside], local[1][outside]),
                                 method="nearest")
    return base


def _volumes(surface, base, pixel_area, points, method, edge):
    """The answer: cut, fill, net (m3), the area (m2) and the base used (surface and base: the pixels inside)."""
    difference = surface - base
    measured = numpy.isfinite(difference)
    above = difference[measured & (difference > 0)].sum() * pixel_area + 0.0  # + 0.0: no -0.0 in answers
    below = -difference[measured & (difference < 0)].sum() * pixel_area + 0.0
    base_inside = base[measured]
    described = {"method": method, "edge_samples": int(len(edge))}
    if base_inside.size:
        described.update({"min_height": round(float(base_inside.min()), 3),
                          "max_height": round(float(base_inside.max()), 3)})
    return {
        "cut": round(float(above), 3), "fill": round(float(below), 3), "net": round(float(above - below), 3),
        "area": round(float(_shoelace_area(points)), 3),
        "measured_area": round(float(measured.sum() * pixel_area), 3),
        "missing_area": round(float((~measured).sum() * pixel_area), 3),
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
