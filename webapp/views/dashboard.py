"""The dashboard: the user's projects, and creating one."""
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from webapp.forms.helpers import add_service_errors
from webapp.forms.projects import ProjectForm
from webapp.models import Project
from webapp.services import projects
from webapp.services.errors import ValidationError

bp = Blueprint("dashboard", __name__)


def _render(form):
    """The dashboard with the given new-project form."""
    user_projects = projects.visible_projects(current_user).order_by(Project.created_at.desc(), Project.id.desc())
    return render_template("dashboard/index.html", projects=user_projects.all(), form=form)


@bp.route("/")
@login_required
def index():
    """The user's projects."""
    return _render(ProjectForm())


@bp.route("/projects/new", methods=["POST"])
@login_required
def new_project():
    """Create a project from the dashboard's form."""
    form = ProjectForm()
    if form.validate_on_submit():
        try:
            project = projects.create_project(current_user, form.name.data, form.description.data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            flash(f"Project “{project.name}” created.", "success")
            return redirect(url_for("dashboard.index"))
    return _render(form), 400
