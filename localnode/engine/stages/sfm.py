"""Stage opensfm: SIFT features, GPS-guided matching, global mapping, then alignment of the model to GPS.

The model is written to work/sfm/model in local UTM coordinates (see geo.LocalFrame).
"""
import shutil
import sqlite3
import threading
import time

import numpy as np
import pycolmap
from scipy.spatial import cKDTree

from localnode.engine import gpu
from localnode.engine.console import Counter, EngineError, Heartbeat, say, warn
from localnode.engine.gcp import fit_similarity, place_on_control_points
from localnode.engine.levelling import fit_altitudes, level_by_viewing_direction
from localnode.engine.model import SMALL_SET_IMAGES, good_points
from localnode.engine.workspace import atomic_path, read_json, write_json

STAGE = "opensfm"
ALIGN_MAX_ERROR_M = 5.0      # RANSAC inlier threshold for camera-to-GPS alignment (typical GPS accuracy)
GPS_CONSISTENT_M = 3 * ALIGN_MAX_ERROR_M  # a model whose cameras are farther from GPS (RMS) is suspect
MIN_MODEL_POINTS = 10        # a model with fewer good points cannot make a point cloud
MATCH_MAX_DISTANCE_M = 1e6   # neighbours are chosen by count; distance does not limit them
MIN_PLACED_SHARE = 0.25      # fewer images placed than this share of the photos: the result would mislead
MIN_PAIR_INLIERS = 15        # a pair with fewer geometrically verified matches does not count as matched
SMALL_SET_MIN_POSE_INLIERS = 8
THIN_TRACK_RATIO = 0.2       # cameras spread across the track less than this part of along it: one line
SMALL_IMAGE_PX = 1024        # up to this long side, SIFT starts on the doubled image (first_octave -1)
MAPPING_SECONDS_PER_IMAGE = 1.5  # roughly, on 2 cores (55 s for 75 photos): only to move progress while mapping
DISTORTION_GAIN = 0.01       # radial distortion is kept only when it lowers the reprojection error by this share


def run(ws, options, report):
    """Build the sparse model from work/images and align it to the photos' GPS positions."""
    dataset = read_json(ws.dataset_json)
    images = dataset["images"]
    pycolmap.logging.minloglevel = 2  # COLMAP's info logs would flood the user's console
    if ws.sfm.exists():
        shutil.rmtree(ws.sfm)
    ws.sfm.mkdir(parents=True)
    database = ws.sfm / "database.db"
    threads = max(1, options["max-concurrency"])

    started = time.monotonic()
    say(STAGE, f"SIFT features and matching on the {'GPU (CUDA)' if gpu.compute()['cuda'] else 'CPU'}")
    counter = Counter(STAGE, len(images), "Features extracted, images", report, 0.0, 0.4)
    _extract(database, ws.images, images, options, threads, counter)
    say(STAGE, f"Extracted features from {len(images)} images in {time.monotonic() - started:.1f} s")
    _write_gps_priors(database, images)

    started = time.monotonic()
    small_set = len(images) <= SMALL_SET_IMAGES
    image_px = max(max(i["width"], i["height"]) for i in images)
    counter = _pair_counter(images, options, report, 0.4, 0.65)
    pairs = _match(database, options, threads, image_px, guided=False, counter=counter)
    say(STAGE, f"Matched {pairs} image pairs (trying each image with its {options['matcher-neighbors']} "
               f"nearest by GPS) in {time.monotonic() - started:.1f} s")

    started = time.monotonic()
    with Heartbeat(STAGE, "Mapping", report, 0.65, 0.8, MAPPING_SECONDS_PER_IMAGE * len(images)):
        candidates = [_aligned(m, images) for m in _map(database, ws.images, images, threads, small_set)]
    rec, figures = _best(candidates)
    if rec is not None and not small_set:
        rec, figures = _without_unearned_distortion(rec, figures, images, threads)
    if small_set and not (rec and _consistent(figures) and rec.num_reg_images() == len(images)):
        # Guided matching finds 2-3x the matches, but its extra matches are less precise: only when needed.
        pairs = _match(database, options, threads, image_px, guided=True,
                       counter=_pair_counter(images, options, report, 0.8, 0.85))
        say(STAGE, f"Not every image registered consistently with GPS: matched again with guided matching "
                   f"({pairs} pairs)")
        with Heartbeat(STAGE, "Mapping again", report, 0.85, 0.9, MAPPING_SECONDS_PER_IMAGE * len(images)):
            candidates += [_aligned(m, images) for m in _map(database, ws.images, images, threads, small_set)]
        rec, figures = _best(candidates)
    _check_registered(rec, images, _overlapping_groups(database))
    say(STAGE, f"Mapping done in {time.monotonic() - started:.1f} s")
    report(0.9)

    if dataset.get("gcps"):
        figures.update(_place_on_control_points(rec, dataset["gcps"], images))
    _say_figures(figures, len(images))
    with atomic_path(ws.sfm / "model") as tmp:
        tmp.mkdir()
        rec.write(tmp)
    write_json(ws.sfm / "stats.json", figures)
    return figures


