"""The surface model's gridding a band of rows at a time: the same medians and the same filled grid as in one go."""
import numpy as np
from scipy.stats import binned_statistic_2d

from localnode.engine.stages import dem


def test_cell_medians_in_small_bands_equal_scipys_medians(monkeypatch):
    monkeypatch.setattr(dem, "BAND_POINTS", 5000)  # about forty bands, some of one row
    rng = np.random.default_rng(1)
    xyz = np.c_[rng.uniform(0, 40, (50000, 2)), rng.normal(0, 1, 50000)]
    xyz = xyz[np.hypot(xyz[:, 0] - 20, xyz[:, 1] - 20) > 5]  # empty cells in a hole
    x_edges, y_edges = np.linspace(0, 41, 83), np.linspace(-0.5, 40.5, 83)
    expected = binned_statistic_2d(xyz[:, 1], xyz[:, 0], xyz[:, 2], "median", bins=[82, 82],
                                   range=[[-0.5, 40.5], [0, 41]])[0]
    ours = dem.cell_medians(xyz, x_edges, y_edges)
    assert np.isnan(ours).sum() > 50
    assert np.array_equal(np.isnan(ours), np.isnan(expected))
    assert np.nanmax(np.abs(ours - expected)) == 0


def test_the_grid_keeps_known_cells_fills_holes_and_leaves_the_outside_empty():
    rng = np.random.default_rng(2)
    xy = rng.uniform(0, 30, (40000, 2))
    xy = xy[(np.hypot(xy[:, 0] - 15, xy[:, 1] - 15) > 3) & ((xy[:, 0] > 10) | (xy[:, 1] < 20))]  # hole, notch
    xyz = np.c_[xy, 0.1 * xy[:, 0] + 0.05 * xy[:, 1]]  # a plane: interpolation inside the hull is exact
    grid, west, north = dem.grid_surface(xyz, 0.5)
    rows, cols = np.indices(grid.shape)
    x, y = west + (cols + 0.5) * 0.5, north - (rows + 0.5) * 0.5
    hole = np.hypot(x - 15, y - 15) < 2
    notch = (x < 4) & (y > 26)  # the corner beyond the diagonal the hull draws across the notch
    assert np.isfinite(grid[hole]).all()
    assert np.abs(grid[hole] - (0.1 * x + 0.05 * y)[hole]).max() < 0.05
    assert np.isnan(grid[notch]).all()  # outside the points' hull
