"""The 3D page's data under a task: its three files with their media types and ETags, 404 for anything else."""
import pytest

from tests.support.web import auth
from tests.support import models3d as fixtures
from webapp import storage
from webapp.extensions import db
from webapp.models import Task, TaskStatus
from webapp.services import assets, models3d


def completed_task(project, with_3d):
    """A completed task of project, with prepared 3D results or with none."""
    task = Task(project_id=project.id, name="hill", status=TaskStatus.COMPLETED)
    db.session.add(task)
    db.session.commit()
    folder = storage.assets_dir(project.id, task.id)
    folder.mkdir(parents=True)
    if with_3d:
        fixtures.write_3d_results(folder)
        models3d.prepare(folder)
    task.available_assets = assets.available_assets(folder)
    db.session.commit()
    return task


@pytest.mark.parametrize("name, media_type, magic", [
    ("scene.json", "application/json", b"{"), ("points.bin", "application/octet-stream", None),
    ("model.glb", "model/gltf-binary", b"glTF")])
def test_each_file_is_served_with_its_type_and_an_etag(client, users, project, name, media_type, magic):
    task = completed_task(project, with_3d=True)
    url = f"/api/projects/{project.id}/tasks/{task.id}/3d/{name}"
    response = client.get(url, headers=auth(users["viewer"]))
    assert response.status_code == 200 and response.mimetype == media_type
    assert magic is None or response.data.startswith(magic)
    assert "private" in response.headers["Cache-Control"]
    again = client.get(url, headers={**auth(users["viewer"]), "If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_other_names_are_404(client, users, project):
    task = completed_task(project, with_3d=True)
    for name in ("coords.txt", "..%2Fscene.json", "points.bin.part", "SCENE.JSON", "..%2F..%2Fconsole.txt"):
        response = client.get(f"/api/projects/{project.id}/tasks/{task.id}/3d/{name}", headers=auth(users["owner"]))
        assert response.status_code == 404, name


def test_a_task_without_3d_results_answers_404_with_a_reason(client, users, project):
    task = completed_task(project, with_3d=False)
    response = client.get(f"/api/projects/{project.id}/tasks/{task.id}/3d/scene.json", headers=auth(users["owner"]))
    assert response.status_code == 404
    assert response.get_json() == {"detail": "This task has no such 3D file."}