def _extract(database, image_dir, images, options, threads, counter):
    """SIFT features for every image, one camera per (model, size, focal) with the focal from metadata."""
    extraction = pycolmap.FeatureExtractionOptions()
    extraction.num_threads = threads
    extraction.sift.max_num_features = options["min-num-features"]
    # -1 doubles the image first: 3x slower with 3x the memory for no gain on a whole survey, but few small
    # images (640 px) then yield 3x the features and 3x the verified matches, which they need.
    small = max(max(i["width"], i["height"]) for i in images) <= SMALL_IMAGE_PX
    extraction.sift.first_octave = -1 if small and len(images) <= SMALL_SET_IMAGES else 0
    groups = {}
    for image in images:
        key = (image.get("make"), image.get("model"), image["width"], image["height"], round(image["focal_px"], 1))
        groups.setdefault(key, []).append(image)
    for group in groups.values():
        first = group[0]
        reader = pycolmap.ImageReaderOptions()
        reader.camera_model = "SIMPLE_RADIAL"
        reader.camera_params = f"{first['focal_px']},{first['width'] / 2},{first['height'] / 2},0"
        batch_size = max(2, 2 * threads)  # batches only to report progress
        for start in range(0, len(group), batch_size):
            names = [i["name"] for i in group[start:start + batch_size]]
            pycolmap.extract_features(database, image_dir, names, pycolmap.CameraMode.SINGLE, reader, extraction,
                                      device=gpu.sift_device())
            if start == 0:
                with pycolmap.Database.open(database) as db:
                    reader.existing_camera_id = db.read_image_with_name(names[0]).camera_id
            counter.add(len(names))


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


def _match(database, options, threads, image_px, guided, counter):
    """Match each image with its nearest neighbours by GPS; return the number of verified pairs."""
    matching = pycolmap.FeatureMatchingOptions()
    matching.num_threads = threads
    # Guided matching searches again along the epipolar lines once the geometry is known.
    matching.guided_matching = guided
    pairing = pycolmap.SpatialPairingOptions()
    pairing.max_num_neighbors = options["matcher-neighbors"]
    pairing.max_distance = MATCH_MAX_DISTANCE_M
    pairing.ignore_z = True
    pairing.num_threads = threads
    verification = pycolmap.TwoViewGeometryOptions()
    # Consecutive nadir photos over flat ground move by a pure translation, with the common part along one
    # border: exactly what COLMAP's watermark test looks for. Survey photos carry no watermarks.
    verification.detect_watermark = False
    if guided:
        # Guided matches along the epipolar lines of a loose geometry land at wrong depths, and a point seen
        # by two images has no third to expose them: verify tightly (COLMAP's 4 px suits 2000 px images).
        verification.ransac.max_error = max(1.5, 4.0 * image_px / 2048)
        with pycolmap.Database.open(database) as db:
            db.clear_matches()
            db.clear_two_view_geometries()
    with _counting_pairs(database, counter):
        pycolmap.match_spatial(database, matching, pairing, verification, device=gpu.sift_device())
    with pycolmap.Database.open(database) as db:
        _, geometries = db.read_two_view_geometries()
    return sum(len(g.inlier_matches) >= MIN_PAIR_INLIERS for g in geometries)


