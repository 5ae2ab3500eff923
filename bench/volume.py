"""Benchmark of the volume measurement: one polygon over a 5000 x 5000 DSM, for each base method; and the volume
change between two such DSMs (the ground before, the cone dumped on it after), with a tile of their difference.

Usage: .venv/bin/python bench/volume.py [--size PIXELS]
Prints one figure per line: `name value unit`.
"""
import argparse
import math
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy
import rasterio
from rasterio.transform import from_origin
from rasterio.warp import transform as transform_points

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from webapp.services import differences, rasters, volumes  # noqa: E402

UTM = "EPSG:32633"
ORIGIN = (500000.0, 5000000.0)
PIXEL = 0.05  # metres: a 5000 px DSM covers 250 m


def figure(name, value, unit):
    """Print one benchmark figure."""
    print(f"{name} {round(value, 3):g} {unit}", flush=True)


def write_dsm(path, size, with_cone=True):
    """Sloping ground with a cone of radius size/3 pixels in the middle (or without it), written in strips of rows."""
    radius, height = size * PIXEL / 3, 10.0
    profile = dict(driver="GTiff", width=size, height=size, count=1, dtype="float32", crs=UTM, nodata=-9999,
                   transform=from_origin(*ORIGIN, PIXEL, PIXEL), tiled=True, blockxsize=512, blockysize=512)
    centre = size * PIXEL / 2
    east = (numpy.arange(size) + 0.5) * PIXEL
    with rasterio.open(path, "w", **profile) as dst:
        for top in range(0, size, 512):
            south = ((numpy.arange(top, min(top + 512, size)) + 0.5) * PIXEL)[:, None]
            cone = numpy.clip(height * (1 - numpy.hypot(east - centre, south - centre) / radius), 0, None) * with_cone
            rows = 100 + 0.02 * east - 0.01 * south + cone
            dst.write(rows.astype(numpy.float32), 1, window=rasterio.windows.Window(0, top, size, rows.shape[0]))
    return math.pi * radius ** 2 * height / 3


def polygon(size):
    """A 40-corner polygon around the cone, inside the DSM, in WGS84."""
    centre, reach = size * PIXEL / 2, size * PIXEL * 0.45
    angles = numpy.linspace(0, 2 * math.pi, 40, endpoint=False)
    xs = ORIGIN[0] + centre + reach * numpy.cos(angles)
    ys = ORIGIN[1] - centre + reach * numpy.sin(angles)
    lons, lats = transform_points(UTM, "EPSG:4326", xs, ys)
    return list(zip(lons, lats))


def main():
    """Print the time and peak memory of a volume per method."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=5000, help="DSM pixels each way (default 5000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aerie-bench-volume-") as temp:
        dsm = Path(temp) / "dsm.tif"
        truth = write_dsm(dsm, args.size)
        figure("volume_dsm_size", args.size, "px")
        ring = polygon(args.size)
        for method in ("plane", "triangulate", "average"):
            started = time.perf_counter()
            found = volumes.measure(dsm, ring, method)
            figure(f"volume_{method}_seconds", time.perf_counter() - started, "s")
            figure(f"volume_{method}_error", abs(found["net"] - truth) / truth * 100, "%")
        measure_difference(Path(temp), dsm, ring, truth, args.size)
        figure("volume_peak_rss", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "MB")


def rasters_as_cog(path):
    """A cloud-optimized copy of a GeoTIFF (with overviews), as the pipeline makes of a task's rasters."""
    copy = path.with_name(f"{path.stem}-cog.tif")
    copy.write_bytes(path.read_bytes())
    rasters.make_cog(copy)
    return copy


def measure_difference(folder, after, ring, truth, size):
    """The volume gained between the bare ground and the cone, and one cold tile of their difference."""
    before = folder / "before.tif"
    write_dsm(before, size, with_cone=False)
    pair = differences.Pair(after, before)
    started = time.perf_counter()
    found = differences.volume_change(pair, ring)
    figure("difference_volume_seconds", time.perf_counter() - started, "s")
    figure("difference_volume_error", abs(found["net"] - truth) / truth * 100, "%")
    # The legend's statistics read overviews: on the COGs that tasks keep, as a task's map asks them.
    cogs = differences.Pair(*(rasters_as_cog(path) for path in pair))
    started = time.perf_counter()
    differences.statistics(cogs)
    figure("difference_statistics_cog_seconds", time.perf_counter() - started, "s")
    lon, lat = numpy.mean(ring, axis=0)
    tile = differences.tiles.WEB_MERCATOR.tile(lon, lat, 19)
    started = time.perf_counter()
    differences.render_tile(pair, tile.z, tile.x, tile.y)
    figure("difference_tile_cold_ms", (time.perf_counter() - started) * 1000, "ms")


if __name__ == "__main__":
    main()
