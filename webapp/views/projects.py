"""A project's settings page: rename, describe, share with other users, delete."""
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from webapp.forms.admin import ActionForm
from webapp.forms.helpers import add_service_errors
from webapp.forms.projects import SHARE_LEVELS, ProjectSettingsForm, ShareForm, ShareLevelForm, share_level, sharing_with
from webapp.services import projects, sharing
from webapp.services.errors import ValidationError

bp = Blueprint("projects", __name__, url_prefix="/projects")


def _render_settings(project, details_form=None, share_form=None, status=200):
    """The settings page of project, with the given forms (fresh ones otherwise)."""
    entries = sharing.project_sharing(project)
    permissions = projects.project_permissions(current_user, project)
    page = render_template(
        "projects/settings.html", project=project, permissions=permissions,
        details_form=details_form or ProjectSettingsForm(formdata=None, obj=project),
        share_form=share_form or ShareForm(formdata=None),
        shares=[{**entry, "form": ShareLevelForm(formdata=None, level=share_level(entry["permissions"]))}
                for entry in entries if not entry["owner"]],
        is_owner=project.owner_id == current_user.id)
    return page, status


@bp.route("/<int:project_id>/settings")
@login_required
def settings(project_id):
    """A project's settings: for users who may change it."""
    return _render_settings(projects.get_project_for(current_user, project_id, "change"))


@bp.route("/<int:project_id>/settings", methods=["POST"])
@login_required
def update(project_id):
    """Rename or describe a project, or make it public or private."""
    project = projects.get_project_for(current_user, project_id, "change")
    form = ProjectSettingsForm()
    if form.validate_on_submit():
        try:
            projects.update_project(project, name=form.name.data, description=form.description.data,
                                    public=form.public.data, tags=form.tags.data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            flash("Project saved.", "success")
            return redirect(url_for("projects.settings", project_id=project.id))
    return _render_settings(project, details_form=form, status=400)


def _change_share(project, form, username, permissions):
    """Give username these permissions on project (none: remove them); errors go on form. True when done."""
    try:
        sharing.set_sharing(project, sharing_with(sharing.project_sharing(project), username, permissions))
    except ValidationError as error:
        add_service_errors(form, error)
        return False
    return True


@bp.route("/<int:project_id>/sharing", methods=["POST"])
@login_required
def share(project_id):
    """Share a project with one more user (or change their access)."""
    project = projects.get_project_for(current_user, project_id, "change")
    form = ShareForm()
    if form.validate_on_submit():
        username = form.username.data.strip()
        if _change_share(project, form, username, SHARE_LEVELS[form.level.data]):
            flash(f"Project shared with {username}.", "success")
            return redirect(url_for("projects.settings", project_id=project.id) + "#sharing")
    return _render_settings(project, share_form=form, status=400)


@bp.route("/<int:project_id>/sharing/<username>", methods=["POST"])
@login_required
def change_share(project_id, username):
    """Change what a user the project is shared with may do."""
    project = projects.get_project_for(current_user, project_id, "change")
    form = ShareLevelForm()
    if form.validate_on_submit() and _change_share(project, form, username, SHARE_LEVELS[form.level.data]):
        flash(f"Access of {username} changed.", "success")
    else:
        flash(" ".join(form.form_errors + form.level.errors) or "The access could not be changed.", "error")
    return redirect(url_for("projects.settings", project_id=project.id) + "#sharing")


@bp.route("/<int:project_id>/sharing/<username>/remove", methods=["POST"])
@login_required
def unshare(project_id, username):
    """Stop sharing a project with a user."""
    project = projects.get_project_for(current_user, project_id, "change")
    form = ActionForm()
    if form.validate_on_submit() and _change_share(project, form, username, []):
        flash(f"{username} no longer has access to this project.", "success")
    else:
        flash(" ".join(form.form_errors) or "The access could not be removed.", "error")
    return redirect(url_for("projects.settings", project_id=project.id) + "#sharing")


@bp.route("/<int:project_id>/delete", methods=["POST"])
@login_required
def delete(project_id):
    """Delete a project with its tasks and files (the owner), or leave a project shared with one (others)."""
    project = projects.get_project_for(current_user, project_id, "delete")
    name = project.name
    if projects.delete_project_for(current_user, project):
        flash(f"Project “{name}” deleted, with its tasks and files.", "success")
    else:
        flash(f"Project “{name}” removed from your projects.", "success")
    return redirect(url_for("dashboard.index"))
