"""The figures of the quality report (odm_report/report.pdf), gathered from what the earlier stages left.

Everything here reads: the photos' metadata (dataset.json), the stages' figures (work/<stage>.done.json), the
SfM model and its COLMAP database (features and verified matches per photo), the orthophoto and the surface
model. Stages that did not run (end-with, fast-orthophoto) leave their parts of the report out.
"""
import datetime

import numpy as np
import pycolmap
import rasterio
from rasterio.enums import Resampling

from localnode.engine.gcp import control_point_errors
from localnode.engine.options import ENGINE_NAME, ENGINE_VERSION, OPTIONS, STAGES
from localnode.engine.stages.dem import load_surface
from localnode.engine.texturing import Photo
from localnode.engine.workspace import read_json

ORTHOPHOTO = "odm_orthophoto/odm_orthophoto.tif"
DSM = "odm_dem/dsm.tif"
PREVIEW_PX = 1000          # longest side of the previews embedded in the PDF
OVERLAP_CELLS = 120        # cells along the longest side of the overlap map
# Elevation colours of the DSM preview, low to high (a terrain ramp: blue-green lowlands to brown-white heights).
ELEVATION_RAMP = np.array([[44, 123, 182], [0, 166, 120], [171, 221, 164], [255, 255, 191], [253, 174, 97],
                           [215, 25, 28], [255, 255, 255]], np.float32)


def collect(ws, rec, images, frame, stats, options):
    """The report's figures: a dict of plain numbers and strings, plus preview images (numpy arrays)."""
    by_name = {i["name"]: i for i in images}
    dataset = read_json(ws.dataset_json)
    figures = {
        "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "engine": f"{ENGINE_NAME} {ENGINE_VERSION}",
        "crs": f"EPSG:{frame.epsg}",
        "options": changed_options(options),
        "dataset": dataset_summary(images, dataset.get("skipped", []), stats),
        "reconstruction": reconstruction_summary(stats),
        "cameras": camera_models(rec),
        "times": [(stage, stats[stage]["seconds"]) for stage in STAGES if "seconds" in stats.get(stage, {})],
        "photos": photo_rows(ws, rec, by_name),
        "gcps": control_point_errors(rec, dataset.get("gcps") or []),
        "gcp_fit": {k: v for k, v in stats.get("opensfm", {}).items() if k.startswith("gcp_")},
        "orthophoto": raster_preview(ws.results / ORTHOPHOTO, colour=True),
        "dsm": raster_preview(ws.results / DSM, colour=False),
        "overlap": overlap_map(ws, rec, by_name, stats),
    }
    figures["gps"] = gps_error_table(figures["photos"])
    return figures


def changed_options(options):
    """The options that differ from the engine's defaults, as 'name=value' strings."""
    defaults = {o["name"]: o["value"] for o in OPTIONS}
    changed = []
    for name, value in sorted(options.items()):
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if name in defaults and text not in (defaults[name], _number_text(defaults[name])) and name != "rerun-from":
            changed.append(f"{name}={text}")
    return changed


def _number_text(default):
    """A numeric default written as Python writes the typed value ("5" -> "5.0"), to compare with it."""
    try:
        return str(float(default))
    except ValueError:
        return default


def dataset_summary(images, skipped, stats):
    """Photos, cameras, sizes, capture dates, area and ground resolution."""
    cameras = sorted({f"{i.get('make') or 'unknown'} {i.get('model') or 'camera'}" for i in images})
    sizes = sorted({(i["orig_width"], i["orig_height"], i["width"], i["height"]) for i in images})
    times = sorted(i["capture_time"] for i in images if i.get("capture_time"))
    ortho = stats.get("odm_orthophoto", {})
    summary = {
        "uploaded": len(images) + len(skipped), "used": len(images), "skipped": list(skipped),
        "cameras": cameras,
        "sizes": [f"{ow} x {oh} px" + (f", processed at {w} x {h}" if (w, h) != (ow, oh) else "")
                  for ow, oh, w, h in sizes],
        "captured": f"{times[0]} to {times[-1]}" if len(times) > 1 else (times[0] if times else None),
    }
    if ortho:
        cell = ortho["resolution_m"]
        summary["area_m2"] = ortho["coverage"] * ortho["cols"] * ortho["rows"] * cell * cell
        summary["gsd_cm"] = cell * 100
    return summary


