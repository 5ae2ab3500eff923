"""The processing pipeline: carry a task one short step further (a node, the upload, a poll, the results).

Each step reads what it needs from the database and closes the transaction before any network or disk I/O, then
re-reads the task and writes what it learned, only if the task is still the one it read (same node, same uuid).
The jobs in jobs/tasks.py repeat these steps under a per-task Redis lock (webapp/coordination.py); the reconciler
re-derives from the database which tasks have work pending, so a lost job, a dead worker or a flushed Redis only
delay a task.
"""
import enum
import logging
import uuid as uuidlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import current_app

from webapp import storage
from webapp.extensions import db
from webapp.models import ACTIVE_STATUSES, PendingAction, Task, TaskStatus
from webapp.models.base import utcnow
from webapp.nodeclient import NodeClient, NodeRejected, NodeUnreachable
from webapp.services import assets, console, imports, nodes, rasters, removals, ticks, tile_pyramids, tiles

log = logging.getLogger(__name__)

RETRY_SECONDS = 2.0  # wait after a transient node fault, before asking again
NO_NODE_RETRY_SECONDS = 30.0  # wait for a node to come online (the reconciler comes back sooner)
PROGRESS_WRITE_SECONDS = 0.5  # at most this often, write the upload progress


class Step(enum.Enum):
    """When the next step of a task is due."""

    DONE = "done"  # nothing more to do until something changes
    NOW = "now"  # at once
    POLL = "poll"  # after the tick's polling interval
    RETRY = "retry"  # after a wait of a given length


@dataclass(frozen=True)
class Next:
    """What a step says about the next one: its kind, and for Step.RETRY the seconds to wait."""

    kind: Step
    wait: float = 0.0


DONE, NOW, POLL = Next(Step.DONE), Next(Step.NOW), Next(Step.POLL)


def retry_in(seconds):
    """Come back after this many seconds."""
    return Next(Step.RETRY, seconds)


@dataclass(frozen=True)
class NodeView:
    """The address of a task's node, copied out of the database."""

    id: int
    label: str
    hostname: str
    port: int
    token: str


@dataclass(frozen=True)
class TaskView:
    """The fields of a task a step needs, copied out of the database so that no session spans the I/O."""

    id: int
    project_id: int
    name: str
    status: int
    uuid: str
    upload_uuid: str
    pending_action: int
    partial: bool
    import_url: str
    auto_processing_node: bool
    options: list
    images_count: int
    console_lines: int
    node_error_since: datetime
    node_id: int
    node: NodeView


# --- the step ---------------------------------------------------------------------------------------------------

def advance(task_id):
    """Carry the task one step further; Next says when the step after it is due.

    An unexpected error (a full disk, a bug, a database hiccup) is retried like a node fault, and fails the task
    with its message once the grace period is over, so that no task stays "running" for ever without a reason.
    """
    try:
        return _advance(task_id)
    except Exception as error:  # noqa: BLE001 (whatever it is, the task must not be left without a word)
        db.session.rollback()
        log.exception("task %s: unexpected error in a pipeline step", task_id)
        try:
            return _unexpected_fault(task_id, error)
        except Exception:  # noqa: BLE001 (the database itself is failing: the reconciler comes back)
            db.session.rollback()
            log.exception("task %s: could not record the error", task_id)
            return retry_in(RETRY_SECONDS)


def _unexpected_fault(task_id, error):
    """Record an unexpected error as a fault of the task, retried until the grace period is over."""
    view = _read(task_id)
    if view is None:
        return DONE
    described = f"{type(error).__name__}: {error}"
    fault = _fault_clock(view)
    if fault.over:
        return _fail(view, f"Processing stopped after an error here for {int(fault.waited)} s ({described}). "
                           "Restart the task once the problem is fixed.")
    return _retry(view, fault, f"An error occurred here ({described})")


def _advance(task_id):
    """advance, without its safety net."""
    view = _read(task_id)
    if view is None:
        return DONE
    try:
        step = _step(view)
    except Exception:  # noqa: BLE001 (re-raised unless the task was deleted meanwhile)
        db.session.rollback()
        if _exists(view.id):
            raise
        step = DONE  # its row or folder went away under the step: expected once the task is deleted
    return step if _exists(view.id) else _forget_deleted(view)


