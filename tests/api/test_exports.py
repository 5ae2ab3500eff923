"""Exports over WebODM's API: POST .../{asset}/export answers a download URL when the file exists as asked, else a
job (through a real RQ worker) whose file /api/workers/get sends: GeoTIFF (reprojected, or an index's values),
PNG/JPEG with a world file, KMZ, and the point cloud as LAS/LAZ/PLY/CSV; bad requests are a clear 400."""
import io
import zipfile

import laspy
import numpy
import pytest
import rasterio
from rasterio.io import MemoryFile

from tests.support.web import auth
from tests.api.test_volumes import run_jobs
from tests.support import maps
from webapp import storage

MIDDLE = (maps.PATCH.start + maps.PATCH.stop) // 2


@pytest.fixture
def task(project):
    """A completed task with an orthophoto, a DSM and a point cloud."""
    task = maps.completed_task(project, name="North field")
    maps.write_point_cloud(storage.assets_dir(project.id, task.id) / "odm_georeferencing"
                           / "odm_georeferenced_model.laz")
    return task


def export(client, headers, task, asset, **fields):
    """POST an export request; the response."""
    return client.post(f"/api/projects/{task.project_id}/tasks/{task.id}/{asset}/export", headers=headers,
                       data=fields)


def exported(client, app, headers, task, asset, **fields):
    """Export through a job and a worker; the response of /api/workers/get."""
    response = export(client, headers, task, asset, **fields)
    assert response.status_code == 200, response.json
    job_id = response.json["celery_task_id"]
    assert client.get(f"/api/workers/check/{job_id}", headers=headers).json == {"ready": False}
    run_jobs(app)
    assert client.get(f"/api/workers/check/{job_id}", headers=headers).json == {"ready": True}
    answer = client.get(f"/api/workers/get/{job_id}", headers=headers)
    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"] == f"attachment; filename={response.json['filename']}"
    return answer


def test_an_export_that_needs_no_work_is_the_download_at_once(client, users, task):
    headers = auth(users["viewer"])
    base = f"/api/projects/{task.project_id}/tasks/{task.id}/download/"
    assert export(client, headers, task, "orthophoto").json == {
        "url": base + "orthophoto.tif", "filename": "North-field-orthophoto.tif"}
    assert export(client, headers, task, "dsm", format="gtiff", epsg="32633").json["url"] == base + "dsm.tif"
    assert export(client, headers, task, "georeferenced_model").json["url"] == base + "georeferenced_model.laz"


def test_a_geotiff_reprojected_to_wgs84_keeps_the_colours_in_place(client, app, users, task):
    answer = exported(client, app, auth(users["owner"]), task, "orthophoto", format="gtiff", epsg="4326")
    with MemoryFile(answer.data) as memory, memory.open() as dataset:
        assert dataset.crs.to_epsg() == 4326 and dataset.count == 4
        row, column = dataset.index(*maps.lonlat_of_pixel(MIDDLE, MIDDLE))
        assert tuple(dataset.read(window=((row, row + 1), (column, column + 1)))[:3, 0, 0]) == maps.RED
        row, column = dataset.index(*maps.lonlat_of_pixel(50, 50))
        assert tuple(dataset.read(window=((row, row + 1), (column, column + 1)))[:3, 0, 0]) == maps.GREY


def test_an_index_geotiff_holds_the_formula_values(client, app, users, task):
    answer = exported(client, app, auth(users["owner"]), task, "orthophoto", formula="VARI", bands="RGB")
    red, green, blue = maps.RED
    with MemoryFile(answer.data) as memory, memory.open() as dataset:
        values = dataset.read(1)
        assert dataset.dtypes[0] == "float32" and dataset.crs.to_string() == maps.UTM
        assert values[MIDDLE, MIDDLE] == pytest.approx((green - red) / (green + red - blue), abs=1e-6)
        assert values[50, 50] == 0


