"""The NodeODM-API HTTP server (Flask): every endpoint of docs/NODEODM.md over a TaskQueue."""
import hmac
import json
import logging
import re
import uuid as uuidlib
from datetime import datetime, timezone
from pathlib import PurePosixPath

import psutil
from flask import Flask, jsonify, request, send_file
from werkzeug.exceptions import HTTPException

from localnode.engine.options import ENGINE_NAME, ENGINE_VERSION, OPTIONS
from localnode.queue import TaskError
from localnode.taskoptions import OptionsError, parse_options
from localnode.tasks import COMPLETED
from localnode.uploads import UploadError, fetch_zip, save_uploads

log = logging.getLogger(__name__)
# The NodeODM API version this node speaks; pyodm uses the chunked upload API from 1.4.0 on.
API_VERSION = "2.2.1"
CANONICAL_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
BAD_TOKEN = "Invalid authentication token: token does not match."
MAX_FORM_PARTS = 100_000  # werkzeug's default (1000) would refuse one request carrying hundreds of photos


class RequestError(ValueError):
    """A request field that cannot be used; str() is the message for the client."""


def create_app(queue, token=None, engine_version=ENGINE_VERSION):
    """The Flask app serving the NodeODM API for this queue; a non-empty token is required on every call.

    engine_version: as /info shows it, with the engine's GPU support (see localnode.__main__.probe_engine).
    """
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=None, MAX_FORM_PARTS=MAX_FORM_PARTS, JSON_SORT_KEYS=False)
    app.json.sort_keys = False
    app.extensions["localnode.queue"] = queue

    @app.before_request
    def check_token():
        """Refuse a request whose ?token= does not match the node's token."""
        if token and not hmac.compare_digest(request.args.get("token", ""), token):
            return jsonify(error=BAD_TOKEN)
        return None

    _register_errors(app)
    _register_node_views(app, queue, engine_version)
    _register_new_task_views(app, queue)
    _register_task_views(app, queue)
    _register_action_views(app, queue)
    return app


def _register_errors(app):
    """Every failure answers JSON {"error"}: NodeODM's shape, never an HTML page or a stack trace."""

    @app.errorhandler(TaskError)
    @app.errorhandler(OptionsError)
    @app.errorhandler(UploadError)
    @app.errorhandler(RequestError)
    def client_error(problem):
        """A request that cannot be served as asked: HTTP 200 with the reason, as NodeODM answers."""
        return jsonify(error=str(problem))

    @app.errorhandler(HTTPException)
    def http_error(problem):
        """Not found, method not allowed and the like, as JSON."""
        return jsonify(error=f"{problem.name}: {problem.description}"), problem.code

    @app.errorhandler(Exception)
    def internal_error(problem):
        """A bug: logged with its traceback, answered with a short message; the node keeps serving."""
        log.exception("unexpected error on %s %s", request.method, request.path)
        return jsonify(error=f"Internal error of the node: {type(problem).__name__}: {problem}"), 500


def _register_node_views(app, queue, engine_version):
    """/info and /options."""

    @app.get("/info")
    def info():
        """The node's version, load, memory and CPU."""
        memory = psutil.virtual_memory()
        return jsonify(version=API_VERSION, taskQueueCount=queue.active_count(), totalMemory=memory.total,
                       availableMemory=memory.available, cpuCores=psutil.cpu_count(), maxImages=None,
                       maxParallelTasks=queue.parallel, engineVersion=engine_version, engine=ENGINE_NAME)

    @app.get("/options")
    def options():
        """The engine's options, defaults as strings."""
        return jsonify(OPTIONS)


def _register_new_task_views(app, queue):
    """Task creation: in one request (/task/new) or chunked (init, upload..., commit)."""

    @app.post("/task/new")
    def new_task():
        """Create a task with its images (or a zipurl) in one request and queue it."""
        task = queue.create(**_new_task_fields())
        try:
            save_uploads(request.files.getlist("images"), task.images_dir)
            if request.form.get("zipurl"):
                fetch_zip(request.form["zipurl"], task.images_dir)
            queue.commit(task)
        except Exception:
            queue.discard(task)  # a refused new task leaves nothing behind
            raise
        return jsonify(uuid=task.uuid)

    @app.post("/task/new/init")
    def new_task_init():
        """Create a task that will receive its images by /task/new/upload."""
        return jsonify(uuid=queue.create(**_new_task_fields()).uuid)

    @app.post("/task/new/upload/<uuid>")
    def new_task_upload(uuid):
        """Add images to a task created by /task/new/init."""
        task = queue.get_uploading(uuid)
        files = request.files.getlist("images")
        if not files:
            return jsonify(error="Need at least 1 file.", noRetry=True)
        try:
            save_uploads(files, task.images_dir)
        except UploadError as problem:
            return jsonify(error=str(problem), noRetry=True)
        return jsonify(success=True)

    @app.post("/task/new/commit/<uuid>")
    def new_task_commit(uuid):
        """Queue a task whose images are all uploaded."""
        task = queue.get_uploading(uuid)
        queue.commit(task)
        return jsonify(uuid=task.uuid)


