"""Surfaces from the dense point cloud: a full 3D mesh (screened Poisson, trimmed where the cloud has no
support) or a 2.5D mesh of the gridded surface; both decimated to a number of triangles by quadric edge collapse.

PyMeshLab (MeshLab's filters: Kazhdan's screened Poisson reconstruction, Garland's quadric decimation) does the
heavy geometry; the choices about depth, normals and trimming are ours and explained where they are made.
"""
import os

# MeshLab's OpenMP threads otherwise spin while they wait: on a busy machine (other tasks, other engines) that
# made a small reconstruction take 10x the CPU. PyMeshLab bundles its own OpenMP runtime, which reads this when
# it loads, hence before the import (pycolmap's runtime, loaded earlier, is another one and is not affected).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import pymeshlab  # noqa: E402
from scipy.spatial import cKDTree  # noqa: E402

from localnode.engine.densify import cell_keys, column_keys
from localnode.engine.stages.dem import grid_surface

NORMAL_NEIGHBOURS = 16
POINTS_PER_CELL = 2.0       # Poisson is not asked for finer cells than the cloud fills (cost grows 4x per level)
FACES_PER_CELL = 2.0        # a surface crossing a cell of the finest level gives it about two triangles...
BUDGET_MESH_SIZES = 2.0     # ...and Poisson makes at most twice the faces decimation will keep
TRIM_CELLS = 1.5            # faces farther than this many finest cells (or...
TRIM_SPACINGS = 3.0         # ...this many point spacings) from every point are not supported by the cloud
MIN_COMPONENT_SHARE = 0.01  # pieces smaller than this share of the faces are stray blobs
POISSON_VOXEL_CELLS = 0.5   # a cloud denser than this share of the finest cell is averaged to it before Poisson


def point_spacing(xyz):
    """Median distance between neighbouring points (on a sample, it only sets scales)."""
    sample = xyz[np.random.default_rng(0).choice(len(xyz), min(len(xyz), 20000), replace=False)]
    return float(np.median(cKDTree(xyz).query(sample, k=2)[0][:, 1]))


def octree_depth(xyz, asked, spacing, mesh_size):
    """The Poisson depth: the asked one, capped where cells would be finer than the points can fill, and where
    the surface would cross more cells than a mesh of mesh_size faces needs (Poisson's time and memory follow
    those cells: depth 10 on caliterra's 20 photos cost 94 s of CPU and 1.46 GB for a mesh decimated anyway)."""
    extent = float(np.max(xyz.max(axis=0) - xyz.min(axis=0)))
    by_spacing = np.log2(extent / max(spacing, 1e-6))
    by_count = np.log(len(xyz) * POINTS_PER_CELL) / np.log(4)  # a surface of n cells needs about n points
    depth = int(max(4, min(asked, np.floor(by_spacing), np.floor(by_count))))
    while depth > 4 and FACES_PER_CELL * surface_cells(xyz, extent / 2 ** depth) > BUDGET_MESH_SIZES * mesh_size:
        depth -= 1
    return depth, extent


def poisson_points(xyz, spacing, cell):
    """(points, their spacing) to give Poisson at cells of side `cell`: the cloud as it is, or averaged per cube of
    POISSON_VOXEL_CELLS cells when it is denser than that.

    On a big survey the depth is capped (octree_depth) and the cloud is far denser than the cells: 19.6 M points
    of 1000 photos for cells of 1.9 m. Their normals and Poisson's samples then cost time and memory (5.4 GB) for
    detail no cell can hold; a few points per cell carry the same surface."""
    voxel = POISSON_VOXEL_CELLS * cell
    if spacing >= voxel:
        return xyz, spacing
    keys, inverse = np.unique(cell_keys(xyz, voxel), return_inverse=True)
    del keys
    counts = np.bincount(inverse)
    return np.stack([np.bincount(inverse, xyz[:, axis]) / counts for axis in range(3)], axis=1), voxel


def surface_cells(xyz, cell):
    """Cells of side `cell` the surface crosses, counted from above (walls add a few more)."""
    return len(np.unique(column_keys(xyz[:, :2], cell)))


