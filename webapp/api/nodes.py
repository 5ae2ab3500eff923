"""Processing nodes: list, get, options; create, update and delete for administrators."""
from flask import request

from webapp.api.blueprint import route
from webapp.api.auth import admin_required, login_required
from webapp.api.helpers import caller, json_response, no_content, request_data
from webapp.api.serializers import node_json
from webapp.services import nodes


def _node_json(node):
    """A node as the caller may see it (the token for administrators only)."""
    return node_json(node, show_token=caller().is_admin)


@route("/processingnodes/", methods=["GET"])
@login_required
def list_nodes():
    """The nodes the caller may use; ?has_available_options=true, ?ordering=."""
    only_with_options = request.args.get("has_available_options", "").lower() in ("true", "1")
    items = nodes.list_nodes(only_with_options, request.args.get("ordering"))
    return json_response([_node_json(node) for node in items])


@route("/processingnodes/options/", methods=["GET"])
@login_required
def common_options():
    """The options that every online node offers."""
    return json_response(nodes.common_options())


@route("/processingnodes/<int:node_id>/", methods=["GET"])
@login_required
def get_node(node_id):
    """One node."""
    return json_response(_node_json(nodes.get_node(node_id)))


@route("/processingnodes/", methods=["POST"])
@admin_required
def create_node():
    """Register a node; answers 201 once its info was asked for, so `online` is known."""
    data = request_data()
    node = nodes.create_node(data.get("hostname"), data.get("port"), data.get("token") or "",
                                  data.get("label") or "")
    return json_response(_node_json(node), 201)


@route("/processingnodes/<int:node_id>/", methods=["PATCH", "PUT"])
@admin_required
def update_node(node_id):
    """Change a node's address, token or label."""
    node = nodes.update_node(nodes.get_node(node_id), request_data())
    return json_response(_node_json(node))


@route("/processingnodes/<int:node_id>/", methods=["DELETE"])
@admin_required
def delete_node(node_id):
    """Delete a node."""
    nodes.delete_node(nodes.get_node(node_id))
    return no_content()
