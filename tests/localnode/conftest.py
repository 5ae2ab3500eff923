"""Fixtures of the node server's tests: live nodes, photos, and a small real webhook receiver."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support.livenode import LiveNode
from tests.support.datasets import dataset_images

# Options that make the real engine stop after its first stage: a task completes in a second or two.
QUICK = {"end-with": "dataset"}


@pytest.fixture(scope="module")
def live_node(tmp_path_factory):
    """A node shared by a test module, on its own data folder (inside a folder of its own, so that tests can
    check that nothing was written beside the data folder either)."""
    node = LiveNode(tmp_path_factory.mktemp("node") / "data")
    yield node
    node.stop()


@pytest.fixture(scope="session")
def photos():
    """All the photos of the brighton_beach dataset (18): a full run takes tens of seconds."""
    return [str(path) for path in dataset_images("brighton_beach")]


@pytest.fixture(scope="session")
def few_photos(photos):
    """Three photos: enough for a quick task."""
    return photos[:3]


class WebhookReceiver:
    """A real HTTP server that records the JSON bodies POSTed to it."""

    def __init__(self):
        """Serve on a free port in a thread."""
        self.received = []
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                """Record the body and answer 200."""
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.arrived:
                    receiver.received.append(json.loads(body))
                    receiver.arrived.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                """Stay quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, uuid, timeout=10):
        """The first body received for a task, waiting for it up to timeout seconds."""
        with self.arrived:
            self.arrived.wait_for(lambda: any(body["uuid"] == uuid for body in self.received), timeout)
        bodies = [body for body in self.received if body["uuid"] == uuid]
        assert bodies, f"no webhook call for task {uuid}"
        return bodies[0]


@pytest.fixture(scope="module")
def webhook():
    """A webhook receiver for a test module."""
    receiver = WebhookReceiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()
