"""The API documentation page: Swagger UI (from the npm tarball the Makefile unpacks) over /api/openapi.json.

The app's strict CSP suits it unchanged: its bundle and our api_docs.js are files, it draws with inline style
attributes (allowed) and data: icons (allowed), and it talks to this site only (no validator badge)."""
from flask import Blueprint, render_template

bp = Blueprint("api_docs", __name__)


@bp.route("/api-docs")
def page():
    """The REST API's reference, readable by everyone like /api/openapi.json itself."""
    return render_template("docs/api.html")
