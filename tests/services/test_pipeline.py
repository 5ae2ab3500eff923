"""The pipeline service step by step against a small real node server that misbehaves on demand (FakeNode)."""
import io
import time
import zipfile
from datetime import timedelta

import pytest
from rq import Queue

from jobs import tasks as task_jobs
from webapp import coordination, queue, storage
from webapp.extensions import db
from webapp.models import PendingAction, ProcessingNode, Task, TaskStatus
from webapp.models.base import utcnow
from webapp.nodeclient import NodeClient
from webapp.services import assets as assets_service
from webapp.services import console, nodes, pipeline, rasters, removals, ticks, tile_pyramids
from webapp.services.pipeline import Step
from tests.support.factories import add_node, add_project, queued_task
from tests.support.fakenode import COMPLETED as NODE_COMPLETED, FakeNode, make_results_zip


@pytest.fixture(scope="module")
def results_zip(tmp_path_factory):
    """A results zip of about half a megabyte (big enough to stall half-way)."""
    return make_results_zip(tmp_path_factory.mktemp("results"), size=256)


@pytest.fixture
def fake(results_zip):
    """A fake node whose tasks run until finish() is called."""
    node = FakeNode(results_zip, process_seconds=None).start()
    yield node
    node.stop()


@pytest.fixture
def project(app):
    """A project of a new user."""
    return add_project()


def register(fake_node):
    """The fake node as a processing node, refreshed (so online)."""
    return nodes.add_node("127.0.0.1", fake_node.port)


def make_task(project, node=None, images=3, **fields):
    """A queued task with a few fake image files, as the API creates it; its id."""
    fields = {"name": "Field", "options": [{"name": "resize-to", "value": 640}], **fields}
    return queued_task(project, node, fake_images=images, **fields).id


def reload(task_id):
    """The task as the database has it now (None once removed)."""
    db.session.expire_all()
    return db.session.get(Task, task_id)


def step_until(task_id, until, timeout=15):
    """Run pipeline steps (waiting as each asks) until until(task) holds; the task."""
    deadline = time.monotonic() + timeout
    task = reload(task_id)
    while time.monotonic() < deadline:
        step = pipeline.advance(task_id)
        task = reload(task_id)
        if until(task):
            return task
        time.sleep(0.02 if step.kind in (Step.POLL, Step.DONE) else step.wait)
    raise AssertionError(f"timed out; task is {task and (task.status, task.last_error, task.pending_action)}")


def is_status(status):
    return lambda task: task is not None and task.status == status


def uploaded(task):
    return bool(task.uuid)


def running_on_node(fake_node):
    return lambda task: task.status == TaskStatus.RUNNING and task.uuid in {t.uuid for t in fake_node.committed_tasks()}


def zip_names(folder):
    """The names in the all.zip streamed from an assets folder."""
    return zipfile.ZipFile(io.BytesIO(b"".join(assets_service.zip_folder_stream(folder)))).namelist()


# --- the whole way --------------------------------------------------------------------------------------------

def test_a_task_goes_from_queued_to_completed_with_its_assets(app, project, fake):
    node = register(fake)
    task_id = make_task(project)
    step_until(task_id, running_on_node(fake))
    fake.finish()
    task = step_until(task_id, is_status(TaskStatus.COMPLETED))

    assert task.processing_node_id == node.id and task.last_error is None
    assert [t.uuid for t in fake.committed_tasks()] == [task.uuid] and task.upload_uuid == task.uuid
    assert sorted(fake.committed_tasks()[0].images) == ["IMG_0.JPG", "IMG_1.JPG", "IMG_2.JPG"]
    assert fake.committed_tasks()[0].options == [{"name": "resize-to", "value": 640}]
    assert (task.upload_progress, task.running_progress, task.processing_time) == (1.0, 1.0, 1234)
    assert task.available_assets == ["all.zip", "orthophoto.tif", "dsm.tif", "cameras.json"]
    assets = storage.assets_dir(project.id, task_id)
    assert rasters.is_cog(assets / "odm_orthophoto" / "odm_orthophoto.tif")
    assert rasters.is_cog(assets / "odm_dem" / "dsm.tif")
    # The map's copies in the tiles' projection, named after the COGs' versions, left out of all.zip.
    for layer, relative in (("orthophoto", "odm_orthophoto/odm_orthophoto.tif"), ("dsm", "odm_dem/dsm.tif")):
        stat = (assets / relative).stat()
        assert tile_pyramids.pyramid_path(assets, layer, (stat.st_mtime_ns, stat.st_size)).is_file(), layer
    assert not any(name.startswith(tile_pyramids.PYRAMID_DIR) for name in zip_names(assets))
    west, south, east, north = task.extent
    assert -93 < west < east < -91 and 46 < south < north < 47.5  # UTM 15N, near Brighton Beach (Minnesota)
    assert task.size > 0.2
    console = storage.console_path(project.id, task_id).read_text().splitlines()
    assert console == ["starting", "3 images", "ended with status 40"] and task.console_lines == 3
    assert not storage.results_zip_path(project.id, task_id).exists()
    assert fake.count("/task/new/init") == 1