def _pair_counter(images, options, report, start, end):
    """A Counter of the image pairs spatial matching will try: each image with its nearest by GPS, in plan."""
    xy = np.array([(i["x"], i["y"]) for i in images])
    neighbours = min(options["matcher-neighbors"], len(images) - 1)
    _, nearest = cKDTree(xy).query(xy, k=neighbours + 1)
    pairs = {(min(a, b), max(a, b)) for a, row in enumerate(nearest) for b in row[1:]}
    return Counter(STAGE, len(pairs), "Image pairs matched", report, start, end)


class _counting_pairs:
    """While COLMAP matches (it lets other threads run), count the pairs it has stored every second."""

    def __init__(self, database, counter):
        self.database, self.counter = database, counter
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, name="pair-counter", daemon=True)

    def __enter__(self):
        self.thread.start()

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self._count()
        self.counter.finish()

    def _poll(self):
        """Count until stopped."""
        while not self.stop.wait(1.0):
            self._count()

    def _count(self):
        """Move the counter to the pairs stored so far (read-only: COLMAP's writes are not disturbed)."""
        try:
            with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=0.2) as db:
                stored = db.execute("SELECT COUNT(*) FROM two_view_geometries").fetchone()[0]
        except sqlite3.Error:
            return  # busy or not created yet: the next second will tell
        self.counter.update_to(stored)


def _map(database, image_dir, images, threads, small_set):
    """SfM with the focal lengths held fixed; the models found (incremental ones first), maybe none.

    Global mapping is the fast one, but it trusts each pair's relative rotation: with few images one bad
    pair (a narrow overlap over flat ground) spoils rotation averaging and nothing registers. Incremental
    mapping checks each new image against the points already built, and with few images it is quick, so
    small sets get both and the better model wins.
    """
    with _temporary_dir(database.parent / "mapping") as out:
        models = []
        if small_set:
            (out / "incremental").mkdir()
            models = list((pycolmap.incremental_mapping(database, image_dir, out / "incremental",
                                                        _incremental_options(threads)) or {}).values())
        (out / "global").mkdir()
        models += list((pycolmap.global_mapping(database, image_dir, out / "global",
                                                _global_options(threads, small_set)) or {}).values())
    return [m for m in models if m.num_reg_images() > 0]


def _aligned(rec, images):
    """The model moved onto the GPS positions, with its figures (GPS residuals, points, camera height)."""
    figures = _align(rec, images)
    figures.update(_model_figures(rec, images))
    return rec, figures


def _best(candidates):
    """The candidate (model, figures) that places the most images consistently with GPS; the first of equals.

    A few-image set can map into a degenerate model (a handful of points, the cameras kilometres from their
    GPS positions) that still "registers" every image: such a model loses to any consistent one.
    """
    if not candidates:
        return None, None
    return max(candidates, key=lambda candidate: (_consistent(candidate[1]), candidate[1]["registered"]))


def _consistent(figures):
    """True when the model agrees with GPS, has points to build on, and has its cameras above the ground."""
    return (max(figures["gps_residual_rms_e_m"], figures["gps_residual_rms_n_m"]) <= GPS_CONSISTENT_M
            and figures["good_points"] >= MIN_MODEL_POINTS and figures["camera_height_m"] > 0)


def _check_registered(rec, images, groups):
    """Fail when too few images registered; warn about those left out: other groups of photos that overlap one
    another but not the model's (a gap in the flight), and photos that could not be placed."""
    registered = {rec.image(i).name for i in rec.reg_image_ids()} if rec else set()
    missing = [i["name"] for i in images if i["name"] not in registered]
    if len(registered) < 2 or len(registered) < MIN_PLACED_SHARE * len(images):
        raise EngineError(f"Not enough overlap: {len(missing)} of {len(images)} images could not be matched to "
                          f"the others ({_names(missing)}). Photos need about 70 % overlap with their "
                          "neighbours; check they come from one flight over one area.")
    apart = [group for group in groups if len(group) >= 2 and not group & registered]
    for group in apart:
        warn(STAGE, f"{len(group)} of {len(images)} images overlap one another but not the rest (a gap in the "
                    f"flight?) and are left out: {_names(sorted(group))}. Only the largest connected part, "
                    f"{len(registered)} images, is processed; process the other part as a task of its own.")
    alone = [n for n in missing if not any(n in group for group in apart)]
    if alone:
        warn(STAGE, f"{len(alone)} of {len(images)} images could not be matched to the others and are left "
                    f"out: {_names(alone)}")


