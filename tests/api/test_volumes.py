"""Volumes over WebODM's API: POST .../volume starts a job, /api/workers/check says when it is done, .../volume/get
answers cut, fill and net volume; checked against a DSM with a cone and a box of known volume (within 1 %), a
real RQ worker on the real Redis, bad polygons refused with a clear 400, and only for those who may view the task."""
import json
import math

import pytest

from tests.support.web import auth
from tests.support import maps

CONE_VOLUME = math.pi * maps.CONE["radius"] ** 2 * maps.CONE["height"] / 3
BOX_VOLUME = maps.BOX["width"] * maps.BOX["depth"] * maps.BOX["height"]
BOX_CENTRE = (maps.BOX["west"] + maps.BOX["width"] / 2, maps.BOX["north"] + maps.BOX["depth"] / 2)


@pytest.fixture
def task(project):
    """A completed task whose DSM holds a cone and a box on sloping ground, with the bare ground as its DTM."""
    return maps.pile_task(project)


def start(client, headers, task, corners=None, area=None, **fields):
    """POST the volume request; the response."""
    area = area if area is not None else {"type": "Feature", "properties": {},
                                          "geometry": maps.lonlat_ring(corners)}
    return client.post(f"/api/plugins/measure/task/{task.id}/volume", headers=headers,
                       json={"area": area, **fields})


def run_jobs(app):
    """Run the queued jobs with a real RQ worker (the `flask worker --burst` command, in this process)."""
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output


def measured(client, app, headers, task, corners, **fields):
    """Start a volume measurement, run the worker, and return WebODM's get answer."""
    response = start(client, headers, task, corners, **fields)
    assert response.status_code == 200, response.json
    job_id = response.json["celery_task_id"]
    run_jobs(app)
    assert client.get(f"/api/workers/check/{job_id}", headers=headers).json == {"ready": True}
    return client.get(f"/api/plugins/measure/task/{task.id}/volume/get/{job_id}", headers=headers).json


def test_a_cone_on_sloping_ground_against_a_plane_fitted_along_the_edge(client, app, users, task):
    answer = measured(client, app, auth(users["viewer"]), task, maps.square(maps.CONE["centre"], 20), method="plane")
    volume = answer["volume"]
    assert volume["net"] == pytest.approx(CONE_VOLUME, rel=0.01)
    assert volume["cut"] == pytest.approx(CONE_VOLUME, rel=0.01)
    assert volume["fill"] < CONE_VOLUME * 0.001  # the plane follows the slope: nothing below it
    assert answer["output"] == pytest.approx(abs(volume["net"]))  # WebODM's number
    assert volume["area"] == pytest.approx(400, rel=0.001)
    assert volume["base"]["method"] == "plane"
    low, high = maps.ground_height(2, 24), maps.ground_height(22, 4)  # the square's lowest and highest corners
    assert volume["base"]["min_height"] == pytest.approx(low, abs=0.05)
    assert volume["base"]["max_height"] == pytest.approx(high, abs=0.05)


def test_a_box_against_the_dtm_the_corners_and_a_flat_base(client, app, users, task):
    headers = auth(users["owner"])
    corners = maps.square(BOX_CENTRE, 10)
    for method in ("dtm", "triangulate", "plane"):
        volume = measured(client, app, headers, task, corners, method=method)["volume"]
        assert volume["net"] == pytest.approx(BOX_VOLUME, rel=0.01), method
    # A flat base 10 m below: the box and the ground above the base (the ground is a plane: its mean is the centre's).
    base = 90.0
    volume = measured(client, app, headers, task, corners, method="custom", base_height=str(base))["volume"]
    expected = BOX_VOLUME + 100 * (maps.ground_height(*BOX_CENTRE) - base)
    assert volume["cut"] == pytest.approx(expected, rel=0.01) and volume["fill"] == 0
    # A flat base 10 m above: all fill, and net is negative.
    volume = measured(client, app, headers, task, corners, method="custom", base_height=110)["volume"]
    assert volume["cut"] == 0 and volume["net"] == pytest.approx(-volume["fill"])
    assert volume["fill"] == pytest.approx(100 * (110 - maps.ground_height(*BOX_CENTRE)) - BOX_VOLUME, rel=0.01)


