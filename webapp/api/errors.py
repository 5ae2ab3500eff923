"""The API's errors, in one place: the JSON shapes of docs/API.md and the handlers of the API blueprint.

Errors raised outside the blueprint's views (404 of an unknown path, 405, 413, a bug) are answered by the app's
handlers in webapp/errors.py, which shape them with api_error_response too.
"""
from flask import jsonify
from flask_wtf.csrf import CSRFError

from webapp.api.helpers import caller, json_response
from webapp.services import ratelimit
from webapp.services.errors import NotFound, ValidationError

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


def not_found(error):
    """404 for a logged-in caller; an anonymous one is told to authenticate (403), as WebODM does."""
    if caller() is None:
        return api_error_response(403, detail=NOT_AUTHENTICATED)
    return api_error_response(404)


def validation_error(error):
    """400 with {"field": [...]} or {"detail": message}."""
    if error.field_errors:
        body = dict(error.field_errors)
        if error.message:
            body.setdefault("detail", error.message)
        return json_response(body, 400)
    return json_response({"detail": error.message or "Bad request."}, 400)


def too_many_attempts(error):
    """429 with the time to wait."""
    return json_response({"detail": error.message}, 429, headers={"Retry-After": str(error.retry_after)})


def register_api_error_handlers(blueprint):
    """Install the handlers above on the API blueprint."""
    blueprint.register_error_handler(NotFound, not_found)
    blueprint.register_error_handler(ValidationError, validation_error)
    blueprint.register_error_handler(ratelimit.TooManyAttempts, too_many_attempts)
