"""The dashboard: the user's projects (search, pages), each with its tasks and their live state, and a new project."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from webapp.forms.helpers import add_service_errors
from webapp.forms.projects import ProjectForm
from webapp.services import projects
from webapp.services.errors import ValidationError

bp = Blueprint("dashboard", __name__)

PROJECTS_PER_PAGE = 10


def _render(form):
    """The dashboard with the given new-project form: one page of projects matching `?search=`."""
    search = request.args.get("search", "").strip()
    query = projects.list_projects(current_user, search=search or None)
    page = query.paginate(page=request.args.get("page", 1, type=int), per_page=PROJECTS_PER_PAGE, error_out=False)
    permissions = projects.permissions_by_project(current_user, page.items)
    return render_template("dashboard/index.html", projects=page.items, page=page, search=search, form=form,
                           permissions=permissions)


@bp.route("/")
@login_required
def index():
    """The user's projects and their tasks."""
    return _render(ProjectForm())


@bp.route("/projects/new", methods=["POST"])
@login_required
def new_project():
    """Create a project from the dashboard's form."""
    form = ProjectForm()
    if form.validate_on_submit():
        try:
            project = projects.create_project(current_user, form.name.data, form.description.data,
                                              form.tags.data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            flash(f"Project “{project.name}” created.", "success")
            return redirect(url_for("dashboard.index"))
    return _render(form), 400
