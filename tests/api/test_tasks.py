"""Tasks: create with images, list, get, update, delete, actions, console; every role and the error shapes."""
import io

import pytest

from tests.support.images import image_files, jpeg_bytes
from tests.support.factories import add_node, add_task, queued_task
from tests.support.web import auth

from webapp import queue, storage
from webapp.extensions import db
from webapp.models import Task, TaskStatus

TASK_FIELDS = ["id", "project", "processing_node", "images_count", "uuid", "name", "processing_time",
               "auto_processing_node", "status", "last_error", "options", "ground_control_points", "created_at",
               "pending_action", "processing_node_name", "available_assets", "upload_progress",
               "running_progress", "partial", "public", "size"]


def tasks_url(project):
    """The tasks list of a project."""
    return f"/api/projects/{project.id}/tasks/"


def queued_job(job_id):
    """The RQ job waiting under job_id, or None."""
    return queue.job_queue().fetch_job(job_id)


@pytest.fixture
def node(app):
    """A registered processing node (not reachable: the API only stores the choice)."""
    return add_node(label="Node A", token="secret")


def test_create_stores_images_queues_processing_and_answers_the_task(client, users, project, node):
    files = image_files(3) + [(io.BytesIO(b"EPSG:4326\n1 2 3 10 20 img0.jpg\n"), "gcp_list.txt")]
    response = client.post(tasks_url(project), headers=auth(users["editor"]), data={
        "images": files, "name": "Beach", "options": '[{"name": "dsm", "value": true}]',
        "processing_node": str(node.id), "auto_processing_node": "false"})
    assert response.status_code == 201
    task = response.json
    assert list(task) == TASK_FIELDS
    assert task["project"] == project.id and task["name"] == "Beach" and task["images_count"] == 3
    assert task["status"] == TaskStatus.QUEUED and task["partial"] is False and task["uuid"] == ""
    assert task["options"] == [{"name": "dsm", "value": True}]
    assert task["processing_node"] == node.id and task["processing_node_name"] == "Node A"
    assert task["auto_processing_node"] is False and task["ground_control_points"] == "gcp_list.txt"
    assert task["processing_time"] == -1 and task["pending_action"] is None and task["size"] == 0.0
    assert isinstance(task["upload_progress"], float) and task["available_assets"] == []
    stored = sorted(p.name for p in storage.images_dir(project.id, task["id"]).iterdir())
    assert stored == ["gcp_list.txt", "img0.jpg", "img1.jpg", "img2.jpg"]
    job = queued_job(f"task-{task['id']}")
    assert job is not None and job.func_name == queue.TASK_TICK and job.args == (task["id"],)


def test_create_accepts_images_brackets_and_defaults(client, users, project):
    response = client.post(tasks_url(project).rstrip("/"), headers=auth(users["owner"]),
                           data={"images[]": image_files(2)})
    assert response.status_code == 201
    assert response.json["auto_processing_node"] is True and response.json["options"] == []
    assert response.json["processing_node"] is None and response.json["ground_control_points"] is None


@pytest.mark.parametrize("data, field", [
    ({"images": "one"}, "images"),
    ({"images": "none"}, "images"),
    ({"images": "two", "options": "[{bad json"}, "options"),
    ({"images": "two", "options": '{"name": "x"}'}, "options"),
    ({"images": "two", "processing_node": "999"}, "processing_node"),
    ({"images": "two", "auto_processing_node": "perhaps"}, "auto_processing_node"),
])
def test_create_refuses_bad_input_and_stores_nothing(client, users, project, data, field):
    count = {"none": 0, "one": 1, "two": 2}[data.pop("images")]
    response = client.post(tasks_url(project), headers=auth(users["owner"]), data={**data,
                                                                                   "images": image_files(count)})
    assert response.status_code == 400 and field in response.json
    assert Task.query.count() == 0 and not storage.project_dir(project.id).exists()


