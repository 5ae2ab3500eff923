"""Stage opensfm: SIFT features, GPS-guided matching, global mapping, then alignment of the model to GPS.

The model is written to work/sfm/model in local UTM coordinates (see geo.LocalFrame).
"""
import shutil
import time

import numpy as np
import pycolmap

from localnode.engine.console import EngineError, say, warn
from localnode.engine.geo import LocalFrame
from localnode.engine.workspace import atomic_path, read_json, write_json

STAGE = "opensfm"
ALIGN_MAX_ERROR_M = 5.0      # RANSAC inlier threshold for camera-to-GPS alignment (typical GPS accuracy)
MATCH_MAX_DISTANCE_M = 1e6   # neighbours are chosen by count; distance does not limit them
MIN_PAIR_INLIERS = 15        # a pair with fewer geometrically verified matches does not count as matched


def run(ws, options, report):
    """Build the sparse model from work/images and align it to the photos' GPS positions."""
    dataset = read_json(ws.dataset_json)
    frame, images = LocalFrame.from_dict(dataset["frame"]), dataset["images"]
    pycolmap.logging.minloglevel = 2  # COLMAP's info logs would flood the user's console
    if ws.sfm.exists():
        shutil.rmtree(ws.sfm)
    ws.sfm.mkdir(parents=True)
    database = ws.sfm / "database.db"
    threads = max(1, options["max-concurrency"])

    started = time.monotonic()
    _extract(database, ws.images, images, options, threads, lambda f: report(0.45 * f))
    say(STAGE, f"Extracted features from {len(images)} images in {time.monotonic() - started:.1f} s")
    _write_gps_priors(database, images)

    started = time.monotonic()
    pairs = _match(database, options, threads)
    say(STAGE, f"Matched {pairs} image pairs (trying each image with its {options['matcher-neighbors']} "
               f"nearest by GPS) in {time.monotonic() - started:.1f} s")
    report(0.7)

    started = time.monotonic()
    rec = _map(database, ws.images, images, threads)
    say(STAGE, f"Global mapping done in {time.monotonic() - started:.1f} s")
    report(0.9)

    figures = _align(rec, images)
    figures.update(_model_figures(rec, images))
    _say_figures(figures, len(images))
    with atomic_path(ws.sfm / "model") as tmp:
        tmp.mkdir()
        rec.write(tmp)
    write_json(ws.sfm / "stats.json", figures)
    return figures


def _extract(database, image_dir, images, options, threads, report):
    """SIFT features for every image, one camera per (model, size, focal) with the focal from metadata."""
    extraction = pycolmap.FeatureExtractionOptions()
    extraction.num_threads = threads
    extraction.sift.max_num_features = options["min-num-features"]
    extraction.sift.first_octave = 0  # -1 doubles the image: 3x slower, 3x the memory, no gain here
    groups = {}
    for image in images:
        key = (image.get("make"), image.get("model"), image["width"], image["height"], round(image["focal_px"], 1))
        groups.setdefault(key, []).append(image)
    done = 0
    for group in groups.values():
        first = group[0]
        reader = pycolmap.ImageReaderOptions()
        reader.camera_model = "SIMPLE_RADIAL"
        reader.camera_params = f"{first['focal_px']},{first['width'] / 2},{first['height'] / 2},0"
        batch_size = max(2, 2 * threads)  # batches only to report progress
        for start in range(0, len(group), batch_size):
            names = [i["name"] for i in group[start:start + batch_size]]
            pycolmap.extract_features(database, image_dir, names, pycolmap.CameraMode.SINGLE, reader, extraction,
                                      device=pycolmap.Device.cpu)
            if start == 0:
                with pycolmap.Database.open(database) as db:
                    reader.existing_camera_id = db.read_image_with_name(names[0]).camera_id
            done += len(names)
            report(done / len(images))


