"""Moving a task to another project (PATCH `project`, as WebODM) and duplicating one (POST duplicate/), per role:
only into a project the caller may change, never while the task is processed; bad input changes nothing."""
import pytest

from tests.api.conftest import shared_project
from tests.support.factories import add_project, add_task, share
from tests.support.web import auth
from webapp import storage
from webapp.extensions import db
from webapp.models import Task, TaskStatus

ORTHOPHOTO = "odm_orthophoto/odm_orthophoto.tif"


def completed_task(project):
    """A completed task with two (fake) photos and a result file."""
    task = add_task(project, name="Flight", fake_images=2, status=TaskStatus.COMPLETED, processing_time=1234,
                    available_assets=["orthophoto.tif"])
    result = storage.assets_dir(project.id, task.id) / ORTHOPHOTO
    result.parent.mkdir(parents=True)
    result.write_bytes(b"not really a GeoTIFF")
    return task


@pytest.fixture
def target(users):
    """Another project of owner's, shared like the first (viewer may view it, editor and deleter may change it)."""
    return shared_project(users, name="Other")


def files_of(project_id, task_id):
    """The task folder's files, relative to it (sorted)."""
    folder = storage.task_dir(project_id, task_id)
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


@pytest.mark.parametrize("who, status", [("owner", 200), ("editor", 200), ("deleter", 200), ("admin", 200),
                                         ("viewer", 404), ("stranger", 404), (None, 403)])
def test_move_by_role(client, users, project, target, who, status):
    task = completed_task(project)
    before = files_of(project.id, task.id)
    headers = auth(users[who]) if who else {}
    response = client.patch(f"/api/projects/{project.id}/tasks/{task.id}/", json={"project": target.id},
                            headers=headers)
    assert response.status_code == status
    db.session.expire_all()
    moved = status == 200
    assert db.session.get(Task, task.id).project_id == (target.id if moved else project.id)
    assert files_of(target.id if moved else project.id, task.id) == before
    assert not storage.task_dir(project.id if moved else target.id, task.id).exists()
    if moved:
        assert response.json["project"] == target.id
        assert client.get(f"/api/projects/{target.id}/tasks/{task.id}/", headers=headers).status_code == 200


def test_moving_into_a_project_one_may_only_view_is_a_404_and_changes_nothing(client, users, project):
    viewed = add_project(users["stranger"], name="Stranger's")
    share(viewed, users["editor"])  # editor may view it, not change it
    task = completed_task(project)
    response = client.patch(f"/api/projects/{project.id}/tasks/{task.id}/",
                            json={"project": viewed.id, "name": "Renamed"}, headers=auth(users["editor"]))
    assert response.status_code == 404
    for bad in ("abc", True, 0, 10 ** 30, None):
        refused = client.patch(f"/api/projects/{project.id}/tasks/{task.id}/", json={"project": bad, "name": "X"},
                               headers=auth(users["owner"]))
        assert refused.status_code == 400 and "project" in refused.json, bad
    db.session.expire_all()
    kept = db.session.get(Task, task.id)
    assert (kept.project_id, kept.name) == (project.id, "Flight")
    assert files_of(project.id, task.id) == ["assets/" + ORTHOPHOTO, "images/IMG_0.JPG", "images/IMG_1.JPG"]


def test_a_running_task_is_neither_moved_nor_duplicated(client, users, project, target):
    task = add_task(project, name="Busy", fake_images=2, status=TaskStatus.RUNNING, uuid="node-uuid")
    headers = auth(users["owner"])
    moved = client.patch(f"/api/projects/{project.id}/tasks/{task.id}/", json={"project": target.id},
                         headers=headers)
    assert moved.status_code == 400
    assert moved.json["detail"] == ("This task is being uploaded or processed: wait for it to end, or cancel it, "
                                    "before moving it.")
    duplicated = client.post(f"/api/projects/{project.id}/tasks/{task.id}/duplicate/", headers=headers)
    assert duplicated.status_code == 400 and "before duplicating it" in duplicated.json["detail"]
    db.session.expire_all()
    assert Task.query.count() == 1 and db.session.get(Task, task.id).project_id == project.id


@pytest.mark.parametrize("who, status", [("owner", 200), ("editor", 200), ("admin", 200), ("viewer", 404),
                                         ("stranger", 404), (None, 403)])
def test_duplicate_by_role_copies_images_and_results(client, users, project, who, status):
    task = completed_task(project)
    task.uuid = "node-uuid"
    db.session.commit()
    headers = auth(users[who]) if who else {}
    response = client.post(f"/api/projects/{project.id}/tasks/{task.id}/duplicate/", headers=headers)
    assert response.status_code == status
    db.session.expire_all()
    if status != 200:
        assert Task.query.count() == 1
        return
    assert response.json["success"] is True
    copy = db.session.get(Task, response.json["task"]["id"])
    assert copy.id != task.id and copy.project_id == project.id and copy.name == "Flight (copy)"
    assert (copy.status, copy.processing_time, copy.available_assets, copy.images_count) == (
        TaskStatus.COMPLETED, 1234, ["orthophoto.tif"], 2)
    assert copy.uuid == ""  # its own: removing one must not remove the other's copy on the node
    assert files_of(project.id, copy.id) == files_of(project.id, task.id)
    download = client.get(f"/api/projects/{project.id}/tasks/{copy.id}/download/orthophoto.tif", headers=headers)
    assert download.status_code == 200 and download.data == b"not really a GeoTIFF"
