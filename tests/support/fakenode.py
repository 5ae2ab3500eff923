"""A small real HTTP server speaking enough of the NodeODM API to process nothing, and misbehaving on demand.

Tests and benchmarks use it to put the pipeline against a node that refuses connections for a while, answers
HTTP 500, loses its tasks, stalls a download, or serves a corrupt zip. A committed task "processes" for
process_seconds (None: until finish() is called), then serves the prepared results zip.
"""
import json
import threading
import time
import uuid as uuidlib

import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

QUEUED, RUNNING, FAILED, COMPLETED, CANCELED = 10, 20, 30, 40, 50
OPTIONS = [{"name": "fast-orthophoto", "type": "bool", "value": "false", "domain": "bool", "help": "Fast."},
           {"name": "resize-to", "type": "int", "value": "2048", "domain": "integer", "help": "Resize."}]


class FakeTask:
    """A task as the fake node keeps it."""

    def __init__(self, uuid, name, options, webhook):
        self.uuid, self.name, self.options, self.webhook = uuid, name, options, webhook
        self.images = {}
        self.committed = False
        self.status = QUEUED
        self.error = ""
        self.progress = 0.0
        self.output = []
        self.created = time.time()
        self.ended_at = None  # time.time() when it ended

    def info(self, with_output=None):
        """The /task/{uuid}/info answer."""
        answer = {"uuid": self.uuid, "name": self.name, "dateCreated": int(self.created * 1000),
                  "processingTime": 1234 if self.status == COMPLETED else -1,
                  "status": {"code": self.status, **({"errorMessage": self.error} if self.error else {})},
                  "options": self.options, "imagesCount": len(self.images), "progress": self.progress}
        if with_output is not None:
            answer["output"] = self.output[max(int(with_output), 0):]
        return answer


