"""Map tiles over the API: tiles that match the raster, zoom limits, formats, colour maps, caching (ETag, 304,
invalidation), thumbnails, and who may see them (owner, shared, stranger, anonymous, public)."""
import io
import os

import numpy
import pytest
from PIL import Image
from rio_tiler.colormap import cmap as rio_colormaps
from rio_tiler.io import Reader

from tests.support.factories import add_task
from tests.support.web import auth
from tests.support import maps
from webapp import storage
from webapp.extensions import db


@pytest.fixture
def task(project):
    """A completed private task with an orthophoto, a DSM and camera positions."""
    return maps.completed_task(project)


def url(task, tail):
    """An API URL under the task."""
    return f"/api/projects/{task.project_id}/tasks/{task.id}/{tail}"


def native_zooms(task, layer="orthophoto"):
    """The raster's own zoom range, as rio-tiler computes it."""
    from webapp.services.tiles import LAYER_FILES
    with Reader(str(storage.assets_dir(task.project_id, task.id) / LAYER_FILES[layer])) as reader:
        return reader.minzoom, reader.maxzoom


def image_of(response):
    """The decoded RGBA image of a tile answer."""
    assert response.status_code == 200, response.data[:200]
    return Image.open(io.BytesIO(response.data)).convert("RGBA")


def tile_at(client, task, headers, lon, lat, z, layer="orthophoto", query=""):
    """The tile holding a point, and the point's pixel in it."""
    tile, pixel = maps.tile_and_pixel(lon, lat, z)
    response = client.get(url(task, f"{layer}/tiles/{tile.z}/{tile.x}/{tile.y}.png{query}"), headers=headers)
    return response, pixel


def close(colour, expected, tolerance=8):
    """Whether an RGB(A) colour is within tolerance of the expected RGB."""
    return all(abs(int(a) - int(b)) <= tolerance for a, b in zip(colour[:3], expected))


# --- TileJSON and bounds ---------------------------------------------------------------------------------

def test_tilejson_gives_the_url_template_bounds_and_zooms_widened_by_three(client, users, task):
    response = client.get(url(task, "orthophoto/tiles.json"), headers=auth(users["viewer"]))
    assert response.status_code == 200
    document = response.json
    assert document["tilejson"] == "2.1.0"
    template, = document["tiles"]
    assert template.startswith(f"http://localhost{url(task, 'orthophoto/tiles/{z}/{x}/{y}.png')}?sig=")
    low, high = native_zooms(task)
    assert (document["minzoom"], document["maxzoom"]) == (low - 3, high + 3)
    west, south, east, north = document["bounds"]
    for column, row in ((0, 0), (maps.SIZE - 1, maps.SIZE - 1), (0, maps.SIZE - 1)):
        lon, lat = maps.lonlat_of_pixel(column, row)
        assert west <= lon <= east and south <= lat <= north
    assert "statistics" not in document
    assert client.get(url(task, "orthophoto/bounds"), headers=auth(users["viewer"])).json == {
        "bounds": document["bounds"]}


def test_dem_tilejson_has_the_elevation_range_and_keeps_colour_parameters(client, users, task):
    headers = auth(users["owner"])
    document = client.get(url(task, "dsm/tiles.json?color_map=terrain&hillshade=true"), headers=headers).json
    assert document["statistics"]["min"] == pytest.approx(maps.DSM_LOW)
    assert document["statistics"]["max"] == pytest.approx(maps.DSM_LOW + maps.DSM_STEP * (maps.DSM_SIZE - 1))
    assert "/dsm/tiles/{z}/{x}/{y}.png?color_map=terrain&hillshade=true&sig=" in document["tiles"][0]
    bad = client.get(url(task, "dsm/tiles.json?color_map=rainbow-unicorn"), headers=headers)
    assert bad.status_code == 400 and "color_map" in bad.json


def test_absent_or_unknown_layers_are_404(client, users, task):
    headers = auth(users["owner"])
    for tail in ("dtm/tiles.json", "dtm/bounds", "dtm/tiles/18/0/0.png", "elevation/tiles.json",
                 "elevation/tiles/18/1/1.png"):
        response = client.get(url(task, tail), headers=headers)
        assert response.status_code == 404 and response.json == {"detail": "Not found."}, tail


# --- tiles match the raster ------------------------------------------------------------------------------

def test_a_tile_shows_the_raster_colours_at_their_coordinates(client, users, task):
    headers = auth(users["viewer"])
    z = native_zooms(task)[1]
    middle = (maps.PATCH.start + maps.PATCH.stop) // 2
    response, pixel = tile_at(client, task, headers, *maps.lonlat_of_pixel(middle, middle), z)
    assert response.mimetype == "image/png"
    image = image_of(response)
    assert image.size == (256, 256)
    assert close(image.getpixel(pixel), maps.RED)
    response, pixel = tile_at(client, task, headers, *maps.lonlat_of_pixel(100, 100), z)
    assert close(image_of(response).getpixel(pixel), maps.GREY)