def test_create_refuses_non_image_files_naming_them(client, users, project):
    files = image_files(2) + [(io.BytesIO(b"#!/bin/sh\nrm -rf /\n"), "script.jpg")]
    response = client.post(tasks_url(project), headers=auth(users["owner"]), data={"images": files})
    assert response.status_code == 400
    assert response.json == {"images": ["Not an image: script.jpg."]}
    assert Task.query.count() == 0


def test_create_confines_file_names_to_the_images_folder(client, users, project):
    files = [(io.BytesIO(jpeg_bytes()), "../../../escape.jpg"), (io.BytesIO(jpeg_bytes(lat=46.9)), "ok.jpg")]
    response = client.post(tasks_url(project), headers=auth(users["owner"]), data={"images": files})
    assert response.status_code == 201
    folder = storage.images_dir(project.id, response.json["id"])
    assert sorted(p.name for p in folder.iterdir()) == ["escape.jpg", "ok.jpg"]
    assert not list(storage.media_root().glob("escape.jpg"))
    nameless = [(io.BytesIO(jpeg_bytes()), ".."), (io.BytesIO(jpeg_bytes()), "b.jpg")]
    refused = client.post(tasks_url(project), headers=auth(users["owner"]), data={"images": nameless})
    assert refused.status_code == 400 and "images" in refused.json


@pytest.mark.parametrize("who, status", [("viewer", 404), ("stranger", 404), (None, 403)])
def test_create_refused_without_change_permission(client, users, project, who, status):
    response = client.post(tasks_url(project), headers=auth(users[who]) if who else {},
                           data={"images": image_files(2)})
    assert response.status_code == status and Task.query.count() == 0


def test_upload_over_the_configured_limit_is_413_json(app, client, users, project):
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    big = [(io.BytesIO(jpeg_bytes(size=(400, 400)) + b"\0" * 20_000), "big.jpg"), (io.BytesIO(jpeg_bytes()), "b.jpg")]
    response = client.post(tasks_url(project), headers=auth(users["owner"]), data={"images": big})
    assert response.status_code == 413 and "larger" in response.json["detail"]
    assert Task.query.count() == 0


def test_list_filters_by_status_and_orders(client, users, project):
    first = add_task(project, name="b", status=TaskStatus.COMPLETED)
    second = add_task(project, name="a", status=TaskStatus.FAILED)
    headers = auth(users["viewer"])
    assert [t["id"] for t in client.get(tasks_url(project), headers=headers).json] == [first.id, second.id]
    assert [t["id"] for t in client.get(tasks_url(project) + "?status=30", headers=headers).json] == [second.id]
    assert [t["name"] for t in client.get(tasks_url(project) + "?ordering=name", headers=headers).json] == ["a", "b"]
    assert [t["id"] for t in client.get(tasks_url(project) + "?ordering=-created_at", headers=headers).json] == \
        [second.id, first.id]
    assert client.get(tasks_url(project) + "?status=done", headers=headers).status_code == 400
    assert client.get(tasks_url(project) + "?ordering=uuid_secret", headers=headers).status_code == 400
    assert client.get(tasks_url(project), headers=auth(users["stranger"])).status_code == 404


def test_the_list_gives_each_task_as_its_detail_does(client, users, project, node):
    # The list is written from database rows (the stored options and assets spliced in as they are); the detail
    # from the task object: both must say the same, field by field and in the same order.
    add_task(project, name='Quotes " and \\ and "ünïcode" ✓', status=TaskStatus.COMPLETED, processing_node_id=node.id,
             options=[{"name": "dsm", "value": True}, {"name": "note", "value": "é \" \n"}], processing_time=1234,
             available_assets=["all.zip", "orthophoto.tif"], upload_progress=1, running_progress=0.5, size=12.25,
             last_error="Line one\nline two", ground_control_points="gcp_list.txt", public=True, uuid="abc")
    add_task(project, name="", status=None, partial=True, options=[])
    headers = auth(users["viewer"])
    listed = client.get(tasks_url(project), headers=headers)
    assert listed.mimetype == "application/json"
    for item in listed.json:
        detail = client.get(f"{tasks_url(project)}{item['id']}/", headers=headers).json
        assert list(item) == TASK_FIELDS and item == detail
    assert listed.json[0]["processing_node_name"] == "Node A" and listed.json[1]["processing_node_name"] is None


