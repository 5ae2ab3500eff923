"""Stage odm_meshing: the surface of the 3D model, from the dense point cloud (localnode/engine/meshing.py).

A full 3D mesh by default (walls, overhangs), a 2.5D one (one height per place) with use-3dmesh false; kept in
work/mesh/ in the local frame for mvs_texturing. Skipped with skip-3dmodel or fast-orthophoto, as ODM does.
"""
import time

import numpy as np

from localnode.engine import meshing
from localnode.engine.console import Heartbeat, say, warn
from localnode.engine.model import load_model
from localnode.engine.options import MAX_OCTREE_DEPTH
from localnode.engine.stages.pointcloud import load_points
from localnode.engine.workspace import atomic_path

STAGE = "odm_meshing"
MESH = "mesh/mesh.npz"  # in work/
MIN_POINTS = 100
POINTS_PER_SECOND = 20_000  # roughly, for Poisson on 2 cores: only to move progress while it runs


def wants_model(options):
    """Whether this task makes the textured 3D model."""
    return not (options["skip-3dmodel"] or options["fast-orthophoto"])


def run(ws, options, report):
    """Build the mesh and keep it in work/mesh/mesh.npz."""
    (ws.work / MESH).unlink(missing_ok=True)  # from an earlier run: it must not outlive a rerun
    if not wants_model(options):
        why = "skip-3dmodel" if options["skip-3dmodel"] else "fast-orthophoto"
        say(STAGE, f"Skipped: no 3D model with {why}")
        return {"skipped": True}
    xyz, _ = load_points(ws)
    if len(xyz) < MIN_POINTS:
        # The 2D results may still be fine: the task goes on without a 3D model rather than failing.
        warn(STAGE, f"Only {len(xyz)} points: too few for a 3D model, none is made")
        return {"skipped": True}
    threads = max(1, options["max-concurrency"])
    target = max(100, options["mesh-size"])
    started = time.monotonic()
    with Heartbeat(STAGE, "Meshing", report, 0.0, 0.7, len(xyz) / POINTS_PER_SECOND):
        if options["use-3dmesh"]:
            vertices, faces, figures = _full_3d(ws, xyz, options, threads, target)
        else:
            vertices, faces = meshing.surface_mesh(xyz, target)
            figures = {"kind": "2.5D"}
    built = len(faces)
    with Heartbeat(STAGE, "Decimating", report, 0.7, 0.95, len(faces) / (4 * POINTS_PER_SECOND)):
        vertices, faces = meshing.decimate(vertices, faces, target)
    if len(faces) == 0:
        warn(STAGE, "The mesh came out empty: no 3D model is made")
        return {"skipped": True}
    save_mesh(ws.work / MESH, vertices, faces)
    say(STAGE, f"{figures['kind']} mesh: {built:,} triangles, decimated to {len(faces):,} "
               f"({len(vertices):,} vertices) in {time.monotonic() - started:.1f} s")
    return {**figures, "faces": int(len(faces)), "vertices": int(len(vertices))}


def _full_3d(ws, xyz, options, threads, target):
    """(vertices, faces, figures) of the trimmed Poisson surface, for a mesh to be decimated to target faces."""
    spacing = meshing.point_spacing(xyz)
    depth, extent = meshing.octree_depth(xyz, min(options["mesh-octree-depth"], MAX_OCTREE_DEPTH), spacing, target)
    rec = load_model(ws)
    cameras = np.array([rec.image(i).projection_center() for i in rec.reg_image_ids()])
    points, point_spacing = meshing.poisson_points(xyz, spacing, extent / 2 ** depth)
    averaged = f", averaged from {len(xyz):,} to cubes of {point_spacing * 100:.0f} cm" if len(points) < len(xyz) else ""
    say(STAGE, f"Screened Poisson reconstruction of {len(points):,} points at octree depth {depth} "
               f"(cells of {extent / 2 ** depth * 100:.0f} cm; points {spacing * 100:.0f} cm apart{averaged})")
    vertices, faces = meshing.poisson_mesh(points, cameras, depth, point_spacing, threads)
    return vertices, faces, {"kind": "3D", "octree_depth": depth}


def save_mesh(path, vertices, faces):
    """Keep the mesh for mvs_texturing (local frame)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, vertices=vertices, faces=faces)


def load_mesh(ws):
    """(vertices, faces) of the mesh odm_meshing made, or None when it made none."""
    path = ws.work / MESH
    if not path.is_file():
        return None
    with np.load(path) as data:
        return data["vertices"], data["faces"]
