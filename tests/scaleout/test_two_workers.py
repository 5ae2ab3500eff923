"""Scale-out: the stack on PostgreSQL and an external Redis, with two worker processes sharing the media folder.
Several tasks at once are each processed exactly once; many clients uploading chunks of several files to one
task at once, through two gunicorn processes, leave every file byte-identical."""
import json
import random
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.datasets import dataset_images
from tests.support.stack import Stack

pytestmark = pytest.mark.slow  # a whole stack of processes

QUICK = json.dumps([{"name": "resize-to", "value": 640}, {"name": "end-with", "value": "dataset"}])
TASKS = 4


@pytest.fixture
def stack(tmp_path, database_url, external_redis):
    """Aerie as separate processes on PostgreSQL and an external Redis, with two RQ workers."""
    running = Stack(tmp_path / "stack", database_url=database_url, redis_url=external_redis, workers=2).start()
    yield running
    running.close()


def test_two_workers_process_each_task_once(stack):
    photos = dataset_images("brighton_beach")[:4]
    project = stack.new_project()
    with ThreadPoolExecutor(TASKS) as pool:
        task_ids = list(pool.map(lambda _: stack.create_task(project, photos, QUICK), range(TASKS)))
    tasks = [stack.wait_finished(project, task_id, timeout=120) for task_id in task_ids]
    assert [t["status"] for t in tasks] == [40] * TASKS, [t["last_error"] for t in tasks]

    uuids = [t["uuid"] for t in tasks]
    assert len(set(uuids)) == TASKS and sorted(stack.node_tasks()) == sorted(uuids)  # one node task per task
    logs = stack.log("worker1") + stack.log("worker2")
    for task_id in task_ids:  # each task uploaded to the node once, whichever worker did it
        assert len(re.findall(rf"task {task_id} uploaded to node", logs)) == 1
        assert len(re.findall(rf"task {task_id} completed", logs)) == 1
    for name in ("worker1", "worker2"):  # both workers took part
        assert "jobs.tasks.tick" in stack.log(name), f"{name} ran no tick"
    stack.check_invariants()


def test_concurrent_chunked_uploads_to_one_task_are_assembled_exactly(stack):
    photos = dataset_images("brighton_beach")[:6]
    project = stack.new_project()
    created = stack.user.post(f"{stack.base}/api/projects/{project}/tasks/", data={"partial": "true",
                                                                                    "options": QUICK})
    task_id = created.json()["id"]
    upload_url = stack.task_url(project, task_id) + "upload/"
    chunks = []
    for path in photos:
        data, size = path.read_bytes(), 64 * 1024
        count = -(-len(data) // size)
        for index in range(count):
            chunks.append((path.name, {"dzuuid": f"up-{path.stem}", "dzchunkindex": index, "dztotalchunkcount": count,
                                       "dzchunkbyteoffset": index * size, "dztotalfilesize": len(data)},
                           data[index * size:(index + 1) * size]))
    # Each file's chunks out of order and many of them at once (a file's first chunks race to create its upload);
    # the next file's chunks start while the last ones of the previous file are still in flight.
    shuffled = random.Random(8)
    chunks = [c for path in photos for c in shuffled.sample([c for c in chunks if c[0] == path.name],
                                                             sum(1 for c in chunks if c[0] == path.name))]

    def send(chunk):
        name, fields, block = chunk
        return stack.user.post(upload_url, data=fields, files={"images": (name, block, "image/jpeg")}, timeout=60)

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(send, chunks))
    refused = [(a.status_code, a.text) for a in answers if a.status_code != 200]
    assert not refused, f"{len(refused)} of {len(chunks)} chunks refused: {refused[:3]}"
    committed = stack.user.post(stack.task_url(project, task_id) + "commit/")
    assert committed.status_code == 200 and committed.json()["images_count"] == len(photos), committed.text
    images = stack.media_root / "project" / str(project) / "task" / str(task_id) / "images"
    assert sorted(p.name for p in images.iterdir()) == [p.name for p in photos]
    for path in photos:
        assert (images / path.name).read_bytes() == path.read_bytes(), f"{path.name} is not byte-identical"
    task = stack.wait_finished(project, task_id)
    assert task["status"] == 40, task["last_error"]
    stack.check_invariants()
