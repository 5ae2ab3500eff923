"""The task page's "Edit and restart" panel (offered for a task at rest, to those who may change it, with the
task's node and options) and its quality report link."""
import json
import re

import pytest

from tests.support.factories import add_node, add_task, add_user, share
from tests.support.web import signed_in
from webapp import storage
from webapp.models import PendingAction, TaskStatus
from webapp.services import projects


@pytest.fixture
def project(app):
    """Olga's project, shared with Vic for viewing only."""
    project = projects.create_project(add_user("olga"), "Quarry")
    share(project, add_user("vic"))
    return project


def page_of(client, task):
    """The task page's HTML."""
    response = client.get(f"/projects/{task.project_id}/tasks/{task.id}/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def edit_data(html):
    """The panel's data for its script, or None without the panel."""
    match = re.search(r'<script type="application/json" id="edit-data">(.*?)</script>', html, re.S)
    return json.loads(match.group(1)) if match else None


def test_the_panel_carries_the_tasks_node_options_and_the_apis_addresses(app, project):
    node = add_node(hostname="a.example", label="Node A")
    task = add_task(project, fake_images=2, status=TaskStatus.FAILED, processing_node_id=node.id,
                    auto_processing_node=False, options=[{"name": "dsm", "value": True},
                                                         {"name": "rerun-from", "value": "odm_dem"}])
    html = page_of(signed_in(app, "olga"), task)
    data = edit_data(html)
    assert data["initialOptions"] == [{"name": "dsm", "value": True}]  # rerun-from has its own menu
    assert data["task"] == {"auto_processing_node": False, "processing_node": node.id}
    assert data["api"] == {"task": f"/api/projects/{project.id}/tasks/{task.id}/",
                           "restart": f"/api/projects/{project.id}/tasks/{task.id}/restart/"}
    assert [n["id"] for n in data["nodes"]] == [node.id]
    assert re.search(rf'<option value="{node.id}" selected>Node A', html)
    assert 'src="/static/js/task_edit.js"' in html


@pytest.mark.parametrize("fields", [
    {"status": TaskStatus.RUNNING}, {"status": TaskStatus.QUEUED}, {"status": TaskStatus.COMPLETED, "partial": True},
    {"status": TaskStatus.FAILED, "pending_action": PendingAction.RESTART}, {"status": TaskStatus.COMPLETED,
                                                                             "images_count": 0}],
    ids=["running", "queued", "uploading", "restart-pending", "imported"])
def test_no_panel_while_a_task_is_busy_or_has_no_photos(app, project, fields):
    task = add_task(project, fake_images=2, **fields)
    html = page_of(signed_in(app, "olga"), task)
    assert edit_data(html) is None and "Edit and restart" not in html


def test_a_viewer_gets_no_panel(app, project):
    task = add_task(project, fake_images=2, status=TaskStatus.CANCELED)
    assert edit_data(page_of(signed_in(app, "olga"), task)) is not None
    html = page_of(signed_in(app, "vic"), task)
    assert edit_data(html) is None and "task_edit.js" not in html


def test_the_quality_report_is_linked_when_the_task_has_one(app, project):
    task = add_task(project, status=TaskStatus.COMPLETED, available_assets=["all.zip", "report.pdf"])
    report = storage.assets_dir(project.id, task.id) / "odm_report" / "report.pdf"
    report.parent.mkdir(parents=True)
    report.write_bytes(b"%PDF-1.4 the report")
    vic = signed_in(app, "vic")
    link = re.search(r'<a [^>]*id="quality-report"[^>]*href="([^"]+)"[^>]*>Quality report \(PDF\)</a>',
                     page_of(vic, task))
    assert link, "no quality report link"
    download = vic.get(link.group(1))
    assert download.status_code == 200 and download.data == b"%PDF-1.4 the report"
    assert download.mimetype == "application/pdf"
    without = add_task(project, status=TaskStatus.COMPLETED, available_assets=["all.zip", "orthophoto.tif"])
    assert "Quality report (PDF)" not in page_of(vic, without)