@pytest.mark.parametrize("who, status", [("owner", 200), ("viewer", 200), ("admin", 200), ("stranger", 404),
                                         (None, 403)])
def test_get_by_role(client, users, project, who, status):
    task = queued_task(project)
    response = client.get(f"{tasks_url(project)}{task.id}", headers=auth(users[who]) if who else {})
    assert response.status_code == status
    if status == 200:
        assert response.json["id"] == task.id and list(response.json) == TASK_FIELDS


def test_public_task_is_readable_by_anyone_but_not_changeable(client, users, project):
    task = queued_task(project, public=True)
    assert client.get(f"{tasks_url(project)}{task.id}/").status_code == 200
    assert client.get(f"{tasks_url(project)}{task.id}/", headers=auth(users["stranger"])).status_code == 200
    assert client.patch(f"{tasks_url(project)}{task.id}/", headers=auth(users["stranger"]),
                        json={"name": "x"}).status_code == 404
    assert client.get(f"{tasks_url(project)}{task.id}/output/").status_code == 403  # the console is not public


def test_task_of_another_project_is_404(client, users, project):
    task = queued_task(project)
    other = client.post("/api/projects/", json={"name": "Other"}, headers=auth(users["owner"])).json
    response = client.get(f"/api/projects/{other['id']}/tasks/{task.id}/", headers=auth(users["owner"]))
    assert response.status_code == 404 and response.json == {"detail": "Not found."}


def test_patch_and_put_change_writable_fields_and_ignore_read_only_ones(client, users, project, node):
    task = queued_task(project, images_count=5)
    url = f"{tasks_url(project)}{task.id}/"
    patched = client.patch(url, headers=auth(users["editor"]), json={
        "name": "Renamed", "processing_node": node.id, "auto_processing_node": False, "public": True,
        "options": [{"name": "orthophoto-resolution", "value": 2}], "images_count": 99, "status": 40,
        "uuid": "forged"})
    assert patched.status_code == 200
    data = patched.json
    assert (data["name"], data["processing_node"], data["auto_processing_node"], data["public"]) == \
        ("Renamed", node.id, False, True)
    assert data["options"] == [{"name": "orthophoto-resolution", "value": 2}]
    assert (data["images_count"], data["status"], data["uuid"]) == (5, TaskStatus.QUEUED, "")
    put = client.put(url.rstrip("/"), headers=auth(users["owner"]), data={"processing_node": "", "name": "P"})
    assert put.status_code == 200 and put.json["processing_node"] is None and put.json["name"] == "P"


def test_patch_with_bad_input_changes_nothing(client, users, project):
    task = queued_task(project)
    url = f"{tasks_url(project)}{task.id}/"
    response = client.patch(url, headers=auth(users["owner"]), json={"name": "New", "options": "{not json"})
    assert response.status_code == 400 and "options" in response.json
    db.session.refresh(task)
    assert task.name == "Survey"
    assert client.patch(url, headers=auth(users["viewer"]), json={"name": "x"}).status_code == 404


def test_delete_removes_files_and_asks_the_worker_to_remove_it_from_its_node(client, users, project, node):
    task = queued_task(project, uuid="node-uuid-1", processing_node_id=node.id)
    folder = storage.task_dir(project.id, task.id)
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "a.jpg").write_bytes(b"x")
    assert client.delete(f"{tasks_url(project)}{task.id}/", headers=auth(users["editor"])).status_code == 404
    assert client.delete(f"{tasks_url(project)}{task.id}/", headers=auth(users["deleter"])).status_code == 204
    assert db.session.get(Task, task.id) is None and not folder.exists()
    removals = [job for job in queue.job_queue().get_jobs() if job.func_name == queue.REMOVE_FROM_NODE]
    assert [job.args for job in removals] == [(node.id, "node-uuid-1")]


