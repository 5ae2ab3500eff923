"""Deleted tasks' copies on their nodes: which there are, and queueing their removal (done by the worker)."""
from webapp import queue


def node_copies(tasks):
    """(node id, uuid) of the tasks that reached a node, to be removed there."""
    return [(t.processing_node_id, t.uuid) for t in tasks if t.uuid and t.processing_node_id is not None]


def queue_node_removals(copies):
    """Ask the worker to remove each (node id, uuid) from its node. Call after commit."""
    for node_id, node_uuid in copies:
        queue.enqueue(queue.REMOVE_FROM_NODE, node_id, node_uuid)
