"""Fixtures of the pipeline job tests: real worker and scheduler processes, a live localnode, tasks with images."""
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy.orm.exc import ObjectDeletedError

from webapp.config import ROOT
from webapp.extensions import db
from webapp.models import Task, TaskStatus
from tests.support.factories import FAKE_JPEG, add_project, queued_task
from tests.support.fakenode import FakeNode, make_results_zip


@pytest.fixture
def project(app):
    """A project of a new user."""
    return add_project()


def make_task(project, images, node=None, options=None, **fields):
    """A queued task with copies of the given image files, as the API creates it (the caller queues its tick); its id."""
    return queued_task(project, node, images=images, name="Field", options=options or [], **fields).id


def reload(task_id):
    """The task as the database has it now (None once removed)."""
    db.session.expire_all()
    task = db.session.get(Task, task_id)
    db.session.commit()
    return task


def wait_for(task_id, until, timeout=60, what="the condition"):
    """Poll the database until until(task) holds; the task."""
    deadline = time.monotonic() + timeout
    while True:
        task = reload(task_id)
        try:
            if until(task):
                return task
            failed = task is not None and task.status == TaskStatus.FAILED
        except ObjectDeletedError:
            continue  # the row went between the reload and the check (reading expires it): the next reload says None
        if time.monotonic() > deadline or failed:
            state = task and (task.status, task.last_error, task.pending_action, task.uuid)
            raise AssertionError(f"timed out waiting for {what}; task is {state}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def results_zip(tmp_path_factory):
    """A results zip of about half a megabyte."""
    return make_results_zip(tmp_path_factory.mktemp("results"), size=256)


@pytest.fixture
def fake_images(tmp_path):
    """Six small files for a fake node (which does not read them)."""
    paths = []
    for number in range(6):
        path = tmp_path / "photos" / f"IMG_{number}.JPG"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(FAKE_JPEG)
        paths.append(path)
    return paths


@pytest.fixture
def processes(app, tmp_path):
    """Start `flask worker` / `flask scheduler` processes on the test's database, media and Redis; killed at the end.

    start(command, **env) -> Popen; the settings make a dead worker's lock free after 2 s and reconcile every 0.5 s.
    """
    started = []

    def start(command, **env):
        settings = dict(os.environ, REDIS_URL=app.config["REDIS_URL"], INSTANCE_DIR=str(app.config["INSTANCE_DIR"]),
                        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], MEDIA_ROOT=str(app.config["MEDIA_ROOT"]),
                        SECRET_KEY=app.config["SECRET_KEY"], TASK_LOCK_SECONDS="2", SCHEDULER_INTERVAL="0.5",
                        NODE_TIMEOUT_SECONDS="5")
        settings.update({key: str(value) for key, value in env.items()})
        with open(tmp_path / f"{command}-{len(started)}.log", "w") as log:  # the child keeps its own copy
            process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", command], cwd=ROOT,
                                       env=settings, stdout=log, stderr=subprocess.STDOUT)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    for log in sorted(tmp_path.glob("*.log")):  # shown by pytest when the test failed
        print(f"--- {log.name}\n{log.read_text()[-3000:]}")


def kill(process):
    """Kill a process at once, as a crash or an out-of-memory kill would."""
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


@pytest.fixture
def fake_node(results_zip):
    """A factory of fake nodes, stopped at the end."""
    made = []

    def make(**settings):
        node = FakeNode(results_zip, **settings).start()
        made.append(node)
        return node
    yield make
    for node in made:
        node.stop()


@pytest.fixture(scope="module")
def localnode(tmp_path_factory):
    """The built-in node (`python -m localnode`) on a free port with its own data folder; its port."""
    data = tmp_path_factory.mktemp("localnode")
    log_path = data / "node.log"
    with open(log_path, "w") as log:  # the child keeps its own copy
        process = subprocess.Popen([sys.executable, "-m", "localnode", "--port", "0", "--data", str(data / "data")],
                                   cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    port = None
    while port is None and time.monotonic() < deadline and process.poll() is None:
        match = re.search(r"localnode listening on http://127\.0\.0\.1:(\d+)", log_path.read_text())
        port = int(match.group(1)) if match else time.sleep(0.1)
    if port is None:
        process.kill()
        pytest.fail(f"localnode did not start: {log_path.read_text()[-2000:]}")
    yield port
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
