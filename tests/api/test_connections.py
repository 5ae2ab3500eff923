"""HTTP that keeps its word, through the real gunicorn as `make run` starts it: a refused upload, or a client
waiting between polls, never leaves a requests.Session with a connection the server has dropped."""
import logging
import os
import subprocess
import sys
import time

import pytest
import requests

from tests.support.web import auth
from tests.support.web import free_port
from webapp.config import ROOT
from webapp.connections import DRAIN_LIMIT
from webapp.extensions import db
from webapp.launcher import GUNICORN_CONFIG
from webapp.models import Task

pytestmark = pytest.mark.slow  # starts a real gunicorn for each test

MAX_UPLOAD = DRAIN_LIMIT + 4 * 1024 * 1024  # MAX_UPLOAD_BYTES of the served app: a bigger body is refused (413)


@pytest.fixture
def served(app, users, project, tmp_path):
    """The test app's database served by gunicorn with the launcher's configuration; yields its base URL."""
    task = Task(project_id=project.id, name="partial", partial=True)
    db.session.add(task)
    db.session.commit()
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "MEDIA_ROOT")}
    env.update(INSTANCE_DIR=str(app.config["INSTANCE_DIR"]), REDIS_URL=app.config["REDIS_URL"],
               SECRET_KEY=app.config["SECRET_KEY"], MAX_UPLOAD_BYTES=str(MAX_UPLOAD), PYTHONWARNINGS="ignore")
    log = open(tmp_path / "gunicorn.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                               "--threads", "4", "--no-control-socket", "--config", GUNICORN_CONFIG, "app:app"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    _wait_until_serving(base, server, tmp_path / "gunicorn.log")
    yield {"base": base, "project": project.id, "task": task.id, "stranger": auth(users["stranger"]),
           "owner": auth(users["owner"])}
    server.terminate()
    server.wait(timeout=30)
    log.close()


def _wait_until_serving(base, server, log_path, seconds=60):
    """Wait until gunicorn answers; fail with its log if it exits or takes too long."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, log_path.read_text()
        try:
            requests.get(f"{base}/api/", timeout=10)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise AssertionError(f"gunicorn did not answer:\n{log_path.read_text()}")


def connections_opened(caplog):
    """How many connections requests (urllib3) opened: new ones, and ones reopened because they were dropped."""
    messages = [record.getMessage() for record in caplog.records if record.name == "urllib3.connectionpool"]
    return sum(message.startswith(("Starting new HTTP connection", "Resetting dropped connection"))
               for message in messages)


def test_refused_uploads_leave_the_session_usable(served, caplog):
    """404, 403 and 413 answered before the body is read: the next request on the same session is served.

    A 3 MB body (more than gunicorn drains on its own) is drained and the connection kept; a body too big to
    drain closes the connection, and the answer says so.
    """
    base, stranger = served["base"], served["stranger"]
    tasks = f"{base}/api/projects/{served['project']}/tasks"
    medium, huge = b"\xff" * (3 * 1024 * 1024), b"\xff" * (MAX_UPLOAD + 1024)
    refusals = [  # (headers, url, files, body, expected status, expected Connection header)
        (stranger, f"{tasks}/", "images", medium, 404, "keep-alive"),
        (stranger, f"{tasks}/{served['task']}/upload/", "images", medium, 404, "keep-alive"),
        (stranger, f"{tasks}/import/", "file", medium, 404, "keep-alive"),
        ({}, f"{tasks}/", "images", medium, 403, "keep-alive"),
        (served["owner"], f"{tasks}/", "images", huge, 413, "close"),
        (stranger, f"{tasks}/", "images", DRAIN_LIMIT * b"\xff", 404, "close"),
    ]
    caplog.set_level(logging.DEBUG, logger="urllib3.connectionpool")
    session = requests.Session()
    for headers, url, field, body, status, connection in refusals * 2:
        refused = session.post(url, headers=headers, files=[(field, ("a.jpg", body, "image/jpeg"))], timeout=60)
        assert (refused.status_code, refused.headers["Connection"]) == (status, connection), url
        assert session.get(f"{base}/api/projects/", headers=stranger, timeout=10).status_code == 200
    assert connections_opened(caplog) == 1 + 2 * 2  # one, plus a new one after each closing answer


def test_a_polling_client_keeps_its_connection(served, caplog):
    """A client polling every 2.5 s (gunicorn's default keep-alive is 2 s) reuses one connection throughout."""
    base, stranger = served["base"], served["stranger"]
    caplog.set_level(logging.DEBUG, logger="urllib3.connectionpool")
    session = requests.Session()
    for _ in range(3):
        assert session.get(f"{base}/api/projects/", headers=stranger, timeout=10).status_code == 200
        time.sleep(2.5)
    assert session.get(f"{base}/api/projects/", headers=stranger, timeout=10).status_code == 200
    assert connections_opened(caplog) == 1
