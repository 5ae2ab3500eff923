"""The task pages without scripts: the plain new-task form, the task page, its actions, presets; who may do what."""
import re
from datetime import datetime, timedelta, timezone

import pytest

from tests.support.images import image_files
from tests.support.factories import add_node, add_task, add_user, share
from tests.support.web import post, signed_in
from webapp import storage
from webapp.extensions import db
from webapp.models import PendingAction, Preset, Task, TaskStatus
from webapp.services import presets, projects, tasks


@pytest.fixture
def owner(app):
    """Olga, who owns the project."""
    return add_user("olga")


@pytest.fixture
def project(owner):
    """Olga's project."""
    return projects.create_project(owner, "Quarry")


@pytest.fixture
def olga(app, owner):
    """A client logged in as Olga."""
    return signed_in(app, "olga")


def reload(task):
    """The task as now stored (None when deleted)."""
    db.session.expire_all()
    return db.session.get(Task, task.id)


def task_url(task, action=""):
    """The page of a task, or one of its actions."""
    return f"/projects/{task.project_id}/tasks/{task.id}/{action}"


def new_task_form(client, project, files, **fields):
    """Send the plain new-task form (what a browser without scripts sends)."""
    token = re.search(r'id="csrf_token"[^>]*value="([^"]+)"',
                      client.get(f"/projects/{project.id}/tasks/new").get_data(as_text=True)).group(1)
    data = {"csrf_token": token, "processing_node": "auto", "preset": str(presets.presets_for(project.owner)[0].id),
            **fields, "images": files}
    return client.post(f"/projects/{project.id}/tasks/new", data=data, content_type="multipart/form-data")


def test_the_plain_form_creates_a_task_with_a_presets_options(olga, project):
    fast = next(p for p in presets.presets_for(project.owner) if p.name == "Fast Orthophoto")
    response = new_task_form(olga, project, image_files(3), name="North face", preset=str(fast.id))
    assert response.status_code == 302
    task = Task.query.one()
    assert response.headers["Location"] == task_url(task)
    assert (task.name, task.images_count, task.partial, task.status) == ("North face", 3, False, TaskStatus.QUEUED)
    assert task.options == [{"name": "fast-orthophoto", "value": True}]
    assert sorted(p.name for p in storage.images_dir(project.id, task.id).iterdir()) == ["img0.jpg", "img1.jpg",
                                                                                        "img2.jpg"]
    page = olga.get(task_url(task)).get_data(as_text=True)
    assert "North face" in page and "3 images" in page and "processing starts shortly" in page


def test_the_plain_form_with_one_photo_says_so_and_stores_nothing(olga, project):
    response = new_task_form(olga, project, image_files(1), name="Too few")
    assert response.status_code == 400
    assert "Need at least 2 images." in response.get_data(as_text=True)
    assert Task.query.count() == 0


def test_the_plain_form_refuses_a_preset_of_someone_else(olga, project, app):
    other = presets.save_preset(add_user("bob"), "Bob's", [{"name": "dsm", "value": True}])
    response = new_task_form(olga, project, image_files(2), preset=str(other.id))
    assert response.status_code == 400 and "Not a valid choice" in response.get_data(as_text=True)
    assert Task.query.count() == 0


def test_the_new_task_page_says_when_there_is_no_node(olga, project):
    page = olga.get(f"/projects/{project.id}/tasks/new").get_data(as_text=True)
    assert "No processing node yet" in page
    add_node(hostname="node", label="Big node", queue_count=2, online=True)
    page = olga.get(f"/projects/{project.id}/tasks/new").get_data(as_text=True)
    assert "No processing node" not in page and "Big node (2 in queue)" in page


@pytest.mark.parametrize("who, status", [("viewer", 404), ("stranger", 404), ("editor", 200)])
def test_only_users_who_may_change_the_project_add_tasks(app, project, who, status):
    user = add_user(who)
    if who != "stranger":
        share(project, user, can_change=who == "editor")
    assert signed_in(app, who).get(f"/projects/{project.id}/tasks/new").status_code == status


def test_visitors_are_sent_to_log_in(client, project):
    task = add_task(project)
    assert "/login" in client.get(task_url(task)).headers["Location"]


