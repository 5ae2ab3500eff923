"""Real worker and scheduler processes drive tasks through a fake node; workers die mid-way and tasks still finish."""
import time

import pytest

from webapp import queue
from webapp.models import TaskStatus
from webapp.services import nodes, ticks
from tests.jobs.conftest import kill, make_task, reload, wait_for

pytestmark = pytest.mark.slow  # real worker processes and the built-in node running the engine


def completed(task):
    return task.status == TaskStatus.COMPLETED


def test_a_task_whose_job_was_lost_is_found_and_finished_by_the_reconciler(app, project, fake_node, fake_images,
                                                                           processes):
    fake = fake_node(process_seconds=0.2)
    nodes.add_node("127.0.0.1", fake.port)
    task_id = make_task(project, fake_images)  # committed, but its tick never queued (as after a Redis flush)
    processes("worker")
    processes("scheduler")
    task = wait_for(task_id, completed, timeout=30, what="completion")
    assert "orthophoto.tif" in task.available_assets and len(fake.committed_tasks()) == 1


def test_a_worker_killed_mid_upload_leaves_the_task_to_finish_without_a_duplicate(app, project, fake_node,
                                                                                 fake_images, processes):
    fake = fake_node(process_seconds=0.2, upload_delay=1.0)
    nodes.add_node("127.0.0.1", fake.port)
    task_id = make_task(project, fake_images)
    worker = processes("worker")
    ticks.enqueue_tick(task_id)
    deadline = time.monotonic() + 30
    while fake.count("/task/new/upload") == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    kill(worker)
    task = reload(task_id)
    assert task.uuid == "" and task.upload_uuid and task.status == TaskStatus.QUEUED  # really mid-upload

    processes("worker")
    processes("scheduler")
    task = wait_for(task_id, completed, timeout=40, what="completion")
    assert task.uuid == task.upload_uuid
    assert list(fake.tasks) == [task.uuid] and fake.count("/task/new/init") == 1
    assert sorted(fake.tasks[task.uuid].images) == [p.name for p in fake_images]


def test_a_worker_killed_mid_download_leaves_the_task_to_finish(app, project, fake_node, fake_images, processes):
    fake = fake_node(process_seconds=0.1, download_chunk_delay=0.3)
    nodes.add_node("127.0.0.1", fake.port)
    task_id = make_task(project, fake_images)
    worker = processes("worker")
    ticks.enqueue_tick(task_id)
    deadline = time.monotonic() + 30
    while fake.count("/download/all.zip") == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(1.0)  # a few blocks of the zip are on disk
    kill(worker)
    assert reload(task_id).status == TaskStatus.RUNNING

    processes("worker")
    processes("scheduler")
    task = wait_for(task_id, completed, timeout=40, what="completion")
    assert task.available_assets == ["all.zip", "orthophoto.tif", "dsm.tif", "cameras.json"]
    resumed = [r for m, p, r in fake.requests if p.endswith("/download/all.zip")][-1]
    assert resumed is not None and resumed.startswith("bytes=") and resumed != "bytes=0-"


def test_the_node_webhook_reaches_the_app_and_wakes_the_tick(app, project, fake_node, fake_images, processes,
                                                              live_server):
    fake = fake_node(process_seconds=None)
    nodes.add_node("127.0.0.1", fake.port)
    task_id = make_task(project, fake_images)
    processes("worker", WEBHOOK_BASE_URL=live_server)
    queue.enqueue(queue.TASK_TICK, task_id, job_id=f"task-{task_id}")  # as the API queues it
    wait_for(task_id, lambda t: t.status == TaskStatus.RUNNING, timeout=30, what="running")
    node_task = fake.committed_tasks()[0]
    assert node_task.webhook.startswith(f"{live_server}/api/webhooks/task/{task_id}/")
    fake.finish()
    wait_for(task_id, completed, timeout=30, what="completion")
