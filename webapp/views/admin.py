"""Administrators' pages: users."""
import functools

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from webapp.forms.accounts import NewUserForm
from webapp.forms.helpers import add_service_errors
from webapp.models import User
from webapp.services import accounts
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
    """All user accounts."""
    return render_template("admin/users.html", users=User.query.order_by(User.username).all())


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
