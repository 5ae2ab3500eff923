"""The import page without scripts: a results zip posted whole, or an address for the worker; bad input keeps the
page with its message and creates nothing."""
import io
import re

import pytest

from tests.support.factories import add_user, share
from tests.support.images import results_zip
from tests.support.web import csrf_token_of, signed_in
from webapp import queue, storage
from webapp.models import Task, TaskStatus
from webapp.services import projects

RESULTS = {"odm_orthophoto/odm_orthophoto.tif": b"II*\0ortho", "cameras.json": b"{}"}


@pytest.fixture
def project(app):
    """Olga's project, shared with Vic for viewing only."""
    project = projects.create_project(add_user("olga"), "Quarry")
    share(project, add_user("vic"))
    return project


def send(client, project, **fields):
    """Post the import form as a browser without scripts does."""
    url = f"/projects/{project.id}/tasks/import"
    token = csrf_token_of(client.get(url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **fields}, content_type="multipart/form-data")


def test_the_dashboard_offers_import_to_those_who_may_change_the_project(app, project):
    link = f'href="/projects/{project.id}/tasks/import"'
    assert link in signed_in(app, "olga").get("/").get_data(as_text=True)
    vic = signed_in(app, "vic")
    assert link not in vic.get("/").get_data(as_text=True)
    assert vic.get(f"/projects/{project.id}/tasks/import").status_code == 404


def test_a_zip_becomes_a_completed_task(app, project):
    olga = signed_in(app, "olga")
    response = send(olga, project, name="From elsewhere", file=(io.BytesIO(results_zip(RESULTS)), "all.zip"))
    task = Task.query.one()
    assert response.status_code == 302 and response.headers["Location"] == f"/projects/{project.id}/tasks/{task.id}/"
    assert (task.name, task.status, task.available_assets) == ("From elsewhere", TaskStatus.COMPLETED,
                                                               ["all.zip", "orthophoto.tif", "cameras.json"])
    assert "Task imported." in olga.get(response.headers["Location"]).get_data(as_text=True)


def test_an_address_queues_the_download(app, project):
    app.config["IMPORT_ALLOW_PRIVATE"] = True
    response = send(signed_in(app, "olga"), project, url="http://127.0.0.1:9/all.zip")
    task = Task.query.one()
    assert response.status_code == 302 and task.import_url == "http://127.0.0.1:9/all.zip"
    assert task.status == TaskStatus.QUEUED and task.name == "Imported task"
    assert queue.job_queue().count >= 1


@pytest.mark.parametrize("fields, message", [
    ({}, "Choose a results zip, or give its address below."),
    ({"file": (io.BytesIO(b"this is not a zip"), "all.zip")}, "not a valid zip file"),
    ({"file": (io.BytesIO(results_zip({"../escape.txt": b"x"})), "all.zip")}, "outside the task"),
    ({"url": "http://127.0.0.1/all.zip"}, "private, loopback or local network addresses are not allowed"),
    ({"url": "ftp://example.com/all.zip"}, "Enter an http:// or https:// address."),
], ids=["nothing", "not-a-zip", "escaping-entry", "private-address", "other-scheme"])
def test_bad_input_shows_its_message_and_creates_nothing(app, project, fields, message):
    response = send(signed_in(app, "olga"), project, **fields)
    assert response.status_code == 400
    assert message in re.sub(r"\s+", " ", response.get_data(as_text=True))
    assert Task.query.count() == 0 and not list(storage.media_root().rglob("escape.txt"))
