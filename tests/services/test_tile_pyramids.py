"""The map's copy of each raster (webapp.services.tile_pyramids): tiles read from it match the tiles warped from the
original at every zoom, @2x too, DEMs with their hillshade, and a replaced raster never meets its old copy."""
import io

import morecantile
import numpy
import pytest
import rasterio
from PIL import Image
from rasterio.enums import ColorInterp
from rasterio.transform import from_origin

from webapp.services import tile_pyramids, tiles
from webapp.services.rasters import make_cog

WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")
UTM = "EPSG:32633"
ORIGIN = (500000.0, 5000000.0)  # upper-left corner, in UTM zone 33N (near 45°N, 15°E)
SIZE = 1024
ORTHO = "odm_orthophoto/odm_orthophoto.tif"
DSM = "odm_dem/dsm.tif"


def write_orthophoto(path, pixel=0.02, blue=0):
    """A COG orthophoto of smooth gradients (so resampling methods agree to a level or two), its western columns
    transparent; `blue` is added to the blue band (a different raster with the same shape)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows, columns = numpy.mgrid[0:SIZE, 0:SIZE]
    pixels = numpy.stack([rows // 4, columns // 4, (rows + columns) // 16 + blue, numpy.where(columns < 300, 0, 255)])
    profile = dict(driver="GTiff", width=SIZE, height=SIZE, count=4, dtype="uint8", crs=UTM,
                   transform=from_origin(*ORIGIN, pixel, pixel))
    with rasterio.open(path, "w", **profile) as dst:
        dst.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.alpha]
        dst.write(pixels.astype(numpy.uint8))
    make_cog(path)


def write_dsm(path, raise_by=0.0):
    """A COG DSM of gentle hills (about 1 m of relief), nodata (-9999) outside a circle."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows, columns = numpy.mgrid[0:SIZE, 0:SIZE].astype(numpy.float32)
    heights = 100 + raise_by + 0.5 * numpy.sin(columns / 90) + 0.5 * numpy.cos(rows / 70)
    heights[numpy.hypot(rows - SIZE / 2, columns - SIZE / 2) > SIZE * 0.45] = -9999
    profile = dict(driver="GTiff", width=SIZE, height=SIZE, count=1, dtype="float32", crs=UTM, nodata=-9999,
                   transform=from_origin(*ORIGIN, 0.04, 0.04))
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(heights, 1)
    make_cog(path)


def pixels(content):
    """RGBA integers of a tile's bytes."""
    return numpy.asarray(Image.open(io.BytesIO(content)).convert("RGBA"), dtype=int)


def centre_tiles(path, zooms):
    """The tile over the raster's centre at each zoom."""
    with rasterio.open(path) as dataset:
        west, south, east, north = rasterio.warp.transform_bounds(dataset.crs, "EPSG:4326", *dataset.bounds)
    return [WEB_MERCATOR.tile((west + east) / 2, (south + north) / 2, z) for z in zooms]


def zoom_range(assets, layer):
    """Every zoom the map serves of a layer."""
    info = tiles.tilejson(assets, layer, "")
    return range(info["minzoom"], info["maxzoom"] + 1)


def render_all(assets, layer, tile_list, **params):
    """Each tile's RGBA pixels at scale 1 and 2, or None where there is no tile."""
    drawn = []
    for tile in tile_list:
        for scale in (1, 2):
            try:
                drawn.append(pixels(tiles.render_tile(assets, layer, tile.z, tile.x, tile.y, scale, **params)[0]))
            except tiles.TileNotFound:
                drawn.append(None)
    return drawn


def version(path):
    """A raster's version as the tile service names it."""
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


