"""A real job through a real worker process on a real Redis: the reconciler refreshes a processing node."""
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rq import Queue

from tests.support.factories import add_node
from webapp import queue
from webapp.config import ROOT
from webapp.extensions import db
from webapp.models import ProcessingNode

pytestmark = pytest.mark.slow  # real `flask worker` processes

NODE_INFO = {"version": "2.2.1", "taskQueueCount": 3, "maxImages": 500, "engine": "test-engine",
             "engineVersion": "9.9", "totalMemory": 1, "availableMemory": 1, "cpuCores": 2, "maxParallelTasks": 1}
NODE_OPTIONS = [{"name": "dsm", "type": "bool", "value": "false", "domain": "bool", "help": "Make a DSM."}]


class InfoHandler(BaseHTTPRequestHandler):
    """Answers /info and /options as a NodeODM server would."""

    def do_GET(self):
        """Serve the canned node answers."""
        body = {"/info": NODE_INFO, "/options": NODE_OPTIONS}.get(self.path.split("?")[0])
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(body or {"error": "not found"}).encode())

    def log_message(self, *args):
        """Keep test output quiet."""


@pytest.fixture
def info_server():
    """A small real HTTP server speaking /info and /options."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), InfoHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_port
    server.shutdown()
    server.server_close()


def run_worker_until_empty(app):
    """Run `flask worker --burst` as a separate process against the test's database and Redis."""
    env = dict(os.environ, REDIS_URL=app.config["REDIS_URL"], INSTANCE_DIR=str(app.config["INSTANCE_DIR"]),
               DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], MEDIA_ROOT=str(app.config["MEDIA_ROOT"]),
               SECRET_KEY="test-secret")
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", "worker", "--burst"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_reconciler_job_refreshes_a_node_through_a_real_worker(app, info_server):
    node = add_node(hostname="127.0.0.1", port=info_server)
    queue.enqueue(queue.RECONCILE, job_id="reconcile")
    result = run_worker_until_empty(app)
    assert result.returncode == 0, result.stderr
    db.session.expire_all()
    node = db.session.get(ProcessingNode, node.id)
    assert node.last_refreshed is not None
    assert (node.engine, node.engine_version, node.queue_count, node.max_images) == ("test-engine", "9.9", 3, 500)
    assert node.available_options == NODE_OPTIONS
    assert Queue(app.config["RQ_QUEUE"], connection=queue.redis_connection()).count == 0


def test_enqueue_with_the_same_job_id_queues_once(app):
    first = queue.enqueue(queue.RECONCILE, job_id="reconcile")
    second = queue.enqueue(queue.RECONCILE, job_id="reconcile")
    assert first.id == second.id
    assert Queue(app.config["RQ_QUEUE"], connection=queue.redis_connection()).count == 1


def test_enqueue_without_redis_loses_nothing_but_the_trigger(app):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    app.extensions.pop("aerie_redis", None)
    assert queue.enqueue(queue.RECONCILE) is None
