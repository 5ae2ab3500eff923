"""Plant health over the API: index tiles (formula, bands, color_map, rescale) coloured per pixel, and WebODM's
raster metadata (statistics with a histogram, formulas and colour maps on offer); bad input is a clear 400."""
from urllib.parse import quote

import pytest
from rio_tiler.colormap import cmap as rio_colormaps

from tests.support.web import auth
from tests.api.test_tiles import close, image_of, native_zooms, tile_at, url
from tests.support import maps

MIDDLE = (maps.PATCH.start + maps.PATCH.stop) // 2


@pytest.fixture
def task(project):
    """A completed private task with an RGBA orthophoto (grey, a red square) and a DSM."""
    return maps.completed_task(project)


def vari(red, green, blue):
    """The Visible Atmospherically Resistant Index of one colour."""
    return (green - red) / (green + red - blue)


def expected_colour(value, low=-1.0, high=1.0, color_map="rdylgn"):
    """The colour a value gets when stretched from low..high over a colour map."""
    index = round((min(max(value, low), high) - low) / (high - low) * 255)
    return rio_colormaps.get(color_map)[index][:3]


def index_pixel(client, task, headers, column, query):
    """The colour of an index tile at an orthophoto pixel, at the native maximum zoom."""
    lon, lat = maps.lonlat_of_pixel(column, column)
    response, pixel = tile_at(client, task, headers, lon, lat, native_zooms(task)[1], query=query)
    return image_of(response).getpixel(pixel)


def test_index_tiles_colour_each_pixel_by_its_formula_value(client, users, task):
    headers = auth(users["viewer"])
    red_patch = index_pixel(client, task, headers, MIDDLE, "?formula=VARI&bands=RGB")
    assert close(red_patch, expected_colour(vari(*maps.RED)), tolerance=3)
    grey = index_pixel(client, task, headers, 100, "?formula=VARI&bands=RGB")
    assert close(grey, expected_colour(0.0), tolerance=3) and grey[3] == 255
    stretched = index_pixel(client, task, headers, 100, "?formula=VARI&bands=RGB&rescale=-1,0&color_map=viridis")
    assert close(stretched, expected_colour(0.0, -1, 0, "viridis"), tolerance=3)
    # A band order read as WebODM reads it: RGN takes the third band (blue here) for near infrared.
    ndvi = index_pixel(client, task, headers, MIDDLE, "?formula=NDVI&bands=RGN")
    red, _, blue = maps.RED
    assert close(ndvi, expected_colour((blue - red) / (blue + red)), tolerance=3)


def test_index_tiles_are_cached_per_formula_and_style(client, users, task):
    headers = auth(users["owner"])
    z = native_zooms(task)[1]
    tile, _ = maps.tile_and_pixel(*maps.lonlat_of_pixel(MIDDLE, MIDDLE), z)
    base = url(task, f"orthophoto/tiles/{z}/{tile.x}/{tile.y}.png")
    first = client.get(base + "?formula=VARI&bands=RGB", headers=headers)
    again = client.get(base + "?formula=VARI&bands=RGB", headers=headers)
    other = client.get(base + "?formula=GLI&bands=RGB", headers=headers)
    plain = client.get(base, headers=headers)
    assert first.headers["ETag"] == again.headers["ETag"] and first.data == again.data
    assert len({first.headers["ETag"], other.headers["ETag"], plain.headers["ETag"]}) == 3
    cached = list((task_cache(task)).rglob("*-index-*.png"))
    assert len(cached) == 2


def task_cache(task):
    """The task's tile cache folder."""
    from webapp import storage
    return storage.task_dir(task.project_id, task.id) / "cache" / "tiles"


@pytest.mark.parametrize("query, field", [
    ("formula=NOPE", "formula"),
    ("formula=NDVI&bands=RGB", "bands"),  # no near-infrared band in that order
    ("formula=NDRE&bands=BGRNRe", "bands"),  # five bands named, the orthophoto has three
    ("formula=VARI&bands=XYZ", "bands"),
    ("formula=VARI&rescale=low,high", "rescale"),
    ("formula=VARI&rescale=1,-1", "rescale"),
    ("formula=VARI&color_map=rainbow-unicorn", None),
])
def test_bad_plant_health_parameters_are_a_clear_400(client, users, task, query, field):
    headers = auth(users["owner"])
    z = native_zooms(task)[1]
    tile, _ = maps.tile_and_pixel(*maps.lonlat_of_pixel(MIDDLE, MIDDLE), z)
    for tail in (f"orthophoto/tiles/{z}/{tile.x}/{tile.y}.png?{query}", f"orthophoto/metadata?{query}"):
        response = client.get(url(task, tail), headers=headers)
        assert response.status_code == 400, (tail, response.data[:200])
        if field:
            assert response.json[field][0], tail
        else:
            assert response.json.get("detail") or response.json.get("color_map"), tail


