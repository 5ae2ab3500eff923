"""Map pages of a task and of a project: who may open them (owner, shared, stranger, anonymous, public), what they
list, and that the tile URLs they give work for the same visitor."""
import json
import re

import pytest

from tests.support import maps
from tests.support.factories import add_task, add_user
from tests.support.web import signed_in
from webapp.extensions import db
from webapp.models import TaskStatus
from webapp.services import projects, sharing


@pytest.fixture
def owner(app):
    """Olga, who owns the project."""
    return add_user("olga")


@pytest.fixture
def project(owner):
    """Olga's project, shared with Vera (view)."""
    project = projects.create_project(owner, "Quarry", "East face")
    add_user("vera"), add_user("sam")
    sharing.set_sharing(project, [{"username": "vera", "permissions": ["view"]}])
    return project


@pytest.fixture
def task(project):
    """A completed task with an orthophoto and a DSM."""
    return maps.completed_task(project, name="North pit")


def visitor(app, client, who):
    """A client logged in as who, or the anonymous client."""
    return signed_in(app, who) if who else client


def map_config(response):
    """The settings the page gives map.js."""
    match = re.search(r'<script type="application/json" id="map-config">(.*?)</script>', response.get_data(as_text=True),
                      re.S)
    assert match, "no map configuration on the page"
    return json.loads(match.group(1))


def task_map_url(task):
    """The map page of a task."""
    return f"/projects/{task.project_id}/tasks/{task.id}/map"


@pytest.mark.parametrize("who", ["olga", "vera"])
def test_the_task_map_gives_working_tile_layers_to_those_with_access(app, client, task, who):
    browser = visitor(app, client, who)
    response = browser.get(task_map_url(task))
    assert response.status_code == 200
    config = map_config(response)
    assert [entry["name"] for entry in config["tasks"]] == ["North pit"]
    layers = config["tasks"][0]["layers"]
    assert sorted(layers) == ["dsm", "orthophoto"]
    assert browser.get(layers["dsm"]).json["statistics"]["min"] == pytest.approx(maps.DSM_LOW)
    assert browser.get(config["tasks"][0]["shots"]).status_code == 200
    html = response.get_data(as_text=True)
    assert re.search(r'id="layer-dtm"[^>]*disabled', html)  # this task has no terrain model
    assert not re.search(r'id="layer-dsm"[^>]*disabled', html)
    assert f'href="/projects/{task.project_id}/tasks/{task.id}/"' in html  # back to the task's page
    assert set(config["colorMaps"]) >= {"viridis", "terrain", "gray"}


def test_strangers_get_404_and_anonymous_visitors_are_asked_to_log_in(app, client, task):
    assert signed_in(app, "sam").get(task_map_url(task)).status_code == 404
    assert signed_in(app, "sam").get(f"/projects/{task.project_id}/map").status_code == 404
    response = client.get(task_map_url(task))
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    # A task that does not exist looks the same: nothing is given away.
    missing = client.get(f"/projects/{task.project_id}/tasks/{task.id + 100}/map")
    assert missing.status_code == 302 and "/login" in missing.headers["Location"]
    assert signed_in(app, "olga").get(f"/projects/{task.project_id}/tasks/{task.id + 100}/map").status_code == 404


@pytest.mark.parametrize("who", [None, "sam"])
def test_a_public_task_map_is_read_only_and_open_to_anyone_with_the_link(app, client, task, who):
    task.public = True
    db.session.commit()
    browser = visitor(app, client, who)
    response = browser.get(task_map_url(task))
    assert response.status_code == 200
    config = map_config(response)
    assert browser.get(config["tasks"][0]["layers"]["orthophoto"]).status_code == 200
    html = response.get_data(as_text=True)
    assert ">Back</a>" not in html
    # No form that changes anything: only the export form, which reads (as a download does), for logged-in users.
    forms = re.findall(r"<form[^>]*>", html.split('id="main"')[1])
    assert all("export-form" in form for form in forms) and len(forms) == (1 if who else 0)
    # The project itself stays private: its map is not opened by one public task.
    assert browser.get(f"/projects/{task.project_id}/map").status_code == (404 if who else 302)


