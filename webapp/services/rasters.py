"""Raster files of a task's results: turn GeoTIFFs into cloud-optimized GeoTIFFs (COGs) for fast tiling, and read
their extent."""
import logging
import os
import uuid
from pathlib import Path

import rasterio
import rasterio.shutil
from rasterio.warp import transform_bounds

log = logging.getLogger(__name__)

# Creation options of GDAL's "COG" driver (https://gdal.org/drivers/raster/cog.html).
COG_OPTIONS = {
    "BLOCKSIZE": 512,
    # Lossless: orthophotos keep their alpha band (JPEG cannot) and DEMs their exact elevations.
    "COMPRESS": "DEFLATE",
    "PREDICTOR": "YES",  # horizontal differencing for integers, floating-point predictor for floats
    "OVERVIEWS": "IGNORE_EXISTING",  # rebuild overviews down to one block, whatever the source had
    # Average keeps overviews smooth for imagery and elevations; GDAL leaves nodata/alpha out of the mean.
    "OVERVIEW_RESAMPLING": "AVERAGE",
    "BIGTIFF": "IF_SAFER",
    "NUM_THREADS": "ALL_CPUS",
}


def is_cog(path):
    """Whether a GeoTIFF already has the COG layout (GDAL marks the files its COG driver writes)."""
    with rasterio.open(path) as src:
        return src.driver == "GTiff" and src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"


def make_cog(path):
    """Rewrite a GeoTIFF in place as a COG, atomically; return False if it already was one."""
    path = Path(path)
    if is_cog(path):
        return False
    # A unique temp name in the same folder: a rename there is atomic, and concurrent calls never collide.
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.cog.tif")
    try:
        rasterio.shutil.copy(str(path), str(temp), driver="COG", **COG_OPTIONS)
        os.chmod(temp, path.stat().st_mode & 0o777)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    log.info("converted %s to a cloud-optimized GeoTIFF", path)
    return True


# --- a task's results --------------------------------------------------------------------------------------------

def result_rasters(assets_dir):
    """The GeoTIFFs the maps read: the orthophoto and the elevation models."""
    assets_dir = Path(assets_dir)
    ortho = assets_dir / "odm_orthophoto" / "odm_orthophoto.tif"
    return ([ortho] if ortho.is_file() else []) + sorted((assets_dir / "odm_dem").glob("*.tif"))


def optimize_rasters(assets_dir):
    """Rewrite the rasters as cloud-optimized GeoTIFFs; a raster GDAL cannot read is left as it came."""
    for path in result_rasters(assets_dir):
        try:
            make_cog(path)
        except Exception as error:  # noqa: BLE001 (rasterio raises many types; a bad raster must not stop the task)
            log.warning("could not make %s cloud-optimized: %s", path, error)


def results_extent(assets_dir):
    """[west, south, east, north] in WGS84 of the first raster, or None."""
    for path in result_rasters(assets_dir):
        try:
            with rasterio.open(path) as src:
                if src.crs is None:
                    continue
                return [round(v, 8) for v in transform_bounds(src.crs, "EPSG:4326", *src.bounds)]
        except Exception as error:  # noqa: BLE001
            log.warning("could not read the extent of %s: %s", path, error)
    return None
