"""The JSON REST API of docs/API.md, under /api."""
from flask import Blueprint

from webapp.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api")
# Flask-WTF's automatic check wants a form token; the API checks the X-CSRFToken header itself, and only for
# requests authenticated by the session cookie (see webapp.api.auth).
csrf.exempt(bp)


def route(rule, **options):
    """bp.route that serves the path with and without its trailing slash, with no redirect (POST survives)."""
    options.setdefault("strict_slashes", False)
    return bp.route(rule, **options)


from webapp.api import auth, nodes, openapi, projects, tasks, tokens  # noqa: E402,F401  (registers the routes)
from webapp.api import webhooks  # noqa: E402,F401  (node callbacks of the processing pipeline)
from webapp.api import tiles  # noqa: E402,F401  (map tiles, TileJSON and thumbnails)
from webapp.api import view3d  # noqa: E402,F401  (the 3D page's point cloud, model and cameras)
