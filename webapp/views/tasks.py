"""Pages of tasks: a new task (upload), a task's page with its console and downloads, and its actions.

How a task is shown on any page is views/task_display.py; presets are views/presets.py.
"""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from webapp import storage
from webapp.api.serializers import node_json, task_json
from webapp.forms.helpers import add_service_errors
from webapp.forms.tasks import (AUTO_NODE, ActionForm, MoveTaskForm, NewTaskForm, PresetForm, PublicTaskForm,
                                RenameTaskForm, RestartTaskForm, node_choices)
from webapp.models import ACTIVE_STATUSES, PendingAction, ProcessingNode, TaskStatus
from webapp.services import console, models3d, nodes, presets, projects, task_copies, tasks
from webapp.services.errors import ValidationError

bp = Blueprint("tasks", __name__)

# ODM's stages, offered for "restart from" when the task's node does not list them in its rerun-from option.
ODM_STAGES = ["dataset", "split", "merge", "opensfm", "openmvs", "odm_filterpoints", "odm_meshing", "mvs_texturing",
              "odm_georeferencing", "odm_dem", "odm_orthophoto", "odm_report", "odm_postprocess"]
CONSOLE_TAIL = 500  # console lines rendered with the page; the script fetches the rest as they come
# Hints for errors a user can act on, by words found in the message (lower case); the first match wins.
ERROR_HINTS = [
    (("match", "reconstruct", "no features", "could not align", "sfm", "3d points", "overlap", "texture"),
     "The photos could not be tied together. They need to overlap (about 70% front, 60% side) and show "
     "textured ground; try more photos or the High Resolution preset."),
    (("not enough images", "at least 2", "too few images"),
     "Add more photos: processing needs at least 2, and overlapping ones."),
    (("offline", "connect", "unreachable", "timed out", "timeout", "did not answer", "refused"),
     "The processing node stopped answering. Check that it is running (Processing nodes), then restart."),
    (("memory", "killed", "oom"), "The node ran out of memory. Try a smaller resize-to value, or a bigger node."),
    (("option",), "An option has a value the node refuses. Restart with corrected options."),
    (("disk", "space"), "A disk is full. Free some space on the server or the node, then restart."),
]
DEFAULT_HINT = "Restart the task; if it fails again, the first error line in the console below tells why."


def explain_error(message):
    """A hint on what to do about a task's error message."""
    text = (message or "").lower()
    for words, hint in ERROR_HINTS:
        if any(word in text for word in words):
            return hint
    return DEFAULT_HINT


def _rerun_stages(task):
    """The stages a task can be restarted from: its node's rerun-from choices, else ODM's stages."""
    node = task.processing_node
    for option in (node.available_options or []) if node is not None else []:
        if option.get("name") == "rerun-from" and isinstance(option.get("domain"), list):
            return [stage for stage in option["domain"] if stage]
    return ODM_STAGES


def _nodes_for_menu():
    """Every processing node with whether it is online, for the node menu and the options editor."""
    return [(node, nodes.is_online(node)) for node in ProcessingNode.query.order_by(ProcessingNode.id).all()]


def _project_for_tasks(project_id, permission):
    """The project, if the current user has the permission on it (else NotFound: 404)."""
    return projects.get_project_for(current_user, project_id, permission)


def _task(project_id, task_id, permission="view"):
    """The task, if the current user has the permission on its project (else NotFound: 404)."""
    return tasks.get_task_for(current_user, project_id, task_id, permission)


def _new_task_form():
    """The new-task form with its node and preset choices; (form, nodes with online flags, presets)."""
    node_rows, user_presets = _nodes_for_menu(), presets.presets_for(current_user)
    form = NewTaskForm()
    form.set_choices(node_rows, user_presets)
    return form, node_rows, user_presets


def _task_url_template(endpoint, project_id):
    """The address of a task's endpoint with {id} in place of the task id, for the scripts to fill in."""
    return url_for(endpoint, project_id=project_id, task_id=0).replace("/0/", "/{id}/")


def _render_new_task(project, form, node_rows, user_presets, status=200):
    """The new-task page with its form, the nodes (with their options, for the editor) and the presets."""
    page_data = {
        "project": project.id,
        "nodes": [node_json(node) for node, _ in node_rows],
        "presets": [{"id": p.id, "name": p.name, "options": p.options, "system": p.system} for p in user_presets],
        "autoNode": AUTO_NODE,
        "taskPage": _task_url_template("tasks.detail", project.id),
        "presetUrl": url_for("presets.save_preset"),
        "api": {"tasks": url_for("api.list_tasks", project_id=project.id),
                "task": _task_url_template("api.get_task", project.id),
                "upload": _task_url_template("api.upload", project.id),
                "commit": _task_url_template("api.commit", project.id)},
    }
    return render_template("tasks/new.html", project=project, form=form, page_data=page_data,
                           any_online=any(online for _, online in node_rows), presets=user_presets,
                           preset_form=PresetForm(), delete_form=ActionForm()), status


