"""Tasks: creating them with their images (at once or in parts), changing, deleting, the actions a user asks
for (cancel, restart, remove). Their console is services/console.py, imports of finished results are services/imports.py.

Processing itself is the pipeline's (jobs/tasks.py): services set the state in the database, commit, then queue
the task's tick.
"""
import functools
import logging

from sqlalchemy import Text, bindparam, cast, select
from sqlalchemy.orm import joinedload

from webapp import storage
from webapp.extensions import db
from webapp.models import ACTIVE_STATUSES, PendingAction, ProcessingNode, Task, TaskStatus
from webapp.models.base import MAX_DATABASE_INT
from webapp.services import ticks, uploads
from webapp.services.errors import NotFound, ValidationError
from webapp.services.ordering import apply_ordering
from webapp.services.parsing import clean_bool, clean_task_name, parse_options
from webapp.services.projects import get_project_for
from webapp.services.removals import node_copies, queue_node_removals

log = logging.getLogger(__name__)

MIN_IMAGES = 2
TASK_ORDERING = {name: getattr(Task, name) for name in (
    "id", "name", "created_at", "status", "images_count", "processing_time", "size", "pending_action",
    "upload_progress", "running_progress", "public", "partial", "auto_processing_node")}
TASK_ORDERING["processing_node"] = Task.processing_node_id


# Finding tasks

def get_task_for(user, project_id, task_id, permission="view", allow_public=False):
    """The task of that project if user has permission on the project (or it is public and allowed), else NotFound."""
    # The project comes in the same query, and the task keeps it alive in the session for the permission check
    # and for the caller (a lone project would be dropped from the session and queried again).
    task = db.session.get(Task, task_id, options=[joinedload(Task.project)])
    if task is None or task.project_id != project_id:
        raise NotFound()
    if allow_public and permission == "view" and task.public:
        return task
    get_project_for(user, project_id, permission)
    return task


# The columns of the API's task list; the JSON ones as the text stored, so the list need not decode them.
TASK_LIST_COLUMNS = (
    Task.id, Task.project_id, Task.processing_node_id, Task.images_count, Task.uuid, Task.name, Task.processing_time,
    Task.auto_processing_node, Task.status, Task.last_error, cast(Task.options, Text).label("options_json"),
    Task.ground_control_points, Task.created_at, Task.pending_action,
    cast(Task.available_assets, Text).label("available_assets_json"), Task.upload_progress, Task.running_progress,
    Task.partial, Task.public, Task.size)


def list_task_rows(project, status=None, ordering=None):
    """The project's tasks, optionally of one status, ordered by `?ordering=` (default: oldest first), as rows of
    TASK_LIST_COLUMNS and their processing node's label, hostname and port (node_label): one query and no ORM
    object per task (half of a long list's time)."""
    parameters = {"project_id": project.id}
    if status not in (None, ""):
        parameters["status"] = _clean_status(status)
    return db.session.execute(_task_list_statement("status" in parameters, ordering or ""), parameters).all()


def _clean_status(status):
    """A `?status=` as the int it names, or ValidationError."""
    try:
        return int(status)
    except ValueError:
        raise ValidationError(field_errors={"status": ["Use a status code: 10, 20, 30, 40 or 50."]}) from None


@functools.lru_cache(maxsize=64)
def _task_list_statement(by_status, ordering):
    """The task list's query for one `?ordering=` (with or without a status), its values bound at execution: built
    once per process, as building and keying a statement of twenty columns costs more than running it."""
    query = select(*TASK_LIST_COLUMNS, ProcessingNode.label, ProcessingNode.hostname, ProcessingNode.port) \
        .outerjoin(ProcessingNode, ProcessingNode.id == Task.processing_node_id) \
        .where(Task.project_id == bindparam("project_id"))
    if by_status:
        query = query.where(Task.status == bindparam("status"))
    return apply_ordering(query, ordering, TASK_ORDERING, "created_at")


# Checking fields

