"""Import of finished results: a zip sent whole or in chunks, or a URL the worker downloads (SSRF-guarded)."""
import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support.images import results_zip
from tests.support.web import auth

from webapp import queue, storage
from webapp.extensions import db
from webapp.models import Task, TaskStatus
from webapp.services import imports as import_service

RESULTS = {"odm_orthophoto/odm_orthophoto.tif": b"II*\0ortho", "odm_georeferencing/odm_georeferenced_model.laz":
           b"LASF" + b"\1" * 100, "cameras.json": b"{}"}


def import_url(project):
    """The import endpoint of a project (as the contract writes it, without a trailing slash)."""
    return f"/api/projects/{project.id}/tasks/import"


def test_import_a_zip_file_makes_a_completed_task_with_its_assets(client, users, project):
    response = client.post(import_url(project), headers=auth(users["editor"]), data={
        "file": (io.BytesIO(results_zip(RESULTS)), "all.zip"), "name": "From elsewhere"})
    assert response.status_code == 201
    task = response.json
    assert task["status"] == TaskStatus.COMPLETED and task["name"] == "From elsewhere"
    assert task["available_assets"] == ["all.zip", "orthophoto.tif", "georeferenced_model.laz", "cameras.json"]
    assert task["size"] > 0 and task["images_count"] == 0 and task["partial"] is False
    folder = storage.assets_dir(project.id, task["id"])
    assert (folder / "cameras.json").read_bytes() == b"{}"
    assert client.get(f"/api/projects/{project.id}/tasks/{task['id']}/download/orthophoto.tif",
                      headers=auth(users["viewer"])).data == b"II*\0ortho"


@pytest.mark.parametrize("payload, message", [
    (b"this is not a zip", "not a valid zip"),
    (results_zip({"cameras.json": b"{}", "../../../escape.txt": b"x"}), "outside"),
])
def test_a_bad_zip_is_refused_clearly_and_leaves_nothing(client, users, project, payload, message):
    response = client.post(import_url(project), headers=auth(users["owner"]),
                           data={"file": (io.BytesIO(payload), "all.zip")})
    assert response.status_code == 400 and message in response.json["detail"]
    assert Task.query.count() == 0
    assert not storage.project_dir(project.id).exists() or not any(storage.project_dir(project.id).rglob("*.*"))
    assert not list(storage.media_root().parent.rglob("escape.txt"))


def test_import_in_chunks_creates_the_task_at_the_last_chunk(client, users, project):
    data = results_zip(RESULTS)
    size = len(data) // 2 + 1
    headers = auth(users["owner"])
    answers = []
    for index in (1, 0):
        answers.append(client.post(import_url(project), headers=headers, data={
            "file": (io.BytesIO(data[index * size:(index + 1) * size]), "results.zip"), "dzuuid": "imp-1",
            "dzchunkindex": str(index), "dztotalchunkcount": "2", "dzchunkbyteoffset": str(index * size),
            "dztotalfilesize": str(len(data))}))
    assert answers[0].status_code == 200 and answers[0].json["success"] is True
    assert answers[1].status_code == 201 and answers[1].json["status"] == TaskStatus.COMPLETED
    assert answers[1].json["name"] == "results"


def test_import_needs_a_file_or_url_and_change_permission(client, users, project):
    empty = client.post(import_url(project), headers=auth(users["owner"]), data={})
    assert empty.status_code == 400 and "file" in empty.json
    zipped = results_zip(RESULTS)
    assert client.post(import_url(project), headers=auth(users["viewer"]),
                       data={"file": (io.BytesIO(zipped), "a.zip")}).status_code == 404
    assert client.post(import_url(project), data={"file": (io.BytesIO(zipped), "a.zip")}).status_code == 403


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/all.zip", "http://localhost/all.zip", "http://10.0.0.8/a.zip",
                                 "http://169.254.169.254/latest/meta-data", "http://[::1]/all.zip",
                                 "ftp://example.org/all.zip", "not a url"])
def test_import_urls_to_private_addresses_or_other_schemes_are_refused(client, users, project, url):
    response = client.post(import_url(project), headers=auth(users["owner"]), data={"url": url})
    assert response.status_code == 400 and "url" in response.json
    assert Task.query.count() == 0


class ResultsServer:
    """A real HTTP server serving a results zip at /all.zip and a redirect to a private address at /redirect."""

    def __init__(self, payload):
        """Serve in a thread on a free port."""
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                """The zip, a redirect, or 404."""
                if self.path == "/all.zip":
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                elif self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", "http://10.255.255.1/all.zip")
                    self.end_headers()
                else:
                    self.send_error(404)

            def log_message(self, *args):
                """Stay quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def results_server():
    """A local server of a results zip."""
    server = ResultsServer(results_zip(RESULTS))
    yield server
    server.stop()


def test_import_by_url_queues_a_task_that_the_worker_step_completes(app, client, users, project, results_server):
    app.config["IMPORT_ALLOW_PRIVATE"] = True  # the test's server is on loopback
    response = client.post(import_url(project), headers=auth(users["owner"]),
                           json={"url": f"{results_server.url}/all.zip", "name": "Remote"})
    assert response.status_code == 201 and response.json["status"] == TaskStatus.QUEUED
    task_id = response.json["id"]
    assert queue.job_queue().fetch_job(f"task-{task_id}").args == (task_id,)
    assert import_service.run_import(task_id) is True
    task = db.session.get(Task, task_id)
    assert task.status == TaskStatus.COMPLETED
    assert task.available_assets == ["all.zip", "orthophoto.tif", "georeferenced_model.laz", "cameras.json"]
    assert not storage.import_zip_path(project.id, task_id).exists()


def test_import_by_url_fails_the_task_with_a_clear_error(app, client, users, project, results_server):
    app.config["IMPORT_ALLOW_PRIVATE"] = True
    response = client.post(import_url(project), headers=auth(users["owner"]),
                           data={"url": f"{results_server.url}/missing.zip"})
    import_service.run_import(response.json["id"])
    task = db.session.get(Task, response.json["id"])
    assert task.status == TaskStatus.FAILED and "404" in task.last_error


def test_a_redirect_to_a_private_address_is_not_followed(app, users, project, results_server, tmp_path):
    from webapp.services import assets
    from webapp.services.errors import ValidationError
    # loopback is allowed (the test server), 10.0.0.0/8 is not: the redirect's target is checked on its own
    with pytest.raises(ValidationError) as error:
        assets.download_results(f"{results_server.url}/redirect", tmp_path / "a.zip", allow_private=["127.0.0.0/8"])
    assert "private" in error.value.field_errors["url"][0]
    assert not (tmp_path / "a.zip").exists()
    assets.download_results(f"{results_server.url}/all.zip", tmp_path / "b.zip", allow_private=["127.0.0.0/8"])
    assert (tmp_path / "b.zip").read_bytes() == results_zip(RESULTS)
