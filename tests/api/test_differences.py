"""The DSM difference of two flights over the API: the volume gained and lost inside a polygon against piles of
known volume (within 1 %, the earlier DSM on another grid), TileJSON statistics and diverging-colour tiles, a clear
400 for tasks of different projects, a task without a DSM or a bad polygon, and 404 unless the caller may view
both tasks."""
import io
import math

import numpy
import pytest
import rasterio
from PIL import Image
from rasterio.transform import from_origin
from rasterio.warp import transform as transform_points
from rasterio.warp import transform_bounds

from tests.api.conftest import shared_project
from tests.support import maps
from tests.support.factories import add_project
from tests.support.web import auth
from webapp import storage
from webapp.extensions import db

CONE_VOLUME = math.pi * maps.CONE["radius"] ** 2 * maps.CONE["height"] / 3
BOX_VOLUME = maps.BOX["width"] * maps.BOX["depth"] * maps.BOX["height"]
BOX_CENTRE = (maps.BOX["west"] + maps.BOX["width"] / 2, maps.BOX["north"] + maps.BOX["depth"] / 2)


@pytest.fixture
def flights(project):
    """(before, after): the bare ground on a 0.15 m grid, then the piles dumped on it, on a 0.1 m grid."""
    return maps.survey_task(project, "before", with_piles=False, pixel=0.15), \
        maps.survey_task(project, "after", with_piles=True)


def url(later, earlier, tail):
    """A path under the difference of later minus earlier."""
    return f"/api/projects/{later.project_id}/tasks/{later.id}/difference/{earlier.id}/{tail}"


def change(client, headers, later, earlier, area):
    """POST the volume change of a GeoJSON area; the response."""
    return client.post(url(later, earlier, "volume"), headers=headers, json={"area": area})


def test_the_volume_gained_is_the_piles_and_the_volume_lost_when_they_are_taken_away(client, users, flights):
    before, after = flights
    headers = auth(users["viewer"])
    answer = change(client, headers, after, before, maps.lonlat_ring(maps.square(maps.CONE["centre"], 20)))
    assert answer.status_code == 200, answer.json
    volume = answer.json
    assert volume["gained"] == pytest.approx(CONE_VOLUME, rel=0.01)
    assert volume["lost"] < CONE_VOLUME * 0.001  # the ground is a plane: bilinear warping keeps it
    assert volume["net"] == pytest.approx(volume["gained"] - volume["lost"], abs=0.01)
    assert volume["area"] == pytest.approx(400, rel=0.001) and volume["missing_area"] == 0
    assert volume["measured_area"] == pytest.approx(400, rel=0.01) and volume["pixel_area"] == pytest.approx(0.01)
    box = {"type": "Feature", "properties": {}, "geometry": maps.lonlat_ring(maps.square(BOX_CENTRE, 10))}
    assert change(client, headers, after, before, box).json["net"] == pytest.approx(BOX_VOLUME, rel=0.01)
    # The other way round (a later flight after the piles were taken away): all lost, net negative.
    volume = change(client, headers, before, after, box).json
    assert volume["lost"] == pytest.approx(BOX_VOLUME, rel=0.01) and volume["gained"] < BOX_VOLUME * 0.001
    assert volume["net"] == pytest.approx(-BOX_VOLUME, rel=0.01)
    # A polygon half outside the earlier model's data: the part outside is missing, not counted as a change.
    edge = maps.PILE_SIZE * maps.PILE_PIXEL
    half_out = maps.lonlat_ring([(edge - 5, 10), (edge + 5, 10), (edge + 5, 20), (edge - 5, 20)])
    volume = change(client, headers, after, before, half_out).json
    assert volume["measured_area"] == pytest.approx(50, rel=0.05) and volume["gained"] < 0.1


def write_ground_in_web_mercator(path):
    """The bare sloping ground of maps.GROUND written in web mercator (EPSG:3857), about 0.1 m on the ground a pixel:
    a model on a grid of another CRS than the later one's."""
    bounds = transform_bounds(maps.UTM, "EPSG:3857", maps.ORIGIN[0] - 1, maps.ORIGIN[1] - 41, maps.ORIGIN[0] + 41,
                              maps.ORIGIN[1] + 1)
    pixel = 0.14  # web mercator metres are 1/cos(45°) ground metres here
    width, height = round((bounds[2] - bounds[0]) / pixel), round((bounds[3] - bounds[1]) / pixel)
    columns, rows = numpy.meshgrid(numpy.arange(width) + 0.5, numpy.arange(height) + 0.5)
    xs, ys = transform_points("EPSG:3857", maps.UTM, (bounds[0] + columns * pixel).ravel(),
                              (bounds[3] - rows * pixel).ravel())
    heights = maps.ground_height(numpy.array(xs) - maps.ORIGIN[0], maps.ORIGIN[1] - numpy.array(ys))
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=1, dtype="float32",
                       crs="EPSG:3857", transform=from_origin(bounds[0], bounds[3], pixel, pixel)) as dst:
        dst.write(heights.reshape(height, width).astype(numpy.float32), 1)