def test_the_map_offers_to_compare_with_the_projects_tasks_but_a_public_tasks_visitor_sees_only_that_task(
        app, client, project, task):
    other = maps.completed_task(project, name="South pit", dsm=False, shots=False, colour=maps.BLUE)
    add_task(project, name="still running", status=TaskStatus.RUNNING)
    config = map_config(signed_in(app, "vera").get(task_map_url(task)))
    assert [(entry["id"], entry["name"], sorted(entry["layers"])) for entry in config["compare"]] == [
        (task.id, "North pit", ["dsm", "orthophoto"]), (other.id, "South pit", ["orthophoto"])]
    compared = config["compare"][1]
    assert compared["api"] == f"/api/projects/{project.id}/tasks/{other.id}/" and compared["created"]
    assert config["tasks"][0]["created"] and set(config["differenceColorMaps"]) >= {"rdbu", "bwr"}
    task.public = True
    db.session.commit()
    for browser in (client, signed_in(app, "sam")):
        config = map_config(browser.get(task_map_url(task)))
        assert [entry["id"] for entry in config["compare"]] == [task.id]
        assert "South pit" not in browser.get(task_map_url(task)).get_data(as_text=True)


def test_the_project_map_shows_every_completed_task_with_layers(app, client, project, task):
    second = maps.completed_task(project, name="South pit", dsm=False, shots=False, colour=maps.BLUE)
    add_task(project, name="still running", status=TaskStatus.RUNNING)
    add_task(project, name="completed, no rasters", status=TaskStatus.COMPLETED)
    browser = signed_in(app, "vera")
    response = browser.get(f"/projects/{project.id}/map")
    assert response.status_code == 200
    config = map_config(response)
    assert [(entry["id"], sorted(entry["layers"])) for entry in config["tasks"]] == [
        (task.id, ["dsm", "orthophoto"]), (second.id, ["orthophoto"])]
    assert config["tasks"][1]["shots"] is None
    html = response.get_data(as_text=True)
    assert 'class="form-check-input task-toggle"' in html and "South pit" in html


def test_a_public_project_map_opens_without_login_and_an_empty_one_says_so(app, client, project, task):
    project.public = True
    db.session.commit()
    response = client.get(f"/projects/{project.id}/map")
    assert response.status_code == 200 and [entry["id"] for entry in map_config(response)["tasks"]] == [task.id]
    assert client.get(task_map_url(task)).status_code == 200
    empty = projects.create_project(project.owner, "Empty")
    page = signed_in(app, "olga").get(f"/projects/{empty.id}/map")
    assert page.status_code == 200 and 'id="no-map"' in page.get_data(as_text=True)
    assert "map.js" not in page.get_data(as_text=True)


def test_the_dashboard_shows_thumbnails_and_map_links_of_completed_tasks(app, project, task):
    add_task(project, name="still running", status=TaskStatus.RUNNING)
    browser = signed_in(app, "vera")
    html = browser.get("/").get_data(as_text=True)
    thumbnails = re.findall(r'<img class="task-thumbnail[^>]*src="([^"]+)"', html)
    assert thumbnails == [f"/api/projects/{project.id}/tasks/{task.id}/thumbnail.png?size=96"]
    image = browser.get(thumbnails[0])
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert f'href="/projects/{project.id}/map"' in html and f'href="{task_map_url(task)}"' in html
    detail = browser.get(f"/projects/{project.id}/tasks/{task.id}/").get_data(as_text=True)
    assert f'id="open-map"\n     href="{task_map_url(task)}"' in detail


def test_the_base_layers_servers_may_send_images_to_the_map_page(app, task):
    app.config["BASEMAPS"] = [{"name": "OSM", "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png"},
                              {"name": "Local", "url": "/tiles/{z}/{x}/{y}.png"}]
    response = signed_in(app, "olga").get(task_map_url(task))
    assert response.status_code == 200
    policy = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    assert policy["img-src"] == "'self' data: blob: https://tile.openstreetmap.org"
    assert policy["script-src"] == "'self'"
    assert map_config(response)["basemaps"][0]["name"] == "OSM"
