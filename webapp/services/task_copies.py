"""Moving a task to another project and duplicating one, with its images and results (WebODM's PATCH `project`
and POST duplicate/). Both need the task at rest: the pipeline writes into the task's folder while it works."""
import shutil

from webapp import storage
from webapp.extensions import db
from webapp.models import Project, Task, TaskStatus
from webapp.models.base import MAX_DATABASE_INT
from webapp.services.errors import ValidationError
from webapp.services.projects import get_project_for, project_permissions, visible_projects

BUSY_STATUSES = (None, TaskStatus.QUEUED, TaskStatus.RUNNING)
# Fields a duplicate takes from its original; the node's uuid is not one of them (removing one task would remove
# the other's copy on the node): the duplicate is sent to a node again if it is restarted.
COPIED_FIELDS = ("processing_node_id", "images_count", "processing_time", "auto_processing_node", "status",
                 "last_error", "options", "ground_control_points", "available_assets", "upload_progress",
                 "running_progress", "public", "size", "console_lines", "extent")


def _require_at_rest(task, doing):
    """ValidationError unless the task is neither receiving images nor waiting for or in processing."""
    if task.partial or task.pending_action is not None or task.status in BUSY_STATUSES:
        raise ValidationError(f"This task is being uploaded or processed: wait for it to end, or cancel it, "
                              f"before {doing} it.")


def move_target(user, task, value):
    """The project to move task into, from the `project` field: NotFound unless user may change it (as WebODM's
    API answers), ValidationError for a value that is no id, or for a task that is not at rest."""
    try:
        project_id = int(value)
    except (TypeError, ValueError):
        project_id = None
    if project_id is None or isinstance(value, bool) or not 0 < project_id <= MAX_DATABASE_INT:
        raise ValidationError(field_errors={"project": [f'Invalid pk "{value}" - object does not exist.']})
    target = get_project_for(user, project_id, "change")
    if target.id != task.project_id:
        _require_at_rest(task, "moving")
    return target


def move_destinations(user, task):
    """The projects other than task's that user may move it into (may change), by name."""
    query = visible_projects(user).filter(Project.id != task.project_id).order_by(Project.name, Project.id)
    return [project for project in query if "change" in project_permissions(user, project)]


def move_task(task, target):
    """Move task, with its folder, into the target project (checked by move_target)."""
    if target.id == task.project_id:
        return task
    source = storage.task_dir(task.project_id, task.id)
    destination = storage.task_dir(target.id, task.id)
    destination.parent.mkdir(parents=True, exist_ok=True)
    if source.exists():
        shutil.move(source, destination)
    task.project_id = target.id
    try:
        db.session.commit()
    except BaseException:
        db.session.rollback()
        if destination.exists():  # the database still says the old project: so must the disk
            shutil.move(destination, source)
        raise
    db.session.refresh(task)
    return task


def duplicate_task(task):
    """A new task in the same project with a copy of task's images and results (the task must be at rest)."""
    _require_at_rest(task, "duplicating")
    copy = Task(project_id=task.project_id, name=f"{task.name or f'Task #{task.id}'} (copy)"[:255],
                **{field: getattr(task, field) for field in COPIED_FIELDS})
    db.session.add(copy)
    db.session.commit()  # an id for its folder
    try:
        source = storage.task_dir(task.project_id, task.id)
        if source.exists():
            shutil.copytree(source, storage.task_dir(copy.project_id, copy.id))
    except BaseException:
        folder = storage.task_dir(copy.project_id, copy.id)
        db.session.delete(copy)
        db.session.commit()
        storage.remove_tree(folder)
        raise
    return copy