def test_the_task_page_shows_details_error_console_and_downloads(olga, project):
    node = add_node(hostname="node", label="Big node")
    task = add_task(project, status=TaskStatus.FAILED, processing_node_id=node.id, images_count=12,
                    last_error="Not enough matches between the images.", processing_time=65_000,
                    options=[{"name": "dsm", "value": True}], available_assets=["all.zip", "orthophoto.tif"])
    console = storage.console_path(project.id, task.id)
    console.parent.mkdir(parents=True)
    console.write_text("stage dataset\nstage opensfm\n<script>alert(1)</script>\n")
    page = olga.get(task_url(task)).get_data(as_text=True)
    for text in ("Big node", "12 images", "1m 05s", "<code>dsm</code>: true", "Not enough matches",
                 "could not be tied together", "stage opensfm", "&lt;script&gt;alert(1)&lt;/script&gt;",
                 f'href="/api/projects/{project.id}/tasks/{task.id}/download/all.zip"',
                 f'href="/api/projects/{project.id}/tasks/{task.id}/download/orthophoto.tif"'):
        assert text in page, text
    assert "<script>alert(1)" not in page


@pytest.mark.parametrize("who", ["stranger", "other project"])
def test_another_users_task_is_not_found(app, project, who):
    task = add_task(project)
    stranger = add_user("eve")
    client = signed_in(app, "eve")
    if who == "other project":  # her own project's id with Olga's task id
        own = projects.create_project(stranger, "Mine")
        url = f"/projects/{own.id}/tasks/{task.id}/"
    else:
        url = task_url(task)
    assert client.get(url).status_code == 404
    for action in ("cancel", "restart", "remove", "edit"):
        assert post(client, url + action, {"name": "taken"}).status_code == 404
    assert reload(task).pending_action is None and reload(task).name == "Survey"


def test_a_viewer_sees_the_task_but_cannot_change_it(app, project):
    task = add_task(project, status=TaskStatus.RUNNING)
    viewer = add_user("vic")
    share(project, viewer)
    client = signed_in(app, "vic")
    page = client.get(task_url(task)).get_data(as_text=True)
    assert "Survey" in page and "Cancel processing" not in page and "Remove task" not in page
    assert post(client, task_url(task, "cancel")).status_code == 404
    assert reload(task).pending_action is None


def test_cancel_asks_the_worker_to_cancel_a_running_task(olga, project):
    task = add_task(project, status=TaskStatus.RUNNING, uuid="abc")
    response = post(olga, task_url(task, "cancel"))
    assert response.headers["Location"] == task_url(task)
    assert reload(task).pending_action == PendingAction.CANCEL
    assert "Canceling…" in olga.get(task_url(task)).get_data(as_text=True)


def test_cancel_of_a_finished_task_changes_nothing(olga, project):
    task = add_task(project, status=TaskStatus.COMPLETED)
    post(olga, task_url(task, "cancel"))
    assert reload(task).pending_action is None
    assert "nothing to cancel" in olga.get(task_url(task)).get_data(as_text=True)


def test_restart_from_a_stage_sets_rerun_from_and_keeps_other_options(olga, project):
    task = add_task(project, status=TaskStatus.COMPLETED, options=[{"name": "dsm", "value": True},
                                                                   {"name": "rerun-from", "value": "dataset"}])
    post(olga, task_url(task, "restart"), {"rerun_from": "odm_orthophoto"})
    task = reload(task)
    assert task.pending_action == PendingAction.RESTART
    assert task.options == [{"name": "dsm", "value": True}, {"name": "rerun-from", "value": "odm_orthophoto"}]
    post(olga, task_url(task, "restart"), {"rerun_from": ""})
    assert reload(task).options == [{"name": "dsm", "value": True}]


def test_restart_from_an_unknown_stage_is_refused(olga, project):
    task = add_task(project, status=TaskStatus.FAILED)
    post(olga, task_url(task, "restart"), {"rerun_from": "no_such_stage"})
    assert reload(task).pending_action is None
    assert "Choose a stage" in olga.get(task_url(task)).get_data(as_text=True)


def test_rename_and_its_bad_input(olga, project):
    task = add_task(project)
    post(olga, task_url(task, "edit"), {"name": "  East face  "})
    assert reload(task).name == "East face"
    post(olga, task_url(task, "edit"), {"name": "x" * 300})
    assert reload(task).name == "East face"
    assert "255 characters" in olga.get(task_url(task)).get_data(as_text=True)


def test_a_form_without_its_csrf_token_changes_nothing(olga, project):
    task = add_task(project, status=TaskStatus.RUNNING)
    olga.post(task_url(task, "cancel"))
    olga.post(task_url(task, "edit"), data={"name": "Forged"})
    assert (reload(task).pending_action, reload(task).name) == (None, "Survey")


