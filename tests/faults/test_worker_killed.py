"""kill -9 of the worker at each stage of a task (upload to the node, polling, download and extraction): the
task still completes, once, with every asset."""
import time

import pytest

from tests.support.faults import COMPLETED, FULL, QUICK, RUNNING, wait_row

pytestmark = pytest.mark.slow  # a whole stack of processes


def test_worker_killed_during_the_upload_to_the_node(healthy, photos):
    stack = healthy
    project = stack.new_project()
    stack.link.rate = 1_500_000  # bytes/s: the 8 photos take about 6 s to reach the node
    task_id = stack.create_task(project, photos, QUICK)
    row = wait_row(stack, task_id, lambda r: r["upload_uuid"] and not r["uuid"] and r["upload_progress"] > 0.2,
                   what="the upload to the node to be under way")
    stack.kill("worker1")
    row = stack.rows("SELECT * FROM task WHERE id = :id", id=task_id)[0]
    assert row["uuid"] == "", f"the upload had ended before the kill: {row}"  # set once the node has it all

    stack.link.rate = None
    stack.start_process("worker1")
    task = stack.wait_finished(project, task_id)
    assert task["status"] == COMPLETED, task["last_error"]
    assert task["uuid"] == row["upload_uuid"]  # the interrupted upload was finished, not started over elsewhere
    assert stack.node_tasks().count(task["uuid"]) == 1


def test_worker_killed_while_polling_a_running_task(healthy, photos):
    stack = healthy
    project = stack.new_project()
    task_id = stack.create_task(project, photos, FULL)
    wait_row(stack, task_id, lambda r: r["status"] == RUNNING and r["console_lines"] > 0,
             what="the task to be running on the node")
    stack.kill("worker1")
    time.sleep(1.0)  # the node goes on processing with nobody polling it
    stack.start_process("worker1")
    task = stack.wait_finished(project, task_id)
    assert task["status"] == COMPLETED, task["last_error"]
    assert "orthophoto.tif" in task["available_assets"]
    assert stack.node_tasks().count(task["uuid"]) == 1


def results_zip(stack, project, task_id):
    """Where the worker downloads a task's all.zip."""
    return stack.media_root / "project" / str(project) / "task" / str(task_id) / "results.zip"


def test_worker_killed_during_the_download_of_the_results(healthy, photos):
    stack = healthy
    project = stack.new_project()
    task_id = stack.create_task(project, photos, FULL)
    wait_row(stack, task_id, lambda r: r["uuid"], what="the upload to the node to end")
    stack.link.rate = 200_000  # the results (a few MB) take several seconds to download
    zip_path = results_zip(stack, project, task_id)
    wait_row(stack, task_id, lambda r: zip_path.exists() and zip_path.stat().st_size > 100_000,
             what="the download of the results to be under way")
    stack.kill("worker1")
    assert stack.rows("SELECT status FROM task WHERE id = :id", id=task_id)[0]["status"] == RUNNING

    stack.link.rate = None
    stack.start_process("worker1")
    task = stack.wait_finished(project, task_id)
    assert task["status"] == COMPLETED, task["last_error"]
    assert {"orthophoto.tif", "cameras.json", "all.zip"} <= set(task["available_assets"])
    assert not zip_path.exists()  # the downloaded zip is removed once extracted
    assert stack.user.get(stack.task_url(project, task_id) + "download/orthophoto.tif").content[:4] == b"II*\0"


def extraction_under_way(folder):
    """Whether the worker has begun extracting the results in a task's folder (its staging folder, or the assets
    folder it becomes, exists)."""
    return any(folder.glob(".assets.*.extracting")) or (folder / "assets").exists()


def test_worker_killed_during_the_extraction_of_the_results(healthy, photos):
    stack = healthy
    project = stack.new_project()
    # Extracting and converting the results lasts a fraction of a second: a kill may come just after it ended.
    # Such a try proves nothing, so the test tries again, and fails if no kill ever landed inside.
    for _ in range(3):
        task_id = stack.create_task(project, photos, FULL)
        folder = results_zip(stack, project, task_id).parent
        wait_row(stack, task_id, lambda r: extraction_under_way(folder), what="the extraction to begin",
                 interval=0.005)
        stack.kill("worker1")
        status = stack.rows("SELECT status FROM task WHERE id = :id", id=task_id)[0]["status"]
        stack.start_process("worker1")
        task = stack.wait_finished(project, task_id)
        assert task["status"] == COMPLETED, task["last_error"]
        if status == RUNNING:  # the kill came while the results were being extracted
            break
    else:
        raise AssertionError("in 3 tries the kill never came before the extraction had ended")
    assert {"orthophoto.tif", "cameras.json"} <= set(task["available_assets"])
    orthophoto = stack.user.get(stack.task_url(project, task_id) + "download/orthophoto.tif")
    assert orthophoto.status_code == 200 and orthophoto.content[:4] == b"II*\0"
    assert stack.node_tasks().count(task["uuid"]) == 1