def _overlapping_groups(database):
    """The images as groups (sets of names) linked by verified matches: the parts of the flight that overlap."""
    with pycolmap.Database.open(database) as db:
        names = {image.image_id: image.name for image in db.read_all_images()}
        pair_ids, geometries = db.read_two_view_geometries()
    parent = {image_id: image_id for image_id in names}

    def root(image_id):
        while parent[image_id] != image_id:
            image_id = parent[image_id]
        return image_id

    for pair_id, geometry in zip(pair_ids, geometries):
        if len(geometry.inlier_matches) >= MIN_PAIR_INLIERS:
            first, second = pycolmap.pair_id_to_image_pair(pair_id)
            parent[root(first)] = root(second)
    groups = {}
    for image_id, name in names.items():
        groups.setdefault(root(image_id), set()).add(name)
    return list(groups.values())


def _global_options(threads, small_set):
    """Global mapping; focal held fixed (nadir photos cannot tell it from the flying height), distortion refined
    except in small sets.

    Few photos cannot tell radial distortion from the shape of the ground either: on three brighton photos
    it drifted to -0.087 (the whole flight says 0.004) and put the cameras 61 m above the ground, not 40.
    """
    options = pycolmap.GlobalPipelineOptions()
    options.num_threads = threads
    options.mapper.num_threads = threads
    options.mapper.bundle_adjustment.refine_focal_length = False
    options.mapper.bundle_adjustment.refine_principal_point = False
    options.mapper.bundle_adjustment.refine_extra_params = not small_set
    options.mapper.global_positioning.use_gpu = False
    options.mapper.bundle_adjustment.ceres.use_gpu = False
    return options


def _without_unearned_distortion(rec, figures, images, threads):
    """The model re-adjusted without radial distortion when the distortion did not earn its keep; else as it is.

    Nadir photos in parallel strips are the critical configuration of radial distortion: a dome of the
    ground with tilted cameras fits the photos exactly as well. On the rendered survey (no distortion) bundle
    adjustment fitted -0.002 at the same reprojection error and put the whole ground 0.2 m (0.45 % of the
    depth) low; re-adjusted without it, 0.03 m. A real lens's distortion lowers the error: then it stays
    (brighton's 0.0043 by 1.6 %, caliterra's 0.0047 by 2.1 %; the rendered survey's -0.002 by 0.5 %). Dropped
    on brighton it made the cloud's shape differ more from ODM's (0.31 m against 0.25 m).
    """
    if all(_radial(camera) == 0.0 for camera in rec.cameras.values()):
        return rec, figures
    plain = pycolmap.Reconstruction(rec)
    for camera in plain.cameras.values():
        params = camera.params.copy()
        params[RADIAL_PARAM] = 0.0
        camera.params = params
    options = pycolmap.BundleAdjustmentOptions()
    options.refine_focal_length = options.refine_principal_point = options.refine_extra_params = False
    options.ceres.solver_options.num_threads = threads
    options.ceres.use_gpu = False
    pycolmap.bundle_adjustment(plain, options)
    with_distortion = rec.compute_mean_reprojection_error()
    without = plain.compute_mean_reprojection_error()
    radial = ", ".join(f"{_radial(c):.4f}" for c in rec.cameras.values())
    if without > with_distortion * (1 + DISTORTION_GAIN):
        say(STAGE, f"Radial distortion {radial} kept: without it the reprojection error grows from "
                   f"{with_distortion:.3f} to {without:.3f} px")
        return rec, figures
    say(STAGE, f"Radial distortion {radial} dropped: it lowered the reprojection error only from {without:.3f} "
               f"to {with_distortion:.3f} px, and nadir strips cannot tell it from a dome of the ground")
    return _aligned(plain, images)