@bp.route("/projects/<int:project_id>/tasks/new", methods=["GET", "POST"])
@login_required
def new(project_id):
    """A new task: pick photos, a node and options. Scripts upload in resumable chunks; without them, one POST."""
    project = _project_for_tasks(project_id, "change")
    form, node_rows, user_presets = _new_task_form()
    if form.validate_on_submit():
        try:
            task = tasks.create_task(project, _uploaded_files(form), name=form.name.data,
                                     options=form.options.data or _preset_options(form.preset.data),
                                     processing_node=_node_field(form), auto_processing_node=_auto_node(form))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            flash(f"Task “{task.name or f'#{task.id}'}” created: processing starts shortly.", "success")
            return redirect(url_for("tasks.detail", project_id=project.id, task_id=task.id))
    return _render_new_task(project, form, node_rows, user_presets, 400 if request.method == "POST" else 200)


def _uploaded_files(form):
    """The images and the GCP file of a plain (script-less) new-task form, skipping empty file inputs."""
    files = [f for f in request.files.getlist(form.images.name) if f and f.filename]
    gcp = request.files.get(form.gcp.name)
    return files + ([gcp] if gcp and gcp.filename else [])


def _preset_options(preset_id):
    """The options of a chosen preset (the plain form's options)."""
    return presets.get_preset_for(current_user, int(preset_id)).options if preset_id else []


def _node_field(form):
    """The chosen node id, or None for automatic."""
    return None if form.processing_node.data == AUTO_NODE else form.processing_node.data


def _auto_node(form):
    """Whether the node is chosen automatically."""
    return form.processing_node.data == AUTO_NODE


@bp.route("/projects/<int:project_id>/tasks/<int:task_id>/")
@login_required
def detail(project_id, task_id):
    """A task: its state, details, console, downloads and actions."""
    task = _task(project_id, task_id)
    permissions = projects.project_permissions(current_user, task.project)
    lines, count = console.console_output(task, limit=-CONSOLE_TAIL)
    restart_form = RestartTaskForm()
    restart_form.set_stages(_rerun_stages(task))
    rename_form = RenameTaskForm(name=task.name)
    move_form = MoveTaskForm()
    move_form.set_projects(task_copies.move_destinations(current_user, task) if "change" in permissions else [])
    return render_template("tasks/detail.html", task=task, project=task.project, permissions=permissions,
                           console_lines=lines, console_count=count, task_data=task_json(task),
                           error_hint=explain_error(task.last_error) if task.status == TaskStatus.FAILED else None,
                           action_form=ActionForm(), restart_form=restart_form, rename_form=rename_form,
                           move_form=move_form,
                           public_form=PublicTaskForm(public="false" if task.public else "true"),
                           has_3d=models3d.has_3d(storage.assets_dir(task.project_id, task.id)),
                           edit=_edit_and_restart(task) if "change" in permissions else None)


def _edit_and_restart(task):
    """What the "Edit and restart" panel needs (its node menu, presets, stages and the editor's data), or None for
    a task that cannot be restarted now: one being uploaded or processed, or one imported without photos."""
    if task.partial or task.pending_action or task.status in ACTIVE_STATUSES or not task.images_count:
        return None
    node_rows, user_presets = _nodes_for_menu(), presets.presets_for(current_user)
    chosen = AUTO_NODE if task.auto_processing_node or task.processing_node_id is None else str(task.processing_node_id)
    page_data = {
        "nodes": [node_json(node) for node, _ in node_rows],
        "presets": [{"id": p.id, "name": p.name, "options": p.options, "system": p.system} for p in user_presets],
        "autoNode": AUTO_NODE,
        "initialOptions": [o for o in (task.options or []) if o.get("name") != "rerun-from"],
        "task": {"auto_processing_node": bool(task.auto_processing_node), "processing_node": task.processing_node_id},
        "api": {"task": url_for("api.get_task", project_id=task.project_id, task_id=task.id),
                "restart": url_for("api.restart", project_id=task.project_id, task_id=task.id)},
    }
    return {"nodes": node_choices(node_rows), "chosen_node": chosen, "presets": user_presets,
            "stages": _rerun_stages(task), "page_data": page_data}


def _back_to(task):
    """Redirect to the task's page."""
    return redirect(url_for("tasks.detail", project_id=task.project_id, task_id=task.id))