def test_orthophoto_metadata_with_a_formula_has_the_histogram_algorithms_and_colour_maps(client, users, task):
    response = client.get(url(task, "orthophoto/metadata?formula=VARI&bands=RGB"), headers=auth(users["viewer"]))
    assert response.status_code == 200
    document = response.json
    band = document["statistics"]["1"]
    counts, edges = band["histogram"]
    assert len(counts) == 255 and len(edges) == 256
    assert edges[0] == pytest.approx(-1) and edges[-1] == pytest.approx(1)
    assert (band["min"], band["max"]) == (-1, 1)  # the formula's range, as WebODM answers
    patch_pixels = (maps.PATCH.stop - maps.PATCH.start) ** 2
    value = vari(*maps.RED)
    patch_bin = next(i for i in range(255) if edges[i] <= value < edges[i + 1])
    assert counts[patch_bin] == patch_pixels
    assert sum(counts) == maps.SIZE * maps.SIZE
    assert band["percentiles"][0] <= 0 <= band["percentiles"][1]
    vari_entry = next(item for item in document["algorithms"] if item["id"] == "VARI")
    assert "RGB" in vari_entry["filters"] and vari_entry["help"]
    colour_maps = {entry["key"]: entry for entry in document["color_maps"]}
    assert {"rdylgn", "spectral", "viridis"} <= set(colour_maps)
    first = rio_colormaps.get("rdylgn")[0]
    assert colour_maps["rdylgn"]["color_map"][0] == int.from_bytes(bytes(int(v) for v in first), "big")  # 0xRRGGBBAA
    assert "/orthophoto/tiles/{z}/{x}/{y}.png?formula=VARI&bands=RGB&sig=" in document["tiles"][0]
    assert document["bounds"]["crs"] == maps.UTM and document["count"] == 4
    assert document["minzoom"] == native_zooms(task)[0] - 3


def test_dem_and_plain_orthophoto_metadata(client, users, task):
    headers = auth(users["owner"])
    dsm = client.get(url(task, "dsm/metadata"), headers=headers).json
    band = dsm["statistics"]["1"]
    assert band["min"] == pytest.approx(maps.DSM_LOW)
    assert band["max"] == pytest.approx(maps.DSM_LOW + maps.DSM_STEP * (maps.DSM_SIZE - 1))
    assert sum(band["histogram"][0]) == maps.DSM_SIZE ** 2
    assert {entry["key"] for entry in dsm["color_maps"]} >= {"viridis", "terrain", "jet"}
    assert dsm["algorithms"] == []
    plain = client.get(url(task, "orthophoto/metadata"), headers=headers).json
    assert sorted(plain["statistics"]) == ["1", "2", "3"]  # alpha left out
    assert plain["statistics"]["1"]["max"] == maps.RED[0] and plain["color_maps"] == []
    ranged = client.get(url(task, "orthophoto/metadata?formula=VARI&range=-0.5,0.5"), headers=headers).json
    assert ranged["statistics"]["1"]["histogram"][1][0] == pytest.approx(-0.5)


def test_metadata_is_404_for_absent_layers_and_strangers(client, users, task):
    assert client.get(url(task, "dtm/metadata"), headers=auth(users["owner"])).status_code == 404
    assert client.get(url(task, "elevation/metadata"), headers=auth(users["owner"])).status_code == 404
    stranger = client.get(url(task, "orthophoto/metadata"), headers=auth(users["stranger"]))
    assert stranger.status_code == 404 and stranger.json == {"detail": "Not found."}
    assert client.get(url(task, "orthophoto/metadata")).status_code == 403


def test_tilejson_keeps_the_plant_health_parameters(client, users, task):
    query = "formula=NDVI&bands=RGN&rescale=-0.2,0.8&color_map=spectral"
    document = client.get(url(task, f"orthophoto/tiles.json?{query}"), headers=auth(users["owner"])).json
    assert "?" + query.replace(",", quote(",")) + "&sig=" in document["tiles"][0]