def test_remove_hands_a_processed_task_to_the_worker_and_deletes_an_unfinished_upload(olga, project):
    processed = add_task(project, status=TaskStatus.COMPLETED)
    response = post(olga, task_url(processed, "remove"))
    assert response.headers["Location"] == "/"
    assert reload(processed).pending_action == PendingAction.REMOVE
    uploading = tasks.create_partial_task(project, name="Half sent")
    storage.images_dir(project.id, uploading.id).mkdir(parents=True)
    post(olga, task_url(uploading, "remove"))
    assert reload(uploading) is None
    assert not storage.task_dir(project.id, uploading.id).exists()


def test_system_presets_are_seeded_once(app, owner):
    for _ in range(2):
        names = [p.name for p in presets.presets_for(owner)]
    assert names == ["Default", "Fast Orthophoto", "High Resolution", "DSM + DTM"]
    assert Preset.query.filter_by(system=True).count() == 4


def test_a_retired_system_preset_is_dropped_and_users_presets_kept(app, owner):
    db.session.add_all([Preset(name="DSM", options=[{"name": "dsm", "value": True}], system=True),
                        Preset(name="DSM", options=[], system=False, owner_id=owner.id)])
    db.session.commit()
    names = [(p.name, p.system) for p in presets.presets_for(owner)]
    assert ("DSM", True) not in names and ("DSM", False) in names


def test_presets_are_saved_replaced_and_deleted_by_their_owner_only(app, olga, owner):
    response = post(olga, "/presets", {"name": "Mine", "options": '[{"name": "dsm", "value": true}]',
                                       "next": "/projects/1/tasks/new"})
    assert response.headers["Location"] == "/projects/1/tasks/new"
    token = re.search(r'name="csrf-token" content="([^"]+)"', olga.get("/account").get_data(as_text=True)).group(1)
    answer = olga.post("/presets", data={"name": "Mine", "options": "[]", "csrf_token": token},
                       headers={"Accept": "application/json"})
    preset = Preset.query.filter_by(name="Mine").one()
    assert answer.get_json() == {"id": preset.id, "name": "Mine", "options": [], "system": False}
    bad = olga.post("/presets", data={"name": "Bad", "options": "{not json", "csrf_token": token},
                    headers={"Accept": "application/json"})
    assert bad.status_code == 400 and "options" in bad.get_json()
    add_user("bob")
    bob = signed_in(app, "bob")
    assert post(bob, f"/presets/{preset.id}/delete").status_code == 404
    presets.ensure_system_presets()
    system = Preset.query.filter_by(system=True).first()
    assert post(olga, f"/presets/{system.id}/delete").status_code == 404
    post(olga, f"/presets/{preset.id}/delete")
    assert Preset.query.filter_by(name="Mine").count() == 0 and Preset.query.filter_by(system=True).count() == 4


def test_the_dashboard_lists_tasks_with_their_state(olga, project):
    add_task(project, name="Done", status=TaskStatus.COMPLETED, processing_time=754_000, running_progress=1.0)
    add_task(project, name="Failing", status=TaskStatus.FAILED, last_error="Node went away.")
    add_task(project, name="Arriving", partial=True)
    page = olga.get("/").get_data(as_text=True)
    for text in ("Done", "Completed", "12m 34s", "Failing", "Node went away.", "Arriving", "Uploading images",
                 f'href="/projects/{project.id}/tasks/new"'):
        assert text in page, text


def test_the_elapsed_time_of_a_running_task_counts_from_its_last_measure(olga, project):
    measured = datetime.now(timezone.utc) - timedelta(seconds=30)
    task = add_task(project, status=TaskStatus.RUNNING, processing_time=60_000)
    db.session.execute(Task.__table__.update().where(Task.id == task.id).values(updated_at=measured))
    db.session.commit()
    page = olga.get("/").get_data(as_text=True)
    elapsed = int(re.search(r'data-elapsed-ms="(\d+)"', page).group(1))
    assert 90_000 <= elapsed < 100_000
    assert 'data-ticking="true"' in page


def test_the_dashboard_searches_and_pages_projects(olga, owner):
    for number in range(12):
        projects.create_project(owner, f"Field {number:02d}")
    projects.create_project(owner, "Harbour")
    first = olga.get("/").get_data(as_text=True)
    assert first.count('class="card mb-3 project-item"') == 10 and "Harbour" in first  # newest first
    second = olga.get("/?page=2").get_data(as_text=True)
    assert second.count('class="card mb-3 project-item"') == 3 and "Field 00" in second
    found = olga.get("/?search=harb").get_data(as_text=True)
    assert found.count('class="card mb-3 project-item"') == 1 and "Harbour" in found
    assert "No project matches" in olga.get("/?search=nothing-like-it").get_data(as_text=True)
    assert olga.get("/?page=99").status_code == 200


