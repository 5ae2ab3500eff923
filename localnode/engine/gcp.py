"""Ground control points: reading ODM's GCP file, and placing the model on the points' surveyed positions.

The file (ODM's format, as WebODM's GCP tools write it): the first line is the coordinate system of the points
(`EPSG:32615`, `WGS84 UTM 15N`, a proj string...), then one line per sighting of a point in a photo:
`x y z pixel_x pixel_y image_name [point_name] [anything else]`. Pixels count from the photo's top-left corner,
in the photo as uploaded. Sightings of one point share its name, or its coordinates when it has none.
"""
import re

import numpy as np
import pycolmap
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from localnode.engine.console import EngineError, warn

NODE_TEXT_FILES = ("geo.txt", "image_groups.txt")  # text files NodeODM gives other meanings
PREFERRED_NAME = "gcp_list.txt"
UTM_WORDS = re.compile(r"^WGS84\s+UTM\s+(\d{1,2})\s*([NS])$", re.IGNORECASE)  # ODM's own way to name a zone
MIN_SIGHTINGS = 2        # a point seen in fewer photos cannot be placed in 3D
MIN_POINTS_FOR_SIMILARITY = 3  # fewer points only shift the model


def find_gcp_file(input_dir):
    """The task's GCP file among its uploaded .txt files (gcp_list.txt first), or None."""
    candidates = sorted(p for p in input_dir.glob("*.txt") if p.name.lower() not in NODE_TEXT_FILES)
    preferred = [p for p in candidates if p.name.lower() == PREFERRED_NAME]
    return (preferred or candidates or [None])[0]


def read_gcp_file(path, frame, images):
    """The control points of the file, in the task's local frame, with their sightings in the working images.

    Returns [{"name", "x", "y", "z", "sightings": [{"image", "u", "v"}]}]. Sightings in photos that are not in
    the task are left out with a warning; a file that cannot be read raises EngineError.
    """
    lines = _content_lines(path)
    if not lines:
        raise EngineError(f"{path.name} is empty: a GCP file starts with its coordinate system (for example "
                          "EPSG:32615), then one line per point seen in a photo: x y z pixel_x pixel_y image.")
    to_local = _transformer(path.name, lines[0][1], frame)
    by_name = {i["name"]: i for i in images}
    points, unknown_images = {}, set()
    for number, line in lines[1:]:
        x, y, z, px, py, image_name, label = _parse_line(path.name, number, line)
        image = by_name.get(image_name)
        if image is None:
            unknown_images.add(image_name)
            continue
        e, n = to_local.transform(x, y)
        key = label or f"{x} {y} {z}"
        point = points.setdefault(key, {"name": label or f"point at {x:g}, {y:g}", "x": e - frame.origin[0],
                                         "y": n - frame.origin[1], "z": z - frame.origin[2], "sightings": []})
        scale = image["width"] / image["orig_width"]  # the file's pixels are those of the uploaded photo
        point["sightings"].append({"image": image_name, "u": px * scale, "v": py * scale})
    if unknown_images:
        warn("dataset", f"{path.name}: {len(unknown_images)} photo name(s) not among the usable photos, their "
                        f"sightings are left out: {', '.join(sorted(unknown_images)[:5])}")
    return list(points.values())


def _content_lines(path):
    """(line number, text) of the lines that are not blank or comments."""
    text = path.read_text(errors="replace")
    lines = [(number, line.split("#")[0].strip()) for number, line in enumerate(text.splitlines(), start=1)]
    return [(number, line) for number, line in lines if line]


def _transformer(file_name, crs_text, frame):
    """A transformer from the file's coordinate system to the task's UTM zone; EngineError when unknown."""
    words = UTM_WORDS.match(crs_text)
    try:
        if words:
            zone, hemisphere = int(words.group(1)), words.group(2).upper()
            crs = CRS.from_epsg((32600 if hemisphere == "N" else 32700) + zone)
        else:
            crs = CRS.from_user_input(crs_text)
    except CRSError:
        raise EngineError(f"{file_name}: the first line must name the points' coordinate system (for example "
                          f"EPSG:32615 or WGS84 UTM 15N), not \"{crs_text[:80]}\".") from None
    return Transformer.from_crs(crs, frame.crs, always_xy=True)


