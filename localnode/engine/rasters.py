"""Writing GeoTIFFs: a tiled scratch GeoTIFF written piece by piece, then copied as a cloud-optimized GeoTIFF."""
from contextlib import contextmanager

import rasterio
from rasterio.enums import ColorInterp
from rasterio.shutil import copy as raster_copy
from rasterio.transform import from_origin

from localnode.engine.workspace import atomic_path


@contextmanager
def cog_writer(path, scratch, count, rows, cols, dtype, west, north, resolution, crs, nodata=None, threads=1):
    """Yield an open scratch GeoTIFF to write windows into; on success it becomes a COG at `path` (atomically).

    Writing the scratch file piece by piece keeps memory flat whatever the raster's size.
    """
    profile = {"driver": "GTiff", "width": cols, "height": rows, "count": count, "dtype": dtype, "crs": crs,
               "transform": from_origin(west, north, resolution, resolution), "nodata": nodata,
               "tiled": True, "blockxsize": 512, "blockysize": 512, "compress": "LZW", "bigtiff": "IF_SAFER"}
    if count == 4 and dtype == "uint8":
        profile["photometric"] = "RGB"
    scratch.parent.mkdir(parents=True, exist_ok=True)
    try:
        with rasterio.open(scratch, "w", **profile) as dataset:
            if count == 4 and dtype == "uint8":
                dataset.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.alpha]
            yield dataset
        with rasterio.open(scratch) as dataset, atomic_path(path) as tmp:
            raster_copy(dataset, tmp, driver="COG", compress="DEFLATE", blocksize=512, bigtiff="IF_SAFER",
                        overview_resampling="average", num_threads=str(threads))
    finally:
        scratch.unlink(missing_ok=True)


def write_cog(path, scratch, bands, west, north, resolution, crs, nodata=None, threads=1):
    """Write a whole (bands, rows, cols) array whose top-left corner is (west, north) as a COG."""
    count, rows, cols = bands.shape
    with cog_writer(path, scratch, count, rows, cols, bands.dtype.name, west, north, resolution, crs, nodata,
                    threads) as dataset:
        dataset.write(bands)
