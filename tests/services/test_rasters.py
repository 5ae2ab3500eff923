"""COG conversion of a task's GeoTIFFs, on small generated rasters."""
import numpy
import pytest
import rasterio
from rasterio.enums import ColorInterp
from rasterio.errors import RasterioIOError
from rasterio.transform import from_origin

from webapp.services.rasters import is_cog, make_cog

UTM = "EPSG:32633"
TRANSFORM = from_origin(500000.0, 5000000.0, 0.1, 0.1)
SIZE = 1500  # more than two 512 px blocks each way, so overviews are due


def write_striped_rgba(path):
    """A plain (striped, uncompressed, overview-less) RGBA GeoTIFF with random pixels and a transparent corner."""
    pixels = numpy.random.default_rng(1).integers(0, 256, (4, SIZE, SIZE), dtype=numpy.uint8)
    pixels[3] = 255
    pixels[3, :200, :200] = 0
    with rasterio.open(path, "w", driver="GTiff", width=SIZE, height=SIZE, count=4, dtype="uint8",
                       crs=UTM, transform=TRANSFORM) as dst:
        dst.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.alpha]
        dst.write(pixels)
    return pixels


def write_dem(path):
    """A float32 DEM with nodata -9999 in a corner."""
    elevation = numpy.random.default_rng(2).uniform(50, 150, (SIZE, SIZE)).astype(numpy.float32)
    elevation[:100, :100] = -9999
    with rasterio.open(path, "w", driver="GTiff", width=SIZE, height=SIZE, count=1, dtype="float32",
                       crs=UTM, transform=TRANSFORM, nodata=-9999) as dst:
        dst.write(elevation, 1)
    return elevation


def test_make_cog_tiles_compresses_and_adds_overviews_keeping_pixels_and_georeferencing(tmp_path):
    path = tmp_path / "odm_orthophoto.tif"
    pixels = write_striped_rgba(path)
    assert not is_cog(path)
    assert make_cog(path) is True
    with rasterio.open(path) as src:
        assert src.profile["tiled"] and src.block_shapes[0] == (512, 512)
        assert src.overviews(1) and src.overviews(1)[0] == 2
        assert src.compression is not None
        assert src.crs == rasterio.crs.CRS.from_string(UTM) and src.transform == TRANSFORM
        assert src.colorinterp[3] == ColorInterp.alpha
        assert numpy.array_equal(src.read(), pixels)
    assert is_cog(path)
    assert [p.name for p in tmp_path.iterdir()] == ["odm_orthophoto.tif"]  # no temp file left behind


def test_make_cog_is_idempotent(tmp_path):
    path = tmp_path / "odm_orthophoto.tif"
    write_striped_rgba(path)
    make_cog(path)
    converted = path.read_bytes()
    mtime = path.stat().st_mtime_ns
    assert make_cog(path) is False
    assert path.read_bytes() == converted and path.stat().st_mtime_ns == mtime


def test_make_cog_keeps_dem_values_and_nodata(tmp_path):
    path = tmp_path / "dsm.tif"
    elevation = write_dem(path)
    assert make_cog(path) is True
    with rasterio.open(path) as src:
        assert src.nodata == -9999 and src.dtypes[0] == "float32"
        assert src.overviews(1)
        assert numpy.array_equal(src.read(1), elevation)
        assert src.read_masks(1)[:100, :100].max() == 0


def test_make_cog_leaves_a_file_it_cannot_read_untouched(tmp_path):
    path = tmp_path / "broken.tif"
    path.write_bytes(b"not a tiff at all")
    with pytest.raises(RasterioIOError):
        make_cog(path)
    assert path.read_bytes() == b"not a tiff at all"
    assert [p.name for p in tmp_path.iterdir()] == ["broken.tif"]
