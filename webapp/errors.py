"""Error handlers: pages render templates/errors, /api answers the JSON shapes of docs/API.md."""
import errno
import logging
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from webapp.api.errors import api_error_response
from webapp.services.errors import Forbidden, NotFound

log = logging.getLogger(__name__)


def _is_api_request():
    """Whether the request is for the JSON API."""
    return request.path == "/api" or request.path.startswith("/api/")


def _page(code, title, message):
    """An error page with a status code."""
    return render_template("errors/error.html", code=code, title=title, message=message), code


def handle_http_error(error):
    """Any HTTP error (404, 405, 413...): JSON for the API, a page otherwise."""
    if _is_api_request():
        return api_error_response(error.code, error)
    return _page(error.code, error.name, error.description)


def handle_not_found(error):
    """A service said not found (or not allowed, which looks the same)."""
    if _is_api_request():
        return api_error_response(404)
    return _page(404, "Not found", "This page does not exist, or you do not have access to it.")


def handle_forbidden(error):
    """A logged-in user reached an administrators' page or endpoint."""
    if _is_api_request():
        return api_error_response(403, error)
    return _page(403, "Forbidden", error.message)


def _page_of_the_form():
    """Where the refused form was shown: the referring page of this site, else this address when it serves GET."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path.startswith("/"):
        return referrer.path + (f"?{referrer.query}" if referrer.query else "")
    adapter = current_app.url_map.bind(request.host)
    try:
        adapter.match(request.path, method="GET")
        return request.path
    except HTTPException:
        return url_for("dashboard.index")


def handle_csrf_error(error):
    """A missing or stale CSRF token: ask the user to send the form again, never a bare error page."""
    if _is_api_request():
        return api_error_response(403, error)
    flash("Your form had expired. Please check it and send it again.", "warning")
    return redirect(_page_of_the_form())


DISK_FULL = ("The server's disk is full: what was sent could not be stored (what was stored before is kept). "
             "Try again once space has been freed; an upload resumes where it stopped.")


def _disk_full(error):
    """Whether an error is a full disk (or quota): the user can act on it, unlike a bug."""
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)


def handle_unexpected_error(error):
    """A bug: log it with its traceback, show a short apology, never the traceback. A full disk says so (507)."""
    if _disk_full(error):  # tests/faults/test_disk_full.py
        log.error("disk full on %s %s: %s", request.method, request.path, error)
        if _is_api_request():
            return api_error_response(507, detail=DISK_FULL)
        return _page(507, "Disk full", DISK_FULL)
    log.exception("unhandled error on %s %s", request.method, request.path)
    if _is_api_request():
        return api_error_response(500)
    return _page(500, "Server error", "Something went wrong on our side. It has been logged; please try again.")


def register_error_handlers(app):
    """Install the handlers on the app."""
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(NotFound, handle_not_found)
    app.register_error_handler(Forbidden, handle_forbidden)
    app.register_error_handler(Exception, handle_unexpected_error)