def _clean_node_id(value):
    """The id of an existing processing node from a field value, None for none, or ValidationError."""
    if value is None or value == "" or value == "null":
        return None
    try:
        node_id = int(value)
    except (TypeError, ValueError):
        node_id = None
    if node_id is not None and abs(node_id) > MAX_DATABASE_INT:
        node_id = None  # no such node, and SQLite cannot even look it up (OverflowError)
    if node_id is None or isinstance(value, bool) or db.session.get(ProcessingNode, node_id) is None:
        raise ValidationError(field_errors={"processing_node": [f'Invalid pk "{value}" - object does not exist.']})
    return node_id


def _new_task(project, name, options, processing_node, auto_processing_node, **fields):
    """An unsaved task with its user-given fields checked."""
    return Task(project_id=project.id, name=clean_task_name(name), options=parse_options(options),
                processing_node_id=_clean_node_id(processing_node),
                auto_processing_node=clean_bool(True if auto_processing_node in (None, "") else auto_processing_node,
                                                 "auto_processing_node"), **fields)


def queue_tick(task_id):
    """Queue the task's next pipeline step (once: a tick already waiting is not queued twice). Call after commit."""
    ticks.enqueue_tick(task_id)


def _images_dir(task):
    """The task's images folder."""
    return storage.images_dir(task.project_id, task.id)


def _chunks_dir(task):
    """Where chunked uploads to a partial task are assembled."""
    return storage.chunks_dir(task.project_id, task.id)


def _refresh_file_fields(task):
    """images_count and ground_control_points from the files in the task's images folder."""
    task.images_count = uploads.count_images(_images_dir(task))
    task.ground_control_points = uploads.gcp_file_name(_images_dir(task))


# Creating tasks

def create_task(project, files, name="", options=None, processing_node=None, auto_processing_node=True):
    """A task with its images (FileStorage list, at least 2 images), queued for processing at once."""
    task = _new_task(project, name, options, processing_node, auto_processing_node, partial=True)
    checked = uploads.check_files(files)
    image_count = sum(1 for file_name, _ in checked if not uploads.is_text_file(file_name))
    if image_count < MIN_IMAGES:
        raise ValidationError(field_errors={"images": [f"Need at least {MIN_IMAGES} images."]})
    db.session.add(task)
    db.session.commit()  # an id for the folder; partial until the files are in, so the pipeline leaves it alone
    try:
        uploads.save_files(checked, _images_dir(task))
    except BaseException:
        drop_new_task(task)
        raise
    return _start_processing(task)


def drop_new_task(task):
    """Remove a task whose creation failed half-way, and its files."""
    db.session.rollback()
    folder = storage.task_dir(task.project_id, task.id)
    db.session.delete(db.session.get(Task, task.id))
    db.session.commit()
    storage.remove_tree(folder)


def _start_processing(task):
    """End the upload: count the files, mark the task queued, commit, queue its tick."""
    _refresh_file_fields(task)
    task.partial = False
    task.status = TaskStatus.QUEUED
    task.last_error = None
    db.session.commit()
    queue_tick(task.id)
    return task


def create_partial_task(project, name="", options=None, processing_node=None, auto_processing_node=True):
    """An empty task waiting for its images (upload_files / upload_chunk), processed from commit_task on."""
    task = _new_task(project, name, options, processing_node, auto_processing_node, partial=True)
    db.session.add(task)
    db.session.commit()
    return task


def _require_partial(task):
    """ValidationError unless the task is still receiving images."""
    if not task.partial:
        raise ValidationError("This task is not receiving images any more (it was committed or created whole).")


def upload_files(task, files):
    """Add whole files to a partial task; {name: bytes}."""
    _require_partial(task)
    if not files:
        raise ValidationError(field_errors={"images": ["No file was sent."]})
    written = uploads.save_files(uploads.check_files(files), _images_dir(task))
    _refresh_file_fields(task)
    db.session.commit()
    return written


def upload_chunk(task, form, upload):
    """Add one chunk of a chunked upload to a partial task; {name: bytes received so far}.

    When the file is complete it is checked (an image, or a .txt) and moved into the task's images.
    """
    _require_partial(task)
    name, received, complete = uploads.write_chunk(_chunks_dir(task), form, upload)
    if complete is not None:
        if not uploads.is_text_file(name) and not uploads.is_image_file(complete):
            uploads.discard_chunk_upload(_chunks_dir(task), form)
            raise ValidationError(field_errors={"images": [f"Not an image: {name}."]})
        _images_dir(task).mkdir(parents=True, exist_ok=True)
        uploads.take_completed(_chunks_dir(task), form, complete, _images_dir(task) / name)
        _refresh_file_fields(task)
        db.session.commit()
    return {name: received}


