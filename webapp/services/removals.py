"""Deleted tasks' copies on their nodes: which there are, queueing their removal, and the worker's removal."""
import logging
import threading

from flask import current_app

from webapp import queue
from webapp.extensions import db
from webapp.models import ProcessingNode
from webapp.nodeclient import NodeClient, NodeRejected, NodeUnreachable

log = logging.getLogger(__name__)


def node_copies(tasks):
    """(node id, uuid) of the tasks that reached a node, to be removed there."""
    return [(t.processing_node_id, t.uuid) for t in tasks if t.uuid and t.processing_node_id is not None]


def queue_node_removals(copies):
    """Ask the worker to remove each (node id, uuid) from its node. Call after commit."""
    for node_id, node_uuid in copies:
        queue.enqueue(queue.REMOVE_FROM_NODE, node_id, node_uuid)


def remove_from_node(node_id, node_uuid, attempts=3, wait_seconds=2.0):
    """Remove a deleted task's copy from its node; a node that does not answer is asked a few times."""
    node = db.session.get(ProcessingNode, node_id)
    if node is None or not node_uuid:
        db.session.rollback()
        return False
    client = NodeClient.for_node(node, timeout=current_app.config["NODE_TIMEOUT_SECONDS"])
    db.session.commit()
    for attempt in range(attempts):
        try:
            client.remove(node_uuid)
            return True
        except NodeRejected:
            return False  # the node does not have it (any more)
        except NodeUnreachable as error:
            log.info("could not remove %s from node %s (%s)", node_uuid, node_id, error)
            if attempt + 1 < attempts:
                threading.Event().wait(wait_seconds)
    return False
