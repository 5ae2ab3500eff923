"""The API's blueprint (/api) with its error handlers, and its route decorator; the modules of webapp.api add their
routes to it."""
from flask import Blueprint

from webapp.api.errors import register_api_error_handlers
from webapp.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api")
register_api_error_handlers(bp)
# Flask-WTF's automatic check wants a form token; the API checks the X-CSRFToken header itself, and only for
# requests authenticated by the session cookie (see webapp.api.auth).
csrf.exempt(bp)


def route(rule, **options):
    """bp.route that serves the path with and without its trailing slash, with no redirect (POST survives)."""
    options.setdefault("strict_slashes", False)
    return bp.route(rule, **options)
