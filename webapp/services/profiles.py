"""Elevation profiles: the DSM's and DTM's heights along a line drawn on the map, at evenly spaced points."""
import numpy
import rasterio
from rasterio.warp import transform as transform_points

from webapp.services.errors import ValidationError
from webapp.services.tiles import LAYER_FILES

DEFAULT_SAMPLES = 200
MAX_SAMPLES = 2000
MAX_VERTICES = 1000


def parse_line(line):
    """The points of a GeoJSON LineString (a Feature, or a bare geometry) as [(lon, lat), ...].

    ValidationError (field "line") unless it has two distinct points or more, in degrees.
    """
    geometry = line.get("geometry", line) if isinstance(line, dict) else None
    if not isinstance(geometry, dict) or geometry.get("type") != "LineString":
        raise _line_error("Send a GeoJSON LineString (or a Feature holding one) in WGS84 longitude, latitude.")
    try:
        points = [(float(point[0]), float(point[1])) for point in geometry.get("coordinates") or []]
    except (TypeError, ValueError, IndexError):
        raise _line_error("Each point must be [longitude, latitude] numbers.") from None
    if len(points) > MAX_VERTICES:
        raise _line_error(f"The line has more than {MAX_VERTICES} points.")
    if not all(numpy.isfinite(v) for point in points for v in point) or \
            not all(-180 <= lon <= 180 and -90 <= lat <= 90 for lon, lat in points):
        raise _line_error("Coordinates must be longitudes and latitudes in degrees.")
    if len(set(points)) < 2:
        raise _line_error("A profile needs a line of two distinct points or more.")
    return points


def check_samples(value):
    """The number of points along the line: DEFAULT_SAMPLES, or 2 to MAX_SAMPLES."""
    if value in (None, ""):
        return DEFAULT_SAMPLES
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if not 2 <= number <= MAX_SAMPLES:
        raise ValidationError(field_errors={"samples": [f"Use a whole number from 2 to {MAX_SAMPLES}."]})
    return number


def profile(assets_dir, points, samples=DEFAULT_SAMPLES):
    """Heights of the DSM and the DTM (None where a model is absent or has no data) along the line.

    Answers {"length": m, "distance": [m], "points": [[lon, lat]], "dsm": [...], "dtm": [...]}; the distances
    are measured in the first model's projected CRS.
    """
    models = {layer: assets_dir / LAYER_FILES[layer] for layer in ("dsm", "dtm")}
    present = {layer: path for layer, path in models.items() if path.is_file()}
    if not present:
        raise ValidationError("This task has no elevation model (DSM or DTM) to draw a profile from.")
    with rasterio.open(next(iter(present.values()))) as first:
        crs = first.crs
    xs, ys = transform_points("EPSG:4326", crs, [p[0] for p in points], [p[1] for p in points])
    along, sample_x, sample_y = _spaced(numpy.array(xs), numpy.array(ys), samples)
    lons, lats = transform_points(crs, "EPSG:4326", sample_x.tolist(), sample_y.tolist())
    answer = {"length": round(float(along[-1]), 3), "distance": [round(float(d), 3) for d in along],
              "points": [[round(lon, 8), round(lat, 8)] for lon, lat in zip(lons, lats)]}
    for layer in ("dsm", "dtm"):
        answer[layer] = _heights(present[layer], crs, sample_x, sample_y) if layer in present else None
    return answer


def _line_error(message):
    """A ValidationError on the line field."""
    return ValidationError(field_errors={"line": [message]})


def _spaced(xs, ys, samples):
    """Distances along the line and the x, y of `samples` points evenly spaced on it, ends included."""
    steps = numpy.hypot(numpy.diff(xs), numpy.diff(ys))
    cumulative = numpy.concatenate([[0.0], numpy.cumsum(steps)])
    along = numpy.linspace(0.0, cumulative[-1], samples)
    return along, numpy.interp(along, cumulative, xs), numpy.interp(along, cumulative, ys)


def _heights(path, crs, xs, ys):
    """The model's height under each point (nearest pixel), None outside it or where it has no data."""
    with rasterio.open(path) as dataset:
        if dataset.crs != crs:
            xs, ys = (numpy.array(v) for v in transform_points(crs, dataset.crs, xs.tolist(), ys.tolist()))
        values = [value[0] for value in dataset.sample(zip(xs, ys), indexes=1, masked=True)]
    return [None if numpy.ma.is_masked(value) or not numpy.isfinite(value) else round(float(value), 3)
            for value in values]
