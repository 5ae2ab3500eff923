"""Processing nodes: registration, refreshing their info, and choosing one for a task."""
import logging
import re

from flask import current_app

from webapp import queue
from webapp.extensions import db
from webapp.models import ProcessingNode, Task
from webapp.models.base import utcnow
from webapp.nodeclient import NodeClient, NodeError
from webapp.services.errors import NotFound, ValidationError
from webapp.services.ordering import apply_ordering

log = logging.getLogger(__name__)

HOSTNAME = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.:-]+)$")  # a name, an IPv4 or a [bracketed] IPv6 address
NODE_ORDERING = {name: getattr(ProcessingNode, name) for name in (
    "id", "hostname", "port", "label", "api_version", "engine", "engine_version", "queue_count", "max_images",
    "last_refreshed", "created_at")}


def _clean_address(hostname, port):
    """A hostname and port checked for use, or ValidationError."""
    errors = {}
    hostname = hostname.strip() if isinstance(hostname, str) else ""
    if not HOSTNAME.match(hostname):
        errors["hostname"] = ["Enter a host name or address, such as 127.0.0.1 or node.example.org."]
    try:
        port = int(port)
        if not 1 <= port <= 65535:
            raise ValueError
    except (TypeError, ValueError):
        errors["port"] = ["Enter a port number from 1 to 65535."]
    if errors:
        raise ValidationError(field_errors=errors)
    return hostname, port


def add_node(hostname, port, token="", label=""):
    """Register a node (or return the one already at that address) and refresh its info at once."""
    hostname, port = _clean_address(hostname, port)
    node = ProcessingNode.query.filter_by(hostname=hostname, port=port).first()
    if node is None:
        node = ProcessingNode(hostname=hostname, port=port, token=token or "", label=(label or "").strip())
        db.session.add(node)
        db.session.commit()
    refresh_node(node.id)
    return db.session.get(ProcessingNode, node.id)


def get_node(node_id):
    """A node by id, or NotFound."""
    node = db.session.get(ProcessingNode, node_id)
    if node is None:
        raise NotFound()
    return node


def refresh_node(node_id):
    """Ask a node for /info and /options and store the answers; a node that does not answer goes offline in time."""
    node = db.session.get(ProcessingNode, node_id)
    if node is None:
        return False
    client = NodeClient.for_node(node)
    db.session.commit()  # end the transaction: no database lock is held during the network calls
    try:
        info, options = client.info(), client.options()
    except NodeError as error:
        log.info("node %s did not answer: %s", node_id, error)
        return False
    node = db.session.get(ProcessingNode, node_id)
    if node is None:  # removed meanwhile
        return False
    for field, value in info.items():
        setattr(node, field, value)
    node.available_options = options
    node.last_refreshed = utcnow()
    db.session.commit()
    return True


def is_online(node):
    """Whether the node answered /info recently enough (NODE_OFFLINE_SECONDS)."""
    return node.is_online(current_app.config["NODE_OFFLINE_SECONDS"])


def enqueue_due_refreshes():
    """Queue a refresh of every node whose info is older than NODE_REFRESH_SECONDS."""
    due_after = current_app.config["NODE_REFRESH_SECONDS"]
    for node in ProcessingNode.query.all():
        if not node.is_online(due_after):
            queue.enqueue(queue.REFRESH_NODE, node.id, job_id=f"refresh-node-{node.id}")


def choose_node(images_count):
    """The online node with the shortest queue that accepts images_count images, or None.

    The chosen node's queue count goes up by one at once, so that tasks assigned together spread over the nodes
    before the next refresh of /info tells the real numbers.
    """
    candidates = [node for node in ProcessingNode.query.order_by(ProcessingNode.id).all()
                  if is_online(node) and (node.max_images is None or node.max_images >= images_count)]
    if not candidates:
        return None
    chosen = min(candidates, key=lambda node: node.queue_count)
    chosen.queue_count += 1
    return chosen


# Administration: listing, changing and deleting nodes, and the options users may pick from.

def list_nodes(has_available_options=False, ordering=None):
    """Every node (any logged-in user may use any node), optionally only those that reported their options."""
    query = ProcessingNode.query
    nodes_list = apply_ordering(query, ordering, NODE_ORDERING, "id").all()
    if has_available_options:
        nodes_list = [node for node in nodes_list if node.available_options]
    return nodes_list


def create_node(hostname, port, token="", label=""):
    """Register a new node and refresh its info once; ValidationError if one is already at that address."""
    hostname, port = _clean_address(hostname, port)
    if ProcessingNode.query.filter_by(hostname=hostname, port=port).first() is not None:
        raise ValidationError(field_errors={"hostname": [f"A processing node at {hostname}:{port} already exists."]})
    return add_node(hostname, port, token=str(token or ""), label=str(label or ""))


def update_node(node, data):
    """Change a node's hostname, port, token or label from data, then refresh its info."""
    hostname, port = _clean_address(data.get("hostname", node.hostname), data.get("port", node.port))
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
    refresh_node(node.id)
    return db.session.get(ProcessingNode, node.id)


def delete_node(node):
    """Delete a node; its tasks lose their node (and are reassigned by the pipeline when they are automatic)."""
    Task.query.filter(Task.processing_node_id == node.id).update({Task.processing_node_id: None})
    db.session.delete(node)
    db.session.commit()


def common_options():
    """The options every online node offers (by name), as the first online node describes them."""
    online = [node for node in ProcessingNode.query.order_by(ProcessingNode.id).all() if is_online(node)]
    if not online:
        return []
    shared = set.intersection(*({o.get("name") for o in (node.available_options or [])} for node in online))
    return [option for option in online[0].available_options or [] if option.get("name") in shared]