def test_the_tick_job_drives_a_task_to_completed_under_its_lock(app, project, results_zip):
    fast = FakeNode(results_zip, process_seconds=0.3).start()
    try:
        register(fast)
        task_id = make_task(project)
        assert task_jobs.tick(task_id) is task_jobs.Outcome.DONE
        assert reload(task_id).status == TaskStatus.COMPLETED
        assert not queue.redis_connection().exists(coordination.LOCK_KEY.format(task_id))
    finally:
        fast.stop()


def test_a_tick_finds_the_lock_taken_and_leaves_the_task_to_its_holder(app, project, fake):
    register(fake)
    task_id = make_task(project)
    holder = coordination.TaskLock(task_id)
    assert holder.acquire()
    try:
        assert task_jobs.tick(task_id) is task_jobs.Outcome.BUSY
        assert reload(task_id).uuid == ""  # nothing was done
        assert coordination.take_wake(task_id)  # but the holder is told to look again
    finally:
        holder.release()


def test_console_lines_are_appended_by_the_nodes_count_without_duplicates(app, project, fake):
    register(fake)
    task_id = make_task(project)
    step_until(task_id, running_on_node(fake))
    node_task = fake.committed_tasks()[0]
    node_task.output += ["line 3", "line 4"]
    path = storage.console_path(project.id, task_id)
    console._written.clear()  # as another worker process would start: it checks the file once
    with open(path, "a") as file:  # a step that crashed after writing, before storing its count
        file.write("line 3\n")
    step_until(task_id, lambda t: t.console_lines == 4)
    assert path.read_text().splitlines() == ["starting", "3 images", "line 3", "line 4"]
    assert fake.requests[-1][1].endswith("/info")


def test_a_node_failure_is_reported_with_its_message(app, project, fake):
    register(fake)
    fake.fail_processing = "Not enough overlap between the images."
    task_id = make_task(project)
    step_until(task_id, running_on_node(fake))
    fake.finish(status=30)
    task = step_until(task_id, is_status(TaskStatus.FAILED))
    assert "Not enough overlap between the images." in task.last_error


# --- nodes ------------------------------------------------------------------------------------------------------

def test_automatic_choice_is_the_online_node_with_the_shortest_queue_that_admits_the_task(app, project):
    def node(port, queue_count, max_images=None, online=True):
        return add_node(hostname="127.0.0.1", port=port, queue_count=queue_count, max_images=max_images,
                        last_refreshed=utcnow() - timedelta(seconds=10 if online else 600))
    busy, small, offline, free = node(1001, 3), node(1002, 0, max_images=2), node(1003, 0, online=False), node(1004, 1)
    assert nodes.choose_node(3).id == free.id
    assert nodes.choose_node(2).id == small.id  # admits 2 images, and has the shortest queue
    db.session.rollback()
    first, second = make_task(project), make_task(project)
    step_until(first, lambda t: t.processing_node_id is not None, timeout=1)
    assert reload(first).processing_node_id == free.id
    # free now counts the task it was given (2), still fewer than busy (3)
    step_until(second, lambda t: t.processing_node_id is not None, timeout=1)
    assert reload(second).processing_node_id == free.id
    db.session.get(ProcessingNode, busy.id).queue_count = 0
    db.session.commit()
    third = make_task(project)
    step_until(third, lambda t: t.processing_node_id is not None, timeout=1)
    assert reload(third).processing_node_id == busy.id
    assert offline.id not in {reload(t).processing_node_id for t in (first, second, third)}


