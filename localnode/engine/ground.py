"""Bare ground from a surface model: a progressive morphological filter (after Zhang et al., 2003).

Openings of the surface with growing windows shave off what stands on the ground. A cell belongs to an object
(a tree, a building) when one step of that growth lowers it by more than the ground itself could rise across
the step; objects wider than the largest window stay. The ground cells are then interpolated under the objects.
"""
import numpy as np
from scipy import ndimage
from scipy.interpolate import griddata

MAX_WINDOW_M = 21.0        # the widest object removed: a large house, a row of trees
GROUND_SLOPE = 0.3         # rise per metre the terrain itself may have (about 17 degrees)
MIN_STEP_M = 0.3           # height change always allowed between two windows (noise of a sparse surface)
MAX_STEP_M = 3.0           # never allow more: beyond it a step is an object, whatever the window
WALL_BLUR_M = 2.0          # how far the gridded surface smears an object's edge onto the ground around it


def terrain_model(surface, resolution):
    """The bare-ground elevations under a surface grid (NaN outside it), and the share of cells on objects."""
    valid = np.isfinite(surface)
    if not valid.any():
        return surface.copy(), 0.0
    current = _fill_gaps(surface, valid)
    on_object = np.zeros(surface.shape, bool)
    previous_cells = 1
    for cells in _window_sizes(resolution):
        opened = ndimage.grey_opening(current, size=(cells, cells))
        # The window grows by half the width difference on each side: the most the ground can drop across it.
        allowed = min(MAX_STEP_M, MIN_STEP_M + GROUND_SLOPE * (cells - previous_cells) / 2 * resolution)
        on_object |= (current - opened) > allowed
        current, previous_cells = opened, cells
    # A surface gridded from points blurs the foot of a wall over a cell or two: those cells go with the object.
    on_object = ndimage.binary_dilation(on_object, iterations=max(1, int(round(WALL_BLUR_M / resolution))))
    ground = valid & ~on_object
    if ground.sum() < 3:
        return surface.copy(), 0.0
    rows, cols = np.nonzero(ground)
    all_rows, all_cols = np.nonzero(valid)
    terrain = np.full(surface.shape, np.nan)
    terrain[all_rows, all_cols] = griddata((rows, cols), surface[rows, cols], (all_rows, all_cols), "linear")
    missing = valid & ~np.isfinite(terrain)  # outside the ground cells' hull: the nearest ground
    terrain[missing] = griddata((rows, cols), surface[rows, cols], np.nonzero(missing), "nearest")
    return terrain, float(on_object[valid].mean())


def _window_sizes(resolution):
    """Odd window widths in cells, growing by a metre or so at a time up to MAX_WINDOW_M."""
    largest = max(3, int(MAX_WINDOW_M / resolution) | 1)
    step = max(2, int(round(1.0 / resolution)) * 2)
    return list(range(3, largest + 1, step))


def _fill_gaps(surface, valid):
    """The surface with every empty cell given the value of the nearest filled one (openings need no holes)."""
    _, (rows, cols) = ndimage.distance_transform_edt(~valid, return_indices=True)
    return surface[rows, cols]
