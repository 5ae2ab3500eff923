"""Reading what the SfM stage produced: the model, the local frame, and the filtered sparse points."""
import numpy as np
import pycolmap

from localnode.engine.console import EngineError
from localnode.engine.geo import LocalFrame
from localnode.engine.workspace import read_json

MAX_POINT_ERROR_PX = 2.0   # points seen worse than this are likely mismatches
MIN_TRACK_LENGTH = 3       # points seen by fewer images are poorly triangulated...
SMALL_SET_IMAGES = 8       # ...but in sets of up to this many images most points are seen by only two:
MIN_TWO_VIEW_ANGLE_DEG = 3.0  # those are kept when their two rays meet at this angle at least


def load_frame(ws):
    """The task's local UTM frame."""
    return LocalFrame.from_dict(read_json(ws.dataset_json)["frame"])


def load_model(ws):
    """The aligned reconstruction (local UTM coordinates)."""
    path = ws.sfm / "model"
    if not path.is_dir():
        raise EngineError("The structure-from-motion model is missing: rerun from the opensfm stage.")
    return pycolmap.Reconstruction(path)


def good_points(rec):
    """Well-triangulated points as (xyz float64 Nx3, rgb uint8 Nx3)."""
    small_set = rec.num_reg_images() <= SMALL_SET_IMAGES
    centers = {i: rec.image(i).projection_center() for i in rec.reg_image_ids()}
    min_cos = np.cos(np.radians(MIN_TWO_VIEW_ANGLE_DEG))
    xyz, rgb = [], []
    for point in rec.points3D.values():
        length = point.track.length()
        if point.error > MAX_POINT_ERROR_PX or length < 2:
            continue
        if length < MIN_TRACK_LENGTH and not (small_set and _ray_cosine(point, centers) <= min_cos):
            continue
        xyz.append(point.xyz)
        rgb.append(point.color)
    if not xyz:
        return np.zeros((0, 3)), np.zeros((0, 3), np.uint8)
    return np.array(xyz, dtype=np.float64), np.array(rgb, dtype=np.uint8)


def _ray_cosine(point, centers):
    """Cosine of the widest angle between the rays from the point to the cameras that see it."""
    rays = np.array([centers[e.image_id] - point.xyz for e in point.track.elements])
    rays /= np.maximum(np.linalg.norm(rays, axis=1), 1e-12)[:, None]
    return float((rays @ rays.T).min())
