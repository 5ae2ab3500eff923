"""The import page of a project: a completed task from a processing result zip (a file, or its address).

With scripts the page sends the file in resumable chunks through the API (static/js/import.js); without them the
form posts it whole here. Both end in services/imports.py, with the same checks.
"""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from webapp.forms.helpers import add_service_errors
from webapp.forms.tasks import ImportTaskForm
from webapp.services import imports, projects
from webapp.services.errors import ValidationError

bp = Blueprint("imports", __name__)
CHUNK_BYTES = 8 * 1024 * 1024  # results zips are big: larger chunks than photos, fewer requests


@bp.route("/projects/<int:project_id>/tasks/import", methods=["GET", "POST"])
@login_required
def import_task(project_id):
    """Import a completed task into the project, from a results zip or a URL."""
    project = projects.get_project_for(current_user, project_id, "change")
    form = ImportTaskForm()
    if form.validate_on_submit():
        try:
            task = _import(project, form)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            flash(_imported_message(task), "success")
            return redirect(url_for("tasks.detail", project_id=project.id, task_id=task.id))
    page_data = {"api": url_for("api.import_task", project_id=project.id),
                 "taskPage": url_for("tasks.detail", project_id=project.id, task_id=0).replace("/0/", "/{id}/")}
    return render_template("tasks/import.html", project=project, form=form, page_data=page_data,
                           chunk_bytes=CHUNK_BYTES), 400 if request.method == "POST" else 200


def _import(project, form):
    """The imported task, from the form's file or else its URL; ValidationError when it has neither."""
    upload = request.files.get(form.file.name)
    if upload and upload.filename:
        return imports.import_task_from_upload(project, upload, form.name.data or "")
    if (form.url.data or "").strip():
        return imports.import_task_from_url(project, form.url.data, form.name.data or "")
    raise ValidationError(field_errors={"file": ["Choose a results zip, or give its address below."]})


def _imported_message(task):
    """What the user is told once the import is accepted."""
    if task.import_url:
        return "The results are being downloaded: the task completes once they are in."
    return "Task imported."