def test_a_manual_choice_of_node_is_honoured(app, project, fake, results_zip):
    other = FakeNode(results_zip, process_seconds=None).start()
    try:
        chosen = register(fake)
        register(other)
        db.session.get(ProcessingNode, chosen.id).queue_count = 50  # the automatic choice would avoid it
        db.session.commit()
        task_id = make_task(project, node=chosen)
        step_until(task_id, uploaded)
        assert len(fake.committed_tasks()) == 1 and other.committed_tasks() == []
    finally:
        other.stop()


def test_with_no_node_online_the_task_waits_and_says_why(app, project):
    task_id = make_task(project)
    step = pipeline.advance(task_id)
    task = reload(task_id)
    assert step.kind is Step.RETRY and task.status == TaskStatus.QUEUED
    assert "Waiting for a processing node" in task.last_error


# --- faults -----------------------------------------------------------------------------------------------------

def test_refused_connections_for_a_while_do_not_fail_a_running_task(app, project, fake):
    register(fake)
    task_id = make_task(project)
    step_until(task_id, running_on_node(fake))
    fake.refuse_for(2.5)
    task = step_until(task_id, lambda t: t.node_error_since is not None)
    assert task.status == TaskStatus.RUNNING and "is not answering" in task.last_error
    task = step_until(task_id, lambda t: t.node_error_since is None)
    assert task.status == TaskStatus.RUNNING and task.last_error is None
    fake.finish()
    step_until(task_id, is_status(TaskStatus.COMPLETED))


def test_refused_connections_during_the_upload_are_retried(app, project, fake):
    register(fake)
    fake.refuse_for(1.5)
    task_id = make_task(project)
    task = step_until(task_id, lambda t: t.node_error_since is not None)
    assert task.status == TaskStatus.QUEUED and "is not answering" in task.last_error
    task = step_until(task_id, uploaded)
    assert len(fake.committed_tasks()) == 1 and task.last_error is None


def test_a_node_answering_500_past_the_grace_period_fails_the_task_saying_why(app, project, fake):
    app.config["NODE_GRACE_SECONDS"] = 1
    register(fake)
    task_id = make_task(project)
    step_until(task_id, running_on_node(fake))
    fake.fail_with_500 = -1
    task = step_until(task_id, is_status(TaskStatus.FAILED))
    assert "did not answer for" in task.last_error and "500" in task.last_error
    assert "restart the task" in task.last_error


def test_a_node_that_loses_a_running_task_fails_it_with_a_clear_message(app, project, fake):
    register(fake)
    task_id = make_task(project)
    step_until(task_id, running_on_node(fake))
    fake.lose_tasks()
    task = step_until(task_id, is_status(TaskStatus.FAILED))
    assert "no longer has this task" in task.last_error


def test_a_node_that_loses_a_queued_task_gets_it_again(app, project, fake):
    register(fake)
    task_id = make_task(project)
    first = step_until(task_id, uploaded).uuid
    fake.lose_tasks()
    task = step_until(task_id, lambda t: t.uuid and t.uuid != first)
    assert [t.uuid for t in fake.committed_tasks()] == [task.uuid]
    fake.finish()
    step_until(task_id, is_status(TaskStatus.COMPLETED))


def test_a_stalled_download_is_resumed_where_it_stopped(app, project, fake):
    app.config["NODE_TIMEOUT_SECONDS"] = 1
    fake.stall_downloads, fake.stall_seconds = 1, 3
    register(fake)
    task_id = make_task(project)
    step_until(task_id, running_on_node(fake))
    fake.finish()
    task = step_until(task_id, is_status(TaskStatus.COMPLETED))
    ranges = [r for m, p, r in fake.requests if p.endswith("/download/all.zip")]
    assert ranges[0] is None and ranges[-1].startswith("bytes=") and ranges[-1] != "bytes=0-"
    assert "orthophoto.tif" in task.available_assets


def test_a_corrupt_results_zip_fails_the_task_saying_why(app, project, fake):
    fake.corrupt_zip = True
    register(fake)
    task_id = make_task(project)
    step_until(task_id, running_on_node(fake))
    fake.finish()
    task = step_until(task_id, is_status(TaskStatus.FAILED))
    assert "could not be used" in task.last_error and "zip" in task.last_error
    assert not storage.assets_dir(project.id, task_id).exists()
    assert not storage.results_zip_path(project.id, task_id).exists()


