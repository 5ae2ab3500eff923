"""A short burst of concurrent writers and readers against the real HTTP server on SQLite: no request may answer
5xx (issue 19: under load the default database answered 500 "database is locked").

Writers create projects and tasks, upload photos in chunks, commit, rename and delete; readers poll as open
dashboards do. Each client is a thread with its own `requests` session (its own connection), as browsers are.
Meanwhile one slow reader keeps a read transaction open on the database file for longer than SQLite's default
busy timeout, as a reader starved of CPU on a loaded machine (or a backup) does: in SQLite's default journal the
writers could not commit until it ended, and failed.
"""
import sqlite3
import threading
import time
import uuid
from collections import Counter

import pytest
import requests

from tests.support.images import jpeg_bytes
from tests.support.web import auth

pytestmark = pytest.mark.slow  # twenty client threads against a real server for seconds

BURST_SECONDS = 8
WRITERS, READERS = 12, 8
CHUNK_BYTES = 4096
SLOW_READ_SECONDS = 6  # longer than the 5 s Python's sqlite3 waits on a lock by default


class Burst:
    """What the clients saw: answers by status, and the 5xx and connection failures in detail."""

    def __init__(self, base, headers):
        self.base, self.headers = base, headers
        self.stop = threading.Event()
        self.statuses = Counter()
        self.failures = []
        self.lock = threading.Lock()

    def call(self, session, method, path, expected=(200,), **kwargs):
        """One request; any other status than expected, or a failed connection, is recorded as a failure."""
        try:
            response = session.request(method, self.base + path, headers=self.headers, timeout=60, **kwargs)
        except requests.RequestException as error:
            with self.lock:
                self.failures.append(f"{method} {path}: {type(error).__name__}: {error}")
            return None
        with self.lock:
            self.statuses[response.status_code] += 1
            if response.status_code not in expected:
                self.failures.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
        return response

    def run(self, clients, during=lambda: None):
        """Run each client in a thread for BURST_SECONDS, and during() in this one meanwhile."""
        threads = [threading.Thread(target=self._client, args=(client, number)) for number, client in enumerate(clients)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        during()
        time.sleep(max(0.0, BURST_SECONDS - (time.monotonic() - started)))
        self.stop.set()
        for thread in threads:
            thread.join(timeout=120)

    def _client(self, client, number):
        """Loop one client until the burst ends."""
        with requests.Session() as session:
            while not self.stop.is_set():
                client(self, session, number)


def upload_chunked(burst, session, task_url, name, data):
    """Send one photo in chunks, as the web page does."""
    count, upload_id = -(-len(data) // CHUNK_BYTES), uuid.uuid4().hex
    for index in range(count):
        fields = {"dzuuid": upload_id, "dzchunkindex": index, "dztotalchunkcount": count,
                  "dzchunkbyteoffset": index * CHUNK_BYTES, "dztotalfilesize": len(data)}
        block = data[index * CHUNK_BYTES:(index + 1) * CHUNK_BYTES]
        burst.call(session, "POST", f"{task_url}upload/", data=fields, files={"images": (name, block, "image/jpeg")})


def writer(burst, session, number):
    """A project, a task uploaded in chunks and committed, a rename; then both deleted."""
    project = burst.call(session, "POST", "/api/projects/", (201,), data={"name": f"Burst {number}"})
    if project is None or project.status_code != 201:
        return
    project_url = f"/api/projects/{project.json()['id']}/"
    task = burst.call(session, "POST", f"{project_url}tasks/", (201,), data={"partial": "true", "name": "Flight"})
    if task is not None and task.status_code == 201:
        task_url = f"{project_url}tasks/{task.json()['id']}/"
        for photo in range(2):
            upload_chunked(burst, session, task_url, f"IMG_{photo}.JPG", PHOTOS[photo])
        burst.call(session, "POST", f"{task_url}commit/")
        burst.call(session, "PATCH", task_url, json={"name": "Flight, renamed"})
        burst.call(session, "DELETE", task_url, (204,))
    burst.call(session, "DELETE", project_url, (204,))


def reader(burst, session, number):
    """An open dashboard: the projects, each one's tasks, one task."""
    projects = burst.call(session, "GET", "/api/projects/")
    if projects is None or projects.status_code != 200:
        return
    for project in projects.json()[:3]:  # deleted meanwhile (404) is a right answer
        tasks = burst.call(session, "GET", f"/api/projects/{project['id']}/tasks/?ordering=-created_at", (200, 404))
        if tasks is not None and tasks.status_code == 200 and tasks.json():
            burst.call(session, "GET", f"/api/projects/{project['id']}/tasks/{tasks.json()[0]['id']}/", (200, 404))


def slow_reader(database_path, seconds):
    """Hold a read transaction open on the database for seconds (after a second of burst)."""
    time.sleep(1)
    connection = sqlite3.connect(database_path, isolation_level=None)
    connection.execute("BEGIN")
    connection.execute("SELECT count(*) FROM task").fetchall()
    time.sleep(seconds)
    connection.execute("COMMIT")
    connection.close()


PHOTOS = [jpeg_bytes(size=(400, 300), color=(40 * n, 120, 90)) for n in range(2)]


def test_concurrent_writers_and_readers_never_get_a_server_error(app, live_server, admin):
    burst = Burst(live_server, auth(admin))
    database = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    burst.run([writer] * WRITERS + [reader] * READERS, during=lambda: slow_reader(database, SLOW_READ_SECONDS))
    assert not burst.failures, f"{len(burst.failures)} failed requests, first ones: {burst.failures[:5]}"
    assert burst.statuses[201] > WRITERS and burst.statuses[200] > 100, burst.statuses  # the burst did happen
