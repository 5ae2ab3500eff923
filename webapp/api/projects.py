"""Projects: list, create, get, update, delete, and their sharing (permissions, edit)."""
import json

from flask import request, url_for

from webapp.api.blueprint import route
from webapp.api.auth import login_required
from webapp.api.helpers import caller, int_arg, json_response, no_content, request_data
from webapp.api.serializers import project_json
from webapp.services import groups, projects, sharing
from webapp.services.errors import ValidationError

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000


def _page_url(page, page_size):
    """The absolute URL of another page of the same list, with the same filters."""
    args = request.args.to_dict()
    args.update(page=page)
    if page_size != DEFAULT_PAGE_SIZE:
        args["page_size"] = page_size
    return url_for(request.endpoint, _external=True, **(request.view_args or {}), **args)


def _paginated(items, serialize):
    """A plain array, or {"count", "next", "previous", "results"} when ?page= is given; serialize(list) -> list."""
    page = int_arg("page", minimum=1)
    if page is None:
        return json_response(serialize(items))
    page_size = min(int_arg("page_size", DEFAULT_PAGE_SIZE, minimum=1), MAX_PAGE_SIZE)
    count = len(items)
    if page > 1 and (page - 1) * page_size >= count:
        return json_response({"detail": "Invalid page."}, 404)
    start = (page - 1) * page_size
    return json_response({
        "count": count,
        "next": _page_url(page + 1, page_size) if start + page_size < count else None,
        "previous": _page_url(page - 1, page_size) if page > 1 else None,
        "results": serialize(items[start:start + page_size]),
    })


@route("/projects/", methods=["GET"])
@login_required
def list_projects():
    """The projects the caller can view; ?name=, ?search=, ?ordering=, ?page=."""
    user = caller()
    items = projects.list_projects(user, request.args.get("name"), request.args.get("search"),
                                   request.args.get("ordering")).all()
    return _paginated(items, lambda some: _projects_json(some, user))


def _projects_json(some_projects, user):
    """The projects as user sees them, their permissions found at once."""
    permissions = projects.permissions_by_project(user, some_projects)
    return [project_json(project, user, permissions[project.id]) for project in some_projects]


@route("/projects/", methods=["POST"])
@login_required
def create_project():
    """Create a project owned by the caller."""
    data = request_data()
    project = projects.create_project(caller(), data.get("name"), data.get("description") or "", data.get("tags"))
    return json_response(project_json(project, caller()), 201)


@route("/projects/<int:project_id>/", methods=["GET"])
def get_project(project_id):
    """One project the caller may view."""
    project = projects.get_project_for(caller(), project_id, "view")
    return json_response(project_json(project, caller()))


@route("/projects/<int:project_id>/", methods=["PATCH", "PUT"])
@login_required
def update_project(project_id):
    """Change a project's name, description, public flag or tags."""
    project = projects.get_project_for(caller(), project_id, "change")
    data = request_data()
    project = projects.update_project(project, data.get("name"), data.get("description"), data.get("public"),
                                      data.get("tags"))
    return json_response(project_json(project, caller()))


@route("/projects/<int:project_id>/", methods=["DELETE"])
@login_required
def delete_project(project_id):
    """The owner deletes the project and everything in it; a user it was shared with drops their access."""
    project = projects.get_project_for(caller(), project_id, "delete")
    projects.delete_project_for(caller(), project)
    return no_content()


@route("/projects/<int:project_id>/permissions/", methods=["GET"])
@login_required
def project_permissions(project_id):
    """Who may do what with the project: the owner first, then users, then groups (with WebODM's X-Groups-Count)."""
    project = projects.get_project_for(caller(), project_id, "change")
    return json_response(sharing.project_sharing(project), headers={"X-Groups-Count": str(groups.count_groups())})


@route("/projects/<int:project_id>/edit/", methods=["POST"])
@login_required
def edit_project(project_id):
    """Change name and description, and replace the sharing list when permissions is given."""
    project = projects.get_project_for(caller(), project_id, "change")
    data = request_data()
    permissions = data.get("permissions")
    if isinstance(permissions, str):  # a form sends the list as a JSON string
        permissions = _json_list(permissions)
    project = sharing.edit_project(project, data.get("name"), data.get("description"), permissions)
    return json_response(project_json(project, caller()))



def _json_list(text):
    """A JSON list sent as a form field, or a 400."""
    try:
        return json.loads(text)
    except ValueError:
        raise ValidationError(field_errors={"permissions": ["Invalid JSON."]}) from None