RADIAL_PARAM = 3  # index of k in SIMPLE_RADIAL's params (f, cx, cy, k), the model _extract gives every camera


def _radial(camera):
    """The radial distortion coefficient of a SIMPLE_RADIAL camera."""
    return float(camera.params[RADIAL_PARAM])


def _incremental_options(threads):
    """Incremental mapping for a few images: focal and distortion held fixed (see _global_options), and points
    seen by two images kept.

    In a few-image set most points are seen by only two images; good_points() keeps those whose rays
    cross at a clear angle.
    """
    options = pycolmap.IncrementalPipelineOptions()
    options.num_threads = threads
    options.mapper.num_threads = threads  # -1 (every core) otherwise
    options.min_model_size = 2
    options.ba_refine_focal_length = False
    options.ba_refine_principal_point = False
    options.ba_refine_extra_params = False
    options.ba_use_gpu = False
    options.mapper.abs_pose_refine_focal_length = False
    # An image is placed from its matches to points already built; with few images, few points are seen
    # by three of them, so accept a pose from fewer inliers (COLMAP's default asks 30; brighton's photos
    # 21-23 share only 8-11 such points at 640 px). The GPS check of _best() rejects a wrong pose.
    options.mapper.abs_pose_min_num_inliers = SMALL_SET_MIN_POSE_INLIERS
    options.triangulation.ignore_two_view_tracks = False
    return options


def _align(rec, images):
    """Move the model onto the GPS positions (similarity, RANSAC), level it by the cameras' viewing direction
    when the GPS altitude tilts it; return the GPS residual and levelling figures."""
    by_name = {i["name"]: i for i in images}
    names = [rec.image(i).name for i in rec.reg_image_ids()]
    registered = [by_name[n] for n in names]
    altitudes, altitude_source = fit_altitudes(registered)
    gps = np.array([[i["x"], i["y"], z] for i, z in zip(registered, altitudes)])
    ransac = pycolmap.RANSACOptions()
    ransac.max_error = ALIGN_MAX_ERROR_M
    sim = None
    if len(names) >= 3:
        sim = pycolmap.align_reconstruction_to_locations(rec, names, gps, 3, ransac)
    centers = np.array([rec.image(i).projection_center() for i in rec.reg_image_ids()])
    if sim is None:
        sim = fit_similarity(centers, gps)
    rec.transform(sim)
    _level_straight_track(rec, registered)
    levelling = level_by_viewing_direction(rec, registered, altitudes)
    scale = float(sim.scale) * levelling.pop("levelling_scale", 1.0)
    return dict(_gps_residuals(rec, images), model_scale=scale, altitude_source=altitude_source, **levelling)


def _gps_residuals(rec, images):
    """RMS distance east, north and up between the placed cameras and their GPS positions."""
    by_name = {i["name"]: i for i in images}
    ids = list(rec.reg_image_ids())
    gps = np.array([[by_name[rec.image(i).name][axis] for axis in "xyz"] for i in ids])
    centers = np.array([rec.image(i).projection_center() for i in ids])
    rms = np.sqrt(np.mean((centers - gps) ** 2, axis=0))
    return {"gps_residual_rms_e_m": float(rms[0]), "gps_residual_rms_n_m": float(rms[1]),
            "gps_residual_rms_u_m": float(rms[2])}


def _place_on_control_points(rec, gcps, images):
    """Move the model onto the ground control points; their figures, and the model's figures after the move."""
    fit = place_on_control_points(rec, gcps)
    if fit is None:
        warn(STAGE, "No ground control point is seen in two placed photos: the photos' GPS places the results")
        return {}
    how = "scale, rotation and shift" if fit["gcp_similarity"] else "a shift"
    say(STAGE, f"Placed on {fit['gcp_count']} ground control point(s) by {how}: RMS error "
               f"{fit['gcp_rms_before_m']:.2f} m from GPS alone, {fit['gcp_rms_m']:.2f} m now")
    return dict(fit, **_gps_residuals(rec, images), **_model_figures(rec, images))


