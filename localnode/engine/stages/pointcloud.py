"""Stage odm_georeferencing: the georeferenced point cloud (LAZ with the CRS in its header, and PLY).

The cloud is densified by stereo matching (localnode/engine/densify.py) and kept in work/dense/ for the surface
model; with fast-orthophoto and no DSM or DTM nothing uses a dense cloud, so the sparse points are written instead.
"""
import laspy
import numpy as np

from localnode.engine.console import EngineError, counting, say, warn
from localnode.engine.densify import WORKING_SIZE, densify
from localnode.engine.model import good_points, load_frame, load_model
from localnode.engine.workspace import atomic_path

STAGE = "odm_georeferencing"
LAZ = "odm_georeferencing/odm_georeferenced_model.laz"
PLY = "odm_georeferencing/odm_georeferenced_model.ply"
DENSE = "dense/points.npz"  # in work/: the dense points in the local frame, for odm_dem


def run(ws, options, report):
    """Write the dense (or, for a fast orthophoto, the sparse) points in UTM coordinates."""
    frame = load_frame(ws)
    rec = load_model(ws)
    xyz, rgb = good_points(rec)
    if len(xyz) < 10:
        raise EngineError("Too few 3D points were found to build a point cloud; the photos may lack texture "
                          "or overlap. Try a larger min-num-features or resize-to.")
    (ws.work / DENSE).unlink(missing_ok=True)  # from an earlier run: it must not outlive a rerun
    figures = {"sparse_points": int(len(xyz))}
    if wants_dense(options):
        dense = _densify(ws, options, rec, xyz, report)
        if dense is not None:
            xyz, rgb, figures["dense"] = dense
            save_points(ws.work / DENSE, xyz, rgb)
    utm = xyz + np.array(frame.origin)
    write_laz(ws.result(LAZ), utm, rgb, frame.crs)
    report(0.9)
    write_ply(ws.result(PLY), utm, rgb)
    say(STAGE, f"Point cloud: {len(utm):,} points, EPSG:{frame.epsg}, "
               f"height {utm[:, 2].min():.1f} to {utm[:, 2].max():.1f} m")
    return {**figures, "points": int(len(utm))}


def wants_dense(options):
    """False only when nothing needs a surface: a fast orthophoto (a flat plane) without a DSM or a DTM."""
    return options["dsm"] or options["dtm"] or not options["fast-orthophoto"]


def _densify(ws, options, rec, sparse_xyz, report):
    """(xyz, rgb, figures) of the dense cloud, or None (with a warning) when stereo found too little."""
    size = options["resize-to"]
    working_size = min(WORKING_SIZE, size) if size > 0 else WORKING_SIZE
    xyz, rgb, figures = densify(rec, ws.images, sparse_xyz, threads=options["max-concurrency"],
                                working_size=working_size,
                                progress=counting(STAGE, "Stereo pairs matched", report, 0.0, 0.8))
    if len(xyz) < len(sparse_xyz):
        warn(STAGE, f"Stereo matching found only {len(xyz)} points in {figures['pairs']} image pairs: "
                    "keeping the sparse points")
        return None
    say(STAGE, f"Dense cloud: {len(xyz):,} points from {figures['pairs']} image pairs in "
               f"{figures['seconds']:.1f} s ({figures['voxel_m'] * 100:.0f} cm voxels)")
    return xyz, rgb, figures


def save_points(path, xyz, rgb):
    """Keep points for a later stage (local frame)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, xyz=xyz, rgb=rgb)


def load_points(ws):
    """The points the surface model is built from: the dense cloud when this stage made one, else the sparse."""
    path = ws.work / DENSE
    if path.is_file():
        with np.load(path) as data:
            return data["xyz"], data["rgb"]
    return good_points(load_model(ws))


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
