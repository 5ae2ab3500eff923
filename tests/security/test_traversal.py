"""Path traversal: every path and file name from a request or a zip stays inside its folder."""
import io

import pytest

from tests.support.images import jpeg_bytes, results_zip
from tests.support.web import auth
from tests.support.factories import add_project, add_user
from webapp import storage

EVIL_NAMES = ["../../escaped.jpg", "..\\..\\escaped.jpg", "/tmp/escaped.jpg", "images/../../escaped.jpg"]


@pytest.fixture
def owner_project(app):
    """(owner, project) with a partial task ready for uploads."""
    owner = add_user("owner")
    return owner, add_project(owner, name="P")


def _files_outside(root, folder):
    """Files under root (the media root) that are not under folder."""
    return [p for p in root.rglob("*") if p.is_file() and folder not in p.parents]


def _partial_task(client, owner, project):
    """A new partial task's id."""
    response = client.post(f"/api/projects/{project.id}/tasks/", headers=auth(owner), data={"partial": "true"})
    return response.get_json()["id"]


@pytest.mark.parametrize("name", EVIL_NAMES)
def test_upload_file_names_stay_in_the_task_folder(app, client, owner_project, name):
    """A file name with folders or `..` is stored by its last part, inside the task's images."""
    owner, project = owner_project
    task_id = _partial_task(client, owner, project)
    response = client.post(f"/api/projects/{project.id}/tasks/{task_id}/upload/", headers=auth(owner),
                           data={"images": [(io.BytesIO(jpeg_bytes()), name)]})
    assert response.status_code == 200
    assert response.get_json()["uploaded"] == {"escaped.jpg": len(jpeg_bytes())}
    images = storage.images_dir(project.id, task_id)
    assert (images / "escaped.jpg").is_file()
    assert _files_outside(storage.media_root(), storage.task_dir(project.id, task_id)) == []


@pytest.mark.parametrize("dzuuid", ["../../x", "..", "a/b", "x" * 65, ""])
def test_chunk_ids_cannot_name_a_folder(app, client, owner_project, dzuuid):
    """A dzuuid that is not a plain token is a 400, and nothing is written."""
    owner, project = owner_project
    task_id = _partial_task(client, owner, project)
    data = {"dzuuid": dzuuid, "dzchunkindex": "0", "dztotalchunkcount": "1", "dzchunkbyteoffset": "0",
            "dztotalfilesize": str(len(jpeg_bytes())), "images": [(io.BytesIO(jpeg_bytes()), "a.jpg")]}
    response = client.post(f"/api/projects/{project.id}/tasks/{task_id}/upload/", headers=auth(owner), data=data)
    assert response.status_code == 400 and "dzuuid" in response.get_json()
    assert [p for p in storage.media_root().rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("path", ["../../../../etc/passwd", "..%2F..%2Fconsole.txt", "%2e%2e/%2e%2e/console.txt",
                                  "/etc/passwd", "//etc/passwd", "odm_orthophoto/../../console.txt",
                                  "..\\..\\console.txt"])
def test_asset_paths_cannot_leave_the_assets_folder(app, client, owner_project, path):
    """Raw asset paths that climb out (even encoded) are 404, though the file they aim at exists."""
    owner, project = owner_project
    task_id = _partial_task(client, owner, project)
    storage.task_dir(project.id, task_id).mkdir(parents=True)
    storage.console_path(project.id, task_id).write_text("secret console")
    (storage.assets_dir(project.id, task_id) / "odm_orthophoto").mkdir(parents=True)
    response = client.get(f"/api/projects/{project.id}/tasks/{task_id}/assets/{path}", headers=auth(owner))
    assert response.status_code == 404
    assert b"secret console" not in response.get_data()


@pytest.mark.parametrize("asset", ["..%2Fconsole.txt", "%2e%2e", "console.txt"])
def test_download_names_are_only_those_of_the_asset_table(app, client, owner_project, asset):
    """A download name outside the table is 404 "Asset does not exist"."""
    owner, project = owner_project
    task_id = _partial_task(client, owner, project)
    storage.task_dir(project.id, task_id).mkdir(parents=True)
    storage.console_path(project.id, task_id).write_text("secret console")
    response = client.get(f"/api/projects/{project.id}/tasks/{task_id}/download/{asset}", headers=auth(owner))
    assert response.status_code == 404


@pytest.mark.parametrize("entry", ["../escaped.txt", "../../escaped.txt", "/abs/escaped.txt", "a/../../escaped.txt",
                                   "..\\escaped.txt", "C:/escaped.txt"])
def test_zip_entries_on_import_cannot_leave_the_task(app, client, owner_project, entry):
    """An import zip with an entry that climbs out is refused whole (400), and nothing is written."""
    owner, project = owner_project
    archive = results_zip({"odm_orthophoto/odm_orthophoto.png": b"png", entry: b"escaped"})
    response = client.post(f"/api/projects/{project.id}/tasks/import/", headers=auth(owner),
                           data={"file": (io.BytesIO(archive), "results.zip")})
    assert response.status_code == 400
    assert [p for p in storage.media_root().rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/all.zip", "http://localhost/all.zip", "http://[::1]/a.zip",
                                 "http://10.1.2.3/a.zip", "http://192.168.0.1/a.zip", "http://169.254.169.254/latest",
                                 "http://0.0.0.0/a.zip", "http://[::ffff:127.0.0.1]/a.zip", "file:///etc/passwd",
                                 "http://2130706433/a.zip"])
def test_import_urls_to_local_or_private_addresses_are_refused(app, client, owner_project, url):
    """No import from the server's own machine or network (nor other schemes): a 400 on the url field."""
    owner, project = owner_project
    response = client.post(f"/api/projects/{project.id}/tasks/import/", headers=auth(owner), data={"url": url})
    assert response.status_code == 400 and "url" in response.get_json()


@pytest.mark.parametrize("path", ["/static/../webapp/config.py", "/static/%2e%2e/webapp/config.py",
                                  "/static/..%2Fwebapp%2Fconfig.py", "/vendor/bootstrap/../../../etc/passwd",
                                  "/vendor/bootstrap/%2e%2e/%2e%2e/__init__.py", "/vendor/leaflet/..%2F..%2Fsetup.py"])
def test_static_and_vendor_files_stay_in_their_folders(app, client, path):
    """Our static files and the vendor packages' files cannot reach anything beside them."""
    response = client.get(path)
    assert response.status_code == 404
    assert b"SECRET_KEY" not in response.get_data() and b"root:" not in response.get_data()