def test_check_says_not_ready_until_a_worker_ran_and_errors_come_as_webodm_sends_them(client, app, users, task):
    headers = auth(users["owner"])
    response = start(client, headers, task, maps.square((500, 500), 10), method="plane")  # far outside the DSM
    job_id = response.json["celery_task_id"]
    assert client.get(f"/api/workers/check/{job_id}", headers=headers).json == {"ready": False}
    assert client.get(f"/api/workers/get/{job_id}", headers=headers).json == {"error": "Task not ready"}
    run_jobs(app)
    check = client.get(f"/api/workers/check/{job_id}", headers=headers).json
    assert check["ready"] is True and "outside the surface model" in check["error"]
    assert "outside" in client.get(f"/api/workers/get/{job_id}", headers=headers).json["error"]


BOWTIE = [(10, 10), (20, 20), (20, 10), (10, 20)]


@pytest.mark.parametrize("fields, field", [
    ({"area": {"type": "Polygon", "coordinates": [[]]}}, "area"),
    ({"area": {"type": "Point", "coordinates": [15.0, 45.0]}}, "area"),
    ({"area": maps.lonlat_ring([(10, 10), (20, 20)])}, "area"),  # two points
    ({"area": maps.lonlat_ring(BOWTIE)}, "area"),  # self-crossing
    ({"area": {"type": "Polygon", "coordinates": [[["a", 1], [2, 3], [4, 5]]]}}, "area"),
    ({"area": "{not json"}, "area"),
    ({}, "area"),
    ({"area": maps.lonlat_ring(maps.square((20, 20), 10)), "method": "median"}, "method"),
    ({"area": maps.lonlat_ring(maps.square((20, 20), 10)), "method": "custom"}, "base_height"),
    ({"area": maps.lonlat_ring(maps.square((20, 20), 10)), "method": "custom", "base_height": "nan"}, "base_height"),
])
def test_bad_polygons_and_methods_are_a_clear_400(client, users, task, fields, field):
    response = client.post(f"/api/plugins/measure/task/{task.id}/volume", headers=auth(users["owner"]),
                           json=fields)
    assert response.status_code == 400 and response.json[field][0], response.json


def test_the_form_encoded_request_of_webodms_page_works_too(client, app, users, task):
    area = {"type": "Feature", "geometry": maps.lonlat_ring(maps.square(maps.CONE["centre"], 20))}
    response = client.post(f"/api/plugins/measure/task/{task.id}/volume", headers=auth(users["owner"]),
                           data={"area": json.dumps(area), "method": "plane"})
    assert response.status_code == 200 and response.json["celery_task_id"]


def test_tasks_without_the_surfaces_asked_for_say_so(client, users, project):
    headers = auth(users["owner"])
    no_dtm = maps.pile_task(project, dtm=False)
    response = start(client, headers, no_dtm, maps.square((20, 20), 10), method="dtm")
    assert response.status_code == 400 and "terrain model" in response.json["method"][0]
    no_dsm = maps.completed_task(project, dsm=False)
    response = start(client, headers, no_dsm, maps.square((20, 20), 10))
    assert response.status_code == 400 and "surface model" in response.json["detail"]


def test_only_those_who_may_view_the_task_measure_or_read_its_jobs(client, app, users, task):
    corners = maps.square(maps.CONE["centre"], 20)
    assert start(client, auth(users["stranger"]), task, corners).status_code == 404
    assert start(client, {}, task, corners).status_code == 403
    job_id = start(client, auth(users["owner"]), task, corners).json["celery_task_id"]
    for path in (f"/api/workers/check/{job_id}", f"/api/workers/get/{job_id}",
                 f"/api/plugins/measure/task/{task.id}/volume/get/{job_id}"):
        assert client.get(path, headers=auth(users["stranger"])).status_code == 404, path
        assert client.get(path, headers=auth(users["viewer"])).status_code == 200, path
    assert client.get("/api/workers/check/no-such-job", headers=auth(users["owner"])).status_code == 404
    other = maps.pile_task(task.project, name="other")
    wrong_task = client.get(f"/api/plugins/measure/task/{other.id}/volume/get/{job_id}", headers=auth(users["owner"]))
    assert wrong_task.status_code == 404
