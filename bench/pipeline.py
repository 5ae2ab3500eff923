"""Benchmark of the processing pipeline: from a task's creation to COMPLETED with its assets extracted.

A real worker process drives tasks through a fake node (tests/support/fakenode.py) that finishes each task a
moment after its upload and serves a small prepared all.zip; with the node's webhook and with polling alone.
Usage: .venv/bin/python bench/pipeline.py [--quick] [--tasks N]
Prints one figure per line: `name value unit`.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from werkzeug.serving import make_server  # noqa: E402

from tests.support.fakenode import FakeNode, make_results_zip  # noqa: E402
from tests.support.web import free_port  # noqa: E402
from webapp import create_app, queue, storage  # noqa: E402
from webapp.config import TestConfig  # noqa: E402
from webapp.embedded_redis import start_embedded_redis  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.models import Project, Task, TaskStatus, User  # noqa: E402
from webapp.services import nodes  # noqa: E402

NODE_SECONDS = 0.3  # the fake node "processes" each task this long after its upload


def figure(name, value, unit):
    """Print one benchmark figure."""
    print(f"{name} {round(value, 3):g} {unit}", flush=True)


def start_worker(app, webhook_base_url):
    """A `flask worker` process on the benchmark's database, media and Redis."""
    env = dict(os.environ, REDIS_URL=app.config["REDIS_URL"], INSTANCE_DIR=str(app.config["INSTANCE_DIR"]),
               DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], MEDIA_ROOT=str(app.config["MEDIA_ROOT"]),
               SECRET_KEY=app.config["SECRET_KEY"], WEBHOOK_BASE_URL=webhook_base_url)
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(3)  # let it import and start listening, outside the measured time
    return worker


def create_task(project, photos):
    """A task with its images, queued as the API queues it; its id."""
    task = Task(project_id=project.id, name="bench", status=TaskStatus.QUEUED, images_count=len(photos),
                options=[{"name": "resize-to", "value": 640}])
    db.session.add(task)
    db.session.commit()
    folder = storage.images_dir(project.id, task.id)
    folder.mkdir(parents=True)
    for name, data in photos:
        (folder / name).write_bytes(data)
    queue.enqueue(queue.TASK_TICK, task.id, job_id=f"task-{task.id}")
    return task.id


def wait_completed(task_id, timeout=60):
    """Poll the database every few ms until the task is COMPLETED; the time it was seen so."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        db.session.expire_all()
        task = db.session.get(Task, task_id)
        status = task.status
        db.session.commit()
        if status == TaskStatus.COMPLETED:
            return time.time()
        if status == TaskStatus.FAILED:
            raise SystemExit(f"task {task_id} failed: {task.last_error}")
        time.sleep(0.005)
    raise SystemExit(f"task {task_id} did not complete in {timeout} s")


def run(app, project, fake, photos, count, webhook_base_url, label):
    """Process count tasks one after the other through a fresh worker; print the figures of this variant."""
    worker = start_worker(app, webhook_base_url)
    try:
        totals, after_node, requests = [], [], []
        for _ in range(count):
            before = len(fake.requests)
            created = time.time()
            task_id = create_task(project, photos)
            done = wait_completed(task_id)
            db.session.expire_all()
            node_task = fake.tasks[db.session.get(Task, task_id).uuid]
            db.session.commit()
            totals.append(done - created)
            after_node.append(done - node_task.ended_at)
            requests.append(len(fake.requests) - before)
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    figure(f"{label}_creation_to_completed_median", statistics.median(totals), "s")
    figure(f"{label}_node_finished_to_completed_median", statistics.median(after_node) * 1000, "ms")
    figure(f"{label}_node_finished_to_completed_max", max(after_node) * 1000, "ms")
    figure(f"{label}_node_requests_per_task", statistics.mean(requests), "requests")


def main():
    """Set up Redis, a database, the fake node and the web app (for webhooks), then measure both variants."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 tasks per variant instead of 10")
    parser.add_argument("--tasks", type=int, help="tasks per variant")
    args = parser.parse_args()
    count = args.tasks or (3 if args.quick else 10)

    with tempfile.TemporaryDirectory() as temp:
        temp = Path(temp)
        redis_port = free_port()
        redis_process = start_embedded_redis(temp / "redis", redis_port)
        fake = None
        try:
            app = create_app(TestConfig(temp / "instance", redis_url=f"redis://127.0.0.1:{redis_port}/0"))
            fake = FakeNode(make_results_zip(temp / "zip", size=256), process_seconds=NODE_SECONDS).start()
            web = make_server("127.0.0.1", 0, app, threaded=True)
            threading.Thread(target=web.serve_forever, daemon=True).start()
            with app.app_context():
                db.create_all()
                user = User(username="bench", password_hash="-")
                db.session.add(user)
                db.session.commit()
                project = Project(owner_id=user.id, name="bench")
                db.session.add(project)
                db.session.commit()
                nodes.add_node("127.0.0.1", fake.port)
                photos = [(f"IMG_{n}.JPG", os.urandom(200_000)) for n in range(4)]
                figure("results_zip_size", len(fake.results_zip) / 1024, "KB")
                run(app, project, fake, photos, count, f"http://127.0.0.1:{web.server_port}", "webhook")
                run(app, project, fake, photos, count, "", "polling")
            web.shutdown()
        finally:
            if fake is not None:
                fake.stop()
            redis_process.terminate()
            redis_process.wait(timeout=10)


if __name__ == "__main__":
    main()
