"""Elevation profiles over the API: the DSM's and DTM's heights along a line, checked against the known surface of
the piles' DSM, and bad lines refused with a clear 400."""
import pytest

from tests.support.web import auth
from tests.support import maps


@pytest.fixture
def task(project):
    """A completed task whose DSM holds a cone and a box on sloping ground, and whose DTM is the bare ground."""
    return maps.pile_task(project)


def line(corners):
    """A GeoJSON LineString through points given in metres east and south of the rasters' origin."""
    ring = maps.lonlat_ring(corners)["coordinates"][0][:-1]
    return {"type": "LineString", "coordinates": ring}


def ask(client, headers, task, **body):
    """POST a profile request."""
    return client.post(f"/api/projects/{task.project_id}/tasks/{task.id}/profile", headers=headers, json=body)


def test_the_profile_crosses_the_cone_and_the_dtm_stays_on_the_ground(client, users, task):
    east, south = maps.CONE["centre"]
    response = ask(client, auth(users["viewer"]), task, line=line([(east - 10, south), (east + 10, south)]),
                   samples=201)
    assert response.status_code == 200
    answer = response.json
    assert answer["length"] == pytest.approx(20, abs=0.01) and len(answer["distance"]) == 201
    assert answer["distance"][0] == 0 and answer["distance"][-1] == pytest.approx(20, abs=0.01)
    middle = 100  # the cone's top, 10 m along
    assert answer["dsm"][middle] == pytest.approx(maps.ground_height(east, south) + maps.CONE["height"], abs=0.05)
    assert answer["dtm"][middle] == pytest.approx(maps.ground_height(east, south), abs=0.01)
    assert answer["dsm"][0] == pytest.approx(answer["dtm"][0], abs=0.01)  # beyond the cone's foot
    lon, lat = answer["points"][0]
    assert (lon, lat) == pytest.approx(tuple(line([(east - 10, south)])["coordinates"][0]), abs=1e-6)


def test_points_off_the_models_have_no_height_and_a_task_without_dtm_says_null(client, users, project):
    task = maps.pile_task(project, dtm=False)
    answer = ask(client, auth(users["owner"]), task, line=line([(20, 20), (60, 20)]), samples=5).json
    assert answer["dtm"] is None
    assert answer["dsm"][0] is not None and answer["dsm"][-1] is None  # 60 m east is beyond the 40 m DSM


@pytest.mark.parametrize("body, field", [
    ({}, "line"),
    ({"line": {"type": "Polygon", "coordinates": []}}, "line"),
    ({"line": {"type": "LineString", "coordinates": [[15, 45], [15, 45]]}}, "line"),
    ({"line": {"type": "LineString", "coordinates": [[15, 45], [15, 95]]}}, "line"),
    ({"line": "{not json"}, "line"),
    ({"line": {"type": "LineString", "coordinates": [[15, 45], [15.001, 45]]}, "samples": 1}, "samples"),
    ({"line": {"type": "LineString", "coordinates": [[15, 45], [15.001, 45]]}, "samples": "many"}, "samples"),
])
def test_bad_lines_are_a_clear_400(client, users, task, body, field):
    response = ask(client, auth(users["owner"]), task, **body)
    assert response.status_code == 400 and response.json[field][0]


def test_no_elevation_model_and_no_permission(client, users, project, task):
    bare = maps.completed_task(project, dsm=False)
    response = ask(client, auth(users["owner"]), bare, line=line([(1, 1), (5, 5)]))
    assert response.status_code == 400 and "no elevation model" in response.json["detail"]
    assert ask(client, auth(users["stranger"]), task, line=line([(1, 1), (5, 5)])).status_code == 404
    assert ask(client, {}, task, line=line([(1, 1), (5, 5)])).status_code == 403