def reconstruction_summary(stats):
    """The SfM model's and the point cloud's quality figures."""
    sfm, cloud = stats.get("opensfm", {}), stats.get("odm_georeferencing", {})
    summary = {key: sfm[key] for key in ("images", "registered", "points", "reprojection_error_px",
                                         "camera_height_m", "relative_altitude_m", "gps_residual_rms_e_m",
                                         "gps_residual_rms_n_m", "gps_residual_rms_u_m") if key in sfm}
    if cloud:
        summary["cloud_points"] = cloud["points"]
        summary["dense"] = "dense" in cloud
    return summary


def camera_models(rec):
    """The calibrated cameras of the model: size, focal length (px, and as a share of the longest side) and the
    distortion parameters, as the SfM stage refined them."""
    models = []
    for camera in rec.cameras.values():
        names = camera.params_info.split(", ") if camera.params_info else []
        params = dict(zip(names, (float(v) for v in camera.params)))
        extra = {name: value for name, value in params.items() if name not in ("f", "fx", "fy", "cx", "cy")}
        models.append({"model": camera.model.name, "width": int(camera.width), "height": int(camera.height),
                       "focal_px": float(camera.mean_focal_length()),
                       "focal_ratio": float(camera.mean_focal_length()) / max(camera.width, camera.height),
                       "distortion": extra})
    return models


def photo_rows(ws, rec, by_name):
    """Per photo (by name): features, verified matches, points it sees in the model, GPS residual (E, N, U)."""
    features, matches = database_counts(ws.sfm / "database.db")
    placed = {rec.image(i).name: rec.image(i) for i in rec.reg_image_ids()}
    rows = []
    for name in sorted(by_name):
        image, meta = placed.get(name), by_name[name]
        row = {"name": name, "features": features.get(name), "matches": matches.get(name),
               "registered": image is not None}
        if image is not None:
            center = np.asarray(image.projection_center())
            row["points"] = int(image.num_points3D)
            row["residual"] = [float(v) for v in center - [meta["x"], meta["y"], meta["z"]]]
            row["xy"] = [float(center[0]), float(center[1])]
        row["gps_xy"] = [meta["x"], meta["y"]]
        rows.append(row)
    return rows


def database_counts(path):
    """({photo: SIFT features}, {photo: geometrically verified matches with all its pairs}); empty without a
    database (a task whose SfM work files were removed)."""
    if not path.is_file():
        return {}, {}
    with pycolmap.Database.open(path) as db:
        names = {image.image_id: image.name for image in db.read_all_images()}
        features = {name: int(db.num_keypoints_for_image(image_id)) for image_id, name in names.items()}
        matches = dict.fromkeys(names.values(), 0)
        pair_ids, geometries = db.read_two_view_geometries()
        for pair_id, geometry in zip(pair_ids, geometries):
            count = len(geometry.inlier_matches)
            for image_id in pycolmap.pair_id_to_image_pair(pair_id):
                matches[names[image_id]] += count
    return features, matches


def gps_error_table(rows):
    """Mean, standard deviation and RMS of the cameras' distance to their GPS positions, per axis (m)."""
    residuals = np.array([row["residual"] for row in rows if "residual" in row])
    if not len(residuals):
        return None
    return {axis: {"mean": float(residuals[:, k].mean()), "sigma": float(residuals[:, k].std()),
                   "rms": float(np.sqrt((residuals[:, k] ** 2).mean()))} for k, axis in enumerate("ENU")}


def raster_preview(path, colour):
    """A preview of a GeoTIFF: {"pixels": RGB uint8 array, "width_m", "height_m", ...}, or None without it.

    The orthophoto is shown on white where it has no data; the DSM in elevation colours over a hillshade, with
    its lowest and highest elevations for the legend.
    """
    if not path.is_file():
        return None
    with rasterio.open(path) as raster:
        scale = max(raster.width, raster.height) / PREVIEW_PX
        shape = (max(1, round(raster.height / scale)), max(1, round(raster.width / scale))) if scale > 1 \
            else (raster.height, raster.width)
        bands = raster.read(out_shape=(raster.count, *shape), resampling=Resampling.average, masked=not colour)
        width_m, height_m = raster.bounds.right - raster.bounds.left, raster.bounds.top - raster.bounds.bottom
    preview = {"width_m": width_m, "height_m": height_m}
    if colour:
        rgb = bands[:3].transpose(1, 2, 0).astype(np.float32)
        alpha = bands[3][..., None] / 255.0 if len(bands) > 3 else 1.0
        preview["pixels"] = (rgb * alpha + 255 * (1 - alpha)).astype(np.uint8)
    else:
        preview.update(elevation_pixels(bands[0], width_m / shape[1]))
    return preview