def test_delete_of_a_task_never_sent_to_a_node_queues_no_removal(client, users, project):
    task = queued_task(project)
    assert client.delete(f"{tasks_url(project)}{task.id}", headers=auth(users["owner"])).status_code == 204
    assert not [job for job in queue.job_queue().get_jobs() if job.func_name == queue.REMOVE_FROM_NODE]


def test_cancel_sets_the_pending_action_of_queued_or_running_tasks_only(client, users, project):
    running = add_task(project, status=TaskStatus.RUNNING)
    done = add_task(project, status=TaskStatus.COMPLETED)
    for task in (running, done):
        response = client.post(f"{tasks_url(project)}{task.id}/cancel/", headers=auth(users["editor"]))
        assert response.status_code == 200 and response.json == {"success": True}
    db.session.expire_all()
    assert db.session.get(Task, running.id).pending_action == 1
    assert db.session.get(Task, done.id).pending_action is None
    assert queued_job(f"task-{running.id}") is not None
    assert client.post(f"{tasks_url(project)}{running.id}/cancel/",
                       headers=auth(users["viewer"])).status_code == 404


def test_restart_stores_new_options_and_queues_the_task(client, users, project):
    task = add_task(project, status=TaskStatus.FAILED, options=[{"name": "dsm", "value": True}])
    url = f"{tasks_url(project)}{task.id}/restart/"
    response = client.post(url, headers=auth(users["editor"]),
                           data={"options": '[{"name": "rerun-from", "value": "odm_meshing"}]'})
    assert response.status_code == 200 and response.json == {"success": True}
    db.session.refresh(task)
    assert task.pending_action == 3 and task.options == [{"name": "rerun-from", "value": "odm_meshing"}]
    assert queued_job(f"task-{task.id}") is not None
    assert client.post(url, headers=auth(users["owner"]), json={}).status_code == 200
    db.session.refresh(task)
    assert task.options == [{"name": "rerun-from", "value": "odm_meshing"}]  # no options: kept
    assert client.post(url, headers=auth(users["owner"]), data={"options": "nope"}).status_code == 400
    assert client.post(url, headers=auth(users["viewer"])).status_code == 404


def test_remove_needs_delete_permission(client, users, project):
    task = queued_task(project)
    url = f"{tasks_url(project)}{task.id}/remove/"
    assert client.post(url, headers=auth(users["editor"])).status_code == 404
    response = client.post(url, headers=auth(users["deleter"]))
    assert response.status_code == 200 and response.json == {"success": True}
    db.session.refresh(task)
    assert task.pending_action == 2 and queued_job(f"task-{task.id}") is not None


def test_console_output_with_line_limit_and_formats(client, users, project):
    task = queued_task(project)
    console = storage.console_path(project.id, task.id)
    console.parent.mkdir(parents=True)
    console.write_text("".join(f"line {i}\n" for i in range(6)))
    url = f"{tasks_url(project)}{task.id}/output/"
    headers = auth(users["viewer"])
    assert client.get(url, headers=headers).json == "\n".join(f"line {i}" for i in range(6))
    assert client.get(url + "?line=4", headers=headers).json == "line 4\nline 5"
    assert client.get(url + "?line=-3", headers=headers).json.startswith("line 0")
    assert client.get(url + "?line=1&limit=2", headers=headers).json == "line 1\nline 2"
    assert client.get(url + "?limit=-2&f=json", headers=headers).json == {"lines": ["line 4", "line 5"], "count": 6}
    raw = client.get(url + "?line=5&f=raw", headers=headers)
    assert raw.mimetype == "text/plain" and raw.get_data(as_text=True) == "line 5"
    assert client.get(url + "?line=x", headers=headers).status_code == 400
    assert client.get(url + "?f=xml", headers=headers).status_code == 400
    empty = queued_task(project)
    assert client.get(f"{tasks_url(project)}{empty.id}/output/?f=json", headers=headers).json == \
        {"lines": [], "count": 0}