def oriented_normals(xyz, cameras, threads):
    """Normals of the points, each turned towards the nearest camera (in plan) so walls face outwards."""
    ms = pymeshlab.MeshSet()
    ms.add_mesh(pymeshlab.Mesh(vertex_matrix=xyz))
    ms.compute_normal_for_point_clouds(k=NORMAL_NEIGHBOURS, smoothiter=1)
    normals = ms.current_mesh().vertex_normal_matrix()
    nearest = cKDTree(cameras[:, :2]).query(xyz[:, :2], workers=threads)[1]
    flip = np.einsum("ij,ij->i", normals, cameras[nearest] - xyz) < 0
    normals[flip] *= -1
    return normals


def poisson_mesh(xyz, cameras, depth, spacing, threads):
    """(vertices, faces) of the screened Poisson surface of the points, trimmed to where they support it."""
    normals = oriented_normals(xyz, cameras, threads)
    ms = pymeshlab.MeshSet()
    ms.add_mesh(pymeshlab.Mesh(vertex_matrix=xyz, v_normals_matrix=normals))
    ms.generate_surface_reconstruction_screened_poisson(depth=depth, samplespernode=1.5, pointweight=4,
                                                        preclean=False, threads=threads)
    mesh = ms.current_mesh()
    vertices, faces = mesh.vertex_matrix(), mesh.face_matrix()
    # Poisson closes the surface, ballooning over the survey's edges and gaps: keep faces near the points.
    cell = float(np.max(xyz.max(axis=0) - xyz.min(axis=0))) / 2 ** depth
    limit = max(TRIM_CELLS * cell, TRIM_SPACINGS * spacing)
    distance = cKDTree(xyz).query(vertices[faces].mean(axis=1), workers=threads)[0]
    return vertices, faces[distance <= limit]


def surface_mesh(xyz, mesh_size):
    """(vertices, faces) of a 2.5D mesh: the gridded surface, two triangles per cell with four known corners."""
    extent = np.prod(np.maximum(xyz[:, :2].max(axis=0) - xyz[:, :2].min(axis=0), 1e-3))
    spacing = point_spacing(xyz)
    resolution = max(2 * spacing, np.sqrt(extent / (2 * mesh_size)))  # about 4x mesh-size faces before decimation
    grid, west, north = grid_surface(xyz, resolution)
    rows, cols = grid.shape
    index = np.arange(rows * cols).reshape(rows, cols)
    a, b, c, d = index[:-1, :-1], index[:-1, 1:], index[1:, :-1], index[1:, 1:]
    known = np.isfinite(grid).ravel()
    quads = np.stack([a.ravel(), b.ravel(), c.ravel(), d.ravel()], axis=1)
    quads = quads[known[quads].all(axis=1)]
    # Counter-clockwise seen from above (rows go south): a-c-b and b-c-d.
    faces = np.concatenate([quads[:, [0, 2, 1]], quads[:, [1, 2, 3]]])
    r, c_ = np.divmod(np.arange(rows * cols), cols)
    vertices = np.c_[west + (c_ + 0.5) * resolution, north - (r + 0.5) * resolution, grid.ravel()]
    return vertices, faces


def decimate(vertices, faces, target, min_component_share=MIN_COMPONENT_SHARE):
    """The mesh cleaned (stray pieces and unused vertices dropped) and decimated to at most `target` faces."""
    ms = pymeshlab.MeshSet()
    ms.add_mesh(pymeshlab.Mesh(vertex_matrix=vertices, face_matrix=faces))
    ms.meshing_remove_unreferenced_vertices()
    ms.meshing_remove_connected_component_by_face_number(
        mincomponentsize=max(10, int(min_component_share * len(faces))))
    if ms.current_mesh().face_number() > target:
        ms.meshing_decimation_quadric_edge_collapse(targetfacenum=int(target), preservenormal=True,
                                                    preserveboundary=True, boundaryweight=2.0,
                                                    planarquadric=True, qualitythr=0.3, autoclean=True)
    ms.meshing_remove_unreferenced_vertices()
    mesh = ms.current_mesh()
    return mesh.vertex_matrix().astype(np.float64), mesh.face_matrix().astype(np.int32)
