"""A task's life on a live node running the real engine: queue, cancel, restart (rerun-from), remove, failures."""
import os
import signal
import time

import pytest
from pyodm.exceptions import NodeResponseError

from tests.localnode.conftest import QUICK
from tests.support.livenode import LiveNode, engine_processes, wait_for_status

pytestmark = pytest.mark.slow  # runs tasks through the engine on a real node

QUEUED, RUNNING, FAILED, COMPLETED, CANCELED = 10, 20, 30, 40, 50
SMALL = {"resize-to": 640}


def work_files(task_dir):
    """Every file under a task's work/ folder with its modification time."""
    return {path: path.stat().st_mtime_ns for path in (task_dir / "work").rglob("*") if path.is_file()}


def test_cancel_restart_remove(live_node, photos, few_photos, webhook):
    """Cancel stops a run at once for good; restart resets and reruns keeping earlier results; remove deletes."""
    quick = live_node.node.create_task(few_photos, dict(QUICK, **SMALL), webhook=webhook.url)
    wait_for_status(quick, [COMPLETED])
    assert webhook.wait_for(quick.uuid)["status"]["code"] == COMPLETED
    quick_dir = live_node.data / "tasks" / quick.uuid
    earlier_results = work_files(quick_dir)
    assert earlier_results

    long = live_node.node.create_task(photos, {"end-with": "opensfm"}, webhook=webhook.url)
    wait_for_status(long, [RUNNING])

    # Restart while another task holds the only slot: queued, console reset, options replaced, zip gone.
    rerun = dict(SMALL, **{"rerun-from": "opensfm", "end-with": "opensfm"})
    assert quick.restart(rerun)
    info = quick.info(with_output=0)
    assert (info.status.value, info.output, info.progress, info.processing_time) == (QUEUED, [], 0, -1)
    assert {o["name"]: o["value"] for o in info.options} == rerun
    assert live_node.get(f"/task/{quick.uuid}/download/all.zip").json() == {"error": "Asset not ready"}
    assert live_node.get("/info").json()["taskQueueCount"] == 2
    with pytest.raises(NodeResponseError, match="only failed, completed or canceled"):
        quick.restart()

    # Cancel the running task: canceled at once, its engine gone, the webhook told.
    long_dir = live_node.data / "tasks" / long.uuid
    assert engine_processes(long_dir)
    assert long.cancel()
    assert long.info().status.value == CANCELED
    assert engine_processes(long_dir) == []
    assert webhook.wait_for(long.uuid)["status"]["code"] == CANCELED

    # The restarted task runs from opensfm: the dataset stage's files are the same, untouched.
    info = wait_for_status(quick, [COMPLETED])
    assert not any("[dataset]" in line for line in quick.output())
    assert {path: mtime for path, mtime in work_files(quick_dir).items() if path in earlier_results} \
        == earlier_results
    assert (quick_dir / "all.zip").is_file() and info.progress == 100

    # Canceled stays canceled, with no results, and cancel does not touch a completed task.
    info = long.info()
    assert info.status.value == CANCELED and not (long_dir / "all.zip").exists()
    assert live_node.get(f"/task/{long.uuid}/download/all.zip").json() == {"error": "Asset not ready"}
    with pytest.raises(NodeResponseError, match="already completed"):
        quick.cancel()
    assert quick.info().status.value == COMPLETED

    assert long.remove()
    assert not long_dir.exists()
    assert {"uuid": long.uuid} not in live_node.get("/task/list").json()
    assert live_node.get(f"/task/{long.uuid}/info").json() == {"error": "Invalid uuid (not found)"}


def test_cancel_a_queued_task(live_node, photos, few_photos):
    """A queued task canceled never runs, even when the slot frees up."""
    long = live_node.node.create_task(photos, {"end-with": "opensfm"})
    wait_for_status(long, [RUNNING])
    waiting = live_node.node.create_task(few_photos, QUICK)
    assert waiting.info().status.value == QUEUED
    assert waiting.cancel() and long.cancel()
    time.sleep(1)
    info = waiting.info(with_output=0)
    assert (info.status.value, info.output, info.processing_time) == (CANCELED, [], -1)
    assert not (live_node.data / "tasks" / waiting.uuid / "options.json").exists()


def test_engine_crash_fails_only_its_task(live_node, photos, few_photos):
    """An engine killed from outside fails its task with a message; the node goes on with the next task."""
    doomed = live_node.node.create_task(photos, {"end-with": "opensfm"})
    wait_for_status(doomed, [RUNNING])
    [engine] = engine_processes(live_node.data / "tasks" / doomed.uuid)
    os.kill(engine.pid, signal.SIGKILL)
    info = wait_for_status(doomed, [FAILED], timeout=30)
    assert "killed by signal SIGKILL" in info.last_error and info.processing_time > 0

    after = live_node.node.create_task(few_photos, QUICK)
    assert wait_for_status(after, [COMPLETED]).last_error == ""


def test_engine_error_becomes_the_error_message(live_node, tmp_path):
    """Files that are not images: the task fails with the engine's own message, also in the console."""
    names = [tmp_path / "broken1.jpg", tmp_path / "broken2.jpg"]
    for name in names:
        name.write_bytes(b"not a photo" * 100)
    task = live_node.node.create_task([str(name) for name in names], QUICK)
    info = wait_for_status(task, [FAILED], timeout=60)
    assert info.last_error and "stopped unexpectedly" not in info.last_error
    assert info.last_error in task.output()[-1]


def test_parallel_tasks(tmp_path, few_photos):
    """With --parallel 2, two tasks run at the same time and a third waits."""
    node = LiveNode(tmp_path / "data", parallel=2)
    try:
        assert node.get("/info").json()["maxParallelTasks"] == 2
        tasks = [node.node.create_task(few_photos, {"end-with": "opensfm"}) for _ in range(3)]
        wait_for_status(tasks[1], [RUNNING])
        assert [task.info().status.value for task in tasks] == [RUNNING, RUNNING, QUEUED]
        assert len(engine_processes(node.data)) == 2
        for task in tasks:
            assert task.cancel()
    finally:
        node.stop()