@bp.route("/projects/<int:project_id>/tasks/<int:task_id>/cancel", methods=["POST"])
@login_required
def cancel(project_id, task_id):
    """Ask for the task to be canceled."""
    task = _task(project_id, task_id, "change")
    if ActionForm().validate_on_submit():
        tasks.cancel_task(task)
        flash("Canceling the task…" if task.pending_action == PendingAction.CANCEL
              else "This task is not queued or running: nothing to cancel.", "info")
    return _back_to(task)


@bp.route("/projects/<int:project_id>/tasks/<int:task_id>/restart", methods=["POST"])
@login_required
def restart(project_id, task_id):
    """Ask for the task to be processed again, from the beginning or from a stage."""
    task = _task(project_id, task_id, "change")
    form = RestartTaskForm()
    form.set_stages(_rerun_stages(task))
    if form.validate_on_submit():
        try:
            tasks.restart_task(task, _options_with_rerun_from(task, form.rerun_from.data))
        except ValidationError as error:
            flash(error.message or "This task cannot be restarted.", "error")
        else:
            stage = form.rerun_from.data
            flash(f"Restarting the task from {stage}…" if stage else "Restarting the task…", "info")
    else:
        flash("Choose a stage to restart from.", "error")
    return _back_to(task)


def _options_with_rerun_from(task, stage):
    """The task's options with rerun-from set to stage (or removed, to restart from the beginning)."""
    options = [o for o in (task.options or []) if o.get("name") != "rerun-from"]
    return options + ([{"name": "rerun-from", "value": stage}] if stage else [])


@bp.route("/projects/<int:project_id>/tasks/<int:task_id>/remove", methods=["POST"])
@login_required
def remove(project_id, task_id):
    """Remove the task, its images and results (the worker deletes it from its node too)."""
    task = _task(project_id, task_id, "delete")
    if not ActionForm().validate_on_submit():
        return _back_to(task)
    name = task.name or f"#{task.id}"
    if task.partial:  # never reached the pipeline: nothing on a node to clean up, delete it at once
        tasks.delete_task(task)
    else:
        tasks.remove_task(task)
    flash(f"Task “{name}” is being removed.", "info")
    return redirect(url_for("dashboard.index"))


@bp.route("/projects/<int:project_id>/tasks/<int:task_id>/public", methods=["POST"])
@login_required
def set_public(project_id, task_id):
    """Open the task's map and downloads to anyone with the link, or make it private again."""
    task = _task(project_id, task_id, "change")
    form = PublicTaskForm()
    if form.validate_on_submit():
        public = form.public.data == "true"
        tasks.update_task(task, {"public": public})
        flash("Anyone with the link can now see this task's map and download its results." if public
              else "The task is private again.", "success")
    return _back_to(task)


@bp.route("/projects/<int:project_id>/tasks/<int:task_id>/move", methods=["POST"])
@login_required
def move(project_id, task_id):
    """Move the task, with its photos and results, into another project the user may change."""
    task = _task(project_id, task_id, "change")
    form = MoveTaskForm()
    form.set_projects(task_copies.move_destinations(current_user, task))
    if not form.validate_on_submit():
        flash("Choose a project you may change to move the task into.", "error")
        return _back_to(task)
    try:
        target = task_copies.move_target(current_user, task, form.project.data)
        task_copies.move_task(task, target)
    except ValidationError as error:
        flash(error.message or "The task could not be moved.", "error")
    else:
        flash(f"Task moved to “{target.name}”.", "success")
    return _back_to(task)


@bp.route("/projects/<int:project_id>/tasks/<int:task_id>/duplicate", methods=["POST"])
@login_required
def duplicate(project_id, task_id):
    """Copy the task, with its photos and results, and open the copy."""
    task = _task(project_id, task_id, "change")
    if not ActionForm().validate_on_submit():
        return _back_to(task)
    try:
        copy = task_copies.duplicate_task(task)
    except ValidationError as error:
        flash(error.message or "The task could not be duplicated.", "error")
        return _back_to(task)
    flash(f"This is a copy of “{task.name or f'Task #{task.id}'}”.", "success")
    return _back_to(copy)


@bp.route("/projects/<int:project_id>/tasks/<int:task_id>/edit", methods=["POST"])
@login_required
def edit(project_id, task_id):
    """Rename the task."""
    task = _task(project_id, task_id, "change")
    form = RenameTaskForm()
    if form.validate_on_submit():
        try:
            tasks.update_task(task, {"name": form.name.data})
        except ValidationError as error:
            flash(" ".join(error.field_errors.get("name", [])) or error.message, "error")
        else:
            flash("Task renamed.", "success")
    else:
        flash(" ".join(form.name.errors) or "The name could not be saved.", "error")
    return _back_to(task)
