"""Keeping a drifting GPS altitude from tilting the model.

Consumer GPS altitude drifts (caliterra's climbs about 100 m during a flight flown at one height) while its
horizontal position stays good to metres. A similarity fitted to such positions tilts the model, and the ground
with it. Nadir photos carry their own vertical: on average the cameras look straight down (OpenSfM aligns
near-planar camera sets with the same prior), once the lean of a camera fixed to the aircraft is allowed for.
When the GPS altitude tilts the model away from that vertical by more than the viewing directions can be
trusted, the model is levelled by the viewing directions, fitted to GPS horizontally only, and set at the GPS
altitudes' median: the altitudes then no longer weigh on its tilt at all.

The prior is on the cameras' viewing direction, never on the ground nor on the shape of the flight path: a
hillside stays a hillside, whether it was flown at one altitude or following the terrain, and a flight that
really climbs keeps its climb (the photos show it).
"""
from datetime import datetime

import numpy as np
import pycolmap

NADIR_PITCH_DEG = -75.0     # a median gimbal pitch at or below this: the photos are nadir
NADIR_SPREAD_DEG = 15.0     # without gimbal data: nadir when (nearly) every view is this close to the mean view
NADIR_SHARE = 0.9           # ...that share of the views (a few are taken in turns)
LEVEL_TOLERANCE_DEG = 1.0   # GPS may tilt the model this far from the vertical the views give (their accuracy)...
LEAN_TOLERANCE_DEG = 5.0    # ...or this far when nothing tells the lean of a fixed camera (flown one way, no gimbal)
MIN_IMAGES = 5              # fewer views give no reliable mean: GPS alone decides
MIN_LEAN_IMAGES = 6         # the cameras' lean is estimated from this many moving photos at least...
MAX_HEADING_RESULTANT = 0.7  # ...flown in directions this varied (1: all one way, 0: evenly every way)
MIN_STEP_M = 0.5            # photos closer than this to their neighbours do not say where the flight goes
FLIGHT_GAP_S = 120          # photos further apart in time come from another flight (a battery change)
HORIZONTAL_MAX_ERROR_M = 5.0  # GPS positions farther than this (and 3 median residuals) from the fit are left out


def fit_altitudes(images):
    """The altitude to fit each image to, and its source: DJI's relative altitude (barometric, it drifts little)
    where every image has one, moved onto the GPS altitudes' median flight by flight (each flight has its own
    take-off point), else the GPS altitude."""
    gps = np.array([i["z"] for i in images], dtype=float)
    if len(images) < 2 or any(i.get("relative_alt") is None for i in images):
        return gps, "GPS altitude"
    relative = np.array([i["relative_alt"] for i in images], dtype=float)
    altitudes = np.empty(len(images))
    for flight in _flights(images):
        altitudes[flight] = relative[flight] + np.median(gps[flight] - relative[flight])
    return altitudes, "relative altitude"


def _flights(images):
    """Index lists of the images flight by flight: a pause of more than FLIGHT_GAP_S between two photos (in
    capture order) starts a new flight. Without capture times, one flight."""
    try:
        times = [datetime.strptime(i["capture_time"], "%Y:%m:%d %H:%M:%S") for i in images]
    except (KeyError, TypeError, ValueError):
        return [list(range(len(images)))]
    order = sorted(range(len(images)), key=lambda k: times[k])
    flights = [[order[0]]]
    for previous, current in zip(order, order[1:]):
        if (times[current] - times[previous]).total_seconds() > FLIGHT_GAP_S:
            flights.append([])
        flights[-1].append(current)
    return flights


def level_by_viewing_direction(rec, images, altitudes):
    """Level the model by its cameras' viewing direction when the GPS altitude tilts it; figures, or {}.

    `images` and `altitudes` are those of the registered images, in the order of rec.reg_image_ids().
    """
    ids = list(rec.reg_image_ids())
    view_ids, view_images = _nadir_views(ids, images)
    if len(view_ids) < MIN_IMAGES or not _nadir(rec, ids, images):
        return {}
    down, lean = _vertical(rec, view_ids, view_images)
    tilt = float(np.degrees(np.arccos(np.clip(-down[2], -1.0, 1.0))))
    gimbal = any("gimbal_pitch" in i for i in images)
    if tilt <= (LEVEL_TOLERANCE_DEG if gimbal or lean is not None else LEAN_TOLERANCE_DEG):
        return {"gps_altitude_tilt_deg": tilt}
    altitudes = np.asarray(altitudes, dtype=float)
    gps_xy = np.array([[i["x"], i["y"]] for i in images])
    scale = _level(rec, ids, _mean_view(rec, view_ids), gps_xy, altitudes)
    # Once level and turned onto GPS, the flight directions in the model are those of GPS: estimate again.
    down, lean = _vertical(rec, view_ids, view_images)
    scale *= _level(rec, ids, down, gps_xy, altitudes)
    centers = np.array([rec.image(i).projection_center() for i in ids])
    return {"gps_altitude_tilt_deg": tilt, "levelled_by_viewing_direction": True, "levelling_scale": scale,
            "camera_lean_deg": lean, "gps_altitude_drift_m": _drift_along_flight(images, altitudes - centers[:, 2])}


def _level(rec, ids, down, gps_xy, altitudes):
    """Turn the model so that `down` points down, then fit it onto GPS horizontally; the scale it took."""
    centers = np.array([rec.image(i).projection_center() for i in ids])
    _rotate(rec, _rotation_between(down, np.array([0.0, 0.0, -1.0])), centers.mean(axis=0))
    return _fit_horizontally(rec, ids, gps_xy, altitudes)