def upload_state(task):
    """What the server holds of a partial task's upload: {"uploaded": {name: bytes}, "in_progress": {dzuuid: ...}}.

    Lets an interrupted upload resume from any browser or client, not only the one that began it.
    """
    _require_partial(task)
    return {"uploaded": uploads.stored_files(_images_dir(task)),
            "in_progress": uploads.chunked_uploads(_chunks_dir(task))}


def commit_task(task):
    """End a partial task's upload and queue its processing (needs at least 2 images, no upload half-done)."""
    _require_partial(task)
    # An unfinished re-send of a file that is already stored complete (an abandoned retry) does not hold it up.
    stored = uploads.stored_files(_images_dir(task))
    pending = [name for name in uploads.pending_uploads(_chunks_dir(task)) if name not in stored]
    if pending:
        raise ValidationError(f"The upload of {', '.join(pending)} is not complete: send its missing chunks first.")
    if uploads.count_images(_images_dir(task)) < MIN_IMAGES:
        raise ValidationError(field_errors={"images": [f"Need at least {MIN_IMAGES} images."]})
    storage.remove_tree(_chunks_dir(task))
    return _start_processing(task)


# Changing and deleting

def update_task(task, data):
    """Change name, processing_node, auto_processing_node, options or public from data; other keys are ignored."""
    changes = {}
    if "name" in data:
        changes["name"] = clean_task_name(data["name"])
    if "processing_node" in data:
        changes["processing_node_id"] = _clean_node_id(data["processing_node"])
    if "auto_processing_node" in data:
        changes["auto_processing_node"] = clean_bool(data["auto_processing_node"], "auto_processing_node")
    if "options" in data:
        changes["options"] = parse_options(data["options"])
    if "public" in data:
        changes["public"] = clean_bool(data["public"], "public")
    left_node = _leave_node(task, changes)
    for field, value in changes.items():  # all checked first: a bad field changes nothing
        setattr(task, field, value)
    db.session.commit()
    queue_node_removals(left_node)
    return task


def _leave_node(task, changes):
    """When the change gives a task at rest another node, forget its copy on the old one (returned, to be removed
    there once committed), so that a restart sends it to the new node; a task being processed keeps its node."""
    if "processing_node_id" not in changes or changes["processing_node_id"] == task.processing_node_id:
        return []
    copies = node_copies([task])
    if not copies:
        return []
    if task.pending_action is not None or task.status in ACTIVE_STATUSES:
        raise ValidationError(field_errors={"processing_node": [
            "This task is on its processing node now: cancel it (or wait until it ends) before choosing another."]})
    changes.update(uuid="", upload_uuid=None, upload_progress=0.0)
    return copies


def delete_task(task):
    """Delete a task, its images and results (irreversible); its copy on the node is removed by the worker."""
    copies, folder = node_copies([task]), storage.task_dir(task.project_id, task.id)
    db.session.delete(task)
    db.session.commit()
    storage.remove_tree(folder)
    queue_node_removals(copies)


def cancel_task(task):
    """Ask for a queued or running task to be canceled; any other task stays as it is."""
    if task.status in (TaskStatus.QUEUED, TaskStatus.RUNNING):
        task.pending_action = PendingAction.CANCEL
        db.session.commit()
        queue_tick(task.id)
    return task


def restart_task(task, options=None):
    """Ask for a task to be processed again, with new options when given (for example rerun-from)."""
    if task.partial:
        raise ValidationError("This task is still receiving images: commit it first.")
    if options is not None:
        task.options = parse_options(options)
    task.pending_action = PendingAction.RESTART
    db.session.commit()
    queue_tick(task.id)
    return task


def remove_task(task):
    """Ask the worker to remove a task (it deletes it from its node, then from here)."""
    task.pending_action = PendingAction.REMOVE
    db.session.commit()
    queue_tick(task.id)
    return task