def elevation_pixels(heights, cell_m):
    """{"pixels", "low", "high"}: heights in the ramp's colours (2-98 % stretched), shaded, white where unknown."""
    valid = ~np.ma.getmaskarray(heights)
    values = np.ma.getdata(heights).astype(np.float64)
    if not valid.any():
        return {"pixels": np.full((*values.shape, 3), 255, np.uint8), "low": None, "high": None}
    low, high = np.percentile(values[valid], [2, 98])
    filled = np.where(valid, values, np.median(values[valid]))
    position = np.clip((filled - low) / max(high - low, 1e-6), 0, 1) * (len(ELEVATION_RAMP) - 1)
    lower = np.minimum(position.astype(int), len(ELEVATION_RAMP) - 2)
    weight = (position - lower)[..., None]
    colours = ELEVATION_RAMP[lower] * (1 - weight) + ELEVATION_RAMP[lower + 1] * weight
    colours *= hillshade(filled, cell_m)[..., None]
    colours[~valid] = 255
    return {"pixels": np.clip(colours, 0, 255).astype(np.uint8), "low": float(low), "high": float(high),
            "ramp": ELEVATION_RAMP.astype(int).tolist()}


def hillshade(heights, cell_m, azimuth_deg=315.0, altitude_deg=45.0):
    """Light from the north-west, as a factor 0.55-1 to darken the colours (cell size in metres)."""
    dy, dx = np.gradient(heights, cell_m)
    slope = np.arctan(np.hypot(dx, dy))
    aspect = np.arctan2(-dx, dy)
    az, alt = np.radians(azimuth_deg), np.radians(altitude_deg)
    shade = np.sin(alt) * np.cos(slope) + np.cos(alt) * np.sin(slope) * np.cos(az - aspect)
    return 0.55 + 0.45 * np.clip(shade, 0, 1)


def overlap_map(ws, rec, by_name, stats):
    """How many photos see each place of the surveyed area: {"counts" (rows x cols, north up), "west", "north",
    "cell_m"} in the local frame, on the surface model's heights (or the median height of the SfM points)."""
    west, south, east, north = _survey_extent(ws, rec, stats)
    cell = max(east - west, north - south) / OVERLAP_CELLS
    cols, rows = max(1, int(np.ceil((east - west) / cell))), max(1, int(np.ceil((north - south) / cell)))
    xs = west + (np.arange(cols) + 0.5) * cell
    ys = north - (np.arange(rows) + 0.5) * cell
    gx, gy = np.meshgrid(xs, ys)
    gz = _ground_heights(ws, rec, gx, gy)
    ground = np.c_[gx.ravel(), gy.ravel(), gz.ravel()]
    counts = np.zeros(len(ground), np.int32)
    for image_id in rec.reg_image_ids():
        photo = Photo(rec.image(image_id))
        uv, depth = photo.project(ground)
        counts += photo.inside(uv, depth, 0)
    return {"counts": counts.reshape(rows, cols), "west": west, "north": north, "cell_m": cell}


def _survey_extent(ws, rec, stats):
    """(west, south, east, north) of the orthophoto in the local frame, else of the SfM points and cameras."""
    bounds = stats.get("odm_orthophoto", {}).get("bounds_utm")
    if bounds:
        origin = read_json(ws.dataset_json)["frame"]["origin"]
        return bounds[0] - origin[0], bounds[1] - origin[1], bounds[2] - origin[0], bounds[3] - origin[1]
    xy = [p.xyz[:2] for p in rec.points3D.values()] + \
         [rec.image(i).projection_center()[:2] for i in rec.reg_image_ids()]
    xy = np.array(xy)
    margin = 0.05 * max(np.ptp(xy[:, 0]), np.ptp(xy[:, 1]), 1.0)
    return xy[:, 0].min() - margin, xy[:, 1].min() - margin, xy[:, 0].max() + margin, xy[:, 1].max() + margin


def _ground_heights(ws, rec, gx, gy):
    """The surface model's height at each grid place (its median where it has none), else the points' median."""
    points_z = np.array([p.xyz[2] for p in rec.points3D.values()])
    fallback = float(np.median(points_z)) if len(points_z) else 0.0
    surface = load_surface(ws)
    if surface is None:
        return np.full(gx.shape, fallback)
    grid, west, north, resolution = surface
    rows = np.clip(((north - gy) / resolution).astype(int), 0, grid.shape[0] - 1)
    cols = np.clip(((gx - west) / resolution).astype(int), 0, grid.shape[1] - 1)
    heights = grid[rows, cols]
    known = np.isfinite(grid)
    return np.where(np.isfinite(heights), heights, np.median(grid[known]) if known.any() else fallback)
