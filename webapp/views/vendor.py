"""Third-party front-end files served from their pip packages (XStatic) or from the npm tarballs the Makefile
unpacks into static/vendor/ (git ignores it), never copied into the repo."""
from pathlib import Path

from flask import Blueprint, abort, send_from_directory
from xstatic.pkg import bootstrap, leaflet

bp = Blueprint("vendor", __name__, url_prefix="/vendor")

NPM_VENDOR = Path(__file__).resolve().parents[2] / "static" / "vendor"
LIBRARIES = {"bootstrap": bootstrap.BASE_DIR, "leaflet": leaflet.BASE_DIR, "three": NPM_VENDOR / "three",
             "swagger-ui": NPM_VENDOR / "swagger-ui"}


@bp.route("/<library>/<path:filename>")
def file(library, filename):
    """One file of a front-end library (send_from_directory refuses paths that leave its folder)."""
    if library not in LIBRARIES:
        abort(404)
    return send_from_directory(LIBRARIES[library], filename, max_age=86400)
