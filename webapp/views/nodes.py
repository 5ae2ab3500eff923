"""Processing nodes: everyone sees them; administrators add, edit, refresh and remove them."""
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import login_required

from webapp.forms.helpers import add_service_errors
from webapp.forms.nodes import NodeForm
from webapp.services import nodes
from webapp.services.errors import ValidationError
from webapp.views.admin import admin_required

bp = Blueprint("nodes", __name__, url_prefix="/nodes")


def _state_message(node):
    """A flash message saying whether the node answered."""
    if nodes.is_online(node):
        return f"{node.display_label()} is online: {node.engine or 'unknown engine'} {node.engine_version}.", "success"
    return (f"{node.display_label()} did not answer. Check that it runs and that its host, port and token are "
            "right; Aerie will keep trying.", "warning")


@bp.route("")
@login_required
def index():
    """Every processing node with its state, queue, engine and version."""
    return render_template("nodes/index.html", nodes=nodes.list_nodes(ordering="id"), is_online=nodes.is_online)


@bp.route("/new", methods=["GET", "POST"])
@admin_required
def new():
    """Add a processing node; its info is asked for at once."""
    form = NodeForm()
    if form.validate_on_submit():
        try:
            node = nodes.create_node(**form.data_for_service())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            flash(*_state_message(node))
            return redirect(url_for("nodes.show", node_id=node.id))
    return render_template("nodes/form.html", form=form, node=None), 400 if form.is_submitted() else 200


@bp.route("/<int:node_id>")
@login_required
def show(node_id):
    """A node's page: its state and the options it offers (its token for administrators only)."""
    node = nodes.get_node(node_id)
    return render_template("nodes/show.html", node=node, online=nodes.is_online(node))


@bp.route("/<int:node_id>/edit", methods=["GET", "POST"])
@admin_required
def edit(node_id):
    """Change a node's address, token or label."""
    node = nodes.get_node(node_id)
    form = NodeForm(obj=node)
    if form.validate_on_submit():
        try:
            node = nodes.update_node(node, form.data_for_service())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            flash(*_state_message(node))
            return redirect(url_for("nodes.show", node_id=node.id))
    return render_template("nodes/form.html", form=form, node=node), 400 if form.is_submitted() else 200


@bp.route("/<int:node_id>/refresh", methods=["POST"])
@admin_required
def refresh(node_id):
    """Ask a node for its info now instead of waiting for the periodic refresh."""
    node = nodes.get_node(node_id)
    nodes.refresh_node(node.id)
    flash(*_state_message(nodes.get_node(node_id)))
    return redirect(url_for("nodes.show", node_id=node_id))


@bp.route("/<int:node_id>/remove", methods=["POST"])
@admin_required
def remove(node_id):
    """Remove a node; its tasks lose it and automatic ones go to another node."""
    node = nodes.get_node(node_id)
    label = node.display_label()
    nodes.delete_node(node)
    flash(f"Processing node {label} removed.", "success")
    return redirect(url_for("nodes.index"))
