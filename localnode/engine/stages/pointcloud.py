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
WRITE_CHUNK = 1_000_000     # points converted and written at a time


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
    origin = np.array(frame.origin)
    write_laz(ws.result(LAZ), xyz, rgb, frame.crs, origin)
    report(0.9)
    write_ply(ws.result(PLY), xyz, rgb, origin)
    say(STAGE, f"Point cloud: {len(xyz):,} points, EPSG:{frame.epsg}, "
               f"height {xyz[:, 2].min() + origin[2]:.1f} to {xyz[:, 2].max() + origin[2]:.1f} m")
    return {**figures, "points": int(len(xyz))}


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


def write_laz(path, xyz, rgb, crs, origin=(0.0, 0.0, 0.0)):
    """A LAS 1.4 point cloud (format 7: colour) of xyz + origin with millimetre precision and the CRS as a WKT
    record, written WRITE_CHUNK points at a time (a whole-cloud point record would be a copy of the cloud)."""
    origin = np.asarray(origin, dtype=np.float64)
    header = laspy.LasHeader(point_format=7, version="1.4")
    header.offsets = np.floor(xyz.min(axis=0) + origin)
    header.scales = np.array([0.001, 0.001, 0.001])
    header.add_crs(crs)
    with atomic_path(path) as tmp, laspy.open(tmp, mode="w", header=header) as writer:
        for start in range(0, len(xyz), WRITE_CHUNK):
            part = slice(start, start + WRITE_CHUNK)
            points = laspy.ScaleAwarePointRecord.zeros(len(xyz[part]), header=header)
            utm = xyz[part] + origin
            points.x, points.y, points.z = utm[:, 0], utm[:, 1], utm[:, 2]
            colour = rgb[part].astype(np.uint16) * 257  # 8 to 16 bits
            points.red, points.green, points.blue = colour[:, 0], colour[:, 1], colour[:, 2]
            writer.write_points(points)


def write_ply(path, xyz, rgb, origin=(0.0, 0.0, 0.0)):
    """A binary PLY of xyz + origin with double coordinates (UTM needs them) and 8-bit colour, written in chunks."""
    origin = np.asarray(origin, dtype=np.float64)
    header = ("ply\nformat binary_little_endian 1.0\n"
              f"element vertex {len(xyz)}\n"
              "property double x\nproperty double y\nproperty double z\n"
              "property uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n")
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(header.encode("ascii"))
        for start in range(0, len(xyz), WRITE_CHUNK):
            part = slice(start, start + WRITE_CHUNK)
            vertex = np.empty(len(xyz[part]), dtype=[("x", "<f8"), ("y", "<f8"), ("z", "<f8"),
                                                     ("red", "u1"), ("green", "u1"), ("blue", "u1")])
            utm = xyz[part] + origin
            vertex["x"], vertex["y"], vertex["z"] = utm[:, 0], utm[:, 1], utm[:, 2]
            vertex["red"], vertex["green"], vertex["blue"] = rgb[part, 0], rgb[part, 1], rgb[part, 2]
            f.write(vertex.tobytes())
