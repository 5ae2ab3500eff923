"""Giving a task another processing node (PATCH processing_node, as "Edit and restart" does): a task at rest forgets
its copy on the old node, which the worker removes there; a task being processed keeps its node."""
import pytest

from tests.support.factories import add_node, add_task
from tests.support.web import auth
from webapp import queue
from webapp.extensions import db
from webapp.models import PendingAction, Task, TaskStatus


def removals():
    """The (node id, uuid) removals queued for the worker."""
    return [tuple(job.args) for job in queue.job_queue().get_jobs() if job.func_name == queue.REMOVE_FROM_NODE]


def task_url(task):
    """The task's API address."""
    return f"/api/projects/{task.project_id}/tasks/{task.id}/"


@pytest.fixture
def nodes(app):
    """Two registered nodes (not reachable: the API only stores the choice)."""
    return add_node(hostname="a.example", label="A"), add_node(hostname="b.example", label="B")


def test_a_task_at_rest_moved_to_another_node_forgets_its_old_copy(client, users, project, nodes):
    old, new = nodes
    task = add_task(project, status=TaskStatus.FAILED, processing_node_id=old.id, uuid="old-uuid",
                    upload_uuid="old-upload", upload_progress=1.0)
    answer = client.patch(task_url(task), headers=auth(users["editor"]),
                          json={"processing_node": new.id, "auto_processing_node": False})
    assert answer.status_code == 200 and answer.json["processing_node"] == new.id and answer.json["uuid"] == ""
    db.session.expire_all()
    stored = db.session.get(Task, task.id)
    assert (stored.uuid, stored.upload_uuid, stored.upload_progress) == ("", None, 0.0)
    assert removals() == [(old.id, "old-uuid")]


def test_the_same_node_or_other_fields_keep_the_copy(client, users, project, nodes):
    old, _ = nodes
    task = add_task(project, status=TaskStatus.COMPLETED, processing_node_id=old.id, uuid="kept")
    answer = client.patch(task_url(task), headers=auth(users["owner"]),
                          json={"processing_node": old.id, "options": [{"name": "dsm", "value": True}]})
    assert answer.status_code == 200 and answer.json["uuid"] == "kept" and removals() == []


@pytest.mark.parametrize("fields", [{"status": TaskStatus.RUNNING}, {"status": TaskStatus.QUEUED},
                                    {"status": TaskStatus.COMPLETED, "pending_action": PendingAction.RESTART}],
                         ids=["running", "queued", "restart-pending"])
def test_a_task_on_its_node_keeps_it_and_nothing_changes(client, users, project, nodes, fields):
    old, new = nodes
    task = add_task(project, processing_node_id=old.id, uuid="busy", name="Busy", **fields)
    answer = client.patch(task_url(task), headers=auth(users["owner"]), json={"processing_node": new.id, "name": "X"})
    assert answer.status_code == 400 and "cancel it" in answer.json["processing_node"][0]
    db.session.expire_all()
    stored = db.session.get(Task, task.id)
    assert (stored.processing_node_id, stored.uuid, stored.name) == (old.id, "busy", "Busy") and removals() == []
