"""Tasks of a project: list, create (whole or in parts), get, update, delete, actions, console, assets, import."""
from flask import Response, request, send_file

from webapp import storage
from webapp.api.blueprint import route
from webapp.api.auth import login_required
from webapp.api.errors import api_error_response
from webapp.api.helpers import caller, int_arg, json_response, no_content, request_data, uploaded_files
from webapp.api.serializers import task_json, task_list_text
from webapp.services import assets, console, imports, projects, task_copies, tasks, uploads
from webapp.services.errors import ValidationError

TASK = "/projects/<int:project_id>/tasks/<int:task_id>"
IMAGE_FIELDS = ("images", "images[]")
ASSET_MISSING = "Asset does not exist"


def _is_true(value):
    """Whether a form or JSON flag is set."""
    return value is True or str(value).strip().lower() in ("true", "1", "on", "yes")


@route("/projects/<int:project_id>/tasks/", methods=["GET"])
def list_tasks(project_id):
    """The project's tasks; ?status=, ?ordering=."""
    project = projects.get_project_for(caller(), project_id, "view")
    rows = tasks.list_task_rows(project, request.args.get("status"), request.args.get("ordering"))
    return Response(task_list_text(rows), mimetype="application/json")


@route("/projects/<int:project_id>/tasks/", methods=["POST"])
@login_required
def create_task(project_id):
    """Create a task with its images (multipart), or an empty partial one (partial=true)."""
    project = projects.get_project_for(caller(), project_id, "change")
    data = request_data()
    fields = {key: data.get(key) for key in ("name", "options", "processing_node", "auto_processing_node")}
    if _is_true(data.get("partial")):
        task = tasks.create_partial_task(project, **fields)
    else:
        task = tasks.create_task(project, uploaded_files(*IMAGE_FIELDS), **fields)
    return json_response(task_json(task), 201)


@route(f"{TASK}/", methods=["GET"])
def get_task(project_id, task_id):
    """One task (anyone may read a public task)."""
    return json_response(task_json(tasks.get_task_for(caller(), project_id, task_id, allow_public=True)))


@route(f"{TASK}/", methods=["PATCH", "PUT"])
@login_required
def update_task(project_id, task_id):
    """Change name, processing_node, auto_processing_node, options or public; `project` moves the task into
    another project the caller may change (404 for one they may not)."""
    task = tasks.get_task_for(caller(), project_id, task_id, "change")
    data = request_data()
    target = task_copies.move_target(caller(), task, data["project"]) if "project" in data else None
    task = tasks.update_task(task, data)
    if target is not None:
        task = task_copies.move_task(task, target)
    return json_response(task_json(task))


@route(f"{TASK}/duplicate/", methods=["POST"])
@login_required
def duplicate(project_id, task_id):
    """A copy of the task with its images and results, in the same project."""
    task = tasks.get_task_for(caller(), project_id, task_id, "change")
    return json_response({"success": True, "task": task_json(task_copies.duplicate_task(task))})


@route(f"{TASK}/", methods=["DELETE"])
@login_required
def delete_task(project_id, task_id):
    """Delete the task and its files, here and (through the worker) on its node."""
    tasks.delete_task(tasks.get_task_for(caller(), project_id, task_id, "delete"))
    return no_content()


@route(f"{TASK}/upload/", methods=["POST"])
@login_required
def upload(project_id, task_id):
    """Add images to a partial task, whole or as one chunk of a chunked upload."""
    task = tasks.get_task_for(caller(), project_id, task_id, "change")
    files = uploaded_files(*IMAGE_FIELDS, "file")
    if uploads.is_chunk(request.form):
        if len(files) != 1:
            raise ValidationError(field_errors={"images": ["Send exactly one file with each chunk."]})
        uploaded = tasks.upload_chunk(task, request.form, files[0])
    else:
        uploaded = tasks.upload_files(task, files)
    return json_response({"success": True, "uploaded": uploaded})


@route(f"{TASK}/upload/", methods=["GET"])
@login_required
def upload_state(project_id, task_id):
    """What a partial task already holds: complete files, and the chunks received of each unfinished one."""
    task = tasks.get_task_for(caller(), project_id, task_id, "change")
    return json_response(tasks.upload_state(task))


