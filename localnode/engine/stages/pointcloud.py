"""Stage odm_georeferencing: the georeferenced point cloud (LAZ with the CRS in its header, and PLY)."""
import laspy
import numpy as np

from localnode.engine.console import EngineError, say
from localnode.engine.model import good_points, load_frame, load_model
from localnode.engine.workspace import atomic_path

STAGE = "odm_georeferencing"
LAZ = "odm_georeferencing/odm_georeferenced_model.laz"
PLY = "odm_georeferencing/odm_georeferenced_model.ply"


def run(ws, options, report):
    """Write the model's well-triangulated points in UTM coordinates."""
    frame = load_frame(ws)
    xyz, rgb = good_points(load_model(ws))
    if len(xyz) < 10:
        raise EngineError("Too few 3D points were found to build a point cloud; the photos may lack texture "
                          "or overlap. Try a larger min-num-features or resize-to.")
    utm = xyz + np.array(frame.origin)
    write_laz(ws.result(LAZ), utm, rgb, frame.crs)
    report(0.6)
    write_ply(ws.result(PLY), utm, rgb)
    say(STAGE, f"Point cloud: {len(utm)} points, EPSG:{frame.epsg}, "
               f"height {utm[:, 2].min():.1f} to {utm[:, 2].max():.1f} m")
    return {"points": int(len(utm))}


def write_laz(path, xyz, rgb, crs):
    """A LAS 1.4 point cloud (format 7: colour) with millimetre precision and the CRS as a WKT record."""
    header = laspy.LasHeader(point_format=7, version="1.4")
    header.offsets = np.floor(xyz.min(axis=0))
    header.scales = np.array([0.001, 0.001, 0.001])
    header.add_crs(crs)
    las = laspy.LasData(header)
    las.x, las.y, las.z = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    colour = rgb.astype(np.uint16) * 257  # 8 to 16 bits
    las.red, las.green, las.blue = colour[:, 0], colour[:, 1], colour[:, 2]
    with atomic_path(path) as tmp:
        las.write(tmp)


def write_ply(path, xyz, rgb):
    """A binary PLY with double coordinates (UTM needs them) and 8-bit colour."""
    vertex = np.empty(len(xyz), dtype=[("x", "<f8"), ("y", "<f8"), ("z", "<f8"),
                                       ("red", "u1"), ("green", "u1"), ("blue", "u1")])
    vertex["x"], vertex["y"], vertex["z"] = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    vertex["red"], vertex["green"], vertex["blue"] = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    header = ("ply\nformat binary_little_endian 1.0\n"
              f"element vertex {len(xyz)}\n"
              "property double x\nproperty double y\nproperty double z\n"
              "property uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n")
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(header.encode("ascii"))
        f.write(vertex.tobytes())
