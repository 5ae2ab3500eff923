"""Reading what the SfM stage produced: the model, the local frame, and the filtered sparse points."""
import numpy as np
import pycolmap

from localnode.engine.console import EngineError
from localnode.engine.geo import LocalFrame
from localnode.engine.workspace import read_json

MAX_POINT_ERROR_PX = 2.0   # points seen worse than this are likely mismatches
MIN_TRACK_LENGTH = 3       # points seen by fewer images are poorly triangulated


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
    xyz, rgb = [], []
    for point in rec.points3D.values():
        if point.error <= MAX_POINT_ERROR_PX and point.track.length() >= MIN_TRACK_LENGTH:
            xyz.append(point.xyz)
            rgb.append(point.color)
    if not xyz:
        return np.zeros((0, 3)), np.zeros((0, 3), np.uint8)
    return np.array(xyz, dtype=np.float64), np.array(rgb, dtype=np.uint8)
