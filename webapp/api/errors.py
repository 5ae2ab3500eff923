"""The one helper that shapes API errors as docs/API.md says."""
from flask import jsonify
from flask_wtf.csrf import CSRFError

NOT_FOUND = "Not found."
NOT_AUTHENTICATED = "Authentication credentials were not provided."


def _detail(status, error):
    """The `detail` message for an error status."""
    if status == 404:
        return NOT_FOUND
    if isinstance(error, CSRFError):
        return f"CSRF Failed: {error.description}"
    if status == 403:
        return getattr(error, "message", None) or NOT_AUTHENTICATED
    if status == 405:
        from flask import request
        return f'Method "{request.method}" not allowed.'
    if status == 413:
        return "The upload is larger than this server accepts."
    if status == 500:
        return "Server error."
    return getattr(error, "description", None) or "Bad request."


def api_error_response(status, error=None, detail=None):
    """A JSON error response {"detail": message} with the given status."""
    response = jsonify({"detail": detail or _detail(status, error)})
    response.status_code = status
    return response
