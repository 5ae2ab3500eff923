"""Redis restarted with its data flushed while a task runs, and the web server killed during a chunked upload."""
import time

import pytest

from tests.support.faults import COMPLETED, FULL, RUNNING, chunks_of, send_chunk, wait_row

pytestmark = pytest.mark.slow  # a whole stack of processes


def test_redis_restarted_empty_while_a_task_runs(healthy, photos):
    stack = healthy
    project = stack.new_project()
    task_id = stack.create_task(project, photos, FULL)
    wait_row(stack, task_id, lambda r: r["status"] == RUNNING, what="the task to run on the node")
    stack.kill("redis")
    time.sleep(5.0)  # longer than the worker's wait before it tries Redis again
    stack.restart("redis")  # a fresh server: no queue, no lock, no job left
    task = stack.wait_finished(project, task_id, timeout=90)
    assert task["status"] == COMPLETED, task["last_error"]
    for name in ("worker1", "scheduler"):  # they rode out the outage (run-all would stop Aerie if one died)
        assert stack.alive(name), f"{name} died when Redis restarted:\n{stack.log(name)[-3000:]}"
    assert stack.node_tasks().count(task["uuid"]) == 1


def test_web_server_killed_during_a_chunked_upload_then_the_upload_resumes(healthy, photos):
    stack = healthy
    project = stack.new_project()
    created = stack.user.post(f"{stack.base}/api/projects/{project}/tasks/", data={"partial": "true",
                                                                                    "options": FULL})
    assert created.status_code == 201, created.text
    task_id = created.json()["id"]
    upload_url = stack.task_url(project, task_id) + "upload/"
    requests_to_send = [(path.name, fields, block) for path in photos for fields, block in chunks_of(path, 200_000)]
    half = len(requests_to_send) // 2

    for name, fields, block in requests_to_send[:half]:
        answer = send_chunk(stack.user, upload_url, name, fields, block)
        assert answer.status_code == 200, answer.text
    stack.kill("web")  # while the client is still uploading: the next chunks find no server
    stack.start_process("web")
    for name, fields, block in requests_to_send[half - 1:]:  # the client re-sends the chunk it is unsure of
        answer = send_chunk(stack.user, upload_url, name, fields, block, retry_for=60)
        assert answer.status_code == 200, answer.text
    committed = stack.user.post(stack.task_url(project, task_id) + "commit/")
    assert committed.status_code == 200, committed.text

    images = stack.media_root / "project" / str(project) / "task" / str(task_id) / "images"
    for path in photos:
        assert (images / path.name).read_bytes() == path.read_bytes(), f"{path.name} differs after the restart"
    task = stack.wait_finished(project, task_id)
    assert task["status"] == COMPLETED and task["images_count"] == len(photos), task["last_error"]
