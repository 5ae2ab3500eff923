"""A task deleted while a real worker runs one of its pipeline steps (sending the images, downloading the results):
the step ends quietly, leaves nothing of the task behind, and touches no other task, not even the next task made
in the same project (which SQLite could give the deleted task's id). Its copy on the node is removed too."""
import time

import pytest

from webapp import storage
from webapp.services import nodes, tasks, ticks
from tests.jobs.conftest import make_task, reload

QUIET_SECONDS = 4  # the worker's step notices the deletion within this (its node calls take 0.1-0.3 s each)
NOT_IN_THE_LOG = ("unexpected error", "Traceback", "StaleDataError", "FileNotFoundError", "could not record")


def files_of(project_id, task_id):
    """{relative path: bytes} of every file in a task's folder."""
    folder = storage.task_dir(project_id, task_id)
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def row_of(task_id):
    """The columns of a task's row that a pipeline step writes."""
    task = reload(task_id)
    return {name: getattr(task, name) for name in (
        "name", "status", "uuid", "upload_uuid", "processing_node_id", "last_error", "available_assets",
        "upload_progress", "running_progress", "console_lines", "size", "pending_action")}


def wait_until(condition, what, timeout=30):
    """Poll until condition() holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.mark.parametrize("step", ["upload", "download"])
def test_a_task_deleted_during_a_step_ends_quietly_and_touches_no_other_task(app, project, fake_node, fake_images,
                                                                              processes, tmp_path, step):
    fake = fake_node(process_seconds=0.1, upload_delay=0.3, download_chunk_delay=0.3)
    nodes.add_node("127.0.0.1", fake.port)
    earlier = make_task(project, fake_images[:2])  # an idle task made before (no tick is queued for it)
    task_id = make_task(project, fake_images)
    processes("worker")
    ticks.enqueue_tick(task_id)
    marker = "/task/new/upload" if step == "upload" else "/download/all.zip"
    wait_until(lambda: fake.count(marker) > 0, f"the {step} to start")
    time.sleep(0.5)  # well inside the step (an upload of 6 images takes 1.8 s, a download 2 s or more)

    tasks.delete_task(reload(task_id))
    later = make_task(project, fake_images[:3])  # made at once, while the step still runs
    others = {other: (row_of(other), files_of(project.id, other)) for other in (earlier, later)}
    time.sleep(QUIET_SECONDS)

    log = "".join(path.read_text() for path in tmp_path.glob("worker-*.log"))
    assert not [word for word in NOT_IN_THE_LOG if word in log], log[-3000:]
    assert reload(task_id) is None or task_id == later
    assert task_id != later, "SQLite gave the deleted task's id to the next task"
    assert not storage.task_dir(project.id, task_id).exists(), "the step left files of the deleted task behind"
    assert fake.tasks == {}, "the deleted task's copy stayed on the node"
    for other, (row, files) in others.items():
        assert row_of(other) == row, f"task {other}'s row was changed"
        assert files_of(project.id, other) == files, f"task {other}'s files were changed"