def _exists(task_id):
    """Whether the task is still in the database."""
    found = db.session.query(Task.id).filter_by(id=task_id).first() is not None
    db.session.commit()
    return found


def _forget_deleted(view):
    """The task was deleted while its step ran (a normal event): remove what the step wrote after the deletion.

    Task ids are never reused (AUTOINCREMENT on SQLite, a sequence on PostgreSQL), so the folder is its own.
    """
    storage.remove_tree(storage.task_dir(view.project_id, view.id))
    console.clear_console(view.project_id, view.id)
    log.info("task %s is gone (deleted during its step): the step ends here", view.id)
    return DONE


def _step(view):
    """The step the task's state calls for."""
    if view.pending_action:
        return _carry_out_action(view)
    if view.partial or view.status not in ACTIVE_STATUSES:
        return DONE
    if view.import_url:
        imports.run_import(view.id)
        return DONE
    if view.node is None:
        return _assign_node(view)
    if not view.uuid:
        return _upload(view)
    return _poll(view)


def _read(task_id):
    """A TaskView of the task (None if it is gone), with the read transaction ended."""
    task = db.session.get(Task, task_id)
    if task is None:
        db.session.rollback()
        return None
    node = task.processing_node
    view = TaskView(
        id=task.id, project_id=task.project_id, name=task.name, status=task.status, uuid=task.uuid or "",
        upload_uuid=task.upload_uuid, pending_action=task.pending_action, partial=task.partial,
        import_url=task.import_url, auto_processing_node=task.auto_processing_node, options=list(task.options or []),
        images_count=task.images_count, console_lines=task.console_lines, node_error_since=task.node_error_since,
        node_id=task.processing_node_id,
        node=None if node is None else NodeView(node.id, node.display_label(), node.hostname, node.port, node.token))
    db.session.commit()
    return view


def _write(view, clear_action=False, **fields):
    """Store fields on the task if it is still on the node and uuid that view saw; whether it was written.

    With clear_action, the pending action is cleared too, unless the user asked for another one meanwhile.
    """
    task = db.session.get(Task, view.id)
    if task is None or task.processing_node_id != view.node_id or (task.uuid or "") != view.uuid:
        db.session.rollback()
        return False
    for field, value in fields.items():
        setattr(task, field, value)
    if clear_action and task.pending_action == view.pending_action:
        task.pending_action = None
    db.session.commit()
    return True


def _client(view):
    """A client for the task's node."""
    node = view.node
    return NodeClient(node.hostname, node.port, node.token, timeout=current_app.config["NODE_TIMEOUT_SECONDS"])


def _fail(view, message, **fields):
    """Mark the task failed with a message the user can act on."""
    log.info("task %s failed: %s", view.id, message)
    _write(view, **{**fields, "status": TaskStatus.FAILED, "last_error": message, "node_error_since": None})
    return DONE


# --- a node for the task ----------------------------------------------------------------------------------------

def _assign_node(view):
    """Give the task a node: the one chosen by the user, else the online node with the shortest queue."""
    task = db.session.get(Task, view.id)
    if task is None or task.processing_node_id is not None:
        db.session.rollback()
        return NOW
    if task.uuid:  # its node was deleted while the task was on it
        if task.status == TaskStatus.RUNNING:
            task.status = TaskStatus.FAILED
            task.last_error = ("The processing node of this task was removed while it was processing. "
                               "Restart the task to process it on another node.")
            db.session.commit()
            return DONE
        task.uuid, task.upload_uuid, task.upload_progress = "", None, 0.0
    node = nodes.choose_node(task.images_count) if task.auto_processing_node else None
    if node is None:
        task.last_error = ("Waiting for a processing node: none is online that accepts "
                           f"{task.images_count} images." if task.auto_processing_node else
                           "Waiting for a processing node: choose one for this task.")
        db.session.commit()
        return retry_in(NO_NODE_RETRY_SECONDS)
    task.processing_node_id, task.last_error = node.id, None
    db.session.commit()
    log.info("task %s assigned to node %s", view.id, node.id)
    return NOW


# --- upload -----------------------------------------------------------------------------------------------------

