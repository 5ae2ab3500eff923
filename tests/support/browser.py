"""Helpers of the browser tests of the task pages: logging in, dropping files, watching the chunk uploads."""
import re

from flask import jsonify, request

from playwright.sync_api import expect

SMALL_CHUNK = 256 * 1024  # photos of about 1 MB then travel in 4-5 chunks each


def log_in(page, base_url, username, password=None):
    """Log in through the login page (with the factories' password '<username>-password' unless given)."""
    page.goto(base_url + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password or f"{username}-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()


def drop_files(page, paths, target="#drop-zone"):
    """Drop files on an element, as a user dragging them from a file manager does (a `drop` with a DataTransfer).

    Waits for the page's script to mark the target ready: a module script attaches its handlers after the page
    shows, and a drop before that is lost.
    """
    page.wait_for_selector(f"{target}[data-ready]", state="attached")
    page.evaluate("""() => {
        const input = document.createElement("input");
        Object.assign(input, {type: "file", multiple: true, id: "test-drag-source", hidden: true});
        document.body.append(input);
    }""")
    page.set_input_files("#test-drag-source", [str(p) for p in paths])
    page.evaluate("""(target) => {
        const source = document.getElementById("test-drag-source");
        const transfer = new DataTransfer();
        for (const file of source.files) transfer.items.add(file);
        source.remove();
        const zone = document.querySelector(target);
        for (const type of ["dragenter", "dragover", "drop"]) {
            zone.dispatchEvent(new DragEvent(type, {dataTransfer: transfer, bubbles: true, cancelable: true}));
        }
    }""", target)


def use_small_chunks(page, retry_delay_ms=200):
    """Make the upload send small chunks and retry quickly, so that a few photos exercise many requests."""
    page.evaluate("([chunk, delay]) => Object.assign(document.getElementById('new-task-form').dataset, "
                  "{chunkSize: String(chunk), retryDelay: String(delay)})", [SMALL_CHUNK, retry_delay_ms])


UPLOAD_PATH = re.compile(r"^/api/projects/\d+/tasks/\d+/upload/?$")


class ChunkGate:
    """Watches the chunk uploads that reach the live server, and makes it refuse some (503) while told to.

    (The browser does not expose multipart bodies built from files, so the server side is where chunks are told
    apart.) Install it before the server's first request: Flask takes no new hooks after that.
    """

    def __init__(self, app):
        self.attempts = []  # (file name, chunk index, refused) in arrival order
        self.refuse = lambda name, index: False
        app.before_request(self._check)

    def _check(self):
        """Record a chunk upload, and answer 503 instead of the API when it is to be refused."""
        if request.method != "POST" or not UPLOAD_PATH.match(request.path) or "dzchunkindex" not in request.form:
            return None
        upload = request.files.get("images")
        chunk = (upload.filename if upload else "", int(request.form["dzchunkindex"]))
        refused = bool(self.refuse(*chunk))
        self.attempts.append(chunk + (refused,))
        if refused:
            return jsonify(detail="The server is busy (refused by the test)."), 503
        return None

    def taken(self, since=0):
        """The chunks the server was let to take, from attempt number `since` on."""
        return sorted((name, index) for name, index, refused in self.attempts[since:] if not refused)

    def sent(self, since=0):
        """Every chunk that reached the server (taken or refused), from attempt number `since` on."""
        return [(name, index) for name, index, _ in self.attempts[since:]]