def test_an_upload_interrupted_by_a_crash_resumes_into_the_same_node_task(app, project, fake):
    node = register(fake)
    task_id = make_task(project, node=node)
    half = "0b4c9b8e-7d2a-4a52-9a63-5b7bfb2a1f00"
    client = NodeClient("127.0.0.1", fake.port)
    client._post("/task/new/init", {"name": "Field", "options": "[]"}, {"set-uuid": half})
    client._upload_one(half, storage.images_dir(project.id, task_id) / "IMG_0.JPG")
    db.session.get(Task, task_id).upload_uuid = half  # what the crashed step had stored before uploading
    db.session.commit()
    task = step_until(task_id, uploaded)
    assert task.uuid == half and list(fake.tasks) == [half]
    assert sorted(fake.tasks[half].images) == ["IMG_0.JPG", "IMG_1.JPG", "IMG_2.JPG"]
    assert fake.count("/task/new/init") == 1  # only the one before the crash


def test_an_upload_committed_just_before_a_crash_is_adopted(app, project, fake):
    node = register(fake)
    task_id = make_task(project, node=node)
    done = "5d0c1f0e-1111-4a52-9a63-5b7bfb2a1f00"
    NodeClient("127.0.0.1", fake.port).create_task(
        sorted(storage.images_dir(project.id, task_id).iterdir()), [], "Field", done)
    db.session.get(Task, task_id).upload_uuid = done
    db.session.commit()
    uploads_before = fake.count("/task/new/upload")
    task = step_until(task_id, uploaded)
    assert task.uuid == done and list(fake.tasks) == [done]
    assert fake.count("/task/new/upload") == uploads_before


# --- pending actions --------------------------------------------------------------------------------------------

def ask(task_id, action):
    """Set a pending action as the API does."""
    task = reload(task_id)
    task.pending_action = action
    db.session.commit()


def test_cancel_before_the_upload_needs_no_node(app, project):
    task_id = make_task(project)
    ask(task_id, PendingAction.CANCEL)
    task = step_until(task_id, lambda t: t.pending_action is None)
    assert task.status == TaskStatus.CANCELED and task.uuid == ""


def test_cancel_while_running_cancels_on_the_node(app, project, fake):
    register(fake)
    task_id = make_task(project)
    step_until(task_id, running_on_node(fake))
    ask(task_id, PendingAction.CANCEL)
    task = step_until(task_id, lambda t: t.pending_action is None)
    assert task.status == TaskStatus.CANCELED and fake.committed_tasks()[0].status == 50
    assert pipeline.advance(task_id).kind is Step.DONE  # a canceled task needs nothing more


def test_cancel_of_a_completed_task_leaves_it_completed(app, project, fake):
    register(fake)
    task_id = make_task(project)
    step_until(task_id, running_on_node(fake))
    fake.finish()
    step_until(task_id, is_status(TaskStatus.COMPLETED))
    ask(task_id, PendingAction.CANCEL)
    task = step_until(task_id, lambda t: t.pending_action is None)
    assert task.status == TaskStatus.COMPLETED and task.available_assets


def test_restart_of_a_completed_task_runs_it_again_on_its_node(app, project, fake):
    register(fake)
    task_id = make_task(project)
    step_until(task_id, running_on_node(fake))
    fake.finish()
    uuid = step_until(task_id, is_status(TaskStatus.COMPLETED)).uuid
    task = reload(task_id)
    task.options = [{"name": "rerun-from", "value": "odm_orthophoto"}]
    db.session.commit()
    ask(task_id, PendingAction.RESTART)
    task = step_until(task_id, lambda t: t.pending_action is None)
    assert (task.status, task.uuid, task.available_assets, task.console_lines) == (TaskStatus.QUEUED, uuid, [], 0)
    assert not storage.assets_dir(project.id, task_id).exists()
    assert fake.tasks[uuid].options == [{"name": "rerun-from", "value": "odm_orthophoto"}]
    step_until(task_id, is_status(TaskStatus.RUNNING))
    fake.finish()
    task = step_until(task_id, is_status(TaskStatus.COMPLETED))
    assert fake.count("/task/new/init") == 1 and "orthophoto.tif" in task.available_assets


def test_restart_when_the_node_lost_the_task_uploads_it_again(app, project, fake):
    register(fake)
    task_id = make_task(project)
    step_until(task_id, running_on_node(fake))
    fake.lose_tasks()
    step_until(task_id, is_status(TaskStatus.FAILED))
    ask(task_id, PendingAction.RESTART)
    task = step_until(task_id, running_on_node(fake))
    assert task.last_error is None and fake.count("/task/new/init") == 2
    fake.finish()
    step_until(task_id, is_status(TaskStatus.COMPLETED))


