"""Tile service: TileJSON, XYZ tiles of orthophoto and DEMs, and the on-disk tile cache, on small generated rasters."""
import io
import os
import threading

import morecantile
import numpy
import pytest
import rasterio
from PIL import Image
from rasterio.enums import ColorInterp
from rasterio.transform import from_origin
from rasterio.warp import transform as transform_points
from rasterio.warp import transform_bounds
from rio_tiler.colormap import cmap as rio_colormaps
from rio_tiler.io import Reader

from tests.support.maps import tile_and_pixel
from webapp.services import tiles
from webapp.services.tiles import InvalidTileRequest, TileNotFound

WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")
UTM = "EPSG:32633"
ORIGIN = (500000.0, 5000000.0)  # upper-left corner, in UTM zone 33N (near 45°N, 15°E)
PIXEL = 0.1  # metres
SIZE = 1024  # pixels each way
GREY = (90, 90, 90)
RED = (255, 0, 0)
PATCH = slice(400, 600)  # rows and columns of the red patch
TRANSPARENT_COLUMNS = 100  # the orthophoto's alpha is 0 on its western strip
DSM_NODATA_COLUMNS = 64
DSM_SIZE = 512
DSM_PIXEL = 0.2


def write_orthophoto(path, colour=RED):
    """An RGBA orthophoto: grey, with a coloured square patch and a transparent western strip."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = numpy.empty((4, SIZE, SIZE), dtype=numpy.uint8)
    pixels[:3] = numpy.array(GREY, dtype=numpy.uint8)[:, None, None]
    pixels[:3, PATCH, PATCH] = numpy.array(colour, dtype=numpy.uint8)[:, None, None]
    pixels[3] = 255
    pixels[3, :, :TRANSPARENT_COLUMNS] = 0
    profile = dict(driver="GTiff", width=SIZE, height=SIZE, count=4, dtype="uint8", crs=UTM,
                   transform=from_origin(*ORIGIN, PIXEL, PIXEL), tiled=True, blockxsize=256, blockysize=256)
    with rasterio.open(path, "w", **profile) as dst:
        dst.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.alpha]
        dst.write(pixels)


def write_dsm(path):
    """A float32 DSM rising 0.1 m per pixel eastwards from 100 m, with nodata (-9999) on its western strip."""
    path.parent.mkdir(parents=True, exist_ok=True)
    elevation = numpy.tile(100 + 0.1 * numpy.arange(DSM_SIZE, dtype=numpy.float32), (DSM_SIZE, 1))
    elevation[:, :DSM_NODATA_COLUMNS] = -9999
    profile = dict(driver="GTiff", width=DSM_SIZE, height=DSM_SIZE, count=1, dtype="float32", crs=UTM,
                   nodata=-9999, transform=from_origin(*ORIGIN, DSM_PIXEL, DSM_PIXEL))
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(elevation, 1)
    return elevation


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    """A task's assets folder with an orthophoto and a DSM, but no DTM."""
    folder = tmp_path_factory.mktemp("assets")
    write_orthophoto(folder / "odm_orthophoto" / "odm_orthophoto.tif")
    write_dsm(folder / "odm_dem" / "dsm.tif")
    return folder


def utm_to_lonlat(easting, northing):
    """WGS84 longitude, latitude of a UTM 33N point."""
    lons, lats = transform_points(UTM, "EPSG:4326", [easting], [northing])
    return lons[0], lats[0]


def ortho_pixel_at(row, column):
    """Lon/lat of the centre of an orthophoto pixel."""
    return utm_to_lonlat(ORIGIN[0] + (column + 0.5) * PIXEL, ORIGIN[1] - (row + 0.5) * PIXEL)


def decode(content):
    """A Pillow image from tile bytes."""
    return Image.open(io.BytesIO(content))


def native_zooms(path):
    """The raster's native zoom range as rio-tiler computes it."""
    with Reader(str(path)) as reader:
        return reader.minzoom, reader.maxzoom


def test_tile_layers_lists_the_rasters_present(assets, tmp_path):
    assert tiles.tile_layers(assets) == ["orthophoto", "dsm"]
    assert tiles.tile_layers(tmp_path) == []


