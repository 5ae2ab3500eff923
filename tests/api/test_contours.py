"""Contours over WebODM's contours plugin paths: a job through a real worker writes GeoJSON, GeoPackage or DXF
lines whose points lie at their level on the known surface; bad requests are a clear 400."""
import json
import math
import zipfile

import pyogrio.raw
import pytest
from rasterio.warp import transform as transform_points

from tests.support.web import auth
from tests.api.test_volumes import run_jobs
from tests.support import maps

GENERATE = "/api/plugins/contours/task/{}/contours/generate"


@pytest.fixture
def task(project):
    """A completed task whose DSM holds piles on sloping ground and whose DTM is the bare, planar ground."""
    return maps.pile_task(project)


def made(client, app, headers, task, tmp_path, **fields):
    """Generate contours through a job and a worker; the downloaded file's path."""
    response = client.post(GENERATE.format(task.id), headers=headers, data=fields)
    assert response.status_code == 200, response.json
    job_id = response.json["celery_task_id"]
    run_jobs(app)
    assert client.get(f"/api/workers/check/{job_id}", headers=headers).json == {"ready": True}
    answer = client.get(f"/api/plugins/contours/task/{task.id}/contours/download/{job_id}", headers=headers)
    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"] == f"attachment; filename={response.json['filename']}"
    path = tmp_path / response.json["filename"]
    path.write_bytes(answer.data)
    return path


def test_dtm_contours_lie_on_their_level_of_the_ground(client, app, users, task, tmp_path):
    path = made(client, app, auth(users["viewer"]), task, tmp_path, layer="DTM", interval="0.5", format="GeoJSON",
                epsg="32633", simplify="0")
    features = json.loads(path.read_text())["features"]
    levels = sorted({feature["properties"]["level"] for feature in features})
    edge, far = maps.PILE_PIXEL / 2, maps.PILE_SIZE * maps.PILE_PIXEL - maps.PILE_PIXEL / 2  # outer pixel centres
    low, high = maps.ground_height(edge, far), maps.ground_height(far, edge)  # the ground's lowest and highest
    assert levels == [level / 2 for level in range(math.ceil(low * 2), math.floor(high * 2) + 1)]
    for feature in features:
        coordinates = feature["geometry"]["coordinates"]
        for x, y, z in coordinates:
            assert z == feature["properties"]["level"]
            east, south = x - maps.ORIGIN[0], maps.ORIGIN[1] - y
            assert maps.ground_height(east, south) == pytest.approx(z, abs=0.02)


def test_geopackage_dxf_and_wgs84(client, app, users, task, tmp_path):
    headers = auth(users["owner"])
    gpkg = made(client, app, headers, task, tmp_path, layer="DSM", interval="1", format="GPKG", epsg="4326")
    meta, _, geometry, fields = pyogrio.raw.read(str(gpkg))
    assert list(meta["fields"]) == ["level"] and len(geometry) > 0 and meta["crs"] == "EPSG:4326"
    lon, lat = transform_points(maps.UTM, "EPSG:4326", [maps.ORIGIN[0]], [maps.ORIGIN[1]])
    bounds = pyogrio.read_info(str(gpkg))["total_bounds"]
    assert bounds[0] == pytest.approx(lon[0], abs=0.001) and bounds[3] == pytest.approx(lat[0], abs=0.001)
    dxf = made(client, app, headers, task, tmp_path, layer="DSM", interval="1", format="DXF")
    meta, _, geometry, _ = pyogrio.raw.read(str(dxf))
    assert len(geometry) == len(fields[0])  # the same lines (as 3D polylines: DXF keeps the level as Z)


def test_a_shapefile_comes_zipped_with_its_parts_and_its_levels(client, app, users, task, tmp_path):
    headers = auth(users["viewer"])
    path = made(client, app, headers, task, tmp_path, layer="DTM", interval="0.5", format="ESRI Shapefile",
                epsg="32633")
    assert path.name.endswith("-dtm-contours.zip")
    with zipfile.ZipFile(path) as archive:
        names = sorted(archive.namelist())
        archive.extractall(tmp_path / "unzipped")
    stem = path.name[:-len(".zip")]
    assert names == sorted(f"{stem}.{ext}" for ext in ("cpg", "dbf", "prj", "shp", "shx"))
    meta, _, geometry, fields = pyogrio.raw.read(str(tmp_path / "unzipped" / f"{stem}.shp"))
    assert list(meta["fields"]) == ["level"] and meta["crs"] == "EPSG:32633" and len(geometry) > 0
    assert meta["geometry_type"] == "LineString Z"
    geojson = made(client, app, headers, task, tmp_path, layer="DTM", interval="0.5", format="GeoJSON",
                   epsg="32633")
    assert sorted(fields[0]) == sorted(f["properties"]["level"] for f in json.loads(geojson.read_text())["features"])
    # "SHP" is understood too, as the same format.
    response = client.post(GENERATE.format(task.id), headers=headers, data={"format": "SHP", "layer": "DTM"})
    assert response.status_code == 200 and response.json["filename"].endswith(".zip")


@pytest.mark.parametrize("fields, field", [
    ({"layer": "XYZ"}, "layer"),
    ({"interval": "0"}, "interval"),
    ({"interval": "-1"}, "interval"),
    ({"interval": "abc"}, "interval"),
    ({"interval": "0.001"}, "interval"),  # thousands of levels
    ({"simplify": "-1"}, "simplify"),
    ({"format": "KML"}, "format"),
    ({"epsg": "99999999"}, "epsg"),
])
def test_bad_contour_requests_are_a_clear_400(client, users, task, fields, field):
    response = client.post(GENERATE.format(task.id), headers=auth(users["owner"]), data=fields)
    assert response.status_code == 400 and response.json[field][0], response.json


def test_too_many_levels_is_a_400_before_any_job_and_only_viewers_ask(client, app, users, project, task):
    headers = auth(users["owner"])
    # The DTM spans about 2.8 m (see maps.GROUND): 0.002 m makes ~1400 levels, 0.003 m ~930.
    response = client.post(GENERATE.format(task.id), headers=headers, data={"layer": "DTM", "interval": "0.002"})
    assert response.status_code == 400 and "more than 1000 levels" in response.json["interval"][0], response.json
    assert "use a larger one" in response.json["interval"][0]
    response = client.post(GENERATE.format(task.id), headers=headers, data={"layer": "DTM", "interval": "0.003"})
    assert response.status_code == 200 and response.json["celery_task_id"]
    no_dtm = maps.pile_task(project, dtm=False)
    response = client.post(GENERATE.format(no_dtm.id), headers=headers, data={"layer": "DTM"})
    assert response.status_code == 400 and "No DTM" in response.json["layer"][0]
    assert client.post(GENERATE.format(task.id), headers=auth(users["stranger"])).status_code == 404
    assert client.post(GENERATE.format(task.id)).status_code == 403