class FakeNode:
    """The server; switch faults on with the attributes and methods below, from any thread."""

    def __init__(self, results_zip=b"", process_seconds=0.0, upload_delay=0.0, download_chunk_delay=0.0):
        self.results_zip = results_zip  # bytes served as all.zip
        self.process_seconds = process_seconds  # None: tasks run until finish()
        self.upload_delay = upload_delay  # seconds spent on each uploaded image
        self.download_chunk_delay = download_chunk_delay  # seconds between 64 KB blocks of all.zip
        self.fail_with_500 = 0  # answer HTTP 500 to this many next requests (-1: to all)
        self.stall_downloads = 0  # this many next downloads send half the zip, then stall
        self.stall_seconds = 5.0
        self.corrupt_zip = False
        self.fail_processing = ""  # a non-empty message: tasks fail with it instead of completing
        self.tasks = {}
        self.requests = []  # (method, path, range header) of every request served
        self.lock = threading.RLock()
        self.port = 0
        self.server = None
        self._thread = None

    # --- running ------------------------------------------------------------------------------------------

    def start(self):
        """Listen (on a free port the first time, on the same port afterwards)."""
        self.server = make_server("127.0.0.1", self.port, self._wsgi, threaded=True)
        self.port = self.server.server_port
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stop listening: connections are refused until start()."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self._thread.join(timeout=10)
            self.server = None

    def refuse_for(self, seconds):
        """Refuse connections for a while, then listen again on the same port."""
        self.stop()
        threading.Timer(seconds, self.start).start()

    @property
    def url(self):
        """The node's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def count(self, path_part, method=None):
        """How many requests had path_part in their path (and this method)."""
        with self.lock:
            return sum(1 for m, p, _ in self.requests if path_part in p and (method is None or m == method))

    # --- test controls --------------------------------------------------------------------------------------

    def committed_tasks(self):
        """The tasks that finished their upload."""
        with self.lock:
            return [t for t in self.tasks.values() if t.committed]

    def lose_tasks(self):
        """Forget every task, as a node whose data was lost."""
        with self.lock:
            self.tasks.clear()

    def finish(self, uuid=None, status=COMPLETED):
        """End a running task (or every one) now."""
        with self.lock:
            for task in list(self.tasks.values()):
                if task.committed and task.status in (QUEUED, RUNNING) and uuid in (None, task.uuid):
                    self._end(task, status)

    def _end(self, task, status):
        """Give a task its final status and call its webhook."""
        task.status, task.ended_at = status, time.time()
        if status == FAILED:
            task.error = self.fail_processing or "Fake failure"
        if status == COMPLETED:
            task.progress = 100.0
        task.output.append(f"ended with status {status}")
        if task.webhook:
            info = task.info()
            threading.Thread(target=_post_quietly, args=(task.webhook, info), daemon=True).start()

    def _start_processing(self, task):
        """Commit: run, then end after process_seconds."""
        task.committed = True
        task.status = RUNNING
        task.output += ["starting", f"{len(task.images)} images"]
        if self.process_seconds is None:
            return
        outcome = FAILED if self.fail_processing else COMPLETED
        if self.process_seconds == 0:
            self._end(task, outcome)
        else:
            threading.Timer(self.process_seconds, self._end_if_running, args=(task, outcome)).start()

    def _end_if_running(self, task, outcome):
        """End a task when its processing time is up, unless it was canceled, removed or ended meanwhile."""
        with self.lock:
            if task.status == RUNNING and self.tasks.get(task.uuid) is task:
                self._end(task, outcome)

    # --- the API ----------------------------------------------------------------------------------------------

    @Request.application
    def _wsgi(self, request):
        """Serve one request: record it, apply the faults switched on, then answer as NodeODM would."""
        with self.lock:
            self.requests.append((request.method, request.path, request.headers.get("Range")))
            if self.fail_with_500:
                self.fail_with_500 -= 1 if self.fail_with_500 > 0 else 0
                return Response("Internal Server Error", status=500)
        try:
            return self._route(request)
        except KeyError:
            return _json({"error": "Invalid uuid (not found)"})

    def _route(self, request):
        """Dispatch a request to its endpoint."""
        path, method = request.path.strip("/").split("/"), request.method
        if path == ["info"]:
            return _json({"version": "2.2.1", "taskQueueCount": self._active(), "maxImages": None,
                          "engine": "fake", "engineVersion": "0.0.1", "totalMemory": 1, "availableMemory": 1,
                          "cpuCores": 1, "maxParallelTasks": 1})
        if path == ["options"]:
            return _json(OPTIONS)
        if path[:2] == ["task", "new"] and method == "POST":
            return self._new(request, path[2:])
        if path == ["task", "list"]:
            with self.lock:
                return _json([{"uuid": t.uuid} for t in self.tasks.values() if t.committed])
        if len(path) == 3 and path[0] == "task" and path[2] == "info":
            with self.lock:
                task = self._committed(path[1])
                return _json(task.info(request.args.get("with_output")))
        if len(path) == 4 and path[0] == "task" and path[2] == "download":
            return self._download(request, path[1])
        if len(path) == 2 and path[0] == "task" and method == "POST":
            return self._action(path[1], request)
        return _json({"error": "Not found"}, 404)

    def _active(self):
        """How many tasks are queued or running."""
        with self.lock:
            return sum(1 for t in self.tasks.values() if t.committed and t.status in (QUEUED, RUNNING))

    def _committed(self, uuid):
        """A committed task, or KeyError (answered as NodeODM's "Invalid uuid")."""
        task = self.tasks[uuid]
        if not task.committed:
            raise KeyError(uuid)
        return task

    def _new(self, request, rest):
        """/task/new/init, /task/new/upload/{uuid}, /task/new/commit/{uuid}."""
        if rest == ["init"]:
            uuid = request.headers.get("set-uuid") or str(uuidlib.uuid4())
            with self.lock:
                if uuid in self.tasks:
                    return _json({"error": f"A task with uuid {uuid} already exists."})
                self.tasks[uuid] = FakeTask(uuid, request.form.get("name"), json.loads(request.form["options"]),
                                            request.form.get("webhook"))
            return _json({"uuid": uuid})
        if rest[0] == "upload":
            files = request.files.getlist("images")
            time.sleep(self.upload_delay * len(files))
            with self.lock:
                task = self.tasks[rest[1]]
                if task.committed:
                    return _json({"error": "already committed"})
                for file in files:
                    task.images[file.filename] = len(file.read())
            return _json({"success": True})
        if rest[0] == "commit":
            with self.lock:
                task = self.tasks[rest[1]]
                self._start_processing(task)
            return _json({"uuid": task.uuid})
        return _json({"error": "Not found"}, 404)

    def _download(self, request, uuid):
        """all.zip: from a Range offset, with the stall and corruption faults."""
        with self.lock:
            task = self._committed(uuid)
            if task.status != COMPLETED:
                return _json({"error": "Asset not ready"})
            data = b"PK\x03\x04 this is not a zip" * 100 if self.corrupt_zip else self.results_zip
            stall = self.stall_downloads > 0
            self.stall_downloads -= 1 if stall else 0
        start = _range_start(request.headers.get("Range"))
        if start >= len(data) and start > 0:
            return Response(status=416, headers={"Content-Range": f"bytes */{len(data)}"})
        body = data[start:]
        headers = {"Content-Length": str(len(body)), "Accept-Ranges": "bytes"}
        status = 200
        if start:
            status, headers["Content-Range"] = 206, f"bytes {start}-{len(data) - 1}/{len(data)}"
        return Response(self._stream(body, stall), status=status, headers=headers, mimetype="application/zip",
                        direct_passthrough=True)

    def _stream(self, body, stall):
        """The body in 64 KB blocks; a stalled one sends half and then waits past the client's timeout."""
        block = 64 * 1024
        for offset in range(0, len(body), block):
            if stall and offset >= len(body) // 2:
                time.sleep(self.stall_seconds)
                return
            if self.download_chunk_delay:
                time.sleep(self.download_chunk_delay)
            yield body[offset:offset + block]

    def _action(self, name, request):
        """/task/cancel, /task/remove, /task/restart."""
        uuid = request.form.get("uuid")
        with self.lock:
            task = self.tasks.get(uuid)
            if task is None or not task.committed:
                return _json({"success": False, "error": "Invalid uuid (not found)"})
            if name == "cancel":
                if task.status in (FAILED, COMPLETED):
                    return _json({"success": False, "error": "already ended"})
                task.status = CANCELED
            elif name == "remove":
                del self.tasks[uuid]
            elif name == "restart":
                if task.status in (QUEUED, RUNNING):
                    return _json({"success": False, "error": "only ended tasks can be restarted"})
                if request.form.get("options"):
                    task.options = json.loads(request.form["options"])
                task.output, task.progress, task.error = [], 0.0, ""
                self._start_processing(task)
            else:
                return _json({"error": "Not found"}, 404)
        return _json({"success": True})


def _json(data, status=200):
    """A JSON response."""
    return Response(json.dumps(data), status=status, mimetype="application/json")


def _range_start(header):
    """The first byte of a `bytes=N-` Range header (0 without one)."""
    if header and header.startswith("bytes=") and header[6:].split("-")[0].isdigit():
        return int(header[6:].split("-")[0])
    return 0


def _post_quietly(url, info):
    """Call a webhook, ignoring failures (as a node does)."""
    try:
        requests.post(url, json=info, timeout=5)
    except requests.RequestException:
        pass


def make_results_zip(folder, size=64):
    """A small all.zip as a node makes it: an orthophoto and a DSM (plain GeoTIFFs in UTM), cameras.json and the
    console text; its bytes."""
    import io
    import zipfile
    from pathlib import Path

    import numpy
    import rasterio
    from affine import Affine

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    transform = Affine(0.5, 0, 576637.0, 0, -0.5, 5188218.0)  # 0.5 m pixels in UTM 15N
    ortho, dsm = folder / "odm_orthophoto.tif", folder / "dsm.tif"
    pixels = numpy.random.default_rng(1).integers(0, 255, (4, size, size), dtype=numpy.uint8)
    with rasterio.open(ortho, "w", driver="GTiff", width=size, height=size, count=4, dtype="uint8",
                       crs="EPSG:32615", transform=transform) as dst:
        dst.write(pixels)
    with rasterio.open(dsm, "w", driver="GTiff", width=size, height=size, count=1, dtype="float32",
                       crs="EPSG:32615", transform=transform, nodata=-9999) as dst:
        dst.write(numpy.full((1, size, size), 12.5, dtype=numpy.float32))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(ortho, "odm_orthophoto/odm_orthophoto.tif")
        archive.write(dsm, "odm_dem/dsm.tif")
        archive.writestr("cameras.json", json.dumps({"fake": {"width": 640}}))
        archive.writestr("task_output.txt", "starting\nended\n")
    return buffer.getvalue()