def _parse_line(file_name, number, line):
    """(x, y, z, pixel_x, pixel_y, image name, point name or None) of one line; EngineError when malformed."""
    parts = line.split()
    try:
        if len(parts) < 6:
            raise ValueError
        x, y, z, px, py = (float(v) for v in parts[:5])
    except ValueError:
        raise EngineError(f"{file_name}, line {number}: expected x y z pixel_x pixel_y image_name, "
                          f"got \"{line[:80]}\".") from None
    return x, y, z, px, py, parts[5], (parts[6] if len(parts) > 6 else None)


def place_on_control_points(rec, points):
    """Move the model onto the control points; figures of the fit (None when no point could be placed).

    With three points or more, a similarity (scale, rotation, shift) fitted on them; with one or two, a shift.
    The points then override GPS, as in ODM: surveyed points are what a user brings GCPs for.
    """
    placed = []
    for point in points:
        xyz = _triangulate(rec, point)
        if xyz is None:
            warn("opensfm", f"Control point {point['name']} is seen in fewer than {MIN_SIGHTINGS} placed photos: "
                            "it is left out")
        else:
            placed.append((point, xyz))
    if not placed:
        return None
    model = np.array([xyz for _, xyz in placed])
    surveyed = np.array([[p["x"], p["y"], p["z"]] for p, _ in placed])
    similarity = len(placed) >= MIN_POINTS_FOR_SIMILARITY and _spread_in_two_directions(surveyed)
    if similarity:
        transform = fit_similarity(model, surveyed)
    else:
        transform = pycolmap.Sim3d(1.0, pycolmap.Rotation3d(), np.mean(surveyed - model, axis=0))
    rec.transform(transform)
    return {"gcp_count": len(placed), "gcp_similarity": similarity, "gcp_rms_before_m": _rms(model - surveyed),
            "gcp_rms_m": _rms(transform * model - surveyed)}


def _triangulate(rec, point):
    """The point where the rays of its sightings in placed photos meet best (least squares), or None."""
    placed = {rec.image(i).name: rec.image(i) for i in rec.reg_image_ids()}
    centers, directions = [], []
    for sighting in point["sightings"]:
        image = placed.get(sighting["image"])
        if image is None:
            continue
        ray = np.append(image.camera.cam_from_img(np.array([[sighting["u"], sighting["v"]]]))[0], 1.0)
        world = image.cam_from_world().rotation.matrix().T @ ray
        centers.append(image.projection_center())
        directions.append(world / np.linalg.norm(world))
    if len(centers) < MIN_SIGHTINGS:
        return None
    normal_sum, target = np.zeros((3, 3)), np.zeros(3)
    for center, direction in zip(centers, directions):
        across = np.eye(3) - np.outer(direction, direction)  # projects onto the plane across the ray
        normal_sum += across
        target += across @ center
    if np.linalg.cond(normal_sum) > 1e8:  # rays (nearly) parallel: no crossing point
        return None
    return np.linalg.solve(normal_sum, target)


def fit_similarity(src, dst):
    """The similarity dst ~ s R src + t by least squares (Umeyama), as a pycolmap.Sim3d."""
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - mu_s, dst - mu_d
    u, sigma, vt = np.linalg.svd(b.T @ a / len(src))
    d = np.eye(3)
    d[2, 2] = np.sign(np.linalg.det(u @ vt)) or 1.0
    rotation = u @ d @ vt
    var = (a ** 2).sum() / len(src)
    scale = float(np.trace(np.diag(sigma) @ d) / var) if var > 0 else 1.0
    translation = mu_d - scale * rotation @ mu_s
    return pycolmap.Sim3d(scale, pycolmap.Rotation3d(rotation), translation)


def _spread_in_two_directions(xyz, min_ratio=0.1):
    """True when the points are not (nearly) on one line, so that they fix a rotation."""
    _, spread, _ = np.linalg.svd(xyz - xyz.mean(axis=0))
    return bool(len(spread) >= 2 and spread[1] > min_ratio * spread[0])


def _rms(residuals):
    """Root mean square length of residual vectors."""
    return float(np.sqrt(np.mean(np.sum(residuals ** 2, axis=1))))


def control_point_errors(rec, points):
    """Per control point, where the placed model puts it minus its surveyed position: [{"name", "sightings",
    "error": [east, north, up] in metres, or None when fewer than two placed photos see it}] (for the report)."""
    errors = []
    for point in points:
        xyz = _triangulate(rec, point)
        error = None if xyz is None else [float(v) for v in xyz - [point["x"], point["y"], point["z"]]]
        errors.append({"name": point["name"], "sightings": len(point["sightings"]), "error": error})
    return errors
