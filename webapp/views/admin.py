"""Administrators' pages: users (create, disable, reset password, administrator role), groups and the job queues."""
import functools

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from webapp.forms.accounts import NewUserForm
from webapp.forms.admin import GroupForm, MemberForm, ResetPasswordForm
from webapp.forms.helpers import add_service_errors
from webapp.services import accounts, groups as group_admin, queues
from webapp.services import users as user_admin
from webapp.services.errors import Forbidden, ValidationError

bp = Blueprint("admin", __name__, url_prefix="/admin")


def admin_required(view):
    """Let only administrators in (403 for other logged-in users, the login page for visitors)."""
    @functools.wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            raise Forbidden("This page is for administrators.")
        return view(*args, **kwargs)
    return wrapped


@bp.route("/users")
@admin_required
def users():
    """All user accounts, with what can be done to each."""
    return render_template("admin/users.html", users=user_admin.list_users())


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def new_user():
    """Create a user account."""
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(form.username.data, form.password.data, email=form.email.data,
                                        is_admin=form.is_admin.data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            flash(f"User {user.username} created.", "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/new_user.html", form=form)


def _user_action(user_id, change, done_message):
    """Apply change(user) to a user, flash what happened (or why not), and go back to the users."""
    user = user_admin.get_user(user_id)
    try:
        change(user)
    except ValidationError as error:
        flash(error.message, "error")
    else:
        flash(done_message.format(username=user.username), "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/disable", methods=["POST"])
@admin_required
def disable_user(user_id):
    """Disable an account: its owner is logged out and cannot log in or use the API."""
    return _user_action(user_id, lambda user: user_admin.set_active(current_user, user, False),
                        "{username} is disabled.")


@bp.route("/users/<int:user_id>/enable", methods=["POST"])
@admin_required
def enable_user(user_id):
    """Enable a disabled account again."""
    return _user_action(user_id, lambda user: user_admin.set_active(current_user, user, True),
                        "{username} is enabled again.")


@bp.route("/users/<int:user_id>/make-admin", methods=["POST"])
@admin_required
def make_admin(user_id):
    """Make a user an administrator."""
    return _user_action(user_id, lambda user: user_admin.set_admin(current_user, user, True),
                        "{username} is now an administrator.")


@bp.route("/users/<int:user_id>/revoke-admin", methods=["POST"])
@admin_required
def revoke_admin(user_id):
    """Take the administrator role from a user."""
    return _user_action(user_id, lambda user: user_admin.set_admin(current_user, user, False),
                        "{username} is no longer an administrator.")


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
@admin_required
def reset_password(user_id):
    """Set a new password for a user who lost theirs."""
    user = user_admin.get_user(user_id)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user_admin.reset_password(user, form.new_password.data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            flash(f"The password of {user.username} was changed. Tell them the new one safely.", "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/reset_password.html", form=form, user=user), 400 if form.is_submitted() else 200


def _groups_page(form=None, status=200):
    """The list of groups with the form that creates one."""
    return render_template("admin/groups.html", groups=group_admin.list_groups(),
                           form=form or GroupForm(formdata=None)), status


@bp.route("/groups")
@admin_required
def groups():
    """All groups with their members, and a form to create one."""
    return _groups_page()


@bp.route("/groups", methods=["POST"])
@admin_required
def new_group():
    """Create a group."""
    form = GroupForm()
    if form.validate_on_submit():
        try:
            group = group_admin.create_group(form.name.data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            flash(f"Group {group.name} created: add its members.", "success")
            return redirect(url_for("admin.group", group_id=group.id))
    return _groups_page(form, 400)


def _group_page(group, rename_form=None, member_form=None, status=200):
    """One group's page: its name, its members, the projects shared with it."""
    shares = sorted(group.project_shares, key=lambda share: share.project.name.lower())
    return render_template("admin/group.html", group=group, shares=shares,
                           rename_form=rename_form or GroupForm(formdata=None, obj=group),
                           member_form=member_form or MemberForm(formdata=None)), status


@bp.route("/groups/<int:group_id>")
@admin_required
def group(group_id):
    """A group: rename it, add and remove members, delete it."""
    return _group_page(group_admin.get_group(group_id))


@bp.route("/groups/<int:group_id>/rename", methods=["POST"])
@admin_required
def rename_group(group_id):
    """Give a group another name."""
    group = group_admin.get_group(group_id)
    form = GroupForm()
    if form.validate_on_submit():
        try:
            group_admin.update_group(group, name=form.name.data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            flash(f"Group renamed to {group.name}.", "success")
            return redirect(url_for("admin.group", group_id=group.id))
    return _group_page(group, rename_form=form, status=400)


@bp.route("/groups/<int:group_id>/members", methods=["POST"])
@admin_required
def add_group_member(group_id):
    """Put a user in a group: they get at once what the projects shared with the group allow."""
    group = group_admin.get_group(group_id)
    form = MemberForm()
    if form.validate_on_submit():
        try:
            user = group_admin.add_member(group, form.username.data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            flash(f"{user.username} is now in {group.name}.", "success")
            return redirect(url_for("admin.group", group_id=group.id))
    return _group_page(group, member_form=form, status=400)


@bp.route("/groups/<int:group_id>/members/<int:user_id>/remove", methods=["POST"])
@admin_required
def remove_group_member(group_id, user_id):
    """Take a user out of a group: they lose at once what the group gave them."""
    group = group_admin.get_group(group_id)
    user = group_admin.remove_member(group, user_id)
    flash(f"{user.username} is no longer in {group.name}.", "success")
    return redirect(url_for("admin.group", group_id=group.id))


@bp.route("/groups/<int:group_id>/delete", methods=["POST"])
@admin_required
def delete_group(group_id):
    """Delete a group: its members lose at once what its project shares gave them."""
    group = group_admin.get_group(group_id)
    group_admin.delete_group(group)
    flash(f"Group {group.name} deleted.", "success")
    return redirect(url_for("admin.groups"))


@bp.route("/queues")
@admin_required
def queues_page():
    """The job queue: counts, workers and their state, failed jobs."""
    try:
        overview = queues.overview()
    except queues.QueuesUnavailable as error:
        return render_template("admin/queues.html", overview=None, error=error.message), 503
    return render_template("admin/queues.html", overview=overview, error=None)


@bp.route("/queues/failed/<job_id>/requeue", methods=["POST"])
@admin_required
def requeue_job(job_id):
    """Run a failed job again."""
    try:
        queues.requeue_failed(job_id)
    except queues.QueuesUnavailable as error:
        flash(error.message, "error")
    else:
        flash(f"Job {job_id} is queued again.", "success")
    return redirect(url_for("admin.queues_page"))


@bp.route("/queues/failed/<job_id>/delete", methods=["POST"])
@admin_required
def delete_job(job_id):
    """Forget a failed job."""
    try:
        queues.delete_failed(job_id)
    except queues.QueuesUnavailable as error:
        flash(error.message, "error")
    else:
        flash(f"Failed job {job_id} deleted.", "success")
    return redirect(url_for("admin.queues_page"))