def _vertical(rec, ids, images):
    """The down direction in the model frame, and the cameras' lean [backward, sideways] from it in degrees
    (None when it cannot be told).

    A camera fixed to a multicopter leans back as the aircraft tilts forward to fly, and a mount may sit
    askew: both turn with the flight direction. Where the flight goes in several directions, the viewing
    directions are fitted as down plus such a lean (least squares; the model's horizontal directions taken
    from GPS); along one line the two cannot be told apart and the mean view is taken.
    """
    views = np.array([rec.image(i).viewing_direction() for i in ids])
    order = sorted(range(len(ids)), key=lambda k: (images[k].get("capture_time") or "", images[k]["name"]))
    track = np.array([[images[k]["x"], images[k]["y"]] for k in order])
    heading = np.zeros_like(track)
    heading[order] = np.gradient(track, axis=0)
    length = np.linalg.norm(heading, axis=1)
    moving = length > MIN_STEP_M
    if moving.sum() < MIN_LEAN_IMAGES or np.linalg.norm(np.mean(heading[moving] / length[moving, None], axis=0)) \
            > MAX_HEADING_RESULTANT:
        return _mean_view(rec, ids), None
    forward = heading[moving] / length[moving, None]
    left = np.c_[-forward[:, 1], forward[:, 0]]
    n = len(forward)
    design = np.zeros((2 * n, 4))
    design[0::2, 0], design[1::2, 1] = 1.0, 1.0
    design[0::2, 2], design[1::2, 2] = -forward[:, 0], -forward[:, 1]   # leaning back
    design[0::2, 3], design[1::2, 3] = left[:, 0], left[:, 1]           # leaning to the left
    target = views[moving][:, :2].reshape(-1)
    (east, north, back, sideways), *_ = np.linalg.lstsq(design, target, rcond=None)
    horizontal = min(np.hypot(east, north), 0.99)
    down = np.array([east, north, -np.sqrt(1 - horizontal ** 2)])
    down /= np.linalg.norm(down)
    return down, [float(np.degrees(back)), float(np.degrees(sideways))]


def _nadir_views(ids, images):
    """The images whose views tell where down is: all but those whose own gimbal pitch says they look obliquely
    (a few oblique photos of a nadir survey would lean the mean view)."""
    keep = [k for k, image in enumerate(images) if image.get("gimbal_pitch", -90.0) <= NADIR_PITCH_DEG]
    return [ids[k] for k in keep], [images[k] for k in keep]


def _nadir(rec, ids, images):
    """True for nadir photos: by the gimbal pitch where recorded, else by views that all point one way."""
    pitches = [i["gimbal_pitch"] for i in images if "gimbal_pitch" in i]
    if pitches:
        return float(np.median(pitches)) <= NADIR_PITCH_DEG
    views = np.array([rec.image(i).viewing_direction() for i in ids])
    angles = np.degrees(np.arccos(np.clip(views @ _mean_view(rec, ids), -1.0, 1.0)))
    return float(np.mean(angles <= NADIR_SPREAD_DEG)) >= NADIR_SHARE


def _mean_view(rec, ids):
    """The cameras' mean viewing direction (unit vector, model frame)."""
    mean = np.mean([rec.image(i).viewing_direction() for i in ids], axis=0)
    return mean / np.linalg.norm(mean)


def _rotation_between(a, b):
    """The smallest rotation (3x3) taking unit vector a onto unit vector b."""
    axis = np.cross(a, b)
    sine, cosine = np.linalg.norm(axis), float(a @ b)
    if sine < 1e-12:
        return np.eye(3)  # already aligned (the model is never upside down here: its views point down)
    return pycolmap.Rotation3d(axis / sine * np.arctan2(sine, cosine)).matrix()


def _rotate(rec, rotation, center):
    """Rotate the model about `center`."""
    rec.transform(pycolmap.Sim3d(1.0, pycolmap.Rotation3d(rotation), center - rotation @ center))


def _fit_horizontally(rec, ids, gps_xy, altitudes):
    """Scale, turn about the vertical and shift the (level) model onto the GPS positions; its height onto the
    altitudes' median. The fit leaves out positions far from the others' agreement."""
    centers = np.array([rec.image(i).projection_center() for i in ids])
    model = centers[:, 0] + 1j * centers[:, 1]
    target = gps_xy[:, 0] + 1j * gps_xy[:, 1]
    keep = np.ones(len(ids), bool)
    for _ in range(10):
        # gps ~ a * model + b with complex a (scale and turn) and b (shift): linear least squares.
        design = np.c_[model[keep], np.ones(keep.sum())]
        (a, b), *_ = np.linalg.lstsq(design, target[keep], rcond=None)
        residual = np.abs(a * model + b - target)
        within = residual <= max(HORIZONTAL_MAX_ERROR_M, 3 * float(np.median(residual)))
        if within.sum() < 2 or (within == keep).all():
            break
        keep = within
    scale, turn = float(np.abs(a)), float(np.angle(a))
    rotation = pycolmap.Rotation3d(np.array([0.0, 0.0, turn]))
    shift_z = float(np.median(altitudes - scale * centers[:, 2]))
    rec.transform(pycolmap.Sim3d(scale, rotation, np.array([b.real, b.imag, shift_z])))
    return scale


def _drift_along_flight(images, residuals):
    """How far the altitude climbs (negative: sinks) relative to the model from the first photo to the last, by
    a straight line through the residuals in the order the photos were taken."""
    order = sorted(range(len(images)), key=lambda k: (images[k].get("capture_time") or "", images[k]["name"]))
    if len(order) < 2:
        return 0.0
    slope = np.polyfit(np.arange(len(order)), residuals[order], 1)[0]
    return float(slope * (len(order) - 1))