def test_orthophoto_tiles_from_the_copy_match_the_warped_ones_at_every_zoom(tmp_path):
    write_orthophoto(tmp_path / ORTHO)
    tile_list = centre_tiles(tmp_path / ORTHO, zoom_range(tmp_path, "orthophoto"))
    warped = render_all(tmp_path, "orthophoto", tile_list)
    copy = tile_pyramids.make_pyramid(tmp_path / ORTHO, tmp_path, "orthophoto")
    assert copy == tile_pyramids.pyramid_path(tmp_path, "orthophoto", version(tmp_path / ORTHO))
    with rasterio.open(copy) as dataset:
        assert dataset.crs.to_epsg() == 3857 and dataset.block_shapes[0] == (256, 256) and dataset.overviews(1)
        grid = tile_pyramids.Grid(dataset)
    drawn = render_all(tmp_path, "orthophoto", tile_list)
    compared = 0
    for tile_index, (before, after) in enumerate(zip(warped, drawn)):
        tile = tile_list[tile_index // 2]
        assert (before is None) == (after is None), tile
        if before is None:
            continue
        opaque = (before[..., 3] == 255) & (after[..., 3] == 255)
        assert (before[..., 3] != after[..., 3]).mean() < 0.02, tile  # the same pixels are transparent
        assert opaque.any() and numpy.abs(before - after)[opaque].mean() < 2, tile  # gradients: neighbours differ by 1
        compared += 1
    assert compared == len(tile_list) * 2
    # The tiles came from the copy: each is exactly its pixels there (the finest zooms repeat them).
    with rasterio.open(copy) as full, rasterio.open(copy, overview_level=0) as first:
        levels = {0: full, 1: first}
        exact = [tile for tile in tile_list if grid.level(tile.z) in levels]
        assert len(exact) >= 3  # the copy's full resolution, its first overview, and an overzoom at least
        for tile in exact:
            expected = tile_pyramids.read_tile(levels.get, grid, tile.z, tile.x, tile.y, 256)
            rendered = pixels(tiles.render_tile(tmp_path, "orthophoto", tile.z, tile.x, tile.y)[0])
            assert numpy.array_equal(rendered, expected.transpose(1, 2, 0)), tile


def test_dem_tiles_from_the_copy_match_the_warped_ones_with_their_hillshade(tmp_path):
    write_dsm(tmp_path / DSM)
    zooms = zoom_range(tmp_path, "dsm")
    tile_list = centre_tiles(tmp_path / DSM, zooms)
    for params in ({}, {"hillshade": True}):
        warped = render_all(tmp_path, "dsm", tile_list, **params)
        copy = tile_pyramids.make_pyramid(tmp_path / DSM, tmp_path, "dsm")
        drawn = render_all(tmp_path, "dsm", tile_list, **params)
        for before, after in zip(warped, drawn):
            assert (before is None) == (after is None)
            if before is not None:
                opaque = (before[..., 3] == 255) & (after[..., 3] == 255)
                assert (before[..., 3] != after[..., 3]).mean() < 0.02
                assert opaque.any() and numpy.abs(before - after)[opaque].mean() < 2, params
        copy.unlink()


def test_dem_tiles_come_from_the_copy_at_the_zooms_it_holds(tmp_path):
    """A copy made of a DSM 0.5 m higher, put in the copy's place, shows in every tile at a zoom the copy holds
    (the colour map stays on the real DSM's range), and in none of the others (warped from the original)."""
    write_dsm(tmp_path / DSM)
    tile_list = centre_tiles(tmp_path / DSM, zoom_range(tmp_path, "dsm"))
    warped = render_all(tmp_path, "dsm", tile_list)
    write_dsm(tmp_path / "higher" / DSM, raise_by=0.5)
    higher = tile_pyramids.make_pyramid(tmp_path / "higher" / DSM, tmp_path / "higher", "dsm")
    target = tile_pyramids.pyramid_path(tmp_path, "dsm", version(tmp_path / DSM))
    target.parent.mkdir()
    higher.rename(target)
    with rasterio.open(target) as dataset:
        grid = tile_pyramids.Grid(dataset)
    drawn = render_all(tmp_path, "dsm", tile_list)
    held = 0
    for tile_index, (before, after) in enumerate(zip(warped, drawn)):
        if before is not None:
            zoom = tile_list[tile_index // 2].z + tile_index % 2  # @2x tiles are the next zoom's
            from_copy = grid.level(zoom) is not None and zoom <= grid.zoom
            opaque = (before[..., 3] == 255) & (after[..., 3] == 255)
            assert opaque.any() and (numpy.abs(before - after)[opaque].mean() > 5) == from_copy, zoom
            held += from_copy
    assert held >= 4


def test_a_replaced_raster_is_never_drawn_from_its_old_copy(tmp_path):
    write_orthophoto(tmp_path / ORTHO)
    old_copy = tile_pyramids.make_pyramid(tmp_path / ORTHO, tmp_path, "orthophoto")
    tile = centre_tiles(tmp_path / ORTHO, [tiles.tilejson(tmp_path, "orthophoto", "")["maxzoom"] - 3])[0]
    before = pixels(tiles.render_tile(tmp_path, "orthophoto", tile.z, tile.x, tile.y)[0])
    write_orthophoto(tmp_path / ORTHO, blue=60)  # new results: the same shape, bluer
    after = pixels(tiles.render_tile(tmp_path, "orthophoto", tile.z, tile.x, tile.y)[0])
    opaque = (before[..., 3] == 255) & (after[..., 3] == 255)
    assert (after - before)[..., 2][opaque].mean() == pytest.approx(60, abs=2)
    new_copy = tile_pyramids.make_pyramid(tmp_path / ORTHO, tmp_path, "orthophoto")
    assert new_copy != old_copy and sorted(new_copy.parent.iterdir()) == [new_copy]  # the old copy is gone
    again = pixels(tiles.render_tile(tmp_path, "orthophoto", tile.z, tile.x, tile.y)[0])
    assert numpy.abs(again - after)[opaque].mean() < 2


def test_make_pyramids_skips_missing_layers_and_rasters_gdal_cannot_read(tmp_path, caplog):
    write_orthophoto(tmp_path / ORTHO)
    (tmp_path / DSM).parent.mkdir(parents=True)
    (tmp_path / DSM).write_bytes(b"not a GeoTIFF")
    tile_pyramids.make_pyramids(tmp_path, tiles.LAYER_FILES)
    made = sorted(path.name for path in (tmp_path / tile_pyramids.PYRAMID_DIR).iterdir())
    assert len(made) == 1 and made[0].startswith("orthophoto-")
    assert "could not make the map's copy" in caplog.text and "dsm.tif" in caplog.text


def test_a_raster_that_marks_no_pixel_empty_gets_no_copy(tmp_path):
    """Without an alpha band or nodata the copy's padding would be written black blocks; such rasters are drawn by
    rio-tiler from the original anyway."""
    path = tmp_path / ORTHO
    path.parent.mkdir(parents=True)
    profile = dict(driver="GTiff", width=512, height=512, count=3, dtype="uint8", crs=UTM,
                   transform=from_origin(*ORIGIN, 0.05, 0.05))
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(numpy.full((3, 512, 512), 120, dtype=numpy.uint8))
    assert tile_pyramids.make_pyramids(tmp_path, tiles.LAYER_FILES) == []
    assert not (tmp_path / tile_pyramids.PYRAMID_DIR).exists()
    tile = centre_tiles(path, [tiles.tilejson(tmp_path, "orthophoto", "")["maxzoom"]])[0]
    assert pixels(tiles.render_tile(tmp_path, "orthophoto", tile.z, tile.x, tile.y)[0])[128, 128, 0] == 120
