"""Pages of accounts: first-run setup, login, logout, password change."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from webapp.forms.accounts import ChangePasswordForm, LoginForm, UserForm
from webapp.forms.helpers import add_service_errors
from webapp.security import safe_next
from webapp.services import accounts, ratelimit
from webapp.services.errors import ValidationError

bp = Blueprint("auth", __name__)


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    """First run: create the administrator account, then log in as it."""
    if not accounts.needs_setup():
        return redirect(url_for("auth.login"))
    form = UserForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_first_admin(form.username.data, form.password.data, email=form.email.data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            login_user(user)
            flash(f"Welcome to Aerie, {user.username}! Create a project to start.", "success")
            return redirect(url_for("dashboard.index"))
    return render_template("auth/setup.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in with a username and password."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = ratelimit.authenticate_limited(form.username.data, form.password.data, request.remote_addr)
        except ratelimit.TooManyAttempts as error:
            form.form_errors.append(error.message)
            return render_template("auth/login.html", form=form), 429
        if user is None:
            form.form_errors.append("Wrong username or password.")
        else:
            login_user(user)
            return redirect(safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    """Log out (a POST with a CSRF token, so no other site can log a user out)."""
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's own password."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(current_user, form.current_password.data, form.new_password.data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            flash("Your password was changed.", "success")
            return redirect(url_for("dashboard.index"))
    return render_template("auth/password.html", form=form)