def _image_paths(view):
    """The files to send to the node (images and an optional GCP file), in name order."""
    folder = storage.images_dir(view.project_id, view.id)
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def _upload(view):
    """Send the images to the node under a uuid chosen (and stored) first, so that a crash can resume it."""
    paths = _image_paths(view)
    if not paths:
        return _fail(view, "This task has no images to process: its images folder is empty or missing.")
    upload_uuid, resuming = view.upload_uuid, bool(view.upload_uuid)
    if not resuming:
        upload_uuid = str(uuidlib.uuid4())
        if not _write(view, upload_uuid=upload_uuid, upload_progress=0.0):
            return NOW
    client, progress = _client(view), _progress_writer(view.id)
    try:
        if resuming:
            _resume_upload(client, view, upload_uuid, paths, progress)
        else:
            client.create_task(paths, view.options, view.name, upload_uuid, ticks.webhook_url(view.id), progress)
    except NodeUnreachable as error:
        return _node_fault(view, error)
    except NodeRejected as error:
        return _fail(view, f"The processing node {view.node.label} refused the task: {error}")
    if not _write(view, uuid=upload_uuid, upload_progress=1.0, status=TaskStatus.QUEUED, last_error=None,
                  node_error_since=None, console_lines=0):
        # Deleted (or moved to another node) during the upload: the node's copy is nobody's now.
        removals.queue_node_removals([(view.node.id, upload_uuid)])
        return NOW
    log.info("task %s uploaded to node %s as %s", view.id, view.node_id, upload_uuid)
    return NOW


def _resume_upload(client, view, upload_uuid, paths, progress):
    """Finish an upload a crash interrupted, reusing the node's task of that uuid: never a second copy."""
    try:
        client.task_info(upload_uuid)
        return  # the node committed it before the crash: adopt it as it is
    except NodeRejected:
        pass  # not committed, or unknown to the node
    try:
        client.resume_upload(upload_uuid, paths, progress)
    except NodeRejected:  # the node never created it (or forgot it): create it now, under the same uuid
        client.create_task(paths, view.options, view.name, upload_uuid, ticks.webhook_url(view.id), progress)


def _progress_writer(task_id):
    """A callback storing the upload percentage, at most every PROGRESS_WRITE_SECONDS (a short transaction each)."""
    last = {"at": 0.0}

    def write(percent):
        """Store the percentage if the last write is old enough (always the final 100)."""
        now = datetime.now().timestamp()
        if now - last["at"] < PROGRESS_WRITE_SECONDS and percent < 100:
            return
        last["at"] = now
        Task.query.filter_by(id=task_id).update({"upload_progress": min(percent, 100.0) / 100.0})
        db.session.commit()
    return write


# --- polling ----------------------------------------------------------------------------------------------------

def _poll(view):
    """Ask the node how the task is doing; store status, progress, time and the new console lines."""
    client = _client(view)
    try:
        info = client.task_info(view.uuid, with_output=view.console_lines)
    except NodeUnreachable as error:
        return _node_fault(view, error)
    except NodeRejected as error:
        return _task_refused(view, client, error)
    lines = console.append_console(view.project_id, view.id, view.console_lines, info["output"])
    fields = {"console_lines": lines, "running_progress": min(max(info["progress"], 0.0), 100.0) / 100.0,
              "processing_time": info["processing_time"], "node_error_since": None, "last_error": None}
    status = info["status"]
    if status in (TaskStatus.QUEUED, TaskStatus.RUNNING):
        _write(view, status=status, **fields)
        return POLL
    if status == TaskStatus.COMPLETED:
        # Stays RUNNING until the results are on our disk; a download failing again and again keeps its fault
        # clock running (node_error_since), so it ends in a failure with a reason instead of retrying for ever.
        _write(view, console_lines=lines, running_progress=1.0, processing_time=info["processing_time"])
        return _download(view)
    if status == TaskStatus.FAILED:
        reason = info["error"] or "the node gave no reason; see the console output"
        return _fail(view, f"Processing failed on {view.node.label}: {reason}", **fields)
    if status == TaskStatus.CANCELED:
        fields["last_error"] = f"The task was canceled on the processing node {view.node.label}."
        _write(view, status=TaskStatus.CANCELED, **fields)
        return DONE
    return _node_fault(view, NodeUnreachable(f"unknown task status {status} from the node"))


