"""Stage odm_dem: a surface model from the point cloud (for the orthophoto, and as dsm.tif when asked), and
the bare ground under it (dtm.tif) when asked.

The median of the points in each cell, interpolated inside their hull, then median-filtered to drop stray
points. The points are the dense cloud of odm_georeferencing, or the sparse ones (about one per square metre)
when it made none. The share of the surface with a measured height (cells with points, not interpolated across
a hole of the cloud) is reported.
"""
import numpy as np
from scipy import ndimage
from scipy.interpolate import griddata

from localnode.engine.console import EngineError, Heartbeat, say
from localnode.engine.ground import terrain_model
from localnode.engine.model import load_frame
from localnode.engine.rasters import write_cog
from localnode.engine.stages.pointcloud import load_points
from localnode.engine.workspace import atomic_path

STAGE = "odm_dem"
DSM = "odm_dem/dsm.tif"
DTM = "odm_dem/dtm.tif"
NODATA = -9999.0
POINTS_PER_SECOND = 500_000  # roughly, to grid the points on 2 cores: only to move progress while it runs
CELLS_PER_SECOND = 1_000_000  # roughly, to filter the surface into the terrain model: likewise
BAND_POINTS = 2_000_000  # points binned at a time for the cells' medians
MEASURED_CELL_M = 0.5  # a place counts as measured when a point lies in its cell of this size (or the DSM's, if larger)


def run(ws, options, report):
    """Grid the points into work/dem/surface.npz, and results/odm_dem/dsm.tif and dtm.tif when asked."""
    for option, relative in (("dsm", DSM), ("dtm", DTM)):
        if not options[option]:
            (ws.results / relative).unlink(missing_ok=True)  # from an earlier run with other options
    if not (options["dsm"] or options["dtm"]) and options["fast-orthophoto"]:
        say(STAGE, "Skipped: no DSM or DTM asked and fast-orthophoto projects onto a plane")
        return {"skipped": True}
    frame = load_frame(ws)
    xyz, _ = load_points(ws)
    resolution = options["dem-resolution"] / 100.0
    with Heartbeat(STAGE, "Gridding the points", report, 0.0, 0.6, len(xyz) / POINTS_PER_SECOND):
        surface, west, north = grid_surface(xyz, resolution)
    save_surface(ws, surface, west, north, resolution)
    valid = np.isfinite(surface)
    measured = round(measured_share(xyz, surface, west, north, resolution), 4)
    say(STAGE, f"Surface model: {surface.shape[1]} x {surface.shape[0]} cells of {resolution:g} m, "
               f"elevation {np.nanmin(surface) + frame.origin[2]:.1f} to {np.nanmax(surface) + frame.origin[2]:.1f} m, "
               f"{measured * 100:.1f} % measured (the rest interpolated across holes in the point cloud)")
    figures = {"cells": int(valid.sum()), "resolution_m": resolution, "measured_share": measured}
    if options["dsm"]:
        _write_elevation(ws, DSM, surface, west, north, resolution, frame, options)
        report(0.7)
    if options["dtm"]:
        with Heartbeat(STAGE, "Finding the bare ground", report, 0.7, 0.9, valid.size / CELLS_PER_SECOND):
            terrain, on_objects = terrain_model(surface, resolution)
        say(STAGE, f"Terrain model: {on_objects * 100:.0f} % of the surface is on objects (trees, buildings), "
                   "replaced by the ground around them")
        _write_elevation(ws, DTM, terrain, west, north, resolution, frame, options)
        figures["on_objects"] = on_objects
    return figures


def _write_elevation(ws, relative, grid, west, north, resolution, frame, options):
    """Write an elevation grid (local heights, NaN where unknown) as a float32 COG in the task's UTM zone."""
    heights = np.where(np.isfinite(grid), grid + frame.origin[2], NODATA).astype(np.float32)
    scratch = ws.work / "dem" / f"{ws.result(relative).stem}_scratch.tif"
    write_cog(ws.result(relative), scratch, heights[None], west + frame.origin[0], north + frame.origin[1],
              resolution, frame.crs, nodata=NODATA, threads=options["max-concurrency"])
    say(STAGE, f"Wrote {relative}")