def test_png_and_jpeg_come_with_a_world_file_and_kmz_is_a_super_overlay(client, app, users, task):
    headers = auth(users["owner"])
    for fmt, image, world in (("png", "png", "pgw"), ("jpg", "jpg", "jgw")):
        archive = zipfile.ZipFile(io.BytesIO(exported(client, app, headers, task, "orthophoto", format=fmt).data))
        stem = "North-field-orthophoto"
        assert sorted(archive.namelist()) == sorted([f"{stem}.{image}", f"{stem}.{world}", f"{stem}.prj"])
        lines = [float(line) for line in archive.read(f"{stem}.{world}").decode().split()]
        assert lines[0] == pytest.approx(maps.PIXEL) and lines[3] == pytest.approx(-maps.PIXEL)
        assert lines[4] == pytest.approx(maps.ORIGIN[0] + maps.PIXEL / 2)  # the upper-left pixel's centre
        assert lines[5] == pytest.approx(maps.ORIGIN[1] - maps.PIXEL / 2)
        assert "32633" in archive.read(f"{stem}.prj").decode() or "UTM zone 33N" in archive.read(f"{stem}.prj").decode()
    kmz = zipfile.ZipFile(io.BytesIO(exported(client, app, headers, task, "orthophoto", format="kmz").data))
    assert "doc.kml" in kmz.namelist() and any(name.endswith((".png", ".jpg")) for name in kmz.namelist())


def test_a_dem_in_colours_is_an_rgba_geotiff(client, app, users, task):
    answer = exported(client, app, auth(users["owner"]), task, "dsm", format="gtiff-rgb", color_map="terrain",
                      hillshade="false")
    with MemoryFile(answer.data) as memory, memory.open() as dataset:
        assert dataset.count == 4 and dataset.dtypes[0] == "uint8"
        pixels = dataset.read()
        assert (pixels[3] == 255).all()
        assert not numpy.array_equal(pixels[:3, :, 0], pixels[:3, :, -1])  # low west, high east: colours differ


def test_the_point_cloud_as_las_ply_and_csv_reprojected(client, app, users, task):
    headers = auth(users["owner"])
    las = laspy.read(io.BytesIO(exported(client, app, headers, task, "georeferenced_model", format="las",
                                         epsg="4326").data))
    assert len(las.points) == maps.CLOUD_POINTS and las.header.parse_crs().to_epsg() == 4326
    west, north = maps.lonlat_of_pixel(0, 0)
    east, south = maps.lonlat_of_pixel(maps.SIZE - 1, maps.SIZE - 1)
    assert west - 1e-4 <= las.x.min() and las.x.max() <= east + 1e-4
    assert south - 1e-4 <= las.y.min() and las.y.max() <= north + 1e-4
    ply = exported(client, app, headers, task, "georeferenced_model", format="ply").data
    assert f"element vertex {maps.CLOUD_POINTS}".encode() in ply[:300]
    assert len(ply) - ply.index(b"end_header\n") - len(b"end_header\n") == maps.CLOUD_POINTS * 27
    lines = exported(client, app, headers, task, "georeferenced_model", format="csv").data.decode().splitlines()
    assert lines[0] == "X,Y,Z,Red,Green,Blue" and len(lines) == maps.CLOUD_POINTS + 1
    x, y, z, red, green, blue = lines[1].split(",")
    assert float(x) > maps.ORIGIN[0] and (int(red), int(green), int(blue)) == maps.RED


@pytest.mark.parametrize("asset, fields, field", [
    ("orthophoto", {"format": "bmp"}, "format"),
    ("georeferenced_model", {"format": "gtiff"}, "format"),
    ("dsm", {"format": "kmz"}, "format"),
    ("orthophoto", {"epsg": "99999999"}, "epsg"),
    ("orthophoto", {"epsg": "utm"}, "epsg"),
    ("orthophoto", {"formula": "VARI"}, "bands"),
    ("orthophoto", {"formula": "NDVI", "bands": "RGB"}, "bands"),
    ("orthophoto", {"formula": "NOPE", "bands": "RGB"}, "formula"),
    ("dsm", {"formula": "VARI", "bands": "RGB"}, "formula"),
    ("orthophoto", {"format": "png", "color_map": "nope"}, "color_map"),
    ("orthophoto", {"format": "png", "formula": "VARI", "bands": "RGB", "rescale": "1"}, "rescale"),
])
def test_bad_export_requests_are_a_clear_400(client, users, task, asset, fields, field):
    response = export(client, auth(users["owner"]), task, asset, **fields)
    assert response.status_code == 400 and response.json[field][0], response.json


def test_absent_assets_strangers_and_visitors(client, users, task):
    assert export(client, auth(users["owner"]), task, "dtm").status_code == 404
    assert export(client, auth(users["owner"]), task, "textured_model").status_code == 404
    assert export(client, auth(users["stranger"]), task, "orthophoto", epsg="4326").status_code == 404
    assert export(client, {}, task, "orthophoto").status_code == 403