def _task_refused(view, client, error):
    """The node answered an error about the task: it lost it, or something else is wrong."""
    try:
        known = client.knows_task(view.uuid)
    except NodeUnreachable as fault:
        return _node_fault(view, fault)
    except NodeRejected as other:
        return _fail(view, f"The processing node {view.node.label} refused to answer: {other}")
    if known:
        return _fail(view, f"The processing node {view.node.label} answered with an error: {error}")
    if view.status == TaskStatus.RUNNING:
        return _fail(view, f"The processing node {view.node.label} no longer has this task (it was removed there, "
                           "or the node lost its data) while it was processing. Restart the task to process it "
                           "again.")
    log.info("task %s: node %s lost it before processing; uploading it again", view.id, view.node_id)
    _write(view, uuid="", upload_uuid=None, upload_progress=0.0, console_lines=0,
           last_error=f"The processing node {view.node.label} lost the task before processing it; "
                      "sending it again.")
    return NOW


# --- results ----------------------------------------------------------------------------------------------------

def _download(view):
    """Stream all.zip to disk (resuming a partial file), extract it safely, make COGs, mark the task completed."""
    zip_path = storage.results_zip_path(view.project_id, view.id)
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        _client(view).download_results(view.uuid, zip_path)
    except NodeUnreachable as error:
        return _node_fault(view, error)
    except NodeRejected as error:
        return _fail(view, f"The processing node {view.node.label} did not give the results: {error}")
    assets_dir = storage.assets_dir(view.project_id, view.id)
    try:
        results = assets.extract_results_zip(zip_path, assets_dir)
    except assets.InvalidResultsZip as error:
        zip_path.unlink(missing_ok=True)
        return _fail(view, f"The results from {view.node.label} could not be used: {error.message} "
                           "Restart the task to try again.")
    rasters.optimize_rasters(assets_dir)
    tile_pyramids.make_pyramids(assets_dir, tiles.LAYER_FILES)  # after the COGs: named after the rasters' versions
    _write(view, status=TaskStatus.COMPLETED, running_progress=1.0, available_assets=results.available_assets,
           size=storage.tree_size_mb(storage.task_dir(view.project_id, view.id)) - _size_mb(zip_path),
           extent=rasters.results_extent(assets_dir), last_error=None, node_error_since=None)
    zip_path.unlink(missing_ok=True)
    log.info("task %s completed: %s", view.id, ", ".join(results.available_assets))
    return DONE


def _size_mb(path):
    """A file's size in MB (0 when absent)."""
    return path.stat().st_size / (1024 * 1024) if path.exists() else 0.0


# --- transient faults -------------------------------------------------------------------------------------------

def _as_utc(moment):
    """A datetime with its timezone (SQLite gives naive ones back)."""
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class FaultClock:
    """How long a task's faults have lasted: since when, seconds waited, and when the grace period ends."""

    since: datetime
    waited: float
    until: datetime

    @property
    def over(self):
        """Whether the grace period is over: the fault is no longer retried."""
        return self.waited >= (self.until - self.since).total_seconds()


def _fault_clock(view):
    """The clock of the task's faults, started now if this is the first one."""
    now = utcnow()
    since = _as_utc(view.node_error_since) or now
    return FaultClock(since, (now - since).total_seconds(),
                      since + timedelta(seconds=current_app.config["NODE_GRACE_SECONDS"]))


def _retry(view, fault, described):
    """Note the fault in last_error with the time retries end, and come back after RETRY_SECONDS."""
    log.info("task %s: fault (%s), retrying", view.id, described)
    _write(view, node_error_since=fault.since, last_error=f"{described}; retrying until {fault.until:%H:%M:%S} UTC.")
    return retry_in(RETRY_SECONDS)


def _node_label(view):
    """The task's node, as messages name it."""
    return view.node.label if view.node else "of this task"


def _not_answering(view, error):
    """The fault retried while the node does not answer."""
    return f"The processing node {_node_label(view)} is not answering ({error})"


def _node_fault(view, error):
    """A node that does not answer: retry for NODE_GRACE_SECONDS, saying so in last_error, then fail the task."""
    fault = _fault_clock(view)
    if fault.over:
        return _fail(view, f"The processing node {_node_label(view)} did not answer for {int(fault.waited)} s "
                           f"({error}). Check that it is running, then restart the task.")
    return _retry(view, fault, _not_answering(view, error))


# --- pending actions --------------------------------------------------------------------------------------------

def _carry_out_action(view):
    """Carry out the cancel, remove or restart the user asked for."""
    if view.pending_action == PendingAction.REMOVE:
        return _remove(view)
    if view.pending_action == PendingAction.CANCEL:
        return _cancel(view)
    if view.pending_action == PendingAction.RESTART:
        return _restart(view)
    _write(view, clear_action=True)
    return NOW


