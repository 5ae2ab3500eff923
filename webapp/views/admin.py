"""Administrators' pages: users (create, disable, reset password, administrator role) and the job queues."""
import functools

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from webapp.forms.accounts import NewUserForm
from webapp.forms.admin import ResetPasswordForm
from webapp.forms.helpers import add_service_errors
from webapp.services import accounts, queues
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
