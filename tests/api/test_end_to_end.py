"""The client workflow of WebODM's API documentation, with plain `requests` against a live server: token,
project, task with images, poll until completed, download. A real worker and a real built-in node do the work."""
import io
import os
import signal
import subprocess
import sys
import time
import zipfile

import pytest
import requests

from tests.support.livenode import LiveNode
from tests.support.datasets import dataset_images

from webapp.config import ROOT
from webapp.services import accounts

pytestmark = pytest.mark.slow  # runs tasks through the engine on a real node

# Small, so that a real run of the whole engine on a few photos takes seconds, not minutes.
OPTIONS = '[{"name": "resize-to", "value": 640}]'
POLL_SECONDS = 300


def background_process(app, *command):
    """A `flask <command>` process on the test's database, media folder and Redis."""
    env = dict(os.environ, REDIS_URL=app.config["REDIS_URL"], INSTANCE_DIR=str(app.config["INSTANCE_DIR"]),
               DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], MEDIA_ROOT=str(app.config["MEDIA_ROOT"]),
               SECRET_KEY=app.config["SECRET_KEY"], SCHEDULER_INTERVAL="1")
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", *command], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)


def stop(process):
    """Stop a process this test started, and its children; its error output."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        _, errors = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        _, errors = process.communicate()
    return errors


@pytest.fixture
def background(app, live_server, tmp_path):
    """A real processing node, worker and scheduler behind the live server."""
    if not (ROOT / "jobs" / "tasks.py").exists():
        pytest.fail("jobs/tasks.py (the processing pipeline) is missing")
    node = LiveNode(tmp_path / "node")
    processes = [background_process(app, "worker"), background_process(app, "scheduler")]
    yield node
    for process in processes:
        stop(process)
    node.stop()


def test_the_documented_client_workflow(app, live_server, background):
    photos = dataset_images("brighton_beach")[:8]
    accounts.create_user("pilot", "pilot-password")
    accounts.create_user("root", "root-password", is_admin=True)

    def token_of(username, password):
        """POST /api/token-auth/ as the documentation shows."""
        answer = requests.post(f"{live_server}/api/token-auth/", data={"username": username, "password": password})
        assert answer.status_code == 200, answer.text
        return answer.json()["token"]

    admin_headers = {"Authorization": f"JWT {token_of('root', 'root-password')}"}
    node = requests.post(f"{live_server}/api/processingnodes/", headers=admin_headers,
                         data={"hostname": "127.0.0.1", "port": background.port})
    assert node.status_code == 201 and node.json()["online"] is True

    headers = {"Authorization": f"JWT {token_of('pilot', 'pilot-password')}"}
    project = requests.post(f"{live_server}/api/projects/", headers=headers, data={"name": "Brighton"})
    assert project.status_code == 201
    project_id = project.json()["id"]

    files = [("images", (path.name, open(path, "rb"), "image/jpg")) for path in photos]
    try:
        created = requests.post(f"{live_server}/api/projects/{project_id}/tasks/", headers=headers, files=files,
                                data={"options": OPTIONS})
    finally:
        for _, (_, handle, _) in files:
            handle.close()
    assert created.status_code == 201, created.text
    task_url = f"{live_server}/api/projects/{project_id}/tasks/{created.json()['id']}/"

    deadline = time.monotonic() + POLL_SECONDS
    while True:
        task = requests.get(task_url, headers=headers).json()
        if task["status"] == 40:
            break
        assert task["status"] != 30, f"the task failed: {task['last_error']}"
        assert time.monotonic() < deadline, f"not completed after {POLL_SECONDS} s: {task}"
        time.sleep(1)

    assert task["uuid"] and task["images_count"] == len(photos) and "orthophoto.tif" in task["available_assets"]
    console = requests.get(f"{task_url}output/?f=json", headers=headers).json()
    assert console["count"] > 0
    orthophoto = requests.get(f"{task_url}download/orthophoto.tif", headers=headers)
    assert orthophoto.status_code == 200 and orthophoto.content[:4] in (b"II*\0", b"MM\0*")
    everything = requests.get(f"{task_url}download/all.zip", headers=headers, stream=True)
    assert everything.status_code == 200 and everything.headers["Content-Type"] == "application/zip"
    assert int(everything.headers["Content-Length"]) == len(everything.content)
    with zipfile.ZipFile(io.BytesIO(everything.content)) as archive:  # the engine's quality report, where ODM puts it
        assert archive.read("odm_report/report.pdf").startswith(b"%PDF-")
    assert "report.pdf" in task["available_assets"]
    report = requests.get(f"{task_url}download/report.pdf", headers=headers)
    assert report.status_code == 200 and report.content.startswith(b"%PDF-")