@route(f"{TASK}/commit/", methods=["POST"])
@login_required
def commit(project_id, task_id):
    """End a partial task's upload and queue its processing."""
    task = tasks.get_task_for(caller(), project_id, task_id, "change")
    return json_response(task_json(tasks.commit_task(task)))


@route(f"{TASK}/cancel/", methods=["POST"])
@login_required
def cancel(project_id, task_id):
    """Ask for the task to be canceled."""
    tasks.cancel_task(tasks.get_task_for(caller(), project_id, task_id, "change"))
    return json_response({"success": True})


@route(f"{TASK}/restart/", methods=["POST"])
@login_required
def restart(project_id, task_id):
    """Ask for the task to be processed again, with new options when given."""
    task = tasks.get_task_for(caller(), project_id, task_id, "change")
    tasks.restart_task(task, request_data().get("options"))
    return json_response({"success": True})


@route(f"{TASK}/remove/", methods=["POST"])
@login_required
def remove(project_id, task_id):
    """Ask the worker to remove the task."""
    tasks.remove_task(tasks.get_task_for(caller(), project_id, task_id, "delete"))
    return json_response({"success": True})


@route(f"{TASK}/output/", methods=["GET"])
def output(project_id, task_id):
    """The console output from ?line= (at most ?limit= lines; negative: the last ones); ?f=json|raw."""
    task = tasks.get_task_for(caller(), project_id, task_id, "view")
    lines, count = console.console_output(task, max(int_arg("line", 0), 0), int_arg("limit"))
    output_format = request.args.get("f", "")
    if output_format == "json":
        return json_response({"lines": lines, "count": count})
    if output_format == "raw":
        return Response("\n".join(lines), mimetype="text/plain")
    if output_format:
        raise ValidationError(field_errors={"f": ["Use json or raw."]})
    return json_response("\n".join(lines))


@route(f"{TASK}/download/<asset>", methods=["GET"])
def download(project_id, task_id, asset):
    """An asset of the table as an attachment: files with Range support, folders zipped while streaming."""
    task = tasks.get_task_for(caller(), project_id, task_id, allow_public=True)
    location = assets.asset_location(storage.assets_dir(task.project_id, task.id), asset)
    if location is None:
        return api_error_response(404, detail=ASSET_MISSING)
    path, is_folder = location
    if not is_folder:
        return send_file(path, as_attachment=True, download_name=asset, conditional=True)
    stream = assets.zip_folder_stream(path)
    headers = {"Content-Length": str(len(stream)), "Content-Disposition": f'attachment; filename="{asset}"'}
    return Response(stream, mimetype="application/zip", headers=headers, direct_passthrough=True)


@route(f"{TASK}/assets/<path:path>", methods=["GET"], merge_slashes=False)
def asset_file(project_id, task_id, path):
    """A raw file under the task's assets folder; any path leaving the folder is 404."""
    task = tasks.get_task_for(caller(), project_id, task_id, allow_public=True)
    try:
        target = storage.safe_join(storage.assets_dir(task.project_id, task.id), path)
    except storage.UnsafePath:
        return api_error_response(404)
    if not target.is_file():
        return api_error_response(404)
    return send_file(target, conditional=True)


@route("/projects/<int:project_id>/tasks/import/", methods=["POST"])
@login_required
def import_task(project_id):
    """A completed task from a results zip: a file (whole or chunked) or a URL the worker downloads."""
    project = projects.get_project_for(caller(), project_id, "change")
    data = request_data()
    name = data.get("name") or ""
    files = uploaded_files("file")
    if uploads.is_chunk(request.form) and len(files) == 1:
        task, uploaded = imports.import_chunk(caller(), project, request.form, files[0], name)
        if task is None:
            return json_response({"success": True, "uploaded": uploaded})
    elif len(files) == 1:
        task = imports.import_task_from_upload(project, files[0], name)
    elif data.get("url"):
        task = imports.import_task_from_url(project, data["url"], name)
    else:
        raise ValidationError(field_errors={"file": ["Send a results zip as `file`, or its address as `url`."]})
    return json_response(task_json(task), 201)
