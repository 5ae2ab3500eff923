"""Stage odm_dem: a surface model from the point cloud (for the orthophoto, and as dsm.tif when asked), and
the bare ground under it (dtm.tif) when asked.

The median of the points in each cell, interpolated inside their hull, then median-filtered to drop stray
points. The points are the dense cloud of odm_georeferencing, or the sparse ones (about one per square metre)
when it made none.
"""
import numpy as np
from scipy import ndimage
from scipy.interpolate import griddata
from scipy.stats import binned_statistic_2d

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
    say(STAGE, f"Surface model: {surface.shape[1]} x {surface.shape[0]} cells of {resolution:g} m, "
               f"elevation {np.nanmin(surface) + frame.origin[2]:.1f} to {np.nanmax(surface) + frame.origin[2]:.1f} m")
    figures = {"cells": int(valid.sum()), "resolution_m": resolution}
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
    median, _, _, _ = binned_statistic_2d(xyz[:, 1], xyz[:, 0], xyz[:, 2], "median", bins=[rows, cols],
                                          range=[[south, north], [west, east]])
    median = median[::-1]  # rows from north to south, as in a raster
    rr, cc = np.nonzero(np.isfinite(median))
    all_r, all_c = np.mgrid[0:rows, 0:cols]
    filled = griddata((rr, cc), median[rr, cc], (all_r, all_c), method="linear")  # NaN outside the hull
    inside = np.isfinite(filled)
    smooth = ndimage.median_filter(np.where(inside, filled, np.nanmedian(filled)), size=3)
    return np.where(inside, smooth, np.nan), float(west), float(north)


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
