"""Groups, as WebODM's API has them: names for anyone logged in (to share a project), management for administrators."""
import json

from flask import request

from webapp.api.auth import admin_required, login_required
from webapp.api.blueprint import route
from webapp.api.helpers import int_arg, json_response, no_content, request_data
from webapp.api.serializers import group_json
from webapp.services import groups
from webapp.services.errors import ValidationError

MAX_LIMIT = 10000


@route("/groups/", methods=["GET"])
@login_required
def list_group_names():
    """[{"name", "id"}] of every group by name; ?search= (names starting with it), ?limit=."""
    limit = int_arg("limit", minimum=0)
    found = groups.list_groups(search=request.args.get("search"),
                               limit=None if limit is None else min(limit, MAX_LIMIT))  # SQLite takes 64 bits
    return json_response([{"name": group.name, "id": group.id} for group in found])


@route("/admin/groups/", methods=["GET"])
@admin_required
def list_groups():
    """Every group with its members; ?name= for one by its exact name."""
    return json_response([group_json(group) for group in groups.list_groups(name=request.args.get("name"))])


@route("/admin/groups/", methods=["POST"])
@admin_required
def create_group():
    """A new group: name, and members (usernames) if given."""
    data = request_data()
    group = groups.create_group(data.get("name"), _members(data))
    return json_response(group_json(group), 201)


@route("/admin/groups/<int:group_id>/", methods=["GET"])
@admin_required
def get_group(group_id):
    """One group with its members."""
    return json_response(group_json(groups.get_group(group_id)))


@route("/admin/groups/<int:group_id>/", methods=["PATCH", "PUT"])
@admin_required
def update_group(group_id):
    """Rename a group and, when members is given, replace its members (those left out lose its access at once)."""
    group = groups.get_group(group_id)
    data = request_data()
    if request.method == "PUT" and data.get("name") is None:
        raise ValidationError(field_errors={"name": ["This field is required."]})
    return json_response(group_json(groups.update_group(group, data.get("name"), _members(data))))


@route("/admin/groups/<int:group_id>/", methods=["DELETE"])
@admin_required
def delete_group(group_id):
    """Delete a group: its members lose at once what the projects shared with it gave them."""
    groups.delete_group(groups.get_group(group_id))
    return no_content()


def _members(data):
    """The members field: a list of usernames (a form sends it as a JSON string), or None when not given."""
    members = data.get("members")
    if isinstance(members, str):
        try:
            members = json.loads(members)
        except ValueError:
            raise ValidationError(field_errors={"members": ["Invalid JSON."]}) from None
    return members
