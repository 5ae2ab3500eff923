"""The NodeODM client (pyodm) behind our own small interface and error types.

Services and jobs call NodeClient and catch NodeError; nothing else in webapp imports pyodm.
"""
from pyodm import Node
from pyodm import exceptions as odm_errors


class NodeError(Exception):
    """A processing node could not do what was asked."""


class NodeUnreachable(NodeError):
    """A transient fault: no connection, a timeout, or an unexpected answer (a 5xx). Worth retrying."""


class NodeRejected(NodeError):
    """The node answered with an error of its own (a bad token, invalid options, an unknown task)."""


def _translate(error):
    """Our error type for a pyodm exception."""
    if isinstance(error, (odm_errors.NodeConnectionError, odm_errors.NodeServerError)):
        return NodeUnreachable(str(error) or type(error).__name__)
    return NodeRejected(str(error) or type(error).__name__)


class NodeClient:
    """One processing node reached over the NodeODM API."""

    def __init__(self, hostname, port, token="", timeout=10):
        self.node = Node(hostname, int(port), token or "", timeout=timeout)

    @classmethod
    def for_node(cls, node, timeout=10):
        """A client for a ProcessingNode row (or anything with hostname, port and token)."""
        return cls(node.hostname, node.port, node.token, timeout=timeout)

    def info(self):
        """The node's /info as a dict with our field names."""
        try:
            info = self.node.info()
        except odm_errors.OdmError as error:
            raise _translate(error) from error
        return {
            "api_version": str(info.version or ""),
            "engine": str(info.engine or ""),
            "engine_version": str(info.engine_version or ""),
            "queue_count": int(info.task_queue_count or 0),
            "max_images": info.max_images,
        }

    def options(self):
        """The node's /options: [{name, type, value, domain, help}]."""
        try:
            options = self.node.options()
        except odm_errors.OdmError as error:
            raise _translate(error) from error
        return [{"name": o.name, "type": o.type, "value": o.value, "domain": o.domain, "help": o.help}
                for o in options]