def test_formats_high_resolution_and_the_older_orthophoto_path(client, users, task):
    headers = auth(users["owner"])
    z = native_zooms(task)[1]
    middle = (maps.PATCH.start + maps.PATCH.stop) // 2
    tile, (column, row) = maps.tile_and_pixel(*maps.lonlat_of_pixel(middle, middle), z)
    base = f"{tile.z}/{tile.x}/{tile.y}"
    png = client.get(url(task, f"orthophoto/tiles/{base}.png"), headers=headers)
    assert client.get(url(task, f"tiles/{base}.png"), headers=headers).data == png.data
    for suffix, mimetype, size in ((".jpg", "image/jpeg", 256), (".webp", "image/webp", 256),
                                   ("@2x.png", "image/png", 512), ("@2x.jpg", "image/jpeg", 512)):
        for prefix in ("orthophoto/tiles", "tiles"):
            response = client.get(url(task, f"{prefix}/{base}{suffix}"), headers=headers)
            assert response.mimetype == mimetype, suffix
            image = image_of(response)
            assert image.size == (size, size)
            scale = size // 256
            assert close(image.getpixel((column * scale, row * scale)), maps.RED, tolerance=20), suffix
    for bad in (f"{base}.gif", f"{base}@3x.png"):
        response = client.get(url(task, f"orthophoto/tiles/{bad}"), headers=headers)
        assert response.status_code == 400 and response.json["detail"], bad


