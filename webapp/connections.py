"""Connections that keep their word: a request body the app did not read never breaks the client's next request.

When the app answers before reading the body (a refused upload: 401, 403, 404, 413, 429, 507...), the rest of
the body is still on the connection. gunicorn then drains at most 64 KiB and closes the connection, after
having told the client `Connection: keep-alive`, so a client reusing it (a requests.Session) fails with
RemoteDisconnected. Here a small rest is read and dropped (the client sends it anyway before reading the
answer), and a big one makes gunicorn close the connection while saying so (`Connection: close`).
"""
import threading

from flask import request
from werkzeug.exceptions import HTTPException

DRAIN_LIMIT = 16 * 1024 * 1024  # above a few upload chunks, closing is cheaper than reading
READ_SIZE = 256 * 1024

_server = threading.local()  # gunicorn's request being served by this thread (a gthread worker: one per thread)


def remember_server_request(server_request):
    """Called by gunicorn's pre_request hook (webapp/gunicorn_conf.py): the request this thread now serves."""
    _server.request = server_request


def keep_connection_usable(response):
    """after_request: drain a small unread body; for a big one, have the server close the connection."""
    if not _has_body():
        return response
    if not _drained():
        _close_after(response)
    return response


def _has_body():
    """Whether the request came with a body (a length, or chunked)."""
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def _drained():
    """Read what is left of the body, up to DRAIN_LIMIT; whether it was all read."""
    if (request.content_length or 0) > DRAIN_LIMIT:
        return False
    try:
        stream = request.stream
        left = DRAIN_LIMIT
        while left > 0:
            block = stream.read(min(READ_SIZE, left))
            if not block:
                return True
            left -= len(block)
        return not stream.read(1)
    except (HTTPException, OSError, ValueError):  # over MAX_CONTENT_LENGTH, a client gone, a closed stream
        return False


def _close_after(response):
    """Make the connection close after this response, and say so."""
    response.headers["Connection"] = "close"  # for servers that honour it (gunicorn drops hop-by-hop headers)
    server_request = getattr(_server, "request", None)
    if server_request is not None and hasattr(server_request, "force_close"):
        server_request.force_close()  # gunicorn then answers `Connection: close` and closes