def test_tilejson_bounds_are_the_raster_bounds_in_wgs84_and_zooms_native_widened_by_three(assets):
    path = assets / "odm_orthophoto" / "odm_orthophoto.tif"
    document = tiles.tilejson(assets, "orthophoto", "/tiles/{z}/{x}/{y}.png")
    with rasterio.open(path) as src:
        expected = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
    minzoom, maxzoom = native_zooms(path)
    assert document["tilejson"] == "2.1.0"
    assert document["tiles"] == ["/tiles/{z}/{x}/{y}.png"]
    assert document["bounds"] == pytest.approx(list(expected), abs=1e-9)
    assert (document["minzoom"], document["maxzoom"]) == (minzoom - 3, maxzoom + 3)
    # The native maximum zoom is the one whose tile pixels are closest to the raster's 0.1 m pixels.
    metres_per_tile_pixel = 2 * numpy.pi * 6378137 / 256 / 2 ** maxzoom * numpy.cos(numpy.radians(45.15))
    assert PIXEL / 2 < metres_per_tile_pixel < PIXEL * 2
    west, south, east, north = document["bounds"]
    assert document["center"][:2] == pytest.approx([(west + east) / 2, (south + north) / 2])
    assert "statistics" not in document


def test_dem_tilejson_carries_the_elevation_range(assets):
    document = tiles.tilejson(assets, "dsm", "/dsm/{z}/{x}/{y}.png")
    valid = 100 + 0.1 * numpy.arange(DSM_NODATA_COLUMNS, DSM_SIZE, dtype=numpy.float32)
    assert document["statistics"]["min"] == pytest.approx(float(valid.min()), abs=1e-3)
    assert document["statistics"]["max"] == pytest.approx(float(valid.max()), abs=1e-3)


def test_orthophoto_tile_shows_the_patch_colour_at_its_coordinate(assets):
    _, maxzoom = native_zooms(assets / "odm_orthophoto" / "odm_orthophoto.tif")
    for point, colour in ((ortho_pixel_at(500, 500), RED), (ortho_pixel_at(800, 300), GREY)):
        tile, (column, row) = tile_and_pixel(*point, maxzoom)
        content, media_type = tiles.render_tile(assets, "orthophoto", maxzoom, tile.x, tile.y)
        image = decode(content)
        assert media_type == "image/png" and image.format == "PNG"
        assert image.convert("RGBA").getpixel((column, row)) == colour + (255,)