def test_tiles_outside_the_zoom_range_or_the_raster_are_404(client, users, task):
    headers = auth(users["owner"])
    document = client.get(url(task, "orthophoto/tiles.json"), headers=headers).json
    lon, lat = maps.lonlat_of_pixel(maps.SIZE // 2, maps.SIZE // 2)
    for z, status in ((document["minzoom"] - 1, 404), (document["minzoom"], 200), (document["maxzoom"], 200),
                      (document["maxzoom"] + 1, 404)):
        response, _ = tile_at(client, task, headers, lon, lat, z)
        assert response.status_code == status, z
    z = document["maxzoom"]
    tile, _ = maps.tile_and_pixel(lon, lat, z)
    far_away = client.get(url(task, f"orthophoto/tiles/{z}/{tile.x + 50}/{tile.y}.png"), headers=headers)
    assert far_away.status_code == 404
    beyond_the_world = client.get(url(task, f"orthophoto/tiles/{z}/{2 ** z}/0.png"), headers=headers)
    assert beyond_the_world.status_code == 404


# --- DEM colour maps and hillshade -----------------------------------------------------------------------

def dsm_pixel(client, task, headers, column, query=""):
    """The colour of the DSM tile at the centre of a DSM column (middle row), at the DSM's native max zoom."""
    lon, lat = maps.lonlat_of_pixel(column, maps.DSM_SIZE // 2, pixel=maps.DSM_PIXEL)
    response, pixel = tile_at(client, task, headers, lon, lat, native_zooms(task, "dsm")[1], "dsm", query)
    return image_of(response).getpixel(pixel)


@pytest.mark.parametrize("color_map", [None, "terrain", "gray"])
def test_dem_tiles_colour_elevations_through_the_colour_map(client, users, task, color_map):
    headers = auth(users["owner"])
    stats = client.get(url(task, "dsm/tiles.json"), headers=headers).json["statistics"]
    colours = rio_colormaps.get(color_map or "viridis")
    query = f"?color_map={color_map}" if color_map else ""
    for column in (20, 128, 230):
        elevation = maps.DSM_LOW + maps.DSM_STEP * column
        index = round((elevation - stats["min"]) / (stats["max"] - stats["min"]) * 255)
        assert close(dsm_pixel(client, task, headers, column, query), colours[index], tolerance=10), column


def test_hillshade_darkens_the_slope_and_bad_parameters_are_400(client, users, task):
    headers = auth(users["owner"])
    plain = numpy.array(dsm_pixel(client, task, headers, 128, "?color_map=gray")[:3])
    shaded = numpy.array(dsm_pixel(client, task, headers, 128, "?color_map=gray&hillshade=true")[:3])
    assert (shaded < plain).all()  # the ambient part of the light leaves even a lit slope darker than unshaded
    z = native_zooms(task, "dsm")[1]
    tile, _ = maps.tile_and_pixel(*maps.lonlat_of_pixel(128, 128, pixel=maps.DSM_PIXEL), z)
    for query, field in (("?color_map=nope", None), ("?hillshade=maybe", "hillshade")):
        response = client.get(url(task, f"dsm/tiles/{z}/{tile.x}/{tile.y}.png{query}"), headers=headers)
        assert response.status_code == 400, query
        assert (field in response.json) if field else "nope" in response.json["detail"]


# --- caching ---------------------------------------------------------------------------------------------

def test_tiles_carry_an_etag_and_a_matching_if_none_match_is_304(client, users, task):
    headers = auth(users["owner"])
    z = native_zooms(task)[1]
    tile, _ = maps.tile_and_pixel(*maps.lonlat_of_pixel(256, 256), z)
    tail = f"orthophoto/tiles/{tile.z}/{tile.x}/{tile.y}.png"
    first = client.get(url(task, tail), headers=headers)
    etag = first.headers["ETag"]
    assert first.status_code == 200 and etag.startswith('"')
    assert "private" in first.headers["Cache-Control"] and "max-age=" in first.headers["Cache-Control"]
    cached = list(storage.cache_dir(task.project_id, task.id, "tiles").rglob("*.png"))
    assert len(cached) == 1 and cached[0].read_bytes() == first.data
    again = client.get(url(task, tail), headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    other = client.get(url(task, tail), headers={**headers, "If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.data == first.data


def test_new_assets_invalidate_cached_tiles_and_thumbnails(client, users, task):
    headers = auth(users["owner"])
    z = native_zooms(task)[1]
    middle = (maps.PATCH.start + maps.PATCH.stop) // 2
    before, pixel = tile_at(client, task, headers, *maps.lonlat_of_pixel(middle, middle), z)
    thumbnail_before = client.get(url(task, "thumbnail.png"), headers=headers)
    assert close(image_of(before).getpixel(pixel), maps.RED)
    path = storage.assets_dir(task.project_id, task.id) / "odm_orthophoto" / "odm_orthophoto.tif"
    maps.write_orthophoto(path, maps.BLUE)  # a restarted task's new result, same size on disk
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    after, _ = tile_at(client, task, headers, *maps.lonlat_of_pixel(middle, middle), z)
    assert after.headers["ETag"] != before.headers["ETag"]
    assert close(image_of(after).getpixel(pixel), maps.BLUE)
    stale = client.get(after.request.path, headers={**headers, "If-None-Match": before.headers["ETag"]})
    assert stale.status_code == 200
    thumbnail_after = client.get(url(task, "thumbnail.png"), headers={
        **headers, "If-None-Match": thumbnail_before.headers["ETag"]})
    assert thumbnail_after.status_code == 200 and thumbnail_after.data != thumbnail_before.data


# --- thumbnails ------------------------------------------------------------------------------------------

def test_thumbnail_is_a_small_png_of_the_orthophoto(client, users, task):
    headers = auth(users["viewer"])
    response = client.get(url(task, "thumbnail.png"), headers=headers)
    assert response.mimetype == "image/png"
    image = image_of(response)
    assert max(image.size) == 256
    scale = image.size[0] / maps.SIZE
    middle = int((maps.PATCH.start + maps.PATCH.stop) / 2 * scale)
    assert close(image.getpixel((middle, middle)), maps.RED)
    assert close(image.getpixel((int(100 * scale), int(100 * scale))), maps.GREY)
    assert client.get(url(task, "thumbnail.png"), headers={
        **headers, "If-None-Match": response.headers["ETag"]}).status_code == 304
    assert max(image_of(client.get(url(task, "thumbnail.png?size=64"), headers=headers)).size) == 64
    for bad in ("0", "5000", "big"):
        answer = client.get(url(task, f"thumbnail.png?size={bad}"), headers=headers)
        assert answer.status_code == 400 and "size" in answer.json, bad


def test_thumbnail_of_a_task_without_orthophoto_is_404(client, users, project):
    from webapp.models import TaskStatus
    bare = add_task(project, name="failed", status=TaskStatus.FAILED)
    response = client.get(url(bare, "thumbnail.png"), headers=auth(users["owner"]))
    assert response.status_code == 404 and response.json == {"detail": "Not found."}


# --- who may see tiles -----------------------------------------------------------------------------------

def fetch_all(client, task, user):
    """Statuses of TileJSON, a tile, the older tile path and the thumbnail for a user (None: anonymous)."""
    headers = auth(user) if user is not None else {}
    z = native_zooms(task)[1]
    tile, _ = maps.tile_and_pixel(*maps.lonlat_of_pixel(256, 256), z)
    tails = ("orthophoto/tiles.json", f"orthophoto/tiles/{z}/{tile.x}/{tile.y}.png",
             f"tiles/{z}/{tile.x}/{tile.y}.png", "dsm/bounds", "thumbnail.png", "download/shots.geojson")
    return {client.get(url(task, tail), headers=headers).status_code for tail in tails}


@pytest.mark.parametrize("who, status", [("owner", 200), ("viewer", 200), ("admin", 200), ("stranger", 404),
                                         (None, 403)])
def test_a_private_task_is_seen_only_by_those_with_access(client, users, task, who, status):
    # Anonymous callers are told to authenticate (403), as everywhere in the API; strangers see nothing (404).
    assert fetch_all(client, task, users.get(who)) == {status}


@pytest.mark.parametrize("who", ["stranger", None])
def test_a_public_task_or_project_is_open_to_anyone_with_the_link(client, users, project, task, who):
    task.public = True
    db.session.commit()
    assert fetch_all(client, task, users.get(who)) == {200}
    response = client.get(url(task, "thumbnail.png"))
    assert "public" in response.headers["Cache-Control"]
    task.public = False
    project.public = True
    db.session.commit()
    assert fetch_all(client, task, users.get(who)) == {200}
    project.public = False
    db.session.commit()
    assert fetch_all(client, task, users.get(who)) == ({404} if who else {403})