def test_an_earlier_model_in_another_crs_is_warped_onto_the_later_ones_grid(client, users, project, flights):
    _, after = flights
    before = maps.survey_task(project, "before, in web mercator", with_piles=False)
    write_ground_in_web_mercator(storage.assets_dir(project.id, before.id) / "odm_dem" / "dsm.tif")
    headers = auth(users["viewer"])
    volume = change(client, headers, after, before, maps.lonlat_ring(maps.square(maps.CONE["centre"], 20))).json
    assert volume["gained"] == pytest.approx(CONE_VOLUME, rel=0.01) and volume["lost"] < CONE_VOLUME * 0.001
    box = change(client, headers, after, before, maps.lonlat_ring(maps.square(BOX_CENTRE, 10))).json
    assert box["net"] == pytest.approx(BOX_VOLUME, rel=0.01)
    statistics = client.get(url(after, before, "tiles.json"), headers=headers).json["statistics"]
    assert statistics["max"] == pytest.approx(maps.CONE["height"], abs=0.3) and abs(statistics["min"]) < 0.05


def tile_pixel(client, headers, later, earlier, lon, lat, query=""):
    """The RGBA of the difference tile's pixel at a point (zoom 21), and the tile's response."""
    tile, (column, row) = maps.tile_and_pixel(lon, lat, 21)
    response = client.get(url(later, earlier, f"tiles/21/{tile.x}/{tile.y}.png{query}"), headers=headers)
    assert response.status_code == 200, response.data[:200]
    return Image.open(io.BytesIO(response.data)).convert("RGBA").getpixel((column, row)), response


