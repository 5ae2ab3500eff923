"""Small helpers of the fault tests: options, waiting on the database, chunked uploads."""
import json
import time

import requests

# Few small images and the fast path: the tests are about faults, not about the results' quality. The feature
# count stays at its default: with 1000 features, 8 photos at 640 px gave about 100 points and a shaky model.
FULL = json.dumps([{"name": "resize-to", "value": 640}, {"name": "fast-orthophoto", "value": True}])
QUICK = json.dumps([{"name": "resize-to", "value": 640}, {"name": "end-with", "value": "dataset"}])
COMPLETED, FAILED, RUNNING = 40, 30, 20


def wait_row(stack, task_id, until, timeout=60, what="the condition", interval=0.02):
    """Poll the task's row in the database until until(row) holds; the row."""
    deadline = time.monotonic() + timeout
    while True:
        rows = stack.rows("SELECT * FROM task WHERE id = :id", id=task_id)
        if rows and until(rows[0]):
            return rows[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}; row {rows}\n"
                                 + stack.recent_logs())
        time.sleep(interval)


def chunks_of(path, size):
    """The chunked-upload requests of one file: [(form fields, bytes)] in order."""
    data = path.read_bytes()
    count = max(1, -(-len(data) // size))
    uid = f"{path.stem}-{len(data)}"
    return [({"dzuuid": uid, "dzchunkindex": index, "dztotalchunkcount": count, "dzchunkbyteoffset": index * size,
              "dztotalfilesize": len(data)}, data[index * size:(index + 1) * size]) for index in range(count)]


def send_chunk(session, url, name, fields, block, retry_for=0.0):
    """POST one chunk to a task's upload/ URL, retrying on connection errors for retry_for seconds; the response."""
    deadline = time.monotonic() + retry_for
    while True:
        try:
            return session.post(url, data=fields, files={"images": (name, block, "image/jpeg")}, timeout=30)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