def test_orthophoto_is_transparent_where_its_alpha_is_zero(assets):
    _, maxzoom = native_zooms(assets / "odm_orthophoto" / "odm_orthophoto.tif")
    tile, (column, row) = tile_and_pixel(*ortho_pixel_at(500, TRANSPARENT_COLUMNS // 2), maxzoom)
    image = decode(tiles.render_tile(assets, "orthophoto", maxzoom, tile.x, tile.y)[0]).convert("RGBA")
    assert image.getpixel((column, row))[3] == 0


def test_tiles_outside_the_zoom_range_or_bounds_are_not_found(assets):
    document = tiles.tilejson(assets, "orthophoto", "")
    lon, lat = ortho_pixel_at(500, 500)
    for z in (document["minzoom"], document["maxzoom"]):
        tile = WEB_MERCATOR.tile(lon, lat, z)
        assert tiles.render_tile(assets, "orthophoto", z, tile.x, tile.y)[0]
    for z in (document["minzoom"] - 1, document["maxzoom"] + 1):
        tile = WEB_MERCATOR.tile(lon, lat, z)
        with pytest.raises(TileNotFound):
            tiles.render_tile(assets, "orthophoto", z, tile.x, tile.y)
    z = document["maxzoom"]
    far = WEB_MERCATOR.tile(lon + 0.01, lat, z)
    for x, y in ((far.x, far.y), (-1, 0), (0, 2 ** z)):
        with pytest.raises(TileNotFound):
            tiles.render_tile(assets, "orthophoto", z, x, y)


def test_missing_or_unknown_layer_is_not_found(assets):
    with pytest.raises(TileNotFound):
        tiles.render_tile(assets, "dtm", 20, 0, 0)
    with pytest.raises(TileNotFound):
        tiles.tilejson(assets, "dtm", "")
    with pytest.raises(TileNotFound):
        tiles.render_tile(assets, "../odm_dem/dsm", 20, 0, 0)


def dsm_tile_at(assets, column, row_in_raster=256):
    """Zoom, tile and in-tile pixel of a DSM raster pixel, at the DSM's native maximum zoom."""
    _, maxzoom = native_zooms(assets / "odm_dem" / "dsm.tif")
    point = utm_to_lonlat(ORIGIN[0] + (column + 0.5) * DSM_PIXEL, ORIGIN[1] - (row_in_raster + 0.5) * DSM_PIXEL)
    tile, pixel = tile_and_pixel(*point, maxzoom)
    return maxzoom, tile, pixel


def test_dem_tile_colours_elevation_through_the_colour_map(assets):
    z, tile, pixel = dsm_tile_at(assets, 300)
    statistics = tiles.tilejson(assets, "dsm", "")["statistics"]
    image = decode(tiles.render_tile(assets, "dsm", z, tile.x, tile.y)[0]).convert("RGBA")
    elevation = 100 + 0.1 * 300
    index = round((elevation - statistics["min"]) / (statistics["max"] - statistics["min"]) * 255)
    viridis = rio_colormaps.get("viridis")
    # Bilinear resampling may shift the value by a pixel's worth of slope: a few colour-map steps.
    candidates = [tuple(viridis[i][:3]) for i in range(index - 3, index + 4)]
    colour = image.getpixel(pixel)
    assert colour[3] == 255
    assert min(sum(abs(int(a) - int(b)) for a, b in zip(colour[:3], c)) for c in candidates) <= 3


def test_dem_nodata_is_transparent(assets):
    z, tile, pixel = dsm_tile_at(assets, DSM_NODATA_COLUMNS // 2)
    image = decode(tiles.render_tile(assets, "dsm", z, tile.x, tile.y)[0]).convert("RGBA")
    assert image.getpixel(pixel)[3] == 0


def test_color_map_changes_the_dem_tile_and_an_unknown_one_is_refused(assets):
    z, tile, _ = dsm_tile_at(assets, 300)
    default = tiles.render_tile(assets, "dsm", z, tile.x, tile.y)[0]
    terrain = tiles.render_tile(assets, "dsm", z, tile.x, tile.y, color_map="terrain")[0]
    assert numpy.any(numpy.asarray(decode(default)) != numpy.asarray(decode(terrain)))
    with pytest.raises(ValueError, match="unknown color map 'no-such-map'"):
        tiles.render_tile(assets, "dsm", z, tile.x, tile.y, color_map="no-such-map")
    assert "terrain" in tiles.color_map_names()


def test_hillshade_shades_the_dem_tile_keeping_its_transparency(assets):
    z, tile, _ = dsm_tile_at(assets, 300)
    plain = numpy.asarray(decode(tiles.render_tile(assets, "dsm", z, tile.x, tile.y)[0]).convert("RGBA"))
    shaded = numpy.asarray(decode(tiles.render_tile(assets, "dsm", z, tile.x, tile.y, hillshade=True)[0])
                           .convert("RGBA"))
    assert numpy.array_equal(plain[..., 3], shaded[..., 3])
    opaque = plain[..., 3] == 255
    # A uniform slope under a 45° light is evenly shaded: darker than the plain colours, never brighter.
    assert numpy.all(shaded[opaque][:, :3].astype(int) <= plain[opaque][:, :3].astype(int) + 1)
    assert shaded[opaque][:, :3].mean() < plain[opaque][:, :3].mean() - 10


def test_2x_tiles_are_512_pixels(assets):
    z, tile, _ = dsm_tile_at(assets, 300)
    for layer in ("orthophoto", "dsm"):
        assert decode(tiles.render_tile(assets, layer, z, tile.x, tile.y, scale=2)[0]).size == (512, 512)
        assert decode(tiles.render_tile(assets, layer, z, tile.x, tile.y)[0]).size == (256, 256)
    with pytest.raises(InvalidTileRequest):
        tiles.render_tile(assets, "dsm", z, tile.x, tile.y, scale=3)


def test_jpg_and_webp_tiles_decode(assets):
    _, maxzoom = native_zooms(assets / "odm_orthophoto" / "odm_orthophoto.tif")
    tile, (column, row) = tile_and_pixel(*ortho_pixel_at(500, 500), maxzoom)
    for fmt, pillow_format, media_type in (("jpg", "JPEG", "image/jpeg"), ("webp", "WEBP", "image/webp")):
        content, returned_type = tiles.render_tile(assets, "orthophoto", maxzoom, tile.x, tile.y, fmt=fmt)
        image = decode(content)
        assert (image.format, returned_type, image.size) == (pillow_format, media_type, (256, 256))
        red, green, blue = image.convert("RGB").getpixel((column, row))
        assert red > 200 and green < 60 and blue < 60  # lossy, but still the red patch
    with pytest.raises(InvalidTileRequest):
        tiles.render_tile(assets, "orthophoto", maxzoom, tile.x, tile.y, fmt="gif")


def cache_files(cache_dir):
    """Every file under the cache folder, temp files included."""
    return sorted(p for p in cache_dir.rglob("*") if p.is_file())


def test_cached_tile_is_served_from_disk_the_second_time(assets, tmp_path):
    _, maxzoom = native_zooms(assets / "odm_orthophoto" / "odm_orthophoto.tif")
    tile, _ = tile_and_pixel(*ortho_pixel_at(500, 500), maxzoom)
    first = tiles.cached_tile(tmp_path, assets, "orthophoto", maxzoom, tile.x, tile.y)
    [stored] = cache_files(tmp_path)
    stored_mtime = stored.stat().st_mtime_ns
    second = tiles.cached_tile(tmp_path, assets, "orthophoto", maxzoom, tile.x, tile.y)
    assert (first.hit, second.hit) == (False, True)
    assert second.content == first.content == stored.read_bytes()
    assert first.content == tiles.render_tile(assets, "orthophoto", maxzoom, tile.x, tile.y)[0]
    assert second.etag == first.etag and second.media_type == "image/png"
    assert cache_files(tmp_path) == [stored] and stored.stat().st_mtime_ns == stored_mtime


def test_cache_keys_differ_by_parameters(assets, tmp_path):
    z, tile, _ = dsm_tile_at(assets, 300)
    variants = [dict(), dict(hillshade=True), dict(color_map="terrain"), dict(scale=2), dict(fmt="webp")]
    results = [tiles.cached_tile(tmp_path, assets, "dsm", z, tile.x, tile.y, **kw) for kw in variants]
    assert len({r.etag for r in results}) == len(variants)
    assert len(cache_files(tmp_path)) == len(variants)
    # The default colour map and its explicit name are the same tile.
    again = tiles.cached_tile(tmp_path, assets, "dsm", z, tile.x, tile.y, color_map="viridis")
    assert again.hit and again.etag == results[0].etag


def test_cache_refuses_a_bad_colour_map_without_writing(assets, tmp_path):
    with pytest.raises(InvalidTileRequest):
        tiles.cached_tile(tmp_path, assets, "dsm", 20, 0, 0, color_map="nope")
    with pytest.raises(TileNotFound):
        tiles.cached_tile(tmp_path, assets, "dsm", 0, 0, 0)
    assert cache_files(tmp_path) == []


def test_tile_coordinates_must_be_integers(assets, tmp_path):
    with pytest.raises(InvalidTileRequest):
        tiles.cached_tile(tmp_path, assets, "orthophoto", 20, "..", "x")
    with pytest.raises(InvalidTileRequest):
        tiles.render_tile(assets, "orthophoto", 20.5, 0, 0)
    assert cache_files(tmp_path) == []


def test_cache_is_invalidated_when_the_source_raster_changes(tmp_path):
    assets, cache = tmp_path / "assets", tmp_path / "cache"
    path = assets / "odm_orthophoto" / "odm_orthophoto.tif"
    write_orthophoto(path, colour=RED)
    _, maxzoom = native_zooms(path)
    tile, pixel = tile_and_pixel(*ortho_pixel_at(500, 500), maxzoom)
    before = tiles.cached_tile(cache, assets, "orthophoto", maxzoom, tile.x, tile.y)
    write_orthophoto(path, colour=(0, 0, 255))
    stat = path.stat()  # a rewrite within the filesystem's timestamp granularity must still count as new
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    after = tiles.cached_tile(cache, assets, "orthophoto", maxzoom, tile.x, tile.y)
    assert not after.hit and after.etag != before.etag
    assert decode(before.content).convert("RGBA").getpixel(pixel) == RED + (255,)
    assert decode(after.content).convert("RGBA").getpixel(pixel) == (0, 0, 255, 255)
    assert len(cache_files(cache)) == 1  # the old version's tiles were dropped


def test_concurrent_cache_fills_agree_and_leave_no_temp_files(assets, tmp_path):
    _, maxzoom = native_zooms(assets / "odm_orthophoto" / "odm_orthophoto.tif")
    tile, _ = tile_and_pixel(*ortho_pixel_at(500, 500), maxzoom)
    results, barrier = [], threading.Barrier(4)

    def fetch():
        barrier.wait()
        results.append(tiles.cached_tile(tmp_path, assets, "orthophoto", maxzoom, tile.x, tile.y).content)

    threads = [threading.Thread(target=fetch) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and len(set(results)) == 1
    assert [p.name for p in cache_files(tmp_path)] == [f"{tile.y}@1x.png"]


def test_orthophoto_tiles_warped_from_an_overview_match_rio_tilers_at_every_zoom(tmp_path):
    """The direct warp into the tile (from the overview just finer than it) draws what rio-tiler draws."""
    from webapp.services.rasters import make_cog
    path = tmp_path / "assets" / "odm_orthophoto" / "odm_orthophoto.tif"
    path.parent.mkdir(parents=True)
    rows, columns = numpy.mgrid[0:SIZE, 0:SIZE]
    pixels = numpy.stack([rows // 4, columns // 4, (rows + columns) // 8, numpy.where(columns < 300, 0, 255)])
    profile = dict(driver="GTiff", width=SIZE, height=SIZE, count=4, dtype="uint8", crs=UTM,
                   transform=from_origin(*ORIGIN, PIXEL / 10, PIXEL / 10))
    with rasterio.open(path, "w", **profile) as dst:
        dst.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.alpha]
        dst.write(pixels.astype(numpy.uint8))
    make_cog(path)
    with Reader(str(path)) as reader:
        assert reader.dataset.overviews(1), "the COG has overviews to pick from"
        west, south, east, north = reader.get_geographic_bounds("EPSG:4326")
        for z in range(reader.minzoom, reader.maxzoom + 2):
            tile = WEB_MERCATOR.tile((west + east) / 2, (south + north) / 2, z)
            expected = numpy.asarray(decode(reader.tile(tile.x, tile.y, z, indexes=(1, 2, 3)).render(
                img_format="PNG")).convert("RGBA"), dtype=int)
            content, _ = tiles.render_tile(path.parents[1], "orthophoto", z, tile.x, tile.y)
            drawn = numpy.asarray(decode(content).convert("RGBA"), dtype=int)
            assert (drawn[..., 3] != expected[..., 3]).mean() < 0.01, z  # the same pixels are transparent
            opaque = (drawn[..., 3] == 255) & (expected[..., 3] == 255)
            assert numpy.abs(drawn - expected)[opaque].mean() < 2, z  # gradients: neighbours differ by ~1
        level = tiles._pick_overview_level(reader.dataset, WEB_MERCATOR.xy_bounds(
            WEB_MERCATOR.tile((west + east) / 2, (south + north) / 2, reader.minzoom)), 256)
        assert level is not None, "a low zoom reads an overview, not the full resolution"


def test_hillshade_takes_its_slopes_in_metres(assets):
    """The DSM rises 0.1 m per 0.2 m pixel: a slope of 0.5 facing east, lit from the north-west at 45°."""
    z, tile, _ = dsm_tile_at(assets, 300)
    plain = numpy.asarray(decode(tiles.render_tile(assets, "dsm", z, tile.x, tile.y)[0]).convert("RGBA"), dtype=float)
    shaded = numpy.asarray(decode(tiles.render_tile(assets, "dsm", z, tile.x, tile.y, hillshade=True)[0])
                           .convert("RGBA"), dtype=float)
    zenith, azimuth = numpy.radians(45.0), numpy.radians(135.0)
    shade = (numpy.cos(zenith) - numpy.sin(zenith) * numpy.cos(azimuth) * 0.5) / numpy.sqrt(1 + 0.5 ** 2)
    light = tiles.HILLSHADE_AMBIENT + (1 - tiles.HILLSHADE_AMBIENT) * shade  # 0.91 (0.81 with slopes taken on the 0-255 colour steps)
    inner = plain[2:-2, 2:-2, 3] == 255
    inner &= numpy.pad(inner, 2)[4:, 2:-2] & numpy.pad(inner, 2)[:-4, 2:-2]  # away from the nodata edge
    ratio = shaded[2:-2, 2:-2, :3][inner].sum() / plain[2:-2, 2:-2, :3][inner].sum()
    assert ratio == pytest.approx(light, abs=0.01)


def test_dem_and_index_tiles_drawn_directly_match_rio_tilers(assets):
    """The direct warp into the tile draws what rio-tiler's reading, rescaling and colour map draw."""
    statistics = tiles.tilejson(assets, "dsm", "")["statistics"]
    z, tile, _ = dsm_tile_at(assets, 300)
    with Reader(str(assets / "odm_dem" / "dsm.tif")) as reader:
        image = reader.tile(tile.x, tile.y, z, indexes=1, reproject_method="bilinear")
        image.rescale(in_range=((statistics["min"], statistics["max"]),))
        expected = numpy.asarray(decode(image.render(img_format="PNG", colormap=rio_colormaps.get("viridis")))
                                 .convert("RGBA"), dtype=int)
    drawn = numpy.asarray(decode(tiles.render_tile(assets, "dsm", z, tile.x, tile.y)[0]).convert("RGBA"), dtype=int)
    assert (drawn[..., 3] != expected[..., 3]).mean() < 0.01
    opaque = (drawn[..., 3] == 255) & (expected[..., 3] == 255)
    assert numpy.abs(drawn - expected)[opaque].mean() < 1
    _, maxzoom = native_zooms(assets / "odm_orthophoto" / "odm_orthophoto.tif")
    tile, _ = tile_and_pixel(*ortho_pixel_at(500, 500), maxzoom)
    style = tiles.TileStyle(formula="VARI", bands="RGB")
    resolved = tiles.resolve_style(tiles._layer_info(assets / "odm_orthophoto" / "odm_orthophoto.tif", tiles._source_version(
        assets / "odm_orthophoto" / "odm_orthophoto.tif"), "orthophoto"), "orthophoto", style)
    with Reader(str(assets / "odm_orthophoto" / "odm_orthophoto.tif")) as reader:
        image = reader.tile(tile.x, tile.y, maxzoom, expression=resolved.expression)
        image.alpha_mask = None
        image.rescale(in_range=(resolved.rescale,))
        expected = numpy.asarray(decode(image.render(img_format="PNG", colormap=rio_colormaps.get("rdylgn")))
                                 .convert("RGBA"), dtype=int)
    drawn = numpy.asarray(decode(tiles.render_tile(assets, "orthophoto", maxzoom, tile.x, tile.y, style=style)[0])
                          .convert("RGBA"), dtype=int)
    opaque = (drawn[..., 3] == 255) & (expected[..., 3] == 255)
    assert opaque.mean() > 0.5 and (numpy.abs(drawn - expected)[opaque].max(axis=-1) > 2).mean() < 0.02