def _write_gps_priors(database, images):
    """Store each image's GPS position (local UTM metres) as its pose prior, for spatial matching."""
    by_name = {i["name"]: i for i in images}
    with pycolmap.Database.open(database) as db:
        db.clear_pose_priors()
        for db_image in db.read_all_images():
            image = by_name[db_image.name]
            prior = pycolmap.PosePrior()
            prior.corr_data_id = db_image.data_id
            prior.position = np.array([image["x"], image["y"], image["z"]], dtype=float)
            prior.coordinate_system = pycolmap.PosePriorCoordinateSystem.CARTESIAN
            db.write_pose_prior(prior)


def _match(database, options, threads):
    """Match each image with its nearest neighbours by GPS; return the number of verified pairs."""
    matching = pycolmap.FeatureMatchingOptions()
    matching.num_threads = threads
    pairing = pycolmap.SpatialPairingOptions()
    pairing.max_num_neighbors = options["matcher-neighbors"]
    pairing.max_distance = MATCH_MAX_DISTANCE_M
    pairing.ignore_z = True
    pairing.num_threads = threads
    pycolmap.match_spatial(database, matching, pairing, device=pycolmap.Device.cpu)
    with pycolmap.Database.open(database) as db:
        _, geometries = db.read_two_view_geometries()
    return sum(len(g.inlier_matches) >= MIN_PAIR_INLIERS for g in geometries)


def _map(database, image_dir, images, threads):
    """Global SfM with the focal lengths held fixed; the largest model, or an error naming unmatched images."""
    options = pycolmap.GlobalPipelineOptions()
    options.num_threads = threads
    options.mapper.num_threads = threads
    # Nadir photos cannot tell focal length from flying height: keep the focal from metadata, refine
    # only the radial distortion.
    options.mapper.bundle_adjustment.refine_focal_length = False
    options.mapper.bundle_adjustment.refine_principal_point = False
    options.mapper.bundle_adjustment.refine_extra_params = True
    options.mapper.global_positioning.use_gpu = False
    options.mapper.bundle_adjustment.ceres.use_gpu = False
    with _temporary_dir(database.parent / "global") as out:
        models = pycolmap.global_mapping(database, image_dir, out, options)
    models = [m for m in (models or {}).values() if m.num_reg_images() > 0]
    rec = max(models, key=lambda m: m.num_reg_images()) if models else None
    registered = {rec.image(i).name for i in rec.reg_image_ids()} if rec else set()
    missing = [i["name"] for i in images if i["name"] not in registered]
    if len(registered) < 2 or len(registered) < len(images) / 2:
        raise EngineError(f"Not enough overlap: {len(missing)} of {len(images)} images could not be matched to "
                          f"the others ({_names(missing)}). Photos need about 70 % overlap with their "
                          "neighbours; check they come from one flight over one area.")
    if missing:
        warn(STAGE, f"{len(missing)} of {len(images)} images could not be matched to the others and are left "
                    f"out: {_names(missing)}")
    return rec


def _align(rec, images):
    """Move the model onto the GPS positions (similarity, RANSAC); return the GPS residual figures."""
    by_name = {i["name"]: i for i in images}
    names = [rec.image(i).name for i in rec.reg_image_ids()]
    gps = np.array([[by_name[n]["x"], by_name[n]["y"], by_name[n]["z"]] for n in names])
    ransac = pycolmap.RANSACOptions()
    ransac.max_error = ALIGN_MAX_ERROR_M
    sim = None
    if len(names) >= 3:
        sim = pycolmap.align_reconstruction_to_locations(rec, names, gps, 3, ransac)
    centers = np.array([rec.image(i).projection_center() for i in rec.reg_image_ids()])
    if sim is None:
        sim = _similarity_least_squares(centers, gps)
    rec.transform(sim)
    _level_straight_track(rec)
    centers = np.array([rec.image(i).projection_center() for i in rec.reg_image_ids()])
    residuals = centers - gps
    rms = np.sqrt(np.mean(residuals ** 2, axis=0))
    return {"gps_residual_rms_e_m": float(rms[0]), "gps_residual_rms_n_m": float(rms[1]),
            "gps_residual_rms_u_m": float(rms[2]), "model_scale": float(sim.scale)}