def _register_task_views(app, queue):
    """Reading tasks: list, info, output, download."""

    @app.get("/task/list")
    def task_list():
        """Every task's uuid, oldest first."""
        return jsonify([{"uuid": task.uuid} for task in queue.tasks()])

    @app.get("/task/<uuid>/info")
    def task_info(uuid):
        """One task's info, with its console lines from with_output when asked."""
        return jsonify(queue.get(uuid).info(with_output=_int_arg("with_output")))

    @app.get("/task/<uuid>/output")
    def task_output(uuid):
        """A task's console lines from line (negative: the last -line lines)."""
        return jsonify(queue.get(uuid).console.lines(_int_arg("line") or 0))

    @app.get("/task/<uuid>/download/<asset>")
    def task_download(uuid, asset):
        """The results archive of a completed task, streamed from disk, with Range support."""
        task = queue.get(uuid)
        if asset != "all.zip":
            return jsonify(error="Invalid asset")
        if task.status != COMPLETED:
            return jsonify(error="Asset not ready")
        try:
            return send_file(task.zip_path, mimetype="application/zip", as_attachment=True,
                             download_name="all.zip", conditional=True, max_age=0)
        except FileNotFoundError:  # restarted a moment ago
            return jsonify(error="Asset not ready")


def _register_action_views(app, queue):
    """Changing tasks: cancel, remove, restart ({"success"} answers)."""

    @app.post("/task/cancel")
    def task_cancel():
        """Cancel a queued or running task."""
        return _action(lambda: queue.cancel(_body_field("uuid")))

    @app.post("/task/remove")
    def task_remove():
        """Cancel a task and delete it with its files."""
        return _action(lambda: queue.remove(_body_field("uuid")))

    @app.post("/task/restart")
    def task_restart():
        """Queue a finished task again, with new options if given."""
        def restart():
            """Check the new options before touching the task."""
            raw_options = _body_field("options", required=False)
            queue.restart(_body_field("uuid"), None if raw_options is None else parse_options(raw_options))
        return _action(restart)

    def _action(do):
        """Run an action; {"success": true}, or {"success": false, "error"} when it cannot be done."""
        try:
            do()
        except (TaskError, OptionsError, RequestError) as problem:
            return jsonify(success=False, error=str(problem))
        return jsonify(success=True)


def _new_task_fields():
    """The fields of /task/new and /task/new/init, checked: name, options, webhook, outputs, date, uuid."""
    if request.mimetype != "multipart/form-data":
        raise RequestError("Expected a multipart/form-data body.")
    form = request.form
    return {"name": form.get("name") or f"Task of {datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S}",
            "options": parse_options(form.get("options")),
            "webhook": _webhook(form.get("webhook")),
            "outputs": _outputs(form.get("outputs")),
            "date_created": _date_created(form.get("dateCreated")),
            "uuid": _set_uuid(request.headers.get("set-uuid"))}


def _webhook(url):
    """The webhook URL if it is an http(s) URL."""
    if not url:
        return None
    if not url.startswith(("http://", "https://")):
        raise RequestError(f"Invalid webhook {url!r}: expected an http or https URL.")
    return url


def _outputs(raw):
    """The `outputs` entries: relative paths inside the results, never escaping the task folder."""
    if not raw:
        return []
    try:
        entries = json.loads(raw)
    except ValueError:
        raise RequestError("Invalid outputs: expected a JSON list of relative paths.") from None
    if not isinstance(entries, list) or not all(isinstance(entry, str) for entry in entries):
        raise RequestError("Invalid outputs: expected a JSON list of relative paths.")
    for entry in entries:
        path = PurePosixPath(entry.replace("\\", "/"))
        if not entry or path.is_absolute() or ".." in path.parts:
            raise RequestError(f"Invalid outputs entry {entry!r}: it must be a path inside the task's results.")
    return [PurePosixPath(entry.replace("\\", "/")).as_posix() for entry in entries]


def _date_created(raw):
    """dateCreated in ms since the epoch, when the client gives one."""
    if not raw:
        return None
    try:
        return int(float(raw))
    except ValueError:
        raise RequestError(f"Invalid dateCreated {raw!r}: expected milliseconds since the epoch.") from None


def _set_uuid(raw):
    """The client's set-uuid header exactly as sent (ClusterODM compares it so), if it is a UUID in 8-4-4-4-12 form."""
    if not raw:
        return None
    if not CANONICAL_UUID.fullmatch(raw):
        raise RequestError(f"Invalid set-uuid header {raw!r}: expected a UUID such as {uuidlib.uuid4()}.")
    return raw


def _int_arg(name):
    """An integer query argument, None when absent; RequestError when it is not an integer."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise RequestError(f"Invalid {name} {raw!r}: expected an integer.") from None


def _body_field(name, required=True):
    """A field of a url-encoded, multipart or JSON body."""
    value = request.form.get(name)
    if value is None:
        body = request.get_json(silent=True)
        value = body.get(name) if isinstance(body, dict) else None
    if value is None and required:
        raise RequestError(f"Missing {name}.")
    return value
