"""The node's own restart: every task survives with its state and files; a running task is queued again."""
import signal
import subprocess
import sys

import pytest

import psutil

from tests.localnode.conftest import QUICK
from tests.support.livenode import ROOT, LiveNode, engine_processes, wait_for_status

pytestmark = pytest.mark.slow  # runs tasks through the engine on a real node

QUEUED, RUNNING, FAILED, COMPLETED, CANCELED = 10, 20, 30, 40, 50
REQUEUED_NOTE = "queued to run again"


def files_of(task_dir):
    """Every file of a task folder but its state, with its size."""
    return {p.relative_to(task_dir): p.stat().st_size for p in task_dir.rglob("*")
            if p.is_file() and p.name not in ("task.json", "console.txt")}


def make_tasks_in_every_state(node, photos, few_photos, tmp_path):
    """Tasks completed, failed, canceled, running and queued (one slot), by state name."""
    completed = node.node.create_task(few_photos, QUICK)
    wait_for_status(completed, [COMPLETED])
    broken = [tmp_path / "broken1.jpg", tmp_path / "broken2.jpg"]
    for path in broken:
        path.write_bytes(b"not a photo" * 100)
    failed = node.node.create_task([str(path) for path in broken], QUICK)
    wait_for_status(failed, [FAILED])
    running = node.node.create_task(photos, {"end-with": "opensfm"})
    wait_for_status(running, [RUNNING])
    queued = node.node.create_task(few_photos, QUICK)
    canceled = node.node.create_task(few_photos, QUICK)
    assert canceled.cancel()
    return {"completed": completed, "failed": failed, "canceled": canceled, "running": running, "queued": queued}


def test_restart_keeps_every_task_and_file(tmp_path, photos, few_photos):
    """After a stop and start on the same folder: same tasks, states, figures and files; running is rerun."""
    node = LiveNode(tmp_path / "data")
    try:
        tasks = make_tasks_in_every_state(node, photos, few_photos, tmp_path)
        before = {name: task.info() for name, task in tasks.items()}
        zip_before = node.get(f"/task/{tasks['completed'].uuid}/download/all.zip").content
        folders = {name: node.data / "tasks" / task.uuid for name, task in tasks.items()}
        files_before = {name: files_of(folder) for name, folder in folders.items()}
        assert {name: info.status.value for name, info in before.items()} == {
            "completed": COMPLETED, "failed": FAILED, "canceled": CANCELED, "running": RUNNING, "queued": QUEUED}
    finally:
        node.stop()
    assert engine_processes(folders["running"]) == []

    node = LiveNode(tmp_path / "data")
    try:
        tasks = {name: node.node.get_task(task.uuid) for name, task in tasks.items()}
        assert sorted(t["uuid"] for t in node.get("/task/list").json()) == sorted(t.uuid for t in tasks.values())
        after = {name: task.info() for name, task in tasks.items()}
        for name in ("completed", "failed", "canceled"):
            assert after[name].__dict__ == before[name].__dict__, name
        assert after["completed"].progress == 100 and after["completed"].processing_time > 0
        assert after["failed"].last_error
        assert node.get(f"/task/{tasks['completed'].uuid}/download/all.zip").content == zip_before
        for name in ("completed", "failed", "canceled", "queued"):
            assert files_of(folders[name]) == files_before[name], name
        images = {p for p in files_before["running"] if p.parts[0] == "images"}
        assert {p: files_of(folders["running"])[p] for p in images} == {p: files_before["running"][p] for p in images}

        assert after["running"].status.value in (QUEUED, RUNNING)  # queued again, and first in line
        assert any(REQUEUED_NOTE in line for line in tasks["running"].output())
        assert after["queued"].status.value == QUEUED
        assert tasks["running"].cancel() and tasks["queued"].cancel()
    finally:
        node.stop()


def test_a_killed_node_requeues_its_running_task(tmp_path, photos):
    """A node killed outright (SIGKILL): the next node stops the old engine if alive and runs the task again."""
    node = LiveNode(tmp_path / "data")
    task = node.node.create_task(photos, {"end-with": "opensfm"})
    wait_for_status(task, [RUNNING])
    [old_engine] = engine_processes(node.data / "tasks" / task.uuid)
    node.stop(signal.SIGKILL)  # the engine, in its own session, outlives the node until its next print
    orphan_alive = old_engine.is_running()

    node = LiveNode(tmp_path / "data")
    try:
        psutil.wait_procs([old_engine], timeout=10)
        if orphan_alive:
            assert any("left running by the previous node" in line for line in node.log)
        assert not old_engine.is_running()
        task = node.node.get_task(task.uuid)
        wait_for_status(task, [RUNNING])
        [new_engine] = engine_processes(node.data / "tasks" / task.uuid)
        assert new_engine.pid != old_engine.pid
        assert any(REQUEUED_NOTE in line for line in task.output())
        assert task.cancel()
    finally:
        node.stop()


def test_two_nodes_never_share_a_folder(tmp_path):
    """A second node on the same data folder refuses to start, saying why."""
    node = LiveNode(tmp_path / "data")
    try:
        second = subprocess.run([sys.executable, "-m", "localnode", "--port", "0", "--data", str(node.data)],
                                cwd=ROOT, capture_output=True, text=True, timeout=30)
        assert second.returncode != 0
        assert "in use by another node" in second.stderr and str(node.data) in second.stderr
        assert node.get("/info").json()["maxParallelTasks"] == 1
    finally:
        node.stop()