def test_tilejson_statistics_and_tiles_in_a_diverging_colour_map(client, users, flights):
    before, after = flights
    headers = auth(users["viewer"])
    document = client.get(url(after, before, "tiles.json?rescale=-3,3"), headers=headers).json
    statistics = document["statistics"]
    assert statistics["max"] == pytest.approx(maps.CONE["height"], abs=0.3)  # the cone's top, on an overview
    assert abs(statistics["min"]) < 0.05
    low, high = statistics["rescale"]
    assert low == -high and high >= statistics["percentiles"][1] > 0
    assert document["tiles"][0].endswith(f"/difference/{before.id}/tiles/{{z}}/{{x}}/{{y}}.png?rescale=-3%2C3")
    assert document["color_map"] == "rdbu" and "bwr" in document["color_maps"]
    west, south, east, north = document["bounds"]
    assert west < east and south < north
    box = maps.lonlat_ring(maps.square(BOX_CENTRE, 1))["coordinates"][0][0]
    ground = maps.lonlat_ring(maps.square((5, 35), 1))["coordinates"][0][0]
    (r, g, b, a), first = tile_pixel(client, headers, after, before, *box, "?rescale=-2,2")
    assert a == 255 and b > 80 and r < 30  # +2 m at the top of the range: rdbu's darkest blue
    (r, g, b, a), _ = tile_pixel(client, headers, after, before, *ground, "?rescale=-2,2")
    assert a == 255 and min(r, g, b) > 230  # no change: the middle of the map, nearly white
    (r, g, b, a), _ = tile_pixel(client, headers, before, after, *box, "?rescale=-2,2")
    assert a == 255 and r > 80 and b < 40  # taken away: red
    (r, g, b, a), _ = tile_pixel(client, headers, after, before, *box, "?rescale=-2,2&color_map=bwr")
    assert (r, g, b) == pytest.approx((255, 0, 0), abs=3)  # bwr (blue, white, red) ends in pure red
    tile_url = first.request.path + "?rescale=-2,2"
    again = client.get(tile_url, headers={**headers, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    far = maps.tile_and_pixel(0.0, 0.0, 21)[0]
    assert client.get(url(after, before, f"tiles/21/{far.x}/{far.y}.png"), headers=headers).status_code == 404
    tile = maps.tile_and_pixel(*box, 21)[0]
    scaled = client.get(url(after, before, f"tiles/21/{tile.x}/{tile.y}@2x.png"), headers=headers)
    assert scaled.status_code == 200 and Image.open(io.BytesIO(scaled.data)).size == (512, 512)


@pytest.mark.parametrize("query, field", [("color_map=nope", "color_map"), ("rescale=2,1", "rescale"),
                                          ("rescale=abc", "rescale")])
def test_bad_tile_parameters_are_a_clear_400(client, users, flights, query, field):
    before, after = flights
    for tail in ("tiles.json", "tiles/21/0/0.png"):
        response = client.get(url(after, before, f"{tail}?{query}"), headers=auth(users["owner"]))
        assert response.status_code == 400 and response.json[field][0], response.json
    response = client.get(url(after, before, "tiles/21/0/0.jpg"), headers=auth(users["owner"]))
    assert response.status_code == 400 and "png" in response.json["detail"]


BOWTIE = [(10, 10), (20, 20), (20, 10), (10, 20)]


@pytest.mark.parametrize("area", [
    {"type": "Polygon", "coordinates": [[]]},  # empty
    {"type": "Polygon", "coordinates": []},
    maps.lonlat_ring(BOWTIE),  # crosses itself
    maps.lonlat_ring([(10, 10), (20, 20)]),  # two points
    {"type": "LineString", "coordinates": [[15, 45], [15.001, 45]]},
    "{not json",
    None,
])
def test_bad_polygons_are_a_clear_400(client, users, flights, area):
    before, after = flights
    response = client.post(url(after, before, "volume"), headers=auth(users["owner"]),
                           json={} if area is None else {"area": area})
    assert response.status_code == 400 and response.json["area"][0], response.json


def test_a_polygon_outside_the_models_is_a_clear_400(client, users, flights):
    before, after = flights
    response = change(client, auth(users["owner"]), after, before, maps.lonlat_ring(maps.square((500, 500), 10)))
    assert response.status_code == 400 and "outside" in response.json["detail"]


def test_tasks_of_different_projects_without_a_dsm_or_the_same_task_are_a_clear_400(client, users, flights):
    before, after = flights
    headers = auth(users["owner"])
    elsewhere = maps.survey_task(shared_project(users, name="Field 2"), "elsewhere", with_piles=False)
    no_dsm = maps.completed_task(after.project, name="photos only", dsm=False, shots=False)
    area = maps.lonlat_ring(maps.square(BOX_CENTRE, 10))
    for later, earlier, words in ((after, elsewhere, "different projects"), (elsewhere, after, "different projects"),
                                  (after, after, "another task")):
        for response in (change(client, headers, later, earlier, area),
                         client.get(url(later, earlier, "tiles.json"), headers=headers),
                         client.get(url(later, earlier, "tiles/21/0/0.png"), headers=headers)):
            assert response.status_code == 400 and words in response.json["other"][0], response.json
    for later, earlier in ((after, no_dsm), (no_dsm, after)):
        response = change(client, headers, later, earlier, area)
        assert response.status_code == 400 and "no surface model (DSM)" in response.json["detail"]
        assert "photos only" in response.json["detail"]


def test_only_those_who_may_view_both_tasks_see_the_difference(client, users, flights):
    before, after = flights
    area = maps.lonlat_ring(maps.square(BOX_CENTRE, 10))
    private = maps.survey_task(add_project(users["stranger"], name="Theirs"), "theirs", with_piles=False)
    # A stranger to the project; a viewer of the project, not of the stranger's task (either way round).
    for who, later, earlier in (("stranger", after, before), ("viewer", after, private), ("viewer", private, after)):
        headers = auth(users[who])
        responses = (change(client, headers, later, earlier, area),
                     client.get(url(later, earlier, "tiles.json"), headers=headers),
                     client.get(url(later, earlier, "tiles/21/0/0.png"), headers=headers))
        assert [r.status_code for r in responses] == [404, 404, 404], (who, later.name, earlier.name)
    # A public task's visitors see its difference with another public task only.
    after.public = True
    db.session.commit()
    assert client.get(url(after, before, "tiles.json")).status_code == 403
    before.public = True
    db.session.commit()
    assert client.get(url(after, before, "tiles.json")).status_code == 200
    assert change(client, {}, after, before, area).status_code == 403  # volumes are for logged-in users
