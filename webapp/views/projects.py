"""A project's settings page: rename, describe, share with other users and groups, delete."""
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from webapp.forms.admin import ActionForm
from webapp.forms.helpers import add_service_errors
from webapp.forms.projects import (SHARE_LEVELS, GroupShareForm, ProjectSettingsForm, ShareForm, ShareLevelForm,
                                   share_level, sharing_with, sharing_with_group)
from webapp.services import groups, projects, sharing
from webapp.services.errors import ValidationError

bp = Blueprint("projects", __name__, url_prefix="/projects")


def _render_settings(project, details_form=None, share_form=None, group_form=None, status=200):
    """The settings page of project, with the given forms (fresh ones otherwise)."""
    entries = sharing.project_sharing(project)
    permissions = projects.project_permissions(current_user, project)
    group_shares = sorted((share for share in project.group_shares if share.can_view),
                          key=lambda share: share.group.name.lower())
    page = render_template(
        "projects/settings.html", project=project, permissions=permissions,
        details_form=details_form or ProjectSettingsForm(formdata=None, obj=project),
        share_form=share_form or ShareForm(formdata=None),
        group_form=group_form or GroupShareForm(formdata=None, groups=groups.list_groups()),
        shares=[{**entry, "form": ShareLevelForm(formdata=None, level=share_level(entry["permissions"]))}
                for entry in entries if "username" in entry and not entry["owner"]],
        group_shares=[{"id": share.group_id, "name": share.group.name,
                       "form": ShareLevelForm(formdata=None, level=share_level(share.permissions))}
                      for share in group_shares],
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


def _set_access(project, form, update):
    """Replace the project's sharing with update(its current sharing); errors go on form. True when done."""
    try:
        sharing.set_sharing(project, update(sharing.project_sharing(project)))
    except ValidationError as error:
        add_service_errors(form, error)
        return False
    return True


def _change_share(project, form, username, permissions):
    """Give username these permissions on project (none: remove them); errors go on form. True when done."""
    return _set_access(project, form, lambda current: sharing_with(current, username, permissions))


def _change_group_share(project, form, group, permissions):
    """Give group these permissions on project (none: stop sharing with it); errors go on form. True when done."""
    return _set_access(project, form, lambda current: sharing_with_group(current, group.name, permissions))


def _access_changed(project, form, change, done, failed):
    """The answer to a form changing one user's or group's access: change(permissions) when the form is valid (the
    form's level, or none for a removal), a message saying how it went, back to the project's sharing."""
    level = getattr(form, "level", None)
    if form.validate_on_submit() and change(SHARE_LEVELS[level.data] if level is not None else []):
        flash(done, "success")
    else:
        flash(" ".join(form.form_errors + (level.errors if level is not None else [])) or failed, "error")
    return redirect(url_for("projects.settings", project_id=project.id) + "#sharing")


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
    return _access_changed(project, form, lambda permissions: _change_share(project, form, username, permissions),
                           f"Access of {username} changed.", "The access could not be changed.")


@bp.route("/<int:project_id>/sharing/<username>/remove", methods=["POST"])
@login_required
def unshare(project_id, username):
    """Stop sharing a project with a user."""
    project = projects.get_project_for(current_user, project_id, "change")
    form = ActionForm()
    return _access_changed(project, form, lambda permissions: _change_share(project, form, username, permissions),
                           f"{username} no longer has access to this project.", "The access could not be removed.")


@bp.route("/<int:project_id>/sharing/groups", methods=["POST"])
@login_required
def share_with_group(project_id):
    """Share a project with a group (or change the group's access)."""
    project = projects.get_project_for(current_user, project_id, "change")
    form = GroupShareForm(groups=groups.list_groups())
    if form.validate_on_submit():
        group = groups.get_group(form.group.data)
        if _change_group_share(project, form, group, SHARE_LEVELS[form.level.data]):
            flash(f"Project shared with the group {group.name}.", "success")
            return redirect(url_for("projects.settings", project_id=project.id) + "#sharing")
    return _render_settings(project, group_form=form, status=400)


@bp.route("/<int:project_id>/sharing/groups/<int:group_id>", methods=["POST"])
@login_required
def change_group_share(project_id, group_id):
    """Change what the members of a group the project is shared with may do."""
    project = projects.get_project_for(current_user, project_id, "change")
    group = groups.get_group(group_id)
    form = ShareLevelForm()
    return _access_changed(project, form, lambda permissions: _change_group_share(project, form, group, permissions),
                           f"Access of the group {group.name} changed.", "The access could not be changed.")


@bp.route("/<int:project_id>/sharing/groups/<int:group_id>/remove", methods=["POST"])
@login_required
def unshare_group(project_id, group_id):
    """Stop sharing a project with a group: its members keep only the access they have otherwise."""
    project = projects.get_project_for(current_user, project_id, "change")
    group = groups.get_group(group_id)
    form = ActionForm()
    return _access_changed(project, form, lambda permissions: _change_group_share(project, form, group, permissions),
                           f"The group {group.name} no longer has access to this project.",
                           "The access could not be removed.")


@bp.route("/<int:project_id>/delete", methods=["POST"])
@login_required
def delete(project_id):
    """Delete a project with its tasks and files (the owner), or leave a project shared with one (others)."""
    project = projects.get_project_for(current_user, project_id, "delete")
    name = project.name
    try:
        deleted = projects.delete_project_for(current_user, project)
    except ValidationError as error:
        flash(error.message, "error")
        return redirect(url_for("dashboard.index"))
    if deleted:
        flash(f"Project “{name}” deleted, with its tasks and files.", "success")
    else:
        flash(f"Project “{name}” removed from your projects.", "success")
    return redirect(url_for("dashboard.index"))