def _cancel(view):
    """Stop a queued or running task, on its node too; a task already finished stays as it is."""
    if view.status not in ACTIVE_STATUSES:
        _write(view, clear_action=True)
        return NOW
    if view.node is not None and (view.uuid or view.upload_uuid):
        client = _client(view)
        try:
            if view.uuid:
                client.cancel(view.uuid)
            else:
                _forget_half_upload(client, view.upload_uuid)
        except NodeUnreachable as error:
            fault = _fault_clock(view)
            if not fault.over:
                return _retry(view, fault, _not_answering(view, error))
            return _cancel_here(view, f"Canceled here, but the processing node {view.node.label} could not be told: "
                                      f"it did not answer for {int(fault.waited)} s ({error}).")
        except NodeRejected:
            pass  # the node had already ended or forgotten it: nothing left to stop there
    return _cancel_here(view, None)


def _cancel_here(view, message):
    """Mark the task canceled."""
    _write(view, clear_action=True, status=TaskStatus.CANCELED, last_error=message, node_error_since=None)
    return NOW


def _forget_half_upload(client, upload_uuid):
    """Best effort: remove a task the node created for an upload that will not be finished."""
    try:
        client.remove(upload_uuid)
    except NodeRejected:
        pass


def _remove(view):
    """Delete the task: its copy on the node (later, by a job, if the node does not answer), files, and row."""
    node_uuid = view.uuid or view.upload_uuid
    if view.node is not None and node_uuid:
        try:
            _client(view).remove(node_uuid)
        except NodeUnreachable:
            removals.queue_node_removals([(view.node.id, node_uuid)])
        except NodeRejected:
            pass  # already gone from the node
    storage.remove_tree(storage.task_dir(view.project_id, view.id))
    task = db.session.get(Task, view.id)
    if task is not None:
        db.session.delete(task)
    db.session.commit()
    log.info("task %s removed", view.id)
    return DONE


def _restart(view):
    """Process the task again: restart it on its node, or upload it again when the node no longer has it."""
    on_node = False
    if view.node is not None and view.uuid:
        client = _client(view)
        try:
            on_node = _restart_on_node(client, view)
        except NodeUnreachable as error:
            fault = _fault_clock(view)
            if not fault.over:
                return _retry(view, fault, _not_answering(view, error))
            return _restart_refused(view, f"Could not restart: the processing node {view.node.label} did not answer "
                                          f"for {int(fault.waited)} s ({error}).")
        except NodeRejected as error:
            return _restart_refused(view, f"The processing node {view.node.label} could not restart it: {error}")
    storage.remove_tree(storage.assets_dir(view.project_id, view.id))
    storage.results_zip_path(view.project_id, view.id).unlink(missing_ok=True)
    console.clear_console(view.project_id, view.id)
    fields = dict(status=TaskStatus.QUEUED, running_progress=0.0, processing_time=-1, last_error=None,
                  available_assets=[], extent=None, console_lines=0, node_error_since=None,
                  size=storage.tree_size_mb(storage.task_dir(view.project_id, view.id)))
    if not on_node:
        fields.update(uuid="", upload_uuid=None, upload_progress=0.0)
    _write(view, clear_action=True, **fields)
    log.info("task %s restarted (%s)", view.id, "on its node" if on_node else "uploading again")
    return NOW


def _restart_on_node(client, view):
    """Restart the task on its node with its current options; False when the node no longer has it."""
    try:
        # A task failed here because its node did not answer for the grace period may be running there again once
        # the node is back (a restarted node takes its running tasks up again): stop it there too, or the node
        # refuses the restart (tests/faults/test_node_outage.py).
        if view.status in ACTIVE_STATUSES or client.task_info(view.uuid)["status"] in (TaskStatus.QUEUED, TaskStatus.RUNNING):
            try:
                client.cancel(view.uuid)  # the node restarts only ended tasks
            except NodeRejected:
                pass  # already ended there
        client.restart(view.uuid, view.options)
        return True
    except NodeRejected:
        if client.knows_task(view.uuid):
            raise
        return False


def _restart_refused(view, message):
    """The restart could not be done: say why and leave the task as it was."""
    _write(view, clear_action=True, last_error=message, node_error_since=None)
    return NOW