def _similarity_least_squares(src, dst):
    """The similarity dst ~ s R src + t by least squares (Umeyama), for when RANSAC has too few images."""
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


def _level_straight_track(rec):
    """When the cameras lie on one line, the GPS cannot fix the roll about it: turn the cameras to look down."""
    ids = list(rec.reg_image_ids())
    centers = np.array([rec.image(i).projection_center() for i in ids])
    spread = np.linalg.svd(centers - centers.mean(axis=0), compute_uv=False)
    if len(ids) >= 3 and spread[1] > 0.05 * spread[0]:
        return  # a real 2D track: the alignment is well determined
    axis = centers[-1] - centers[0]
    axis /= np.linalg.norm(axis)
    view = np.mean([rec.image(i).viewing_direction() for i in ids], axis=0)
    down = np.array([0.0, 0.0, -1.0])
    # Angle about the axis that takes the viewing direction's part across the axis onto "down"'s part.
    v_perp, d_perp = view - axis * (view @ axis), down - axis * (down @ axis)
    if np.linalg.norm(v_perp) < 1e-6 or np.linalg.norm(d_perp) < 1e-6:
        return
    angle = np.arctan2(axis @ np.cross(v_perp, d_perp), v_perp @ d_perp)
    rotation = pycolmap.Rotation3d(axis * angle)  # axis-angle vector
    center = centers.mean(axis=0)
    rec.transform(pycolmap.Sim3d(1.0, rotation, center - rotation.matrix() @ center))


def _model_figures(rec, images):
    """Registered images, points, reprojection error, and the cameras' height above the model's ground."""
    points_z = np.array([p.xyz[2] for p in rec.points3D.values()])
    ground = float(np.median(points_z)) if len(points_z) else 0.0
    heights = [rec.image(i).projection_center()[2] - ground for i in rec.reg_image_ids()]
    by_name = {i["name"]: i for i in images}
    relative = [by_name[rec.image(i).name].get("relative_alt") for i in rec.reg_image_ids()]
    relative = [r for r in relative if r is not None]
    figures = {
        "images": len(images), "registered": rec.num_reg_images(), "points": rec.num_points3D(),
        "reprojection_error_px": float(rec.compute_mean_reprojection_error()),
        "camera_height_m": float(np.median(heights)),
        "registered_names": sorted(rec.image(i).name for i in rec.reg_image_ids()),
    }
    if relative:
        figures["relative_altitude_m"] = float(np.median(relative))
    return figures


def _say_figures(figures, total):
    """Console lines with the model's quality figures."""
    say(STAGE, f"{figures['registered']} of {total} images registered, {figures['points']} points, "
               f"mean reprojection error {figures['reprojection_error_px']:.2f} px")
    say(STAGE, "Cameras vs GPS after alignment, RMS: E {gps_residual_rms_e_m:.2f} m, N {gps_residual_rms_n_m:.2f} m, "
               "up {gps_residual_rms_u_m:.2f} m".format(**figures))
    height = f"Cameras {figures['camera_height_m']:.1f} m above the median ground"
    if "relative_altitude_m" in figures:
        height += f" (drone's relative altitude: {figures['relative_altitude_m']:.1f} m)"
    say(STAGE, height)
    if max(figures["gps_residual_rms_e_m"], figures["gps_residual_rms_n_m"]) > 3 * ALIGN_MAX_ERROR_M:
        warn(STAGE, "The camera positions disagree with the GPS by more than 15 m: the GPS may be poor, "
                    "or the model may be distorted.")


class _temporary_dir:
    """A folder that exists inside the with-block and is removed afterwards."""

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        self.path.mkdir(parents=True, exist_ok=True)
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def _names(names, limit=5):
    """A short list of names for a message."""
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")