def _level_straight_track(rec, images):
    """Fix the roll about the track axis, which GPS positions along a (nearly) straight line cannot fix.

    The physical constraints do: the cameras look down as far as the gimbal pitch says (nadir when
    unknown), and they are above the ground they photograph.
    """
    ids = list(rec.reg_image_ids())
    centers = np.array([rec.image(i).projection_center() for i in ids])
    center = centers.mean(axis=0)
    _, spread, axes = np.linalg.svd(centers - center)
    if len(ids) >= 3 and spread[1] > THIN_TRACK_RATIO * spread[0]:
        return  # a real 2D track: the alignment is well determined
    axis = axes[0]
    view = np.mean([rec.image(i).viewing_direction() for i in ids], axis=0)
    pitches = [i["gimbal_pitch"] for i in images if "gimbal_pitch" in i]
    target_z = np.sin(np.radians(np.median(pitches))) if pitches else -1.0  # pitch -90: straight down
    _rotate_about(rec, axis, center, _roll_to_view_height(view, axis, target_z))
    points_z = [p.xyz[2] for p in rec.points3D.values()]
    if points_z and np.median(points_z) > center[2]:
        # Only possible when the view's tilt fixed nothing (looking along the track): turn it right side up.
        _rotate_about(rec, axis, center, np.pi)


def _roll_to_view_height(view, axis, target_z):
    """The angle about `axis` that brings the vertical part of `view` to target_z, the smallest such turn."""
    along = axis * (view @ axis)
    across = view - along
    radius = np.linalg.norm(across)
    if radius < 1e-6:
        return 0.0
    e1 = across / radius
    e2 = np.cross(axis, e1)
    # z(angle) = along_z + radius * (e1_z cos(angle) + e2_z sin(angle)) = along_z + radius * amp * cos(angle - phase)
    amp, phase = np.hypot(e1[2], e2[2]), np.arctan2(e2[2], e1[2])
    if amp < 1e-6:
        return 0.0  # the axis is vertical: turning about it does not tilt the view
    cosine = np.clip((target_z - along[2]) / (radius * amp), -1.0, 1.0)
    turns = [phase + np.arccos(cosine), phase - np.arccos(cosine)]
    return min((np.angle(np.exp(1j * t)) for t in turns), key=abs)


def _rotate_about(rec, axis, center, angle):
    """Rotate the model by `angle` about the line through `center` along `axis`."""
    if abs(angle) < 1e-9:
        return
    rotation = pycolmap.Rotation3d(axis * angle)  # axis-angle vector
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
        "good_points": len(good_points(rec)[0]),
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
    _say_levelling(figures)
    height = f"Cameras {figures['camera_height_m']:.1f} m above the median ground"
    if "relative_altitude_m" in figures:
        height += f" (drone's relative altitude: {figures['relative_altitude_m']:.1f} m)"
    say(STAGE, height)
    if max(figures["gps_residual_rms_e_m"], figures["gps_residual_rms_n_m"]) > GPS_CONSISTENT_M:
        warn(STAGE, "The camera positions disagree with the GPS by more than 15 m: the GPS may be poor, "
                    "or the model may be distorted.")


def _say_levelling(figures):
    """Console lines on the altitudes used, and a warning when the GPS altitude was overruled."""
    if figures.get("altitude_source") == "relative altitude":
        say(STAGE, "Heights fitted to the drone's relative altitude (barometric), set at the median GPS altitude")
    if figures.get("levelled_by_viewing_direction"):
        warn(STAGE, f"The GPS altitude would tilt the model {figures['gps_altitude_tilt_deg']:.1f} degrees from "
                    f"the vertical of these nadir photos (it drifts {figures['gps_altitude_drift_m']:+.0f} m along "
                    "the flight): the model is levelled by the cameras' viewing direction, fitted to GPS "
                    "horizontally and set at the median GPS altitude")


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