def test_remove_while_running_deletes_the_node_copy_files_and_row(app, project, fake):
    register(fake)
    task_id = make_task(project)
    step_until(task_id, running_on_node(fake))
    ask(task_id, PendingAction.REMOVE)
    assert step_until(task_id, lambda t: t is None) is None
    assert fake.tasks == {} and not storage.task_dir(project.id, task_id).exists()


def test_remove_with_the_node_down_still_removes_here_and_queues_the_node_removal(app, project, fake):
    node = register(fake)
    task_id = make_task(project)
    uuid = step_until(task_id, running_on_node(fake)).uuid
    fake.stop()
    ask(task_id, PendingAction.REMOVE)
    step_until(task_id, lambda t: t is None)
    jobs = Queue(app.config["RQ_QUEUE"], connection=queue.redis_connection()).jobs
    assert [(j.func_name, j.args) for j in jobs] == [(queue.REMOVE_FROM_NODE, (node.id, uuid))]
    fake.start()
    assert removals.remove_from_node(node.id, uuid) is True and fake.tasks == {}


# --- what the reconciler finds ----------------------------------------------------------------------------------

def test_pending_work_is_derived_from_the_database(app, project):
    queued, running = make_task(project), make_task(project, status=TaskStatus.RUNNING)
    make_task(project, status=None, partial=True)
    make_task(project, status=TaskStatus.COMPLETED)
    removing = make_task(project, status=TaskStatus.FAILED, pending_action=PendingAction.REMOVE)
    assert ticks.pending_task_ids() == [queued, running, removing]
    assert ticks.enqueue_pending_ticks() == 3
    jobs = Queue(app.config["RQ_QUEUE"], connection=queue.redis_connection()).jobs
    assert sorted(j.id for j in jobs) == sorted(f"task-{i}" for i in (queued, running, removing))
    assert ticks.enqueue_pending_ticks() == 3  # the same ticks are not queued twice
    assert Queue(app.config["RQ_QUEUE"], connection=queue.redis_connection()).count == 3


# --- webhooks ---------------------------------------------------------------------------------------------------

def test_the_webhook_wakes_the_task_only_with_its_token(app, client, project):
    task_id = make_task(project)
    app.config["WEBHOOK_BASE_URL"] = "http://aerie.example"
    url = ticks.webhook_url(task_id)
    assert url.startswith(f"http://aerie.example/api/webhooks/task/{task_id}/")
    path = url.removeprefix("http://aerie.example")
    assert client.post(path.replace(ticks.webhook_token(task_id), "0" * 40)).status_code == 404
    assert client.post(f"/api/webhooks/task/{task_id + 1}/{ticks.webhook_token(task_id)}").status_code == 404
    assert Queue(app.config["RQ_QUEUE"], connection=queue.redis_connection()).count == 0
    response = client.post(path, json={"uuid": "x", "status": {"code": NODE_COMPLETED}})
    assert response.status_code == 200 and response.get_json() == {"success": True}
    assert coordination.take_wake(task_id)
    assert [j.id for j in Queue(app.config["RQ_QUEUE"], connection=queue.redis_connection()).jobs] == [
        f"task-{task_id}"]


def test_an_error_here_is_retried_then_fails_the_task_saying_what_happened(app, project, fake):
    app.config["NODE_GRACE_SECONDS"] = 1
    register(fake)
    task_id = make_task(project)
    step_until(task_id, running_on_node(fake))
    storage.results_zip_path(project.id, task_id).mkdir()  # the download cannot be written
    fake.finish()
    task = step_until(task_id, lambda t: t.node_error_since is not None)
    assert task.status == TaskStatus.RUNNING and "An error occurred here (IsADirectoryError" in task.last_error
    task = step_until(task_id, is_status(TaskStatus.FAILED))
    assert "Processing stopped after an error here" in task.last_error and "IsADirectoryError" in task.last_error


def test_cancel_with_the_node_down_past_the_grace_period_cancels_here_and_says_so(app, project, fake):
    app.config["NODE_GRACE_SECONDS"] = 1
    register(fake)
    task_id = make_task(project)
    step_until(task_id, running_on_node(fake))
    fake.stop()
    ask(task_id, PendingAction.CANCEL)
    task = step_until(task_id, lambda t: t.pending_action is None)
    assert task.status == TaskStatus.CANCELED and "could not be told" in task.last_error