def grid_surface(xyz, resolution):
    """(grid of elevations with NaN outside the points' hull, west, north) in local coordinates."""
    if len(xyz) < 10:
        raise EngineError("Too few 3D points to build a surface model.")
    west, south = np.floor(xyz[:, :2].min(axis=0) / resolution) * resolution
    east, north = np.ceil(xyz[:, :2].max(axis=0) / resolution + 1) * resolution
    cols, rows = int(round((east - west) / resolution)), int(round((north - south) / resolution))
    median = cell_medians(xyz, np.linspace(west, east, cols + 1), np.linspace(south, north, rows + 1))
    median = median[::-1]  # rows from north to south, as in a raster
    known = np.isfinite(median)
    rr, cc = np.nonzero(known)
    er, ec = np.nonzero(~known)
    filled = median.copy()
    # Only the empty cells are interpolated (a known cell is its own interpolation): the query arrays follow
    # the holes, not the whole grid. NaN outside the hull.
    filled[er, ec] = griddata((rr, cc), median[rr, cc], (er, ec), method="linear")
    inside = np.isfinite(filled)
    smooth = ndimage.median_filter(np.where(inside, filled, np.nanmedian(filled)), size=3)
    return np.where(inside, smooth, np.nan), float(west), float(north)


def cell_medians(xyz, x_edges, y_edges):
    """Median z of the points in each cell between the edges (rows from south; NaN where empty), as scipy's
    binned_statistic_2d gives it, but a band of rows at a time: the sorting follows BAND_POINTS, not the cloud."""
    rows, cols = len(y_edges) - 1, len(x_edges) - 1
    median = np.full((rows, cols), np.nan)
    row = np.clip(np.searchsorted(y_edges, xyz[:, 1], side="right") - 1, 0, rows - 1).astype(np.int32)
    counts = np.bincount(row, minlength=rows)
    r0 = 0
    while r0 < rows:
        r1 = r0 + 1  # rows up to BAND_POINTS points (at least one row)
        total = counts[r0]
        while r1 < rows and total + counts[r1] <= BAND_POINTS:
            total += counts[r1]
            r1 += 1
        band = np.nonzero((row >= r0) & (row < r1))[0]
        col = np.clip(np.searchsorted(x_edges, xyz[band, 0], side="right") - 1, 0, cols - 1)
        keys = (row[band] - r0).astype(np.int64) * cols + col
        z = xyz[band, 2]
        order = np.lexsort((z, keys))
        keys, z = keys[order], z[order]
        cells, first, count = np.unique(keys, return_index=True, return_counts=True)
        middle = (z[first + (count - 1) // 2] + z[first + count // 2]) / 2
        median[r0:r1].reshape(-1)[cells] = middle
        r0 = r1
    return median


def measured_share(xyz, surface, west, north, resolution):
    """Share of the surface's cells whose MEASURED_CELL_M cell (or own cell, if larger) holds a point."""
    valid = np.isfinite(surface)
    if not valid.any():
        return 0.0
    factor = max(1, int(round(MEASURED_CELL_M / resolution)))  # DSM cells per side of a measuring cell
    cell = factor * resolution
    rows, cols = -(-np.array(surface.shape) // factor)
    r = (np.ceil((north - xyz[:, 1]) / cell) - 1).astype(np.int64)  # rows as grid_surface bins them
    c = ((xyz[:, 0] - west) // cell).astype(np.int64)
    inside = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
    occupied = np.zeros((rows, cols), bool)
    occupied[r[inside], c[inside]] = True
    fine = occupied[np.arange(surface.shape[0]) // factor][:, np.arange(surface.shape[1]) // factor]
    return float(fine[valid].mean())


def save_surface(ws, surface, west, north, resolution):
    """Keep the surface for the orthophoto stage."""
    path = ws.work / "dem" / "surface.npz"
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, surface=surface, west=west, north=north, resolution=resolution)


def load_surface(ws):
    """The surface saved by this stage, as (grid, west, north, resolution), or None."""
    path = ws.work / "dem" / "surface.npz"
    if not path.is_file():
        return None
    data = np.load(path)
    return data["surface"], float(data["west"]), float(data["north"]), float(data["resolution"])