@pytest.mark.parametrize("who, offered", [("olga", True), ("vic", False)])
def test_a_partial_task_offers_to_resume_its_upload_to_those_who_may_change_it(app, project, who, offered):
    partial = add_task(project, name="Half sent", partial=True)
    add_task(project, name="Done", status=TaskStatus.COMPLETED)
    viewer = add_user("vic")
    share(project, viewer)
    client = signed_in(app, who)
    resume_link = f'href="/projects/{project.id}/tasks/new?resume={partial.id}"'
    dashboard = client.get("/").get_data(as_text=True)
    detail = client.get(task_url(partial)).get_data(as_text=True)
    assert dashboard.count("resume-upload") == (1 if offered else 0)  # a link for the partial task, not the other
    assert (resume_link in dashboard, resume_link in detail) == (offered, offered)
    assert ("Upload interrupted — resume" in detail) == offered


def test_share_a_task_publicly_then_make_it_private(app, olga, project):
    task = add_task(project, status=TaskStatus.COMPLETED)
    post(olga, task_url(task, "public"), {"public": "true"})
    assert reload(task).public is True
    page = olga.get(task_url(task)).get_data(as_text=True)
    assert f"/projects/{project.id}/tasks/{task.id}/map" in page and "Make private" in page
    assert app.test_client().get(f"/projects/{project.id}/tasks/{task.id}/map").status_code == 200  # a stranger
    post(olga, task_url(task, "public"), {"public": "false"})
    assert reload(task).public is False
    assert app.test_client().get(f"/projects/{project.id}/tasks/{task.id}/map").status_code == 302  # to login
    post(olga, task_url(task, "public"), {"public": "maybe"})
    assert reload(task).public is False


def test_a_viewer_cannot_share_a_task_publicly(app, owner, project):
    task = add_task(project, status=TaskStatus.COMPLETED)
    viewer = add_user("vera")
    share(project, viewer)
    client = signed_in(app, "vera")
    assert "Share publicly" not in client.get(task_url(task)).get_data(as_text=True)
    assert post(client, task_url(task, "public"), {"public": "true"}).status_code == 404
    assert reload(task).public is False


def test_the_task_page_moves_a_task_only_into_projects_one_may_change(app, owner, project, olga):
    task = add_task(project, name="Flight", fake_images=2, status=TaskStatus.COMPLETED)
    mine = projects.create_project(owner, "Archive")
    viewed = projects.create_project(add_user("bob"), "Bob's")
    share(viewed, owner)  # olga may view it only
    page = olga.get(task_url(task)).get_data(as_text=True)
    assert f'<option value="{mine.id}">Archive</option>' in page and "Bob&#39;s" not in page
    refused = post(olga, task_url(task, "move"), {"project": viewed.id})
    assert refused.status_code == 302 and reload(task).project_id == project.id
    assert "Choose a project you may change" in olga.get(refused.headers["Location"]).get_data(as_text=True)
    moved = post(olga, task_url(task, "move"), {"project": mine.id})
    assert moved.headers["Location"] == f"/projects/{mine.id}/tasks/{task.id}/"
    assert reload(task).project_id == mine.id
    assert (storage.images_dir(mine.id, task.id) / "IMG_0.JPG").exists()


def test_the_task_page_duplicates_a_task_at_rest_only(app, project, olga):
    task = add_task(project, name="Flight", fake_images=2, status=TaskStatus.COMPLETED)
    copied = post(olga, task_url(task, "duplicate"))
    copy = Task.query.filter(Task.id != task.id).one()
    assert copied.headers["Location"] == f"/projects/{project.id}/tasks/{copy.id}/"
    assert copy.name == "Flight (copy)" and (storage.images_dir(project.id, copy.id) / "IMG_1.JPG").exists()
    running = add_task(project, name="Busy", status=TaskStatus.RUNNING)
    assert "Duplicate task" not in olga.get(task_url(running)).get_data(as_text=True)
    refused = post(olga, task_url(running, "duplicate"))
    assert "before duplicating it" in olga.get(refused.headers["Location"]).get_data(as_text=True)
    assert Task.query.count() == 3
