"""Figures that judge a dense cloud's surface before it is used: the share of the DSM it measured, and the
Poisson depth it can afford (no engine run: synthetic points)."""
import numpy as np

from localnode.engine.meshing import FACES_PER_CELL, BUDGET_MESH_SIZES, octree_depth, poisson_points, surface_cells
from localnode.engine.stages.dem import grid_surface, measured_share


def ground_points(size=60.0, step=0.1, hole=None):
    """Points on flat ground every `step` metres over a square, none inside the `hole` box (x0, y0, x1, y1)."""
    x, y = np.meshgrid(np.arange(0, size, step), np.arange(0, size, step))
    xyz = np.c_[x.ravel(), y.ravel(), np.zeros(x.size)]
    if hole:
        x0, y0, x1, y1 = hole
        xyz = xyz[~((xyz[:, 0] >= x0) & (xyz[:, 0] < x1) & (xyz[:, 1] >= y0) & (xyz[:, 1] < y1))]
    return xyz


def test_a_hole_in_the_cloud_is_interpolated_and_not_counted_as_measured():
    """A 10 x 5 m hole in a 20 x 20 m cloud: the DSM spans it, and 1/8 of it is not measured."""
    xyz = ground_points(size=20.0, hole=(5, 5, 15, 10))
    for resolution in (0.5, 0.25):  # the node's default and a finer DSM: measured on 0.5 m cells either way
        surface, west, north = grid_surface(xyz, resolution)
        assert np.isfinite(surface[int((north - 7.5) / resolution), int((10 - west) / resolution)])  # filled
        share = measured_share(xyz, surface, west, north, resolution)
        # A 0.5 m cell across the hole's edge has points: the hole may look up to a cell narrower.
        assert abs(share - (1 - 50 / 400)) < 0.02, (resolution, share)


def test_a_whole_cloud_is_all_measured():
    """No hole: every cell of the DSM has points."""
    xyz = ground_points(size=20.0)
    surface, west, north = grid_surface(xyz, 0.5)
    assert measured_share(xyz, surface, west, north, 0.5) == 1.0


def test_the_poisson_depth_fits_the_budget_of_the_mesh_size():
    """A 60 x 60 m cloud could fill depth 8, but a mesh of 5,000 faces does not need it: the depth is the
    finest whose cells crossed by the surface make at most twice the faces decimation keeps."""
    xyz = ground_points(step=0.2)
    mesh_size = 5000
    depth, extent = octree_depth(xyz, 11, spacing=0.1, mesh_size=mesh_size)
    budget = BUDGET_MESH_SIZES * mesh_size
    assert FACES_PER_CELL * surface_cells(xyz, extent / 2 ** depth) <= budget
    assert FACES_PER_CELL * surface_cells(xyz, extent / 2 ** (depth + 1)) > budget
    assert octree_depth(xyz, 11, spacing=0.2, mesh_size=10 ** 7)[0] == 8  # no budget: the points' spacing caps it
    assert octree_depth(xyz, 5, spacing=0.2, mesh_size=10 ** 7)[0] == 5   # and the asked depth always does


def test_a_cloud_far_denser_than_the_poisson_cells_is_averaged_to_half_cells():
    """10 cm points under 2 m cells: averaged to 1 m cubes (100x fewer points), still on the surface; a cloud as
    sparse as the cells is left as it is."""
    xyz = ground_points(step=0.1)
    xyz[:, 2] = 0.05 * xyz[:, 0] + 3.0  # a slope: each average stays on it
    points, spacing = poisson_points(xyz, spacing=0.1, cell=2.0)
    assert spacing == 1.0 and len(points) == 60 * 60
    assert np.allclose(points[:, 2], 0.05 * points[:, 0] + 3.0)
    assert np.allclose(points[:, :2].min(axis=0), 0.45) and np.allclose(points[:, :2].max(axis=0), 59.45)
    same, same_spacing = poisson_points(xyz, spacing=0.1, cell=0.2)
    assert same is xyz and same_spacing == 0.1
