"""Processing nodes as administrators manage them (change, delete), and what users may pick from them.

Registration and refreshing are in services.nodes.
"""
import re

from webapp.extensions import db
from webapp.models import ProcessingNode, Task
from webapp.services import nodes
from webapp.services.errors import ValidationError
from webapp.services.projects import apply_ordering

HOSTNAME = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.:-]+)$")  # a name, an IPv4 or a [bracketed] IPv6 address

NODE_ORDERING = {name: getattr(ProcessingNode, name) for name in (
    "id", "hostname", "port", "label", "api_version", "engine", "engine_version", "queue_count", "max_images",
    "last_refreshed", "created_at")}


def list_nodes(has_available_options=False, ordering=None):
    """Every node (any logged-in user may use any node), optionally only those that reported their options."""
    query = ProcessingNode.query
    nodes_list = apply_ordering(query, ordering, NODE_ORDERING, "id").all()
    if has_available_options:
        nodes_list = [node for node in nodes_list if node.available_options]
    return nodes_list


def _clean_hostname(value):
    """A host name or address given as text, or ValidationError."""
    if not isinstance(value, str) or not HOSTNAME.match(value.strip()):
        raise ValidationError(field_errors={"hostname": [
            "Enter a host name or address, such as 127.0.0.1 or node.example.org."]})
    return value.strip()


def create_node(hostname, port, token="", label=""):
    """Register a new node and refresh its info once; ValidationError if one is already at that address."""
    hostname, port = nodes._clean_address(_clean_hostname(hostname), port)
    if ProcessingNode.query.filter_by(hostname=hostname, port=port).first() is not None:
        raise ValidationError(field_errors={"hostname": [f"A processing node at {hostname}:{port} already exists."]})
    return nodes.add_node(hostname, port, token=str(token or ""), label=str(label or ""))


def update_node(node, data):
    """Change a node's hostname, port, token or label from data, then refresh its info."""
    hostname, port = nodes._clean_address(_clean_hostname(data.get("hostname", node.hostname)),
                                          data.get("port", node.port))
    duplicate = ProcessingNode.query.filter(ProcessingNode.hostname == hostname, ProcessingNode.port == port,
                                            ProcessingNode.id != node.id).first()
    if duplicate is not None:
        raise ValidationError(field_errors={"hostname": [f"A processing node at {hostname}:{port} already exists."]})
    moved = (hostname, port) != (node.hostname, node.port)
    node.hostname, node.port = hostname, port
    if "token" in data:
        node.token = str(data["token"] or "")
    if "label" in data:
        node.label = str(data["label"] or "").strip()
    if moved:
        node.last_refreshed = None  # what was known was about another server
    db.session.commit()
    nodes.refresh_node(node.id)
    return db.session.get(ProcessingNode, node.id)


def delete_node(node):
    """Delete a node; its tasks lose their node (and are reassigned by the pipeline when they are automatic)."""
    Task.query.filter(Task.processing_node_id == node.id).update({Task.processing_node_id: None})
    db.session.delete(node)
    db.session.commit()


def common_options():
    """The options every online node offers (by name), as the first online node describes them."""
    online = [node for node in ProcessingNode.query.order_by(ProcessingNode.id).all() if nodes.is_online(node)]
    if not online:
        return []
    shared = set.intersection(*({o.get("name") for o in (node.available_options or [])} for node in online))
    return [option for option in online[0].available_options or [] if option.get("name") in shared]


