"""Writing GeoTIFFs as cloud-optimized GeoTIFFs (tiled, deflate, overviews) with rasterio's COG driver."""
import rasterio
from rasterio.io import MemoryFile
from rasterio.shutil import copy as raster_copy
from rasterio.transform import from_origin

from localnode.engine.workspace import atomic_path


def write_cog(path, bands, west, north, resolution, crs, nodata=None, photometric=None, threads=1):
    """Write a (bands, rows, cols) array whose top-left corner is (west, north) as a COG, atomically."""
    count, rows, cols = bands.shape
    profile = {"driver": "GTiff", "width": cols, "height": rows, "count": count, "dtype": bands.dtype.name,
               "crs": crs, "transform": from_origin(west, north, resolution, resolution), "nodata": nodata}
    cog_options = {"compress": "DEFLATE", "blocksize": 512, "overview_resampling": "average",
                   "num_threads": str(threads), "bigtiff": "IF_SAFER"}
    if photometric:
        profile["photometric"] = photometric
    with MemoryFile() as memory:
        with memory.open(**profile) as dataset:
            dataset.write(bands)
            if count == 4 and bands.dtype.name == "uint8":
                dataset.colorinterp = [rasterio.enums.ColorInterp.red, rasterio.enums.ColorInterp.green,
                                       rasterio.enums.ColorInterp.blue, rasterio.enums.ColorInterp.alpha]
        with memory.open() as dataset, atomic_path(path) as tmp:
            raster_copy(dataset, tmp, driver="COG", **cog_options)
